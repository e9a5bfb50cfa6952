"""The Practice page's content ("Are we working *with* families?"), built once, typed.

:func:`practice_view` gathers, for one practice measure, unit and respondent group, everything
the dashboard's Practice page shows and the annual report can reuse: the measure's words, the
Laney p′ chart's inputs and its table, the change since rollout by unit, wave and all units,
a headline sentence, small-sample notes, the caveats and a source line.

Disclosure: every count of 1 to the threshold is hidden, and so is anything it could be worked
out from.

- Quarters: suppression is decided once over the measure's whole unit x respondent table for
  each quarter (both margins), with secondary suppression, and a quarter with any hidden count
  (agreed, not agreed or asked) has all its counts and shares hidden: the chart, its hover and
  its table hide the same quarters.
- Change since rollout: a unit, wave or pooled row with a count of 1 to the threshold (before
  or after, agreed or not, or asked) is hidden, and so are the rows it adds up into (its wave
  and "All units"), so it cannot be worked out by subtraction.
- The headline pools the latest quarters: it is hidden when its own counts are small or when
  any quarter it pools is hidden (the pooled figure less the quarters shown would give it away).

Wording: every change is "associated with" the rollout; none is said to be its effect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pipelines import config, disclosure, marts
from pipelines.analysis import practice as analysis
from pipelines.analysis.practice import CAVEATS, LATEST_QUARTERS, PracticeMeasure
from pipelines.measures import UNIT_ALL
from pipelines.present.charts import practice as practice_charts
from pipelines.present.charts.labels import source_line
from pipelines.stats.errors import StatsInputError
from pipelines.stats.pprime import SMALL_SAMPLE, PPrimeResult
from pipelines.stats.rates import proportion_ci
from pipelines.store.warehouse import Warehouse

#: The respondent choices for a feedback measure: label -> the mart's ``respondent`` value.
RESPONDENTS: dict[str, str] = {
    "All who answered": UNIT_ALL,
    "Parents or carers": "Parent or carer",
    "Children or young people": "Child or young person",
}
#: The group each source's measures are listed under on the page.
SOURCE_GROUPS: dict[str, str] = {
    "audit": "Case-file audits",
    "feedback": "Family feedback",
    "fgc": "Family group conferences",
}
_DATASETS = {"audit": "practice_audit", "feedback": "family_feedback", "fgc": "fgc_outcomes"}
_SOURCE_WORDS = {
    "audit": "case-file audit extracts",
    "feedback": "family feedback extracts",
    "fgc": "FGC outcomes extracts",
}
_RESPONDENT_NOUNS = {
    UNIT_ALL: "people who answered",
    "Parent or carer": "parents or carers who answered",
    "Child or young person": "children and young people who answered",
}
_COUNTS = ("successes", "not_counted", "trials")
_SHARES = (
    "proportion",
    "ci_lower",
    "ci_upper",
    "centre",
    "lower",
    "upper",
    "z",
    "point_type",
    "small_sample",
)
_HIDDEN_WORDS = (
    "is hidden to protect privacy: it would show, or let someone work out, a count from 1 to "
)
_CHANGE_COUNTS = (
    "before_successes",
    "before_trials",
    "before_not",
    "after_successes",
    "after_trials",
    "after_not",
)
_CHANGE_SHARES = ("before", "after", "change", "change_lower", "change_upper")


def quarter_label(value) -> str:
    """'Apr–Jun 2026' for the quarter ending on `value`."""
    end = pd.Timestamp(value)
    return f"{(end - pd.DateOffset(months=2)):%b}–{end:%b %Y}"


def measure_groups(measures: list[PracticeMeasure]) -> dict[str, list[PracticeMeasure]]:
    """The measures grouped under their source's heading (audits, feedback, FGCs), in order."""
    groups: dict[str, list[PracticeMeasure]] = {}
    for m in measures:
        groups.setdefault(SOURCE_GROUPS.get(m.source, m.source), []).append(m)
    return groups


def respondent_label(respondent: str) -> str:
    return next((label for label, value in RESPONDENTS.items() if value == respondent), respondent)


# -- words -------------------------------------------------------------------------------------


