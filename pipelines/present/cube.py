"""One suppression decision per (area, measure, grain) for every view of the outcome counts.

A viewer meets the same counts in many views: the area's total (Board, Trends), the localities
beside it (Cohorts, Trends' "localities" breakdown), the age bands beside it, one locality's age
bands (Cohorts with a unit chosen), and one locality in one age band (Trends). Together they
are the whole locality x age-band table of each period with both of its margins, so a cell
suppressed in one breakdown can be worked out from the others (a locality's total less its age
bands shown, the area's total less the other localities). Here that table is read once and
:func:`pipelines.disclosure.cube_masks` decides, once, which of its cells are hidden; every view
takes its mask from that decision (:func:`gate_comparison`, :func:`hidden_periods`), so no
view hides less than another shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import disclosure, marts
from pipelines.measures import UNIT_ALL
from pipelines.present.charts import tables as gates
from pipelines.store.warehouse import Warehouse


@dataclass(frozen=True)
class Cube:
    """The locality x age-band counts of one (area, measure, grain), margins included.

    Fields:
        cells: ``unit, age_band, period_end, value, hidden`` (one row per cell and period,
            the margins labelled ``All``); ``hidden`` is the one decision every view follows.
    """

    cells: pd.DataFrame

    def hidden_periods(self, unit: str = UNIT_ALL, age_band: str = UNIT_ALL) -> list:
        """The periods in which the series (`unit`, `age_band`) is hidden."""
        rows = self.cells[(self.cells["unit"] == unit) & (self.cells["age_band"] == age_band)]
        return rows.loc[rows["hidden"], "period_end"].tolist()

    def mask_for(self, frame: pd.DataFrame, by: str, fixed: str) -> np.ndarray:
        """The `hidden` mask for a comparison frame (``series, period_end, ...``) whose series
        are units (`by="unit"`, at age band `fixed`) or age bands (`by="age_band"`, in unit
        `fixed`)."""
        other = "age_band" if by == "unit" else "unit"
        chosen = self.cells[self.cells[other] == fixed]
        hidden = chosen.set_index([by, "period_end"])["hidden"]
        keys = pd.MultiIndex.from_arrays(
            [frame["series"].astype(str), pd.to_datetime(frame["period_end"])]
        )
        return hidden.reindex(keys).fillna(False).to_numpy(dtype=bool)


def outcome_cube(
    wh: Warehouse, area_code: str, measure: str, grain: str, threshold: int | None = None
) -> Cube:
    """Every cell of the locality x age-band table of each period, and which are hidden.

    Read as the views read it (`marts.outcome_panel`, complete periods only), one age band at
    a time with the localities and the area's total beside it.
    """
    bands = [UNIT_ALL, *(b for b in marts.age_bands(wh, area_code) if b != UNIT_ALL)]
    parts = []
    for band in bands:
        panel = marts.outcome_panel(wh, area_code, measure, by="unit", grain=grain, age_band=band)
        parts.append(
            pd.DataFrame(
                {
                    "unit": panel["series"].astype(str),
                    "age_band": band,
                    "period_end": pd.to_datetime(panel["period_end"]),
                    "value": pd.to_numeric(panel["value"], errors="coerce"),
                }
            )
        )
    cells = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if cells.empty:
        cells = pd.DataFrame(columns=["unit", "age_band", "period_end", "value"])
    cells = cells.sort_values(["period_end", "unit", "age_band"], kind="stable")
    cells = cells.reset_index(drop=True)
    cells["hidden"] = disclosure.cube_masks(
        cells, rows="unit", cols="age_band", by=("period_end",), threshold=threshold
    )
    return Cube(cells)


def gate_comparison(
    cube: Cube, frame: pd.DataFrame, by: str, fixed: str = UNIT_ALL, threshold: int | None = None
) -> disclosure.Gated:
    """A comparison's long frame (localities at one age band, or one unit's age bands, with
    their "All") hidden exactly where the cube's one decision hides it: its own counts of 1
    to the threshold and the cells hidden to protect them in any view."""
    mask = cube.mask_for(frame, by, fixed)
    derived = gates.COMPARISON_DERIVED["value"]
    rows = {c: mask for c in ("value", *derived)}
    return gates.gate(frame, ["value"], gates.COMPARISON_DERIVED, threshold, rows=rows)


def gate_trend(
    cube: Cube, trend, unit: str = UNIT_ALL, age_band: str = UNIT_ALL, threshold=None
) -> gates.TrendGates:
    """`charts.tables.gate_trend` with the periods the cube hides for (`unit`, `age_band`)."""
    hidden = tuple(cube.hidden_periods(unit, age_band))
    return _trend_gates(trend, hidden, threshold)


def _trend_gates(trend, hidden: Iterable, threshold) -> gates.TrendGates:
    hidden = tuple(hidden)
    ba = trend.before_after
    return gates.TrendGates(
        hidden=hidden,
        series=gates.gate_series(trend.series, threshold, hidden),
        before_after=None if ba is None else gates.gate_before_after(ba.periods, threshold, hidden),
        before_after_withheld=ba is not None
        and gates.before_after_withheld(ba.periods, threshold, hidden),
        its=None if trend.its is None else gates.gate_its(trend.its.fitted, threshold, hidden),
        spc=None
        if trend.spc is None
        else gates.gate_spc(trend.spc, trend.series, threshold, hidden),
        findings=gates.trend_findings(trend, threshold, hidden),
    )
