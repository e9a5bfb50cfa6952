"""Training dose and response: does a larger change in an outcome go with more training?

:func:`dose_table` is each locality's latest coverage beside its rate before and after its own
rollout; :func:`dose_response_analysis` correlates the two (Spearman's rho) for the Training
page, the report and the board's findings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines import marts
from pipelines.analysis.cohorts import unit_panel
from pipelines.analysis.common import as_date, attempt, check_measure, measure_label, source_line
from pipelines.stats import findings as fnd
from pipelines.stats.dose_response import DoseResponseResult, dose_response
from pipelines.stats.errors import StatsInputError
from pipelines.stats.findings import Finding
from pipelines.store.warehouse import Warehouse


@dataclass(frozen=True)
class DoseResponseAnalysis:
    """Training coverage against change in outcome across localities.

    Fields:
        area_code, measure, window, coverage_date: the options used (``coverage_date`` is the
            latest training period when not given).
        table: per locality: ``unit, coverage, rate_before, rate_after, change, n_before,
            n_after`` as ``build_dose_response_table`` makes it (:func:`dose_table`; quarterly
            rates per 10,000, ``window`` quarters each side of the locality's rollout), plus
            ``relative_change`` (change / rate_before), the measure the correlation uses
            because localities differ in their underlying need.
        result: Spearman's rho with its Fisher-z interval (DoseResponseResult), or None.
        notes: method -> reason, when the correlation could not run.
        findings: plain-English findings.
        source: the source line.
    """

    area_code: str
    measure: str
    window: int
    coverage_date: dt.date | None
    table: pd.DataFrame
    result: DoseResponseResult | None
    notes: dict[str, str]
    findings: list[Finding]
    source: str


def dose_table(
    cov: pd.DataFrame, panel: pd.DataFrame, rollouts: pd.Series, coverage_date: Any, window: int
) -> pd.DataFrame:
    """`stats.dose_response.build_dose_response_table` for every unit at once.

    The same table (``unit, coverage, rate_before, rate_after, change, n_before, n_after``,
    units in name order): each unit's latest coverage on or before `coverage_date`, and its
    mean rate over the `window` periods with a rate before its rollout and from it on. The
    builder loops over units, filtering the whole coverage and outcome tables for each, which
    took over a second with 160 localities; here each step is one grouped operation.
    `tests/test_analysis_fast_paths.py` checks the two agree.
    """
    cut = pd.Timestamp(coverage_date)
    cov_dates = pd.to_datetime(cov["period_end"])
    latest = (
        cov.assign(_date=cov_dates)[cov_dates <= cut]
        .sort_values("_date", kind="stable")
        .groupby("unit")
        .tail(1)  # the latest row, even when its coverage is missing
        .set_index("unit")["coverage"]
    )
    valid = panel[["unit", "period_end", "rate_per_10k"]].dropna(subset=["rate_per_10k"])
    valid = valid.assign(_date=pd.to_datetime(valid["period_end"])).sort_values(
        ["unit", "_date"], kind="stable"
    )
    start = pd.to_datetime(valid["unit"].map(rollouts))
    before = valid[valid["_date"] < start].groupby("unit").tail(window)
    after = valid[valid["_date"] >= start].groupby("unit").head(window)
    units = sorted(set(panel["unit"]) | set(cov["unit"]), key=str)
    table = pd.DataFrame({"unit": units})
    table["coverage"] = table["unit"].map(latest).astype("float64")
    for side, rows in (("before", before), ("after", after)):
        grouped = rows.groupby("unit")["rate_per_10k"]
        table[f"rate_{side}"] = table["unit"].map(grouped.mean()).astype("float64")
        table[f"n_{side}"] = table["unit"].map(grouped.size()).fillna(0).astype("int64")
    table["change"] = table["rate_after"] - table["rate_before"]
    return table[["unit", "coverage", "rate_before", "rate_after", "change", "n_before", "n_after"]]


def dose_response_analysis(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    coverage_date: Any = None,
    window: int = 4,
) -> DoseResponseAnalysis:
    """Does a larger change in the outcome go with higher training coverage across units?"""
    m = check_measure(measure, "quarter")
    notes: dict[str, str] = {}
    cov = marts.training_coverage(wh, area_code, by=("unit",))
    panel = unit_panel(wh, area_code, measure, "quarter")
    source = (
        source_line(wh, panel) + "; " + source_line(wh, dataset="training").removeprefix("Source: ")
    )
    if coverage_date is None and not cov.empty:
        coverage_date = cov["period_end"].max()
    cdate = as_date(coverage_date)
    empty = pd.DataFrame()
    if cov.empty or panel.empty:
        notes["dose_response"] = (
            "Training coverage by unit and outcomes by unit are both needed; "
            + ("no training data are loaded." if cov.empty else "no unit outcomes are loaded.")
        )
        return DoseResponseAnalysis(
            area_code, measure, window, cdate, empty, None, notes, [], source
        )
    rollouts = panel.groupby("unit")["start_date"].first()
    if window < 1:
        raise StatsInputError("The window must be at least one period each side.")
    table = dose_table(cov, panel, rollouts, coverage_date, window)
    table["relative_change"] = table["change"] / table["rate_before"].where(
        table["rate_before"] > 0
    )
    result = attempt(
        notes,
        "dose_response",
        lambda: dose_response(table, "coverage", "relative_change", unit_col="unit"),
    )
    found = []
    if result is not None:
        found.append(
            fnd.from_dose_response(
                result,
                label=measure_label(measure),
                improvement=m.improvement,
                measure=measure,
                importance=60,
            )
        )
    return DoseResponseAnalysis(
        area_code, measure, window, cdate, table, result, notes, found, source
    )
