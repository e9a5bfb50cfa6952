"""Section 6, value for money: the difference in child-years in care between the interrupted
time series' projection and what was observed, valued only at the council's own unit cost.

An estimated difference with its assumptions, never a saving in a budget and never "costs
avoided" (`pipelines.stats.cost`, through `pipelines.analysis.cost_avoidance_analysis`). With
the illustrative default unit cost no pound figure appears: the money rows say how to get one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from pipelines import analysis
from pipelines.present import charts
from pipelines.present.numbers import count_words, money_words
from pipelines.present.wording import is_missing, month_label
from pipelines.report.tables import Block, Builder, num
from pipelines.stats.cost import DEFAULT_UNIT_COST_SOURCE

COUNTERFACTUAL_COLUMNS = (
    "date",
    "observed",
    "counterfactual",
    "counterfactual_lower",
    "counterfactual_upper",
)


def _money(value) -> str:
    """Two significant figures ("£38 million"): the estimate is not known to the pound."""
    return "–" if is_missing(value) else money_words(value)


def _years(value) -> str:
    """Two significant figures, as the finding says them ("630"): a modelled count."""
    return "–" if is_missing(value) else count_words(value)


def _interval(lower, upper, fmt: Callable[[Any], str]) -> str:
    return "–" if is_missing(lower) or is_missing(upper) else f"{fmt(lower)} to {fmt(upper)}"


def council_cost_given(res) -> bool:
    """Whether the unit cost is the council's own (only then is a pound figure shown)."""
    return res.unit_cost_source != DEFAULT_UNIT_COST_SOURCE


def value_rows(res) -> pd.DataFrame:
    """The value-for-money table of a `CostAvoidanceResult`: item, estimate, interval or source.

    Money rows appear only at the council's own unit cost; no return-per-pound ratio is
    shown, because the child-years difference is an association, not a saving to divide by.
    """
    rows = [
        (
            "Child-years looked after projected from the pre-rollout trend",
            _years(res.counterfactual_child_years),
            "",
        ),
        ("Child-years looked after observed", _years(res.actual_child_years), ""),
        (
            "Estimated difference in child-years (projected minus observed)",
            _years(res.child_years_avoided),
            _interval(res.child_years_avoided_lower, res.child_years_avoided_upper, _years),
        ),
    ]
    if not council_cost_given(res):
        rows.append(("Money value", "Not shown", res.unit_cost_source))
        return pd.DataFrame(rows, columns=["item", "estimate", "95% interval or source"])
    rows += [
        (
            "Your unit cost per child-year",
            f"£{res.unit_cost_per_child_year:,.0f}",
            res.unit_cost_source,
        ),
        (
            "Worth about, at your unit cost",
            _money(res.gross_avoidance),
            _interval(res.gross_avoidance_lower, res.gross_avoidance_upper, _money),
        ),
        (
            "Investment in the programme",
            f"£{res.investment:,.0f}" if res.investment else "Not given",
            "",
        ),
    ]
    if res.investment:
        rows.append(
            (
                "Value of the difference minus the investment",
                _money(res.net_avoidance),
                _interval(res.net_avoidance_lower, res.net_avoidance_upper, _money),
            )
        )
    return pd.DataFrame(rows, columns=["item", "estimate", "95% interval or source"])


def _counterfactual_chart(b: Builder, ca: analysis.CostAvoidanceAnalysis):
    """Children looked after against the projection the cost estimate rests on."""
    res, fitted = ca.result, ca.its.fitted
    title = (
        f"An estimated difference of {_years(res.child_years_avoided)} child-years in care from "
        f"the pre-rollout trend's projection (95% CI {_years(res.child_years_avoided_lower)} to "
        f"{_years(res.child_years_avoided_upper)})"
    )
    fig = charts.its_chart(
        fitted, title=title, source=ca.source, rollout_date=ca.its.intervention_date, rate=False
    )
    return b.chart(
        fig,
        "value-counterfactual",
        title,
        f"Children looked after at each {ca.grain} end: observed (circles) against the "
        "projection of the pre-rollout trend (dashed) that the child-years estimate uses.",
        fitted[[c for c in COUNTERFACTUAL_COLUMNS if c in fitted]],
        f"Children looked after: observed and projected counts ({ca.grain}ly)",
        count_columns=["observed"],
    )


def cost_numbers(res) -> dict[str, Any]:
    """The estimate's headline figures, JSON-safe."""
    return {
        "child_years_avoided": num(res.child_years_avoided),
        "child_years_avoided_ci": [
            num(res.child_years_avoided_lower),
            num(res.child_years_avoided_upper),
        ],
        "unit_cost": num(res.unit_cost_per_child_year),
        "gross_avoidance": num(res.gross_avoidance),
        "investment": num(res.investment),
        "net_avoidance": num(res.net_avoidance),
        "return_ratio": num(res.return_ratio),
    }


def value_section(
    b: Builder, ca: analysis.CostAvoidanceAnalysis
) -> tuple[list[Block], dict[str, Any]]:
    """The section's one block, and the numbers it shows."""
    block = Block("value-cost", "Child-years in care against the projection, and investment")
    res = ca.result
    if res is None:
        reason = "; ".join(ca.notes.values()) or "not enough data."
        block.paragraphs.append(f"The difference in child-years could not be estimated: {reason}")
        return [block], {}
    block.paragraphs.extend(f.text for f in ca.findings)
    # The grade and the measured coverage the estimate carries, as on the Board.
    block.paragraphs.extend(f.confidence_reason for f in ca.findings if f.confidence_reason)
    block.tables.append(
        b.table(
            value_rows(res),
            "value-for-money",
            f"Value for money since {month_label(ca.since)} (estimate, with its 95% interval)",
            appendix=False,
        )
    )
    block.bullets = list(dict.fromkeys((*res.assumptions, *res.warnings)))
    if ca.its is not None:
        block.charts.append(_counterfactual_chart(b, ca))
    return [block], {"cost": cost_numbers(res)}
