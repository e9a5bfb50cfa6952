"""The difference in child-years in care against the ITS counterfactual, and what it is worth.

The module keeps its old name (``cost_avoidance_analysis``) for its callers; what a reader sees
says "an estimated difference of N child-years (range), worth about £X at your unit cost", and
gives a money value only at the council's own unit cost (:func:`pipelines.stats.findings.
from_cost_avoidance`). The finding carries the measured calibration of the child-years
estimate (``before_child_years:cla_at_period_end`` in ``calibration.json``), so it is graded
low with that coverage beside it until the estimate is calibrated, and never high.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pipelines import marts
from pipelines.analysis.common import as_date, attempt, source_line
from pipelines.analysis.headlines import graded_by_calibration
from pipelines.analysis.trend import series_its
from pipelines.measures import PERIOD_WORD, PERIODS_PER_YEAR, SEASON_LENGTH
from pipelines.present.wording import month_label
from pipelines.stats import findings as fnd
from pipelines.stats.cost import CostAvoidanceResult, cost_avoidance
from pipelines.stats.findings import Finding
from pipelines.stats.its import (
    MIN_POINTS_EACH_SIDE,
    ITSResult,
    newey_west_lags,
)
from pipelines.store.warehouse import Warehouse

#: The child-years estimate as the calibration harness measures it (monthly ITS with HAC errors).
CALIBRATION_KEY = "before_child_years:cla_at_period_end"


@dataclass(frozen=True)
class CostAvoidanceAnalysis:
    """The difference in child-years in care, from the ITS counterfactual of children looked
    after.

    Fields:
        area_code: the area.
        since: the date from which the difference is counted (the ITS interruption).
        grain: "month" (preferred) or "quarter" when monthly data are not available.
        its: the ITS of children looked after at period end (quasi-Poisson, seasonality,
            Newey-West errors, level and slope change), or None.
        result: the child-years and their value (CostAvoidanceResult), or None.
        notes: method -> reason, when something could not run.
        findings: plain-English findings, graded by the calibration of the child-years
            estimate.
        source: the source line.
    """

    area_code: str
    since: dt.date | None
    grain: str
    its: ITSResult | None
    result: CostAvoidanceResult | None
    notes: dict[str, str]
    findings: list[Finding]
    source: str


def cost_avoidance_analysis(
    wh: Warehouse,
    area_code: str,
    *,
    unit_cost: float | None = None,
    investment: float | None = None,
    since: Any = None,
) -> CostAvoidanceAnalysis:
    """(Counterfactual - actual) child-years looked after x unit cost, beside the investment.

    The counterfactual is the ITS projection of the pre-rollout trend in children looked
    after at period end (monthly if available, else quarterly); each month-end count stands
    for one month (a quarter-end count for three). ``unit_cost`` defaults to the illustrative
    figure in :mod:`pipelines.stats.cost`, and then the finding shows child-years only.
    """
    notes: dict[str, str] = {}
    start = as_date(since) or marts.area_rollout_date(wh, area_code)
    grain = "month"
    raw = marts.outcome_series(wh, area_code, "cla_at_period_end", grain="month")
    series = raw[raw["complete"].astype(bool)].reset_index(drop=True)
    if series["value"].notna().sum() == 0:
        grain = "quarter"
        raw = marts.outcome_series(wh, area_code, "cla_at_period_end", grain="quarter")
        series = raw[raw["complete"].astype(bool)].reset_index(drop=True)
    source = source_line(wh, series)
    if start is None:
        notes["its"] = "No rollout date is loaded, so there is no 'since' to count from."
        return CostAvoidanceAnalysis(area_code, None, grain, None, None, notes, [], source)
    if series["value"].notna().sum() == 0:
        notes["its"] = "No children looked after figures are loaded."
        return CostAvoidanceAnalysis(area_code, start, grain, None, None, notes, [], source)
    n = int(series["value"].notna().sum())
    its_res = attempt(
        notes,
        "its",
        lambda: series_its(
            series,
            start,
            family="quasipoisson",
            harmonics=1,
            season_length=SEASON_LENGTH[grain],
            hac_lags=newey_west_lags(n),
        ),
    )
    result = None
    if its_res is not None:
        if min(its_res.n_pre, its_res.n_post) < MIN_POINTS_EACH_SIDE:
            notes["cost"] = (
                f"Too few {PERIOD_WORD[grain]}s around {month_label(start)} for a counterfactual "
                f"(need {MIN_POINTS_EACH_SIDE} each side)."
            )
        else:
            per_year = PERIODS_PER_YEAR[grain]
            totals = its_res.post_totals
            kwargs: dict[str, Any] = {}
            if unit_cost is not None:
                kwargs["unit_cost_per_child_year"] = unit_cost
                kwargs["unit_cost_source"] = "the council's figure, as entered"
            result = attempt(
                notes,
                "cost",
                lambda: cost_avoidance(
                    totals["counterfactual"] / per_year,
                    totals["observed"] / per_year,
                    investment=investment,
                    counterfactual_lower=totals["counterfactual_lower"] / per_year,
                    counterfactual_upper=totals["counterfactual_upper"] / per_year,
                    n_periods=its_res.n_post,
                    **kwargs,
                ),
            )
    found = []
    if result is not None:
        finding = fnd.from_cost_avoidance(result, since=month_label(start), importance=70)
        # Measured on the monthly series only; a quarterly fallback has not been measured.
        key = CALIBRATION_KEY if grain == "month" else None
        found.append(graded_by_calibration(finding, key))
    return CostAvoidanceAnalysis(area_code, start, grain, its_res, result, notes, found, source)
