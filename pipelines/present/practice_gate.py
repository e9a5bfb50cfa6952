"""The Practice page's disclosure decision: which quarters and change rows to hide.

- Quarters: suppression is decided once over the measure's whole unit x respondent table for
  each quarter (both margins), each quarter with any hidden count hidden whole, and audited
  (:class:`_Span`) so that no hidden cell is a sum of the cells shown.
- Change since rollout: a row (unit, wave, all units) is hidden where its windows, with every
  quarter and row shown, would work out a hidden quarter or row (:func:`change_decision`).
- Families: measures that add up (the audit grades and "good or outstanding") are decided
  together (:func:`family_decision`).
- Each measure's decision is taken once per data version (:func:`measure_decision`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines import config, disclosure, disclosure_linked, marts
from pipelines.analysis import practice as analysis
from pipelines.measures import UNIT_ALL
from pipelines.present import decision_store
from pipelines.store.warehouse import Warehouse

_COUNTS = ("successes", "not_counted", "trials")
_CHANGE_COUNTS = (
    "before_successes",
    "before_trials",
    "before_not",
    "after_successes",
    "after_trials",
    "after_not",
)

# -- the gate ---------------------------------------------------------------------------------


def _quarter_masks(
    cells: pd.DataFrame, threshold: int, seed: set[tuple] = frozenset()
) -> pd.DataFrame:
    """`cells` with ``hidden``: quarters whose counts must not be shown, decided over the whole
    unit x respondent table (both margins), each quarter with any hidden count hidden whole.
    `seed` holds (unit, respondent, quarter end) cells hidden already (by a measure they add
    up with, :func:`family_decision`)."""
    frame = cells.assign(not_counted=cells["trials"] - cells["successes"]).reset_index(drop=True)
    totals = {"unit": ["period_end", "respondent"], "respondent": ["period_end", "unit"]}
    hidden = np.array([k in seed for k in _cell_keys(frame)], dtype=bool).reshape(-1)
    for _ in range(10):  # hiding a whole row can expose a part again: repeat until settled
        masks = disclosure.suppression_masks(
            frame,
            _COUNTS,
            threshold=threshold,
            totals=totals,
            seed=dict.fromkeys(_COUNTS, hidden),
        )
        now = hidden.copy()
        for column in _COUNTS:
            now |= masks[column]
        if (now == hidden).all():
            break
        hidden = now
    hidden = _protect_quarters(frame, hidden)
    return frame.assign(hidden=hidden)


# -- the audit: no hidden count is a sum of the figures shown ---------------------------------
#
# Every figure the page shows is a sum of (unit, respondent, quarter) counts: a quarter's row of
# the p′ table (margins included), the latest quarters pooled, and each row of the change
# table (a unit's quarters before its start and from a year after it; a wave's units; all
# units). A viewer holding them all can work out any hidden count whose indicator vector lies
# in the span of the shown figures' vectors (the rule of subtraction, across every table at
# once). The audit keeps an orthonormal basis of that span and hides more until none does.


class _Span:
    """An orthonormal basis of the shown figures' vectors, and the hidden ones to protect."""

    def __init__(self, size: int):
        self.basis = np.zeros((size, 0))
        self.targets = np.zeros((0, size))

    def _residual(self, vectors: np.ndarray) -> np.ndarray:
        out = vectors - (vectors @ self.basis) @ self.basis.T
        return out - (out @ self.basis) @ self.basis.T  # twice, for accuracy

    def extended(self, vectors) -> np.ndarray:
        basis = self.basis
        for vector in vectors:
            r = vector - basis @ (basis.T @ vector)
            r = r - basis @ (basis.T @ r)
            norm = np.linalg.norm(r)
            if norm > 1e-9 * max(1.0, np.linalg.norm(vector)):
                basis = np.column_stack([basis, r / norm])
        return basis

    def fixed(self, targets: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
        """Which of `targets` (rows) the span works out exactly."""
        basis = self.basis if basis is None else basis
        if len(targets) == 0:
            return np.zeros(0, bool)
        r = targets - (targets @ basis) @ basis.T
        r = r - (r @ basis) @ basis.T
        return np.linalg.norm(r, axis=1) < 1e-7 * np.maximum(1.0, np.linalg.norm(targets, axis=1))

    def add_if_safe(self, vectors) -> bool:
        """Show `vectors` unless that works out a hidden one; True when shown."""
        trial = self.extended(vectors)
        if self.fixed(self.targets, trial).any():
            return False
        self.basis = trial
        return True

    def protect(self, vectors) -> None:
        vectors = np.atleast_2d(np.asarray(vectors, float))
        fresh = ~self.fixed(vectors)  # a sum of figures shown is public already
        self.targets = np.vstack([self.targets, vectors[fresh]])


def _atoms(frame: pd.DataFrame):
    """The finest cells (units and respondent groups without their ``All``) and a vector maker."""
    units = sorted({u for u in frame["unit"] if u != UNIT_ALL})
    respondents = sorted({r for r in frame["respondent"] if r != UNIT_ALL}) or [UNIT_ALL]
    quarters = sorted(set(frame["period_end"]))
    index = {
        key: i
        for i, key in enumerate((u, r, q) for u in units for r in respondents for q in quarters)
    }

    def vector(unit: str, respondent: str, when) -> np.ndarray:
        out = np.zeros(len(index))
        for u in units if unit == UNIT_ALL else [unit]:
            for r in respondents if respondent == UNIT_ALL else [respondent]:
                for q in when:
                    if (u, r, q) in index:
                        out[index[(u, r, q)]] = 1.0
        return out

    return units, respondents, quarters, index, vector


def _protect_quarters(frame: pd.DataFrame, hidden: np.ndarray) -> np.ndarray:
    """Each quarter's unit x respondent table: while a hidden cell is a sum of the cells shown
    (along one margin or across both), hide the smallest cell shown in its quarter too."""
    hidden = hidden.copy()
    *_, vector = _atoms(frame)
    for _, positions in frame.groupby("period_end", sort=False).indices.items():
        positions = np.asarray(positions)
        while True:
            rows = frame.iloc[positions]
            vectors = np.array(
                [
                    vector(u, r, [q])
                    for u, r, q in zip(
                        rows["unit"], rows["respondent"], rows["period_end"], strict=True
                    )
                ]
            )
            span = _Span(vectors.shape[1])
            span.basis = span.extended(vectors[~hidden[positions]])
            mine = hidden[positions]
            if not mine.any() or not span.fixed(vectors[mine]).any():
                break
            shown = positions[~mine & (rows["trials"].to_numpy() > 0)]
            if len(shown) == 0:
                break
            hidden[shown[np.argmin(frame["trials"].to_numpy()[shown])]] = True
    return hidden


def _change_frame(decided: pd.DataFrame, rollout: pd.DataFrame, respondent: str) -> pd.DataFrame:
    """The change table for `respondent` from the cells (as ``change_since_rollout``)."""
    series = {
        unit: part.sort_values("period_end")[["period_end", "successes", "trials"]]
        for unit, part in decided[decided["respondent"] == respondent].groupby("unit")
        if unit != UNIT_ALL
    }
    return analysis.change_table(series, rollout)


def _window_quarters(quarters, start, side: str) -> list:
    start = pd.Timestamp(start)
    if side == "before":
        return [q for q in quarters if q < start]
    after_from = start + pd.DateOffset(months=analysis.BEDDING_IN_MONTHS)
    return [q for q in quarters if q >= after_from]


def change_decision(
    decided: pd.DataFrame, rollout: pd.DataFrame, threshold: int
) -> dict[str, np.ndarray]:
    """respondent -> the change table's rows to hide (`_change_frame`'s rows), decided once
    for the measure over every respondent group's table: rows with a small count and what they
    add up into (:func:`change_hidden_rows`), then, all units first, each wave, then each unit,
    any row whose windows, with the quarters and rows shown, would work out a hidden quarter
    or a hidden row (a unit's window less its quarters shown is its hidden quarters)."""
    units, respondents, quarters, _index, vector = _atoms(decided)
    span = _Span(len(units) * len(respondents) * len(quarters))
    cells = [
        vector(u, r, [q])
        for u, r, q in zip(
            decided["unit"], decided["respondent"], decided["period_end"], strict=True
        )
    ]
    cells = np.array(cells) if cells else np.zeros((0, span.basis.shape[0]))
    span.basis = span.extended(cells[~decided["hidden"].to_numpy()])
    span.protect(cells[decided["hidden"].to_numpy()])
    groups = [UNIT_ALL, *(r for r in respondents if r != UNIT_ALL)]
    tables = {r: _change_frame(decided, rollout, r) for r in groups}
    out, windows = {}, {}
    for respondent, table in tables.items():
        if table.empty:
            out[respondent] = np.zeros(0, bool)
            continue
        out[respondent] = change_hidden_rows(table, threshold)
        named = table["group"].astype(str)
        is_unit = ~(named.str.startswith("Wave ") | (named == "All units")).to_numpy()
        starts = dict(zip(named[is_unit], table.loc[is_unit, "start_date"], strict=True))
        waves = dict(zip(named[is_unit], table.loc[is_unit, "wave"], strict=True))
        for position, group in enumerate(named):
            if group == "All units":
                members = list(starts)
            elif group.startswith("Wave "):
                members = [u for u, w in waves.items() if w == table["wave"].iloc[position]]
            else:
                members = [group]
            windows[(respondent, position)] = [
                sum(
                    (
                        vector(u, respondent, _window_quarters(quarters, starts[u], side))
                        for u in members
                        if pd.notna(starts[u])
                    ),
                    np.zeros(span.basis.shape[0]),
                )
                for side in ("before", "after")
            ]
            if out[respondent][position]:
                span.protect(windows[(respondent, position)])
    for respondent, table in tables.items():  # the headline first: everyone, all units
        named = table["group"].astype(str).to_numpy() if len(table) else np.array([])
        order = [*np.flatnonzero(named == "All units")]
        order += [*np.flatnonzero(np.char.startswith(named.astype(str), "Wave "))]
        order += [p for p in range(len(named)) if p not in order]
        for position in order:
            if out[respondent][position]:
                continue
            if not span.add_if_safe(windows[(respondent, position)]):
                out[respondent][position] = True
                span.protect(windows[(respondent, position)])
    return out


def _gate_rows(frame: pd.DataFrame, counts, shares, hidden: np.ndarray) -> disclosure.Gated:
    """The one gate, hiding every count and share in the `hidden` rows (and any small count)."""
    columns = [c for c in (*counts, *shares) if c in frame.columns]
    return disclosure.gate(
        frame,
        counts,
        derived=dict.fromkeys(counts, columns),
        threshold=config.suppression_threshold(),
        rows=dict.fromkeys(columns, np.asarray(hidden, bool)),
    )


def change_hidden_rows(table: pd.DataFrame, threshold: int) -> np.ndarray:
    """Rows of the change table to hide: any with a small count, and what they add up into."""
    frame = table.assign(
        before_not=table["before_trials"] - table["before_successes"],
        after_not=table["after_trials"] - table["after_successes"],
    )
    small = np.zeros(len(frame), bool)
    for column in _CHANGE_COUNTS:
        values = pd.to_numeric(frame[column], errors="coerce")
        small |= ((values >= 1) & (values <= threshold)).fillna(False).to_numpy()
    groups = frame["group"].astype(str)
    is_unit = ~(groups.str.startswith("Wave ") | (groups == "All units")).to_numpy()
    hidden = small.copy()
    for position in np.flatnonzero(small & is_unit):
        wave = frame["wave"].iloc[position]
        hidden |= (groups == f"Wave {int(wave)}").to_numpy()
        hidden |= (groups == "All units").to_numpy()
    if (small & ~is_unit).any():  # a small wave: the pooled row it adds up into too
        hidden |= (groups == "All units").to_numpy()
    return hidden


def _change_rows_hidden(
    decided: pd.DataFrame,
    rollout: pd.DataFrame,
    table: pd.DataFrame,
    respondent: str,
    threshold: int,
    decision: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The rows of `table` (the view's change table) to hide, from :func:`change_decision`
    (matched by group: the decision builds the same table from the same cells)."""
    hidden = change_hidden_rows(table, threshold) if len(table) else np.zeros(0, bool)
    if table.empty:
        return hidden
    if decision is None:
        decision = change_decision(decided, rollout, threshold)
    mine = decision.get(respondent)
    if mine is None or len(mine) == 0:
        return hidden
    ours = _change_frame(decided, rollout, respondent)
    by_group = dict(zip(ours["group"].astype(str), mine, strict=True))
    extra = np.array([by_group.get(str(g), True) for g in table["group"]], bool)
    return hidden | extra


#: (what, warehouse, data version, area, measure, ...) -> a result every view of a measure
#: shares: its units and respondent groups are decided together, and the change table is
#: the same on every unit's page, so each view reads them instead of taking them again
#: (1.3 s a view for a survey statement before).
_SHARED: dict[tuple, object] = {}


def _shared(wh: Warehouse, key: tuple, build):
    key = (str(wh.path), wh.data_version(), *key)
    if key not in _SHARED:
        if len(_SHARED) >= 128:
            _SHARED.clear()
        _SHARED[key] = build()
    return _SHARED[key]


def measure_decision(
    wh: Warehouse, area_code: str, measure_key: str, cells: pd.DataFrame, threshold: int
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The quarter tables decided (:func:`_quarter_masks`) and the change rows to hide
    (:func:`change_decision`) for one measure, taken once per data version; a measure that
    adds up with others (:func:`family_of`) is decided with them (:func:`family_decision`)."""
    family = family_of(measure_key)
    if not family:

        def build():
            decided = _quarter_masks(cells, threshold)
            rollout = marts.rollout(wh, area_code)
            return decided, change_decision(decided, rollout, threshold)

        return _shared(wh, ("decision", area_code, measure_key, threshold), build)
    decisions = _shared(
        wh,
        ("family", area_code, family, threshold),
        lambda: family_decision(wh, area_code, family, threshold),
    )
    return decisions[measure_key]


#: Audit grades add up: the four grades of a quarter's audits are its audits, and "good or
#: outstanding" is two of them. Decided one measure at a time, a grade hidden in one measure's
#: table was the others less those shown (87 counts of 1 to 4 came back on the sample).
_GRADE_FAMILY_TOTAL = "good_or_better"


def family_of(measure_key: str) -> tuple[str, ...]:
    """The measures `measure_key` adds up with (itself included), or () for none."""
    if measure_key == _GRADE_FAMILY_TOTAL or measure_key.startswith("grade:"):
        return ("grade",)
    return ()


def family_decision(
    wh: Warehouse, area_code: str, family: tuple[str, ...], threshold: int
) -> dict[str, tuple[pd.DataFrame, dict[str, np.ndarray]]]:
    """Every measure of the grade family decided together. "Good or outstanding" (the
    headline) is decided on its own; a (unit, respondent, quarter) cell hidden in it or in any
    grade is hidden in every grade, each grade's tables protected again with it (hiding a
    cell can expose another by subtraction), until that settles; a change row hidden for it
    or any grade is hidden for every grade. Each sum across the family then has two hidden
    parts or none: "good or outstanding" shown is at least 5, so its two grades are not pinned
    at 1 each, and the other two grades add up to its not-counted, at least 5 too."""
    return finish_family(read_family(wh, area_code, family), threshold)


@dataclass(frozen=True)
class PendingFamily:
    """A family's cells and the rollout, read for deciding later (`rp-impact decide` reads
    them, closes the warehouse, then decides)."""

    family: tuple[str, ...]
    folder: Path | None
    cells: dict[str, pd.DataFrame]
    rollout: pd.DataFrame


def read_family(wh: Warehouse, area_code: str, family: tuple[str, ...]) -> PendingFamily:
    keys = [m.key for m in analysis.practice_measures(wh, area_code) if family_of(m.key) == family]
    cells = {k: marts.practice_cells(wh, area_code, k) for k in keys}
    return PendingFamily(
        family, decision_store.folder_for(wh.path), cells, marts.rollout(wh, area_code)
    )


def decide_families(wh: Warehouse, area_code: str) -> list[PendingFamily]:
    """Every family of an area read for deciding ahead of time (:func:`finish_family`)."""
    families = {family_of(m.key) for m in analysis.practice_measures(wh, area_code)} - {()}
    return [read_family(wh, area_code, family) for family in sorted(families)]


def finish_family(
    pending: PendingFamily, threshold: int
) -> dict[str, tuple[pd.DataFrame, dict[str, np.ndarray]]]:
    """The family's decision, taken from disk (`decision_store`) when the same cells, rollout,
    threshold and rules were decided before, else decided (:func:`_decide_family`) and kept."""
    if not pending.cells:
        return {}
    flags, split = _layout(pending.cells, pending.rollout, threshold)
    key = decision_store.key_for(_family_content_key(pending.cells, pending.rollout), threshold)
    mask = decision_store.load(pending.folder, key, flags, threshold)
    if mask is not None:
        return split(mask)
    decided = _decide_family(pending.cells, pending.rollout, threshold)
    decision_store.save(pending.folder, key, _flatten(decided))
    return decided


def _decide_family(cells: dict[str, pd.DataFrame], rollout: pd.DataFrame, threshold: int):
    keys = list(cells)
    grades = [k for k in keys if k != _GRADE_FAMILY_TOTAL]
    decided = family_quarters(cells, threshold)
    changes = {k: change_decision(decided[k], rollout, threshold) for k in keys}
    frames = {k: {r: _change_frame(decided[k], rollout, r) for r in changes[k]} for k in keys}
    hidden_groups: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        for respondent, rows in changes[k].items():
            groups = frames[k][respondent]["group"].astype(str)
            hidden_groups[respondent] |= set(groups[np.asarray(rows, bool)])
    for k in grades:
        for respondent in changes[k]:
            groups = frames[k][respondent]["group"].astype(str)
            changes[k][respondent] = groups.isin(hidden_groups[respondent]).to_numpy()
    return {k: (decided[k], changes[k]) for k in keys}


# -- a family's decision kept on disk ---------------------------------------------------------------
#
# One mask: each measure's quarter rows (hidden), then each measure's change rows for each
# respondent group (all respondents first, as `change_decision` orders them).

#: The rules a kept family decision was taken by, besides `disclosure` and `disclosure_linked`
#: (in `decision_store.CODE_DIGEST`): this module and the change table's windows.
_FAMILY_CODE = hashlib.sha256(
    Path(__file__).read_bytes() + Path(analysis.__file__).read_bytes()
).hexdigest()


def _family_content_key(cells: dict[str, pd.DataFrame], rollout: pd.DataFrame) -> str:
    digest = hashlib.sha256(_FAMILY_CODE.encode())
    for measure, frame in cells.items():
        digest.update(measure.encode())
        columns = ["period_end", "unit", "respondent", "successes", "trials"]
        digest.update(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes())
    when = rollout[["unit", "wave", "start_date"]].astype(str)
    digest.update(pd.util.hash_pandas_object(when, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _change_groups(frame: pd.DataFrame) -> list[str]:
    respondents = sorted({r for r in frame["respondent"] if r != UNIT_ALL})
    return [UNIT_ALL, *respondents]


def _layout(cells: dict[str, pd.DataFrame], rollout: pd.DataFrame, threshold: int):
    """(flags, split): a mask's entries flagged 1 where a count from 1 to `threshold` must be
    hidden (so `decision_store.load` refuses a mask that shows one), and the function turning
    a kept mask back into the decision."""
    flags, tables = [], {}
    for frame in cells.values():
        counts = np.column_stack(
            [frame["successes"], frame["trials"] - frame["successes"], frame["trials"]]
        ).astype(float)
        flags.append(((counts >= 1) & (counts <= threshold)).any(axis=1).astype(float))
    for k, frame in cells.items():
        for respondent in _change_groups(frame):
            table = _change_frame(frame, rollout, respondent)
            tables[(k, respondent)] = len(table)
            small = change_hidden_rows(table, threshold) if len(table) else np.zeros(0, bool)
            flags.append(small.astype(float))

    def split(mask: np.ndarray):
        out, at = {}, 0
        for k, frame in cells.items():
            decided = frame.assign(not_counted=frame["trials"] - frame["successes"])
            out[k] = [decided.reset_index(drop=True).assign(hidden=mask[at : at + len(frame)])]
            at += len(frame)
        for k, frame in cells.items():
            changes = {}
            for respondent in _change_groups(frame):
                length = tables[(k, respondent)]
                changes[respondent] = mask[at : at + length].copy()
                at += length
            out[k] = (out[k][0], changes)
        return out

    return np.concatenate(flags) if flags else np.zeros(0), split


def _flatten(decided: dict) -> np.ndarray:
    parts = [np.asarray(frames["hidden"], bool) for frames, _ in decided.values()]
    for frames, changes in decided.values():
        parts += [np.asarray(changes[r], bool) for r in _change_groups(frames)]
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def family_quarters(cells: dict[str, pd.DataFrame], threshold: int) -> dict[str, pd.DataFrame]:
    """measure -> its quarter tables decided (:func:`_quarter_masks`) with the family's rules:
    the union of hidden (unit, respondent, quarter) cells hidden in every grade, protected
    again until that settles, then the family audit (:func:`_audit_family`)."""
    grades = [k for k in cells if k != _GRADE_FAMILY_TOTAL]
    decided = {k: _quarter_masks(frame, threshold) for k, frame in cells.items()}
    seed: set[tuple] = set()
    for _ in range(20):
        union = set().union(*(set(_cell_keys(d[d["hidden"]])) for d in decided.values()))
        if union <= seed:
            break
        seed |= union
        decided.update({k: _quarter_masks(cells[k], threshold, seed) for k in grades})
    return _audit_family(decided, grades)


# -- the family audit: no hidden count is pinned by the family's sums and its bounds -------------
#
# Within a quarter a viewer of the grade family can write down: each measure's unit and
# respondent margins (for audits graded so and for the audits), the four grades summing to the
# audits for each unit, and good or outstanding = outstanding + good. The union rule above
# leaves two hidden parts or none in each of those sums, which stops subtraction; it does not
# stop an attacker who also assumes each hidden count is at least 1 (as the outcome flows'
# linked audit is held to): two hidden grades under a total of 2 are then 1 each. The page hides
# a quarter's row whole, zeros included, so the bound is 1 where the true count is 1 or more
# and 0 where it is 0 (a viewer knows less: that premise is stronger than any viewer's). Each
# quarter's system is audited as a flow's is (`disclosure_linked.pinned_cells`), and for each
# cell worked out the smallest count shown beside it is hidden, until none is
# (tests/test_practice_family_audit.py, tests/practice_lp.py).

#: A position of a quarter's family system: ("x", measure, unit, respondent), the audits
#: graded so in one measure, or ("n", unit, respondent), the audits.
_Position = tuple


def _family_system(
    rows: dict[str, pd.DataFrame], grades: list[str]
) -> tuple[list[_Position], np.ndarray, list[disclosure_linked.Relation]]:
    """One quarter's positions, their true counts and the relations a viewer can write down
    (each holds for the true counts: one that does not is left out)."""
    positions: list[_Position] = []
    values: list[float] = []
    audits: dict[tuple[str, str], float] = {}
    for measure, frame in rows.items():
        for unit, respondent, successes, trials in zip(
            frame["unit"].astype(str),
            frame["respondent"].astype(str),
            frame["successes"],
            frame["trials"],
            strict=True,
        ):
            positions.append(("x", measure, unit, respondent))
            values.append(float(successes))
            audits.setdefault((unit, respondent), float(trials))
    for (unit, respondent), trials in audits.items():
        positions.append(("n", unit, respondent))
        values.append(trials)
    where = {p: i for i, p in enumerate(positions)}
    truth = np.asarray(values)
    units = sorted({u for u, _ in audits if u != UNIT_ALL})
    respondents = sorted({r for _, r in audits if r != UNIT_ALL})
    relations: list[disclosure_linked.Relation] = []

    def add(total: _Position, parts: list[_Position]) -> None:
        if total not in where:
            return
        present = [where[p] for p in parts if p in where]
        if present and abs(truth[where[total]] - truth[present].sum()) < 1e-9:
            relations.append((where[total], np.asarray(present)))

    for head in [("x", m) for m in rows] + [("n",)]:
        for respondent in [UNIT_ALL, *respondents]:
            add((*head, UNIT_ALL, respondent), [(*head, u, respondent) for u in units])
        if respondents:
            for unit in [UNIT_ALL, *units]:
                add((*head, unit, UNIT_ALL), [(*head, unit, r) for r in respondents])
    for unit, respondent in audits:
        add(("n", unit, respondent), [("x", g, unit, respondent) for g in grades])
        add(
            ("x", _GRADE_FAMILY_TOTAL, unit, respondent),
            [("x", g, unit, respondent) for g in _GRADES_IN_TOTAL],
        )
    return positions, truth, relations


#: The grades "good or outstanding" counts.
_GRADES_IN_TOTAL = ("grade:Good", "grade:Outstanding")


def _hide_rank(position: _Position) -> int:
    """Which shown count to hide first (lowest first): a grade before the headline measure,
    the headline before the audits (hidden in every measure), a unit before all units."""
    kind = 0 if position[0] == "x" and position[1] != _GRADE_FAMILY_TOTAL else 1
    if position[0] == "n":
        kind = 2
    return 2 * kind + int(position[-2] == UNIT_ALL)


def _audit_family(decided: dict[str, pd.DataFrame], grades: list[str]) -> dict:
    """`decided` with more (unit, respondent, quarter) rows hidden until, in every quarter, no
    hidden count is pinned by the family's sums with each hidden count at least 1 (0 where it
    is 0). Hiding a grade's row hides it in every grade (the union rule), the headline's in
    the headline and every grade, the audits' in every measure."""
    if not grades:
        return decided
    hidden = {m: set(_cell_keys(d[d["hidden"]])) for m, d in decided.items()}
    quarters = sorted(set().union(*(set(d["period_end"]) for d in decided.values())))
    for quarter in quarters:
        rows = {m: d[d["period_end"] == quarter] for m, d in decided.items()}
        _audit_quarter(rows, hidden, grades, pd.Timestamp(quarter))
    return {
        m: d.assign(hidden=_cell_keys(d).isin(hidden[m]).to_numpy()) for m, d in decided.items()
    }


def _audit_quarter(rows: dict[str, pd.DataFrame], hidden: dict[str, set], grades, when) -> None:
    """One quarter of :func:`_audit_family`: `hidden` (measure -> hidden row keys) grown
    until no count of the quarter is pinned (`disclosure_linked.protect_linked`)."""
    positions, values, relations = _family_system(rows, grades)
    holders: dict[tuple[str, str], list[str]] = defaultdict(list)
    for measure, frame in rows.items():
        units_and_groups = zip(
            frame["unit"].astype(str), frame["respondent"].astype(str), strict=True
        )
        for key in units_and_groups:
            holders[key].append(measure)

    def current_mask() -> np.ndarray:
        return np.array([_is_hidden(p, hidden, holders, when) for p in positions], bool)

    def widen(_mask: np.ndarray, chosen: list[int]) -> np.ndarray:
        for c in chosen:
            kind, *rest = positions[c]
            key = (rest[-2], rest[-1], when)
            if kind == "n":
                targets = list(rows)
            elif rest[0] == _GRADE_FAMILY_TOTAL:
                targets = [rest[0], *grades]
            else:
                targets = grades
            for measure in targets:
                hidden[measure].add(key)
        return current_mask()

    disclosure_linked.protect_linked(
        values,
        current_mask(),
        relations,
        rank=np.array([_hide_rank(p) for p in positions]),
        zeros_hidden=True,
        widen=widen,
    )


def _is_hidden(position: _Position, hidden: dict[str, set], holders: dict, when) -> bool:
    """A measure's count is hidden with its row; the audits are hidden where every measure
    holding that row (`holders`) hides it."""
    if position[0] == "x":
        return (position[2], position[3], when) in hidden[position[1]]
    key = (position[1], position[2], when)
    return all(key in hidden[m] for m in holders[(position[1], position[2])])


def _cell_keys(frame: pd.DataFrame) -> pd.Series:
    """(unit, respondent, quarter end) of each row of a practice cells frame."""
    return pd.Series(
        list(
            zip(
                frame["unit"].astype(str),
                frame["respondent"].astype(str),
                pd.to_datetime(frame["period_end"]),
                strict=True,
            )
        ),
        index=frame.index,
        dtype=object,
    )
