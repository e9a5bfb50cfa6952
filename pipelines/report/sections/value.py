"""Section 5, value for money: child-years in care avoided against the interrupted time
series' projection, valued at a unit cost and set beside the programme's investment.

An estimate with its assumptions, never a saving in a budget (`pipelines.stats.cost`, through
`pipelines.analysis.cost_avoidance_analysis`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from pipelines import analysis
from pipelines.present import charts
from pipelines.present.wording import is_missing, month_label
from pipelines.report.tables import Block, Builder, num

COUNTERFACTUAL_COLUMNS = (
    "date",
    "observed",
    "counterfactual",
    "counterfactual_lower",
    "counterfactual_upper",
)


def _money(value) -> str:
    return "–" if is_missing(value) else f"£{value:,.0f}"


def _years(value) -> str:
    return "–" if is_missing(value) else f"{value:,.0f}"


def _pounds_per_pound(value) -> str:
    return f"£{value:,.2f}"


def _interval(lower, upper, fmt: Callable[[Any], str]) -> str:
    return "–" if is_missing(lower) or is_missing(upper) else f"{fmt(lower)} to {fmt(upper)}"


def value_rows(res) -> pd.DataFrame:
    """The value-for-money table of a `CostAvoidanceResult`: item, estimate, interval or source."""
    rows = [
        (
            "Child-years looked after expected without the programme",
            _years(res.counterfactual_child_years),
            "",
        ),
        ("Child-years looked after observed", _years(res.actual_child_years), ""),
        (
            "Child-years avoided",
            _years(res.child_years_avoided),
            _interval(res.child_years_avoided_lower, res.child_years_avoided_upper, _years),
        ),
        ("Unit cost per child-year", _money(res.unit_cost_per_child_year), res.unit_cost_source),
        (
            "Gross cost avoided",
            _money(res.gross_avoidance),
            _interval(res.gross_avoidance_lower, res.gross_avoidance_upper, _money),
        ),
        (
            "Investment in the programme",
            _money(res.investment) if res.investment else "Not given",
            "",
        ),
        (
            "Net cost avoided (gross minus investment)",
            _money(res.net_avoidance),
            _interval(res.net_avoidance_lower, res.net_avoidance_upper, _money),
        ),
        (
            "Return per £1 invested",
            "–" if is_missing(res.return_ratio) else _pounds_per_pound(res.return_ratio),
            _interval(res.return_ratio_lower, res.return_ratio_upper, _pounds_per_pound),
        ),
    ]
    return pd.DataFrame(rows, columns=["item", "estimate", "95% interval or source"])


def _counterfactual_chart(b: Builder, ca: analysis.CostAvoidanceAnalysis):
    """Children looked after against the projection the cost estimate rests on."""
    res, fitted = ca.result, ca.its.fitted
    title = (
        f"An estimated {res.child_years_avoided:,.0f} fewer child-years in care than the "
        f"pre-rollout trend projected (95% CI {_years(res.child_years_avoided_lower)} to "
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
        "projection of the pre-rollout trend (dashed) that the cost estimate uses.",
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
    block = Block("value-cost", "Cost avoidance against investment")
    res = ca.result
    if res is None:
        reason = "; ".join(ca.notes.values()) or "not enough data."
        block.paragraphs.append(f"Cost avoidance could not be estimated: {reason}")
        return [block], {}
    block.paragraphs.extend(f.text for f in ca.findings)
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