def share_words(measure: PracticeMeasure, respondent: str = UNIT_ALL) -> tuple[str, str]:
    """(who is counted, what they did) for "78% of {who} {did}"."""
    key = measure.key
    if key == "good_or_better":
        return "audits", "were graded good or outstanding"
    if key.startswith("grade:"):
        return "audits", f"were graded {key[6:].lower()}"
    if key.startswith("principle:"):
        return "audits", f"met the principle {key[10:]}"
    if key.startswith("statement:"):
        return _RESPONDENT_NOUNS.get(respondent, "people who answered"), f"agreed “{key[10:]}”"
    return {
        "fgc_held": ("FGCs offered", "were held"),
        "plan_agreed": ("FGCs held", "ended with a family plan agreed"),
        "in_network_6m": ("children followed up", "were in their family network 6 months on"),
        "in_network_12m": ("children followed up", "were in their family network 12 months on"),
    }.get(key, (measure.of_what, f"counted as “{measure.label}”"))


def _count_noun(measure: PracticeMeasure) -> str:
    """What the number asked is a number of: '240 audits', '240 responses'."""
    if measure.source == "feedback":
        return "responses"
    return share_words(measure)[0]


def _points(value: float) -> str:
    """+18, −3, 0: percentage points with their sign (never '−0')."""
    rounded = round(value * 100)
    return "0" if rounded == 0 else f"{rounded:+d}".replace("-", "−")


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
    keys = [m.key for m in analysis.practice_measures(wh, area_code) if family_of(m.key) == family]
    cells = {k: marts.practice_cells(wh, area_code, k) for k in keys}
    grades = [k for k in keys if k != _GRADE_FAMILY_TOTAL]
    decided = {k: _quarter_masks(cells[k], threshold) for k in keys}
    seed: set[tuple] = set()
    for _ in range(20):
        union = set().union(*(set(_cell_keys(d[d["hidden"]])) for d in decided.values()))
        if union <= seed:
            break
        seed |= union
        decided.update({k: _quarter_masks(cells[k], threshold, seed) for k in grades})
    rollout = marts.rollout(wh, area_code)
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


# -- the view ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatestShown:
    """The measure pooled over its latest quarters, after the gate (None where hidden)."""

    first_quarter_end: dt.date
    last_quarter_end: dt.date
    quarters: int
    proportion: float | None
    lower: float | None
    upper: float | None
    trials: int | None
    small_sample: bool

    @property
    def hidden(self) -> bool:
        return self.proportion is None


@dataclass(frozen=True)
class PracticeView:
    """What the Practice page shows for one measure, unit and respondent group.

    ``points`` and ``change`` are the gated tables (``c`` in ``table``, NaN in ``plot``);
    ``chart`` is the p′ chart with its points gated the same way, so :meth:`pprime_figure`
    plots exactly what ``points`` shows.
    """

    area_code: str
    area_name: str
    measure: PracticeMeasure
    unit: str
    respondent: str
    has_data: bool
    chart: PPrimeResult | None
    points: disclosure.Gated | None
    change: disclosure.Gated | None
    latest: LatestShown | None
    small_sample_notes: tuple[str, ...]
    caveats: tuple[str, ...]
    source: str
    rollout_date: dt.date | None
    first_quarter_end: dt.date | None
    last_quarter_end: dt.date | None
    verdict: analysis.PracticeVerdict | None = None

    @property
    def figure(self):
        """This view's figure in the Board tile's and the report's words
        (:func:`pipelines.present.practice_summary.figure_from_view`), or None without data."""
        if not self.has_data:
            return None
        from pipelines.present.practice_summary import figure_from_view  # it builds on this

        return figure_from_view(self)

    @property
    def headline(self) -> str:
        """The headline: the tile's and the report's one sentence for this measure, unit and
        respondent group (its latest four quarters, the change since rollout and its grade)."""
        if not self.has_data:
            return f"There are no figures yet for {self.place}."
        return self.figure.sentence

    @property
    def place(self) -> str:
        return self.area_name if self.unit == UNIT_ALL else self.unit

    @property
    def who(self) -> str:
        """Whose answers, for a feedback measure ('' otherwise)."""
        if self.measure.source != "feedback":
            return ""
        return respondent_label(self.respondent).lower()

    @property
    def chart_title(self) -> str:
        who = f" ({self.who})" if self.who else ""
        return f"{self.measure.label}{who}, {self.place}: each quarter with its p′ limits"

    @property
    def change_title(self) -> str:
        who = f" ({self.who})" if self.who else ""
        return f"Change since rollout, by locality and wave: {self.measure.label}{who}"

    def points_table(self) -> pd.DataFrame:
        """The p′ chart's data table (gated), with plain headings."""
        return points_table(self.points, self.measure)

    def change_table(self) -> pd.DataFrame:
        """The change since rollout's data table (gated), with plain headings."""
        return change_table(self.change)

    @property
    def has_change(self) -> bool:
        return self.change is not None and self.change.plot["change"].notna().any()

    @property
    def change_summary(self) -> str:
        """The change chart's text alternative: what it plots and the pooled change."""
        shown = self.change.plot.dropna(subset=["change"])
        text = (
            f"Change since rollout in percentage points with 95% intervals for {len(shown)} "
            "rows: localities, waves and all units pooled."
        )
        pooled = shown[shown["group"] == "All units"]
        if len(pooled):
            row = pooled.iloc[0]
            text += (
                f" All units: {_points(row['change'])} points (95% interval "
                f"{_points(row['change_lower'])} to {_points(row['change_upper'])})."
            )
        return text

    def pprime_figure(self, x_range=None) -> go.Figure:
        return practice_charts.pprime_chart(
            self.chart,
            title=self.chart_title,
            source=self.source,
            rollout_date=self.rollout_date,
            x_range=x_range,
        )

    def change_figure(self) -> go.Figure:
        return practice_charts.change_chart(
            self.change.plot, title=self.change_title, source=self.source
        )


