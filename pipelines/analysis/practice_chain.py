"""Dose → practice → outcome: does more training go with more change in practice, and more
change in practice with more change in outcomes, across units?

For each unit (locality) with a rollout date:

- **dose**: its latest training coverage (staff trained / in scope, all agencies and courses),
  as the Training page's dose-response reads it (:func:`pipelines.analysis.training.dose_table`);
- **practice change**: the change since its rollout in one practice measure, in percentage
  points (:func:`pipelines.analysis.practice.change_since_rollout`: the quarters before its
  start against those from a year after it);
- **outcome change**: the relative change in one outcome over four quarters each side of its
  start, the one :func:`pipelines.analysis.training.dose_response_analysis` correlates.

Two Spearman rank correlations with their Fisher-z intervals
(:func:`pipelines.stats.dose_response.dose_response`): dose against practice change, and
practice change against outcome change.

**Ecological inference.** These are correlations between units, not between children or
practitioners: a unit with more training and more change does not show that the trained staff
made the change, or that the children whose outcomes changed were the ones worked with
differently. With a handful of units the intervals run across most of -1 to 1, so the chain is
a hint to follow up, not proof of a mechanism.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import config, marts
from pipelines.analysis.common import attempt
from pipelines.analysis.practice import change_since_rollout, describe, practice_measures
from pipelines.analysis.training import dose_response_analysis
from pipelines.measures import UNIT_ALL
from pipelines.stats.dose_response import DoseResponseResult, dose_response
from pipelines.store.warehouse import Warehouse

#: The practice measure and outcome the chain reads unless told otherwise.
DEFAULT_PRACTICE = "good_or_better"
DEFAULT_OUTCOME = "cpp_starts"

ECOLOGICAL_NOTE = (
    "These correlations compare units (localities), not children or practitioners. A "
    "locality with more training and more change in practice does not show that the staff "
    "who were trained made the change, or that the children whose outcomes changed were the "
    "ones worked with differently (the ecological fallacy). With {n} localities a rank "
    "correlation is very uncertain, and localities differ in other ways too, so this is a "
    "hint to follow up, not proof of how Restorative Practice works."
)

COLUMNS = (
    "unit",
    "wave",
    "coverage",
    "practice_before",
    "practice_after",
    "practice_change",
    "outcome_change",
)


@dataclass(frozen=True)
class PracticeChain:
    """Training coverage, practice change and outcome change across units.

    Fields:
        area_code, practice, outcome: the options used (``practice`` a practice measure key,
            ``outcome`` a measure key such as ``cpp_starts``).
        coverage_date: the latest training period read.
        table: per unit: ``unit, wave, coverage`` (share of staff trained),
            ``practice_before, practice_after, practice_change`` (shares; the change in
            proportion, ×100 for points), ``outcome_change`` (relative change, a share), plus
            the practice windows' ``before_successes, before_trials, after_successes,
            after_trials`` (for the disclosure gate: not for showing). Not gated: see
            :func:`gated_points`.
        dose_practice, practice_outcome: Spearman's rho with its interval, or None where it
            could not run (``notes`` says why).
        n_units: how many units have all three figures.
        notes: step -> why it could not run.
        ecological_note: what the correlations cannot say.
        source: the source line of the outcome and training data.
    """

    area_code: str
    practice: str
    outcome: str
    coverage_date: dt.date | None
    table: pd.DataFrame
    dose_practice: DoseResponseResult | None
    practice_outcome: DoseResponseResult | None
    n_units: int
    notes: dict[str, str]
    ecological_note: str
    source: str

    @property
    def practice_label(self) -> str:
        return describe(self.practice, _source_of(self.practice)).label


def _source_of(measure: str) -> str:
    if measure.startswith("statement:"):
        return "feedback"
    if measure in ("fgc_held", "plan_agreed") or measure.startswith("in_network"):
        return "fgc"
    return "audit"


def chain_table(
    dose_table: pd.DataFrame, change: pd.DataFrame, rollout: pd.DataFrame
) -> pd.DataFrame:
    """The per-unit chain (pure): ``dose_table`` as
    :func:`~pipelines.analysis.training.dose_response_analysis` makes it (``unit, coverage,
    relative_change``), ``change`` as :func:`~pipelines.analysis.practice.change_table` makes
    it (its unit rows), ``rollout`` with ``unit, wave``. Units in wave then name order."""
    units = rollout[rollout["unit"] != UNIT_ALL][["unit", "wave"]].drop_duplicates("unit")
    practice = change[change["wave"].notna() & change["start_date"].notna()]
    practice = practice.rename(
        columns={
            "group": "unit",
            "before": "practice_before",
            "after": "practice_after",
            "change": "practice_change",
        }
    )
    counts = ["before_successes", "before_trials", "after_successes", "after_trials"]
    keep = ["unit", "practice_before", "practice_after", "practice_change", *counts]
    table = units.merge(practice[keep], on="unit", how="left")
    dose = dose_table.rename(columns={"relative_change": "outcome_change"})
    if dose.empty:
        dose = pd.DataFrame(columns=["unit", "coverage", "outcome_change"])
    table = table.merge(dose[["unit", "coverage", "outcome_change"]], on="unit", how="left")
    table = table.sort_values(["wave", "unit"], kind="stable").reset_index(drop=True)
    for c in ("coverage", "practice_before", "practice_after", "practice_change"):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype("float64")
    table["outcome_change"] = pd.to_numeric(table["outcome_change"], errors="coerce")
    return table[[*COLUMNS, *counts]]


def chain_correlations(
    table: pd.DataFrame,
) -> tuple[DoseResponseResult | None, DoseResponseResult | None, dict[str, str], int]:
    """(dose → practice, practice → outcome, notes, units with all three) from
    :func:`chain_table` (pure)."""
    notes: dict[str, str] = {}
    dose_practice = attempt(
        notes,
        "dose_practice",
        lambda: dose_response(table, "coverage", "practice_change", unit_col="unit"),
    )
    practice_outcome = attempt(
        notes,
        "practice_outcome",
        lambda: dose_response(table, "practice_change", "outcome_change", unit_col="unit"),
    )
    complete = table[["coverage", "practice_change", "outcome_change"]].notna().all(axis=1)
    return dose_practice, practice_outcome, notes, int(complete.sum())


def practice_chain(
    wh: Warehouse,
    area_code: str,
    *,
    practice: str = DEFAULT_PRACTICE,
    outcome: str = DEFAULT_OUTCOME,
) -> PracticeChain:
    """Dose → practice → outcome across the area's units (see the module)."""
    dose = dose_response_analysis(wh, area_code, outcome)
    rollout = marts.rollout(wh, area_code)
    change = change_since_rollout(wh, area_code, practice)
    table = chain_table(dose.table, change, rollout)
    dose_practice, practice_outcome, notes, n = chain_correlations(table)
    notes = {**dose.notes, **notes}
    if practice not in {m.key for m in practice_measures(wh, area_code)}:
        notes["practice"] = f"No practice data for {practice!r} are loaded."
    return PracticeChain(
        area_code=area_code,
        practice=practice,
        outcome=outcome,
        coverage_date=dose.coverage_date,
        table=table,
        dose_practice=dose_practice,
        practice_outcome=practice_outcome,
        n_units=n,
        notes=notes,
        ecological_note=ECOLOGICAL_NOTE.format(n=n),
        source=dose.source,
    )


