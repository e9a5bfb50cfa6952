"""One suppression decision per (area, measure) for every view of the outcome counts.

A viewer meets the same counts in many views: the area's total (Board, Trends), the localities
beside it (Cohorts, Trends' "localities" breakdown), the age bands beside it, one locality's age
bands (Cohorts with a unit chosen), and one locality in one age band (Trends). Together they
are the whole locality x age-band table of each period with both of its margins, so a cell
suppressed in one breakdown can be worked out from the others (a locality's total less its age
bands shown, the area's total less the other localities). Here that table is read once and
:func:`pipelines.disclosure.cube_masks` decides, once, which of its cells are hidden; every view
takes its mask from that decision (:func:`gate_comparison`, :func:`hidden_periods`), so no
view hides less than another shows. A flow's months, quarters and financial years are decided
together, since a quarter is the sum of its months and a year the sum of its quarters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines import config, disclosure, marts
from pipelines.measures import GRAINS, MEASURES, UNIT_ALL
from pipelines.measures import measure as measure_info
from pipelines.present import decision_store
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
    a time with the localities and the area's total beside it. For a flow (a count over the
    period, which adds up over time) the decision is taken over the month, quarter and
    financial-year tables together (:func:`pipelines.disclosure.grain_masks`), so a month
    hidden in one grain cannot be worked out from its quarter and the other months in
    another; a stock (counted on the last day, `measures.STOCK_MEASURES`) does not add up, and
    each grain is decided on its own.
    """
    grains = decision_grains(measure, grain)
    return cube_at_grain(decided_cells(wh, area_code, measure, grains, threshold), grain)


def decision_grains(measure: str, grain: str) -> tuple[str, ...]:
    """The grains one disclosure decision covers for `measure` seen at `grain`: every grain
    for a flow (they add up), the grain itself for a stock."""
    return (grain,) if measure_info(measure).is_stock else tuple(GRAINS)


def decided_cells(
    wh: Warehouse,
    area_code: str,
    measure: str,
    grains: tuple[str, ...],
    threshold: int | None = None,
) -> pd.DataFrame:
    """The cells of `grains` (``grain`` column) with the one decision over them (``hidden``):
    one decision, however many of its grains a viewer looks at (the dashboard caches it per
    measure, so switching the grain of a flow does not decide it again). A flow's decision
    audits every relation of each year at once (a few seconds), so it is also kept here for
    the data version: the report, the brief and the CLI ask for the same cells several
    times (training, practice chain, outcomes) and take it once."""
    threshold = config.suppression_threshold() if threshold is None else threshold
    key = (str(wh.path), wh.data_version(), area_code, measure, tuple(grains), threshold)
    if key not in _DECIDED:
        if len(_DECIDED) >= 32:
            _DECIDED.clear()
        _DECIDED[key] = _decide(wh, area_code, measure, grains, threshold)
    return _DECIDED[key].copy()


#: (warehouse, data version, area, measure, grains, threshold) -> :func:`decided_cells`.
_DECIDED: dict[tuple, pd.DataFrame] = {}


def _decide(
    wh: Warehouse, area_code: str, measure: str, grains: tuple[str, ...], threshold: int | None
) -> pd.DataFrame:
    if len(grains) == 1:
        cells = _cells(wh, area_code, measure, grains)
        cells["hidden"] = disclosure.cube_masks(
            cells, rows="unit", cols="age_band", by=("period_end",), threshold=threshold
        )
        return cells
    every = _cells(wh, area_code, measure, grains)
    every["hidden"] = _flow_mask(every, decision_store.folder_for(wh.path), threshold)
    return every


def _flow_mask(every: pd.DataFrame, folder, threshold: int | None) -> np.ndarray:
    """The hidden mask of a flow's cells at every grain (:func:`disclosure.grain_masks`).

    The decision is a function of the cells alone: the same counts (a copy of a warehouse,
    the same data in another process's file) are decided once, by their content. It is kept
    on disk too (`decision_store`), for the next process reading the same cells."""
    threshold = config.suppression_threshold() if threshold is None else threshold
    content = _content_key(every)
    key = (content, threshold)
    if key not in _BY_CONTENT:
        if len(_BY_CONTENT) >= 32:
            _BY_CONTENT.clear()
        stored = decision_store.key_for(content, threshold)
        values = every["value"].to_numpy(dtype=float, na_value=np.nan)
        mask = decision_store.load(folder, stored, values, threshold)
        if mask is None:
            mask = disclosure.grain_masks(
                every, rows="unit", cols="age_band", grain="grain", threshold=threshold
            )
            decision_store.save(folder, stored, mask)
        _BY_CONTENT[key] = mask
    return _BY_CONTENT[key].copy()


@dataclass(frozen=True)
class PendingDecision:
    """A flow's cells read for deciding later (:func:`decide_flows`)."""

    measure: str
    folder: Path | None
    cells: pd.DataFrame
    threshold: int | None


def decide_flows(
    wh: Warehouse, area_code: str, threshold: int | None = None
) -> list[PendingDecision]:
    """Decide every flow measure of an area ahead of time, for `rp-impact decide` and the
    server's start: the cells are read first and the warehouse is not read again, so a caller
    may close it before :func:`finish_decisions` takes the seconds each flow's audit needs
    (and another process may write meanwhile)."""
    folder = decision_store.folder_for(wh.path)
    read = []
    for name, info in MEASURES.items():
        if info.is_stock:
            continue
        cells = _cells(wh, area_code, name, tuple(GRAINS))
        if cells["value"].notna().any():
            read.append((name, cells))
    return [PendingDecision(name, folder, cells, threshold) for name, cells in read]