def _points_frame(result: PPrimeResult, hidden: np.ndarray) -> disclosure.Gated:
    points = result.points.assign(not_counted=result.points["trials"] - result.points["successes"])
    return _gate_rows(points, _COUNTS, _SHARES, hidden)


def _whole(values: pd.Series) -> list:
    """Counts as whole numbers, ``c`` and blanks kept."""
    return [v if isinstance(v, str) or pd.isna(v) else int(v) for v in values]


def points_table(gated: disclosure.Gated, measure: PracticeMeasure) -> pd.DataFrame:
    """The p′ chart's data as the page's table shows it: plain headings, shares as per cent."""
    frame = gated.table
    shares = {
        "proportion": "per_cent",
        "ci_lower": "interval_lower",
        "ci_upper": "interval_upper",
        "centre": "centre_line",
        "lower": "limit_lower",
        "upper": "limit_upper",
    }
    out = pd.DataFrame(
        {
            "quarter_end": pd.to_datetime(frame["date"]).dt.date,
            "quarter": frame["date"].map(quarter_label),
            "yes": _whole(frame["successes"]),
            "asked": _whole(frame["trials"]),
        }
    )
    for column, name in shares.items():
        out[name] = [
            v if isinstance(v, str) or pd.isna(v) else round(v * 100, 1) for v in frame[column]
        ]
    out["signal"] = frame["point_type"].fillna("").str.replace("_", " ")
    out["fewer_than_30"] = frame["small_sample"]
    return out


def change_table(gated: disclosure.Gated) -> pd.DataFrame:
    """The change table as the page shows it: group, start, shares and change in points."""
    frame = gated.table
    out = pd.DataFrame(
        {
            "group": frame["group"],
            "wave": frame["wave"],
            "start_date": pd.to_datetime(frame["start_date"]).dt.date,
            "before_asked": _whole(frame["before_trials"]),
            "after_asked": _whole(frame["after_trials"]),
        }
    )
    for column in ("before", "after", "change", "change_lower", "change_upper"):
        name = column if column.startswith("change") else f"{column}_per_cent"
        out[name] = [
            v if isinstance(v, str) or pd.isna(v) else round(v * 100, 1) for v in frame[column]
        ]
    return out


def _latest(series: pd.DataFrame, hidden: np.ndarray, threshold: int) -> LatestShown | None:
    frame = series.assign(hidden=hidden)
    frame = frame.dropna(subset=["trials"])
    frame = frame[frame["trials"] > 0].tail(LATEST_QUARTERS)
    if frame.empty:
        return None
    x, n = int(frame["successes"].sum()), int(frame["trials"].sum())
    small = any(1 <= v <= threshold for v in (x, n - x, n))
    first, last = frame["period_end"].iloc[0].date(), frame["period_end"].iloc[-1].date()
    if small or frame["hidden"].any():
        return LatestShown(first, last, len(frame), None, None, None, None, n < SMALL_SAMPLE)
    ci = proportion_ci(x, n)
    return LatestShown(
        first,
        last,
        len(frame),
        float(ci["proportion"].iloc[0]),
        float(ci["lower"].iloc[0]),
        float(ci["upper"].iloc[0]),
        n,
        n < SMALL_SAMPLE,
    )