def practice_hidden(table: pd.DataFrame, threshold: int | None = None) -> np.ndarray:
    """Per row of :func:`chain_table`: whether its practice change rests on a window where
    the cases that met the measure, or those that did not, number 1 to ``threshold``."""
    threshold = config.suppression_threshold() if threshold is None else threshold
    hide = np.zeros(len(table), bool)
    for side in ("before", "after"):
        x = table[f"{side}_successes"].to_numpy(dtype=float)
        n = table[f"{side}_trials"].to_numpy(dtype=float)
        for count in (x, n - x):
            hide |= (count >= 1) & (count <= threshold)
    return hide


def gated_points(
    wh: Warehouse, chain: PracticeChain, threshold: int | None = None
) -> tuple[pd.DataFrame, int]:
    """The chain's per-unit points a chart may show, and how many units are left off.

    A unit is left off where the dose-response gate hides its coverage or outcome change
    (:func:`pipelines.present.dose_table.gated_dose_response`: a rate over 1 to 4 children, a
    quarter suppressed elsewhere, a hidden coverage), or where its practice change rests on a
    window with 1 to 4 cases meeting the measure or not (:func:`practice_hidden`). Columns:
    ``unit, wave, coverage, practice_change, outcome_change``; no counts. The correlations
    rest on every unit's rank and are stated as they are.
    """
    from pipelines.present.dose_table import gated_dose_response

    table = chain.table
    if table.empty:
        return table[list(COLUMNS)].copy(), 0
    gated = gated_dose_response(wh, chain.area_code, chain.outcome, threshold=threshold)
    masks = gated.table.masks
    dose_units = gated.dose.table["unit"].astype(str).to_numpy()
    hidden_outcome = np.zeros(len(dose_units), bool)
    for column in ("coverage", "relative_change", "change"):
        if column in masks:
            hidden_outcome |= np.asarray(masks[column], dtype=bool)
    hidden = set(dose_units[hidden_outcome])
    hidden |= set(table.loc[practice_hidden(table, threshold), "unit"].astype(str))
    shown = ~table["unit"].astype(str).isin(hidden)
    points = table.loc[shown, ["unit", "wave", "coverage", "practice_change", "outcome_change"]]
    return points.reset_index(drop=True), int((~shown).sum())