def finish_decisions(pending: list[PendingDecision]) -> list[str]:
    """Decide (or find kept) each flow :func:`decide_flows` read; the measures decided."""
    for decision in pending:
        _flow_mask(decision.cells, decision.folder, decision.threshold)
    return [decision.measure for decision in pending]


#: (content of a flow's cells, threshold) -> its hidden mask (:func:`_decide`).
_BY_CONTENT: dict[tuple, np.ndarray] = {}


def _content_key(cells: pd.DataFrame) -> str:
    """A digest of every cell's keys and count, in order."""
    hashed = pd.util.hash_pandas_object(
        cells[["grain", "unit", "age_band", "period_end", "value"]], index=False
    )
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def cube_at_grain(decided: pd.DataFrame, grain: str) -> Cube:
    """The :class:`Cube` of one grain of :func:`decided_cells`."""
    cells = decided[decided["grain"] == grain].drop(columns="grain")
    return Cube(cells.reset_index(drop=True))


def _cells(wh: Warehouse, area_code: str, measure: str, grains: tuple[str, ...]) -> pd.DataFrame:
    """``unit, age_band, period_end, value, grain`` of every cell of `grains`, margins
    included: each grain's cells in period, unit and age-band order, the grains in the order
    given (the order the content key and a kept decision are made in)."""
    read = marts.outcome_cells(wh, area_code, measure, tuple(grains))
    read["unit"] = read["unit"].astype(str)
    read["age_band"] = read["age_band"].astype(str)
    parts = [
        read[read["grain"] == grain]
        .drop(columns="grain")
        .sort_values(["period_end", "unit", "age_band"], kind="stable")
        .assign(grain=grain)
        for grain in grains
    ]
    cells = pd.concat(parts, ignore_index=True)
    return cells[["unit", "age_band", "period_end", "value", "grain"]]


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


def shown_findings(trend, hidden: Iterable = (), threshold=None) -> list:
    """The findings of a `TrendAnalysis` a viewer may read with `hidden` periods hidden: those
    the Trends page lists (:func:`gate_trend`), for the Board's findings beside it."""
    return _trend_gates(trend, hidden, threshold).findings


def _trend_gates(trend, hidden: Iterable, threshold) -> gates.TrendGates:
    hidden = tuple(hidden)
    ba = trend.before_after
    withheld = ba is not None and before_after_withheld(ba.periods, threshold, hidden)
    its_withheld = trend.its is not None and its_withheld_for(trend.series, threshold, hidden)
    findings = gates.trend_findings(trend, threshold, hidden)
    if withheld:  # the before/after finding states each side's average and their ratio
        findings = [f for f in findings if not f.key.startswith("before_after")]
    if its_withheld:  # its step and counterfactual rest on the hidden periods too
        findings = [f for f in findings if not f.key.startswith("its")]
    return gates.TrendGates(
        hidden=hidden,
        series=gates.gate_series(trend.series, threshold, hidden),
        before_after=None if ba is None else gates.gate_before_after(ba.periods, threshold, hidden),
        before_after_withheld=withheld,
        its=None
        if trend.its is None or its_withheld
        else gates.gate_its(trend.its.fitted, threshold, hidden),
        its_withheld=its_withheld,
        spc=None
        if trend.spc is None
        else gates.gate_spc(trend.spc, trend.series, threshold, hidden),
        findings=findings,
    )


def its_withheld_for(series: pd.DataFrame, threshold=None, hidden: Iterable = ()) -> bool:
    """True when the Trends page must not show the interrupted time series at all: some
    period of the series it was fitted on is hidden (`hidden`, or a count of 1 to the
    threshold).

    A Poisson model with an intercept fits the total count exactly: its fitted values add up
    to the observed counts over the periods it was fitted on (and, with seasonal terms and a
    step, over each season and each side of the step). So the fitted values less the counts
    shown give the hidden periods' total, and with one period hidden, that period. Its step
    and counterfactual are worked out from the same counts. Fitting over the periods shown
    only would drop the smallest counts, which biases the model, so the model is withheld
    instead, as the before/after comparison is (:func:`before_after_withheld`).
    """
    if series is None or series.empty or "value" not in series:
        return False
    mask = gates.gate_series(series, threshold, hidden).masks.get("value")
    return mask is not None and bool(mask.any())


def before_after_withheld(periods: pd.DataFrame, threshold=None, hidden: Iterable = ()) -> bool:
    """True when the Trends page must not show this before/after comparison at all.

    Each side's average rate times the side's population is the side's total count, and the
    viewer can choose every window (2 to 12 periods, or all): the totals of two windows differ
    by the periods between them, so a hidden period is one window's total less the next one's
    and the counts shown (a secondary suppression inside one window's table does not stop
    that: the series beside it shows those periods). So a comparison is shown only when no
    period in its window is hidden in the series (`hidden`, or a count of 1 to the threshold):
    its averages then rest on counts the viewer is shown anyway. Otherwise, as before, when a
    side's total is itself small (`charts.tables.before_after_withheld`).
    """
    if periods is None or periods.empty or "count" not in periods:
        return False
    series_hidden = gates.gate_series(
        periods.rename(columns={"date": "period_end", "count": "value"}), threshold, hidden
    ).masks.get("value")
    if series_hidden is not None and series_hidden.any():
        return True
    return gates.before_after_withheld(periods, threshold, hidden)
