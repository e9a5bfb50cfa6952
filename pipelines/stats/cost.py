"""The difference in child-years looked after against a counterfactual, and what it is worth.

    difference in child-years = counterfactual child-years - actual child-years
    gross value               = difference x unit cost per child-year
    net                       = gross - investment;  ratio = gross / investment

The interval, when given, comes from the ITS counterfactual's interval for the post period
(:class:`pipelines.stats.its.ITSResult` ``post_totals``), with the unit cost held fixed.
The arithmetic is that of public-sector business cases (HM Treasury, "The Green Book", 2022);
the result is an estimate resting on the counterfactual and the unit cost, and it shows
association, not causation. The field names (``child_years_avoided``, ``gross_avoidance``) are
kept for the callers that read them; the words a reader sees say "an estimated difference ...
worth about", never that anything was avoided or saved (:func:`pipelines.stats.findings.
from_cost_avoidance`). The ratio is kept for analysts; no sentence presents it as a return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.stats.errors import StatsInputError

# Configurable; set to your council's figure. This round number is ILLUSTRATIVE ONLY, not a
# published statistic. Councils usually take the cost of a looked-after child from their own
# placement budget or from DfE's section 251 outturn ("Planned and actual expenditure on
# children looked after") divided by children looked after, and should state the year.
DEFAULT_UNIT_COST_PER_CHILD_YEAR = 100_000.0
DEFAULT_UNIT_COST_SOURCE = (
    "Illustrative default, not a published figure: set your council's own average annual cost "
    "of a looked-after child, with its source and price year, to see a money value."
)


@dataclass(frozen=True)
class CostAvoidanceResult:
    """Result of :func:`cost_avoidance`. Money in pounds at ``price_year`` prices; ``*_lower`` and
    ``*_upper`` are ``None`` when no counterfactual interval was given."""

    method: str
    n: int
    warnings: tuple[str, ...]
    counterfactual_child_years: float
    actual_child_years: float
    child_years_avoided: float
    child_years_avoided_lower: float | None
    child_years_avoided_upper: float | None
    unit_cost_per_child_year: float
    unit_cost_source: str
    price_year: str | None
    gross_avoidance: float
    gross_avoidance_lower: float | None
    gross_avoidance_upper: float | None
    investment: float | None
    net_avoidance: float | None
    net_avoidance_lower: float | None
    net_avoidance_upper: float | None
    return_ratio: float | None
    return_ratio_lower: float | None
    return_ratio_upper: float | None
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["warnings"] = list(self.warnings)
        out["assumptions"] = list(self.assumptions)
        return out


def _num(name: str, v: Any, allow_none: bool = False) -> float | None:
    if v is None and allow_none:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{name} must be a number.") from exc
    if not np.isfinite(f):
        raise StatsInputError(f"{name} must be a finite number, not {v}.")
    return f


def cost_avoidance(
    counterfactual_child_years: float,
    actual_child_years: float,
    unit_cost_per_child_year: float = DEFAULT_UNIT_COST_PER_CHILD_YEAR,
    investment: float | None = None,
    counterfactual_lower: float | None = None,
    counterfactual_upper: float | None = None,
    *,
    unit_cost_source: str | None = None,
    price_year: str | None = None,
    n_periods: int = 1,
) -> CostAvoidanceResult:
    """(counterfactual - actual) child-years x unit cost, set beside the investment.

    ``counterfactual_lower``/``upper`` are the ITS counterfactual interval converted to
    child-years (both or neither). ``n_periods`` (e.g. post-rollout months summed) is reported
    as ``n``. ``unit_cost_source`` defaults to the illustrative-figure label.
    """
    cf = _num("The counterfactual child-years", counterfactual_child_years)
    act = _num("The actual child-years", actual_child_years)
    cost = _num("The unit cost", unit_cost_per_child_year)
    inv = _num("The investment", investment, allow_none=True)
    lo = _num("The counterfactual lower bound", counterfactual_lower, allow_none=True)
    hi = _num("The counterfactual upper bound", counterfactual_upper, allow_none=True)
    if cf < 0 or act < 0:
        raise StatsInputError("Child-years cannot be negative. Check the inputs.")
    if cost <= 0:
        raise StatsInputError("The unit cost per child-year must be more than zero.")
    if inv is not None and inv < 0:
        raise StatsInputError("The investment cannot be negative.")
    if (lo is None) != (hi is None):
        raise StatsInputError("Give both the lower and the upper counterfactual bound, or neither.")
    if lo is not None and hi is not None and not lo <= cf <= hi:
        raise StatsInputError(
            "The counterfactual must lie between its lower and upper bounds. Check the order."
        )
    if n_periods < 1:
        raise StatsInputError("n_periods must be at least 1.")

    warnings: list[str] = []
    avoided = cf - act
    av_lo = None if lo is None else lo - act
    av_hi = None if hi is None else hi - act
    gross = avoided * cost
    g_lo = None if av_lo is None else av_lo * cost
    g_hi = None if av_hi is None else av_hi * cost
    net = n_lo = n_hi = ratio = r_lo = r_hi = None
    if inv is not None:
        net = gross - inv
        n_lo = None if g_lo is None else g_lo - inv
        n_hi = None if g_hi is None else g_hi - inv
        if inv > 0:
            ratio = gross / inv
            r_lo = None if g_lo is None else g_lo / inv
            r_hi = None if g_hi is None else g_hi / inv
        else:
            warnings.append("The investment is zero, so no return ratio can be given.")
    if avoided <= 0:
        warnings.append(
            "Actual child-years were at or above the counterfactual: the estimate shows no fall "
            "in child-years to value."
        )
    if av_lo is not None and av_lo <= 0 < avoided:
        warnings.append(
            "The interval includes no difference: the data are also consistent with no change in "
            "child-years."
        )
    if lo is None:
        warnings.append("No counterfactual interval was given, so the figure has no range.")
    source = unit_cost_source or DEFAULT_UNIT_COST_SOURCE
    if unit_cost_source is None and cost == DEFAULT_UNIT_COST_PER_CHILD_YEAR:
        warnings.append(
            "The unit cost is the illustrative default, not your council's figure, so no money "
            "value is shown in words; set your own to see one."
        )
    assumptions = (
        "This is an estimate, not a saving in the budget: it values child-years that the "
        "counterfactual projects would have happened without the programme.",
        "The counterfactual is a projection of the pre-rollout trend; other changes in the "
        "period (policy, demand, COVID-19) are not separated out.",
        "It shows association, not causation.",
        # No pound figure in words until the council has set its own unit cost (issue 13).
        (
            f"Unit cost: £{cost:,.0f} per child-year ({source})"
            + (f", {price_year} prices." if price_year else "; price year not stated.")
            if unit_cost_source is not None or cost != DEFAULT_UNIT_COST_PER_CHILD_YEAR
            else f"Unit cost: {source}"
        ),
        "The unit cost is held fixed: the range reflects only uncertainty in the counterfactual.",
    )
    return CostAvoidanceResult(
        method=(
            "Difference in child-years looked after: counterfactual minus actual, valued at a "
            "unit cost and set beside the programme investment (HM Treasury Green Book style)."
        ),
        n=int(n_periods),
        warnings=tuple(warnings),
        counterfactual_child_years=cf,
        actual_child_years=act,
        child_years_avoided=avoided,
        child_years_avoided_lower=av_lo,
        child_years_avoided_upper=av_hi,
        unit_cost_per_child_year=cost,
        unit_cost_source=source,
        price_year=price_year,
        gross_avoidance=gross,
        gross_avoidance_lower=g_lo,
        gross_avoidance_upper=g_hi,
        investment=inv,
        net_avoidance=net,
        net_avoidance_lower=n_lo,
        net_avoidance_upper=n_hi,
        return_ratio=ratio,
        return_ratio_lower=r_lo,
        return_ratio_upper=r_hi,
        assumptions=assumptions,
    )


def child_years_from_monthly_stock(stock: Any) -> float:
    """Child-years from a monthly stock series (children looked after at each month end).

    Each month-end count stands for that month: child-years = sum of month-end counts / 12.
    Missing months raise :class:`StatsInputError` (fill or drop them first, and say so).
    """
    s = pd.to_numeric(pd.Series(stock, dtype="object"), errors="coerce")
    if s.empty:
        raise StatsInputError("The monthly series is empty.")
    if s.isna().any():
        raise StatsInputError(
            f"{int(s.isna().sum())} month(s) have no count (missing or suppressed). Fill or drop "
            "them before converting to child-years, and report that you did."
        )
    if (s < 0).any():
        raise StatsInputError("A count of children cannot be negative.")
    return float(s.sum() / 12.0)
