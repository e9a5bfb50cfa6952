"""The dose-response table and chart as a viewer gets them: through the disclosure gate.

The table (`analysis.dose_response_analysis`: per locality ``coverage, rate_before,
rate_after, change, relative_change, n_before, n_after``) states rates without their counts.
Each side's rate is the mean of the locality's quarterly rates over its window, so:

- the side's count is the sum of the window's counts: a rate over 1 to 4 children is
  suppressed (the gate decides on that count, read from the marts, not on the rate);
- the mean times the window's length, less the quarterly rates shown elsewhere (Trends,
  Cohorts), is the rate of a quarter hidden there, and times its population its count: a side
  whose window holds a quarter the one decision hides (`present.cube`) is suppressed too;
- the change and the relative change are made from both sides, and a side's rate from the
  other side's and the change: they go with either;
- the coverage is a share of staff: it is hidden where the Training page hides it
  (`charts.tables.gate_training`, by unit, with the all-staff total).

The chart plots only the localities whose coverage and change are shown. Spearman's rho and
its interval rest on every locality's rank, not on any count, and are stated as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import analysis, config, disclosure, marts
from pipelines.analysis.cohorts import unit_panel
from pipelines.present import cube as cube_gate
from pipelines.present.charts import tables as gates
from pipelines.store.warehouse import Warehouse

#: Each side's rate, and what is made from it.
SIDE_DERIVED = {
    "before": ("rate_before", "change", "relative_change"),
    "after": ("rate_after", "change", "relative_change"),
}


@dataclass(frozen=True)
class GatedDose:
    """A dose-response analysis after the gate.

    Fields:
        dose: the analysis (its `result` and `findings` state rho only).
        table: the table (:class:`~pipelines.disclosure.Gated`): ``c`` where suppressed in
            the table and download, NaN in its `plot`.
        points: the chart's points (`result.points`) for the localities shown, or None.
        n_hidden: how many localities are left off the chart.
    """

    dose: analysis.DoseResponseAnalysis
    table: disclosure.Gated
    points: pd.DataFrame | None
    n_hidden: int

    def percent_table(self, columns=("coverage", "relative_change")) -> pd.DataFrame:
        """The table with the shares in `columns` as percentages, ``c`` kept where suppressed:
        for a caller that shows percentages (the report), so it need not convert (and lose
        the ``c``) itself."""
        out = self.table.table.copy()
        for column in columns:
            if column in out:
                shown = out[column] != disclosure.SUPPRESSED
                out[column] = out[column].astype(object)
                out.loc[shown, column] = pd.to_numeric(out.loc[shown, column]) * 100
        return out

    @property
    def caption(self) -> str:
        """What a viewer is told about the localities left off (empty when none are)."""
        if not self.n_hidden:
            return ""
        return (
            f"{self.n_hidden} locality(ies) are not plotted, and their rates are shown as “c”: "
            "they rest on 1 to 4 children, or on a quarter suppressed elsewhere."
        )


def side_counts(panel: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per unit and side: the window's periods (as `dose_table` picks them) and their count.

    Returns ``unit, side, count, periods`` (periods: the list of period ends).
    """
    valid = panel.dropna(subset=["rate_per_10k"]).copy()
    valid["_date"] = pd.to_datetime(valid["period_end"])
    valid = valid.sort_values(["unit", "_date"], kind="stable")
    start = pd.to_datetime(valid["unit"].map(panel.groupby("unit")["start_date"].first()))
    sides = {
        "before": valid[valid["_date"] < start].groupby("unit").tail(window),
        "after": valid[valid["_date"] >= start].groupby("unit").head(window),
    }
    rows = []
    for side, frame in sides.items():
        for unit, group in frame.groupby("unit"):
            rows.append(
                {
                    "unit": str(unit),
                    "side": side,
                    "count": float(pd.to_numeric(group["value"], errors="coerce").sum()),
                    "periods": list(group["_date"]),
                }
            )
    return pd.DataFrame(rows, columns=["unit", "side", "count", "periods"])


def dose_masks(
    table: pd.DataFrame,
    sides: pd.DataFrame,
    cube: cube_gate.Cube,
    coverage_hidden: dict[str, bool],
    threshold: int | None = None,
) -> dict[str, np.ndarray]:
    """`rows` for the gate: which cells of the dose table to suppress (see the module)."""
    threshold = config.suppression_threshold() if threshold is None else threshold
    masks = {c: np.zeros(len(table), bool) for c in table.columns}
    for side, columns in SIDE_DERIVED.items():
        hide = np.zeros(len(table), bool)
        for position, unit in enumerate(table["unit"].astype(str)):
            row = sides[(sides["unit"] == unit) & (sides["side"] == side)]
            if row.empty:
                continue
            count = row["count"].iloc[0]
            hidden = set(pd.to_datetime(cube.hidden_periods(unit)))
            in_window = set(row["periods"].iloc[0])
            hide[position] = bool(1 <= count <= threshold) or bool(hidden & in_window)
        for column in columns:
            if column in masks:
                masks[column] |= hide
    if "coverage" in masks:
        masks["coverage"] |= (
            table["unit"].astype(str).map(coverage_hidden).fillna(False).to_numpy(dtype=bool)
        )
    return masks


def coverage_hidden(wh: Warehouse, area_code: str, coverage_date) -> dict[str, bool]:
    """Unit -> whether the Training page hides its coverage at its latest date on or before
    `coverage_date` (the date the dose table reads)."""
    by_unit = marts.training_coverage(wh, area_code, by=("unit",))
    if by_unit.empty:
        return {}
    overall = marts.training_coverage(wh, area_code)
    gated = gates.gate_training(by_unit, overall, "unit")
    frame = gated.plot.assign(_hidden=gated.masks.get("coverage", False))
    frame = frame[frame["unit"] != gates.TRAINING_TOTAL]
    if coverage_date is not None:
        frame = frame[frame["period_end"] <= pd.Timestamp(coverage_date)]
    latest = frame.sort_values("period_end", kind="stable").groupby("unit").tail(1)
    return dict(zip(latest["unit"].astype(str), latest["_hidden"].astype(bool), strict=True))


def gated_dose_response(
    wh: Warehouse, area_code: str, measure: str, *, window: int = 4, threshold: int | None = None
) -> GatedDose:
    """`analysis.dose_response_analysis` with its table and chart points through the gate."""
    dose = analysis.dose_response_analysis(wh, area_code, measure, window=window)
    table = dose.table.reset_index(drop=True)
    if table.empty:
        return GatedDose(dose, gates.gate(table), None, 0)
    panel = unit_panel(wh, area_code, measure, "quarter")
    cube = cube_gate.outcome_cube(wh, area_code, measure, "quarter", threshold)
    masks = dose_masks(
        table,
        side_counts(panel, dose.window),
        cube,
        coverage_hidden(wh, area_code, dose.coverage_date),
        threshold,
    )
    gated = gates.gate(table, threshold=threshold, rows=masks)
    hidden_units = set(table.loc[masks["relative_change"] | masks["coverage"], "unit"].astype(str))
    points = None
    if dose.result is not None:
        points = dose.result.points
        points = points[~points["unit"].astype(str).isin(hidden_units)].reset_index(drop=True)
    n_hidden = len(hidden_units & set(table["unit"].astype(str)))
    return GatedDose(dose, gated, points, n_hidden)