def practice_view(
    wh: Warehouse,
    area_code: str,
    measure_key: str,
    unit: str = UNIT_ALL,
    respondent: str = UNIT_ALL,
) -> PracticeView:
    """The Practice page's content for one measure, unit (``All`` for the area) and
    respondent group (``All``, or a feedback measure's ``Parent or carer`` / ``Child or young
    person``), gated for disclosure."""
    threshold = config.suppression_threshold()
    measures = {m.key: m for m in analysis.practice_measures(wh, area_code)}
    measure = measures.get(measure_key) or analysis.describe(measure_key, "")
    if measure.source != "feedback":
        respondent = UNIT_ALL
    name = marts.area_name(wh, area_code)
    dataset = _DATASETS.get(measure.source)
    last = marts.last_loaded(wh, dataset) if dataset else None
    source_words = _SOURCE_WORDS.get(measure.source, "practice extracts")
    cells = marts.practice_cells(wh, area_code, measure.key)
    mine = cells[(cells["unit"] == unit) & (cells["respondent"] == respondent)]
    if mine.empty:
        return PracticeView(
            area_code,
            name,
            measure,
            unit,
            respondent,
            False,
            None,
            None,
            None,
            None,
            (),
            CAVEATS,
            source_line(source_words, last),
            None,
            None,
            None,
        )
    decided, decision = measure_decision(wh, area_code, measure.key, cells, threshold)
    series = analysis.practice_series(wh, area_code, measure.key, unit=unit, respondent=respondent)
    picked = decided[(decided["unit"] == unit) & (decided["respondent"] == respondent)]
    hidden_dates = set(picked.loc[picked["hidden"], "period_end"])
    # the chart's centre line and limits from the quarters shown only (`pprime_of`)
    start = analysis.rollout_start(wh, area_code, unit)
    try:
        chart = analysis.pprime_of(series, start, left_out=hidden_dates)
        hide_everything = False
    except StatsInputError:  # under two quarters shown: nothing of the chart is shown
        chart = analysis.pprime_of(series, start)
        hide_everything = True
    hidden = chart.points["date"].isin(hidden_dates).to_numpy() | hide_everything
    points = _points_frame(chart, hidden)
    gated_chart = dataclasses.replace(chart, points=points.plot.drop(columns="not_counted"))

    def gated_change() -> tuple[pd.DataFrame, disclosure.Gated]:
        table = analysis.change_since_rollout(wh, area_code, measure.key, respondent=respondent)
        change_hidden = _change_rows_hidden(
            decided, marts.rollout(wh, area_code), table, respondent, threshold, decision
        )
        counts = ("before_successes", "before_trials", "after_successes", "after_trials")
        return table, _gate_rows(table, counts, _CHANGE_SHARES, change_hidden)

    table, change = _shared(
        wh, ("change", area_code, measure.key, respondent, threshold), gated_change
    )

    latest = _latest(series, series["period_end"].isin(hidden_dates).to_numpy(), threshold)
    first_end = series["period_end"].iloc[0].date()
    last_end = series["period_end"].iloc[-1].date()
    noun = _count_noun(measure)
    small_quarters = int(series["small_sample"].sum())
    notes = []
    if small_quarters:
        notes.append(
            f"{small_quarters} of {len(series)} quarters had fewer than {SMALL_SAMPLE} {noun}: "
            "their intervals are wide, so read them with care."
        )
    if latest is not None and latest.small_sample:
        notes.append(
            f"The latest {latest.quarters} quarters together have fewer than {SMALL_SAMPLE} "
            f"{noun}, so the headline figure is uncertain."
        )
    if hidden.any():
        notes.append(
            f"{int(hidden.sum())} quarters are hidden to protect privacy (a count from 1 to "
            f"{threshold}, or one that could be worked out from the figures shown)."
        )
    # p′'s own small-quarter warning says what the first note says, in its own words
    notes.extend(w for w in chart.warnings if "fewer than" not in w)
    span = f"{quarter_label(first_end)} to {quarter_label(last_end)}"
    return PracticeView(
        area_code=area_code,
        area_name=name,
        measure=measure,
        unit=unit,
        respondent=respondent,
        has_data=True,
        chart=gated_chart,
        points=points,
        change=change,
        latest=latest,
        small_sample_notes=tuple(notes),
        caveats=CAVEATS,
        source=source_line(f"{source_words}, {name}, {span}", last),
        rollout_date=analysis.rollout_start(wh, area_code, unit),
        first_quarter_end=first_end,
        last_quarter_end=last_end,
        verdict=_verdict(wh, area_code, measure, unit, respondent, table),
    )


def _verdict(
    wh: Warehouse,
    area_code: str,
    measure: PracticeMeasure,
    unit: str,
    respondent: str,
    table: pd.DataFrame,
) -> analysis.PracticeVerdict:
    """The change's grade and reason: :func:`~pipelines.analysis.practice.practice_verdict` for
    the area and everyone who answered (the Board tile's); for one respondent group or unit the
    same grading (:func:`~pipelines.analysis.practice.practice_verdict_from_table`) of that
    group's table, or of that unit's row."""
    if unit == UNIT_ALL and respondent == UNIT_ALL:  # the table already read, not read again
        return analysis.practice_verdict(wh, area_code, measure, table=table)
    if unit != UNIT_ALL:
        table = table[table["group"] == unit].assign(group="All units")
    return analysis.practice_verdict_from_table(
        table, measure, area_code=area_code, respondent=respondent
    )


# -- dose → practice → outcome across units ----------------------------------------------------

CHAIN_QUESTION = (
    "Did localities that trained more staff change practice more, and did practice change go "
    "with fewer children on plans?"
)


@dataclass(frozen=True)
class PracticeChainView:
    """The Practice page's dose → practice → outcome section, in words and gated points.

    ``lines`` are the two Spearman ρ with intervals and n units (or why each could not run);
    ``points`` the units a chart may show (:func:`pipelines.analysis.practice_chain.gated_points`,
    no counts); ``left_off`` how many units the gate left off; ``note`` the ecological note."""

    question: str
    lines: tuple[str, ...]
    note: str
    points: pd.DataFrame
    left_off: int
    source: str
    dose_practice: object | None
    practice_outcome: object | None

    def table(self) -> pd.DataFrame:
        """The chart's data table: per unit, coverage, practice and outcome change (per cent)."""
        p = self.points
        return pd.DataFrame(
            {
                "unit": p["unit"],
                "wave": p["wave"],
                "staff_trained_per_cent": (p["coverage"] * 100).round(1),
                "practice_change_points": (p["practice_change"] * 100).round(1),
                "outcome_change_per_cent": (p["outcome_change"] * 100).round(1),
            }
        )

    def dose_practice_figure(self) -> go.Figure | None:
        r = self.dose_practice
        if r is None or self.points.empty:
            return None
        pts = self.points.assign(change=self.points["practice_change"] * 100)
        return practice_charts.chain_chart(
            pts,
            r,
            source=self.source,
            question="Staff trained against change in audits graded good or outstanding.",
            x_col="coverage",
            y_col="change",
            y_title="Change in audits good or outstanding (points)",
        )

    def practice_outcome_figure(self) -> go.Figure | None:
        r = self.practice_outcome
        if r is None or self.points.empty:
            return None
        pts = self.points.assign(
            x=self.points["practice_change"] * 100, change=self.points["outcome_change"] * 100
        )
        return practice_charts.chain_chart(
            pts,
            r,
            source=self.source,
            question="Change in practice against change in children starting a plan.",
            x_col="x",
            y_col="change",
            y_title="Change in CPP starts (per cent)",
            x_title="Change in audits good or outstanding (points)",
        )


def _rho_line(what: str, result, note: str | None) -> str:
    if result is None:
        return f"{what}: could not be measured ({note or 'too few localities'})."

    def num(value: float) -> str:
        return f"{value:.2f}".replace("-", "\u2212")

    return (
        f"{what}: Spearman's ρ = {num(result.rho)} (95% interval {num(result.ci_lower)} to "
        f"{num(result.ci_upper)}, {result.n} localities). An association across localities, "
        "not proof of cause."
    )


def practice_chain_view(wh: Warehouse, area_code: str) -> PracticeChainView:
    """The dose → practice → outcome section for `area_code` (audits graded good or
    outstanding, children starting a child protection plan), gated for disclosure."""
    from pipelines.analysis import practice_chain as chain_analysis

    chain = chain_analysis.practice_chain(wh, area_code)
    points, left_off = chain_analysis.gated_points(wh, chain)
    lines = (
        _rho_line(
            "Staff trained and change in audits graded good or outstanding",
            chain.dose_practice,
            chain.notes.get("dose_practice"),
        ),
        _rho_line(
            "Change in those audits and change in children starting a child protection plan",
            chain.practice_outcome,
            chain.notes.get("practice_outcome"),
        ),
    )
    if left_off:
        lines += (
            f"{left_off} localities are left off the charts to protect privacy (a count of 1 to "
            f"{config.suppression_threshold()}); the correlations use every locality's rank.",
        )
    return PracticeChainView(
        question=CHAIN_QUESTION,
        lines=lines,
        note=chain.ecological_note,
        points=points,
        left_off=left_off,
        source=chain.source,
        dose_practice=chain.dose_practice,
        practice_outcome=chain.practice_outcome,
    )
