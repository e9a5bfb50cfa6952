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
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pipelines import config, disclosure, marts
from pipelines.analysis import practice as analysis
from pipelines.analysis.practice import LATEST_QUARTERS, PracticeMeasure
from pipelines.measures import UNIT_ALL
from pipelines.present.charts import practice as practice_charts
from pipelines.present.charts.labels import source_line
from pipelines.present.practice_gate import (  # noqa: F401 - the page's tests read them here
    _CHANGE_COUNTS,
    _COUNTS,
    _change_rows_hidden,
    _gate_rows,
    _shared,
    change_hidden_rows,
    family_decision,
    family_of,
    measure_decision,
)
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


def view_caveats(measure: PracticeMeasure) -> tuple[str, ...]:
    """What to read the measure's page with care for: where its figures come from (the survey
    or the audits, `analysis.source_caveats`) and that a change has no comparison group."""
    return (*analysis.source_caveats(measure), analysis.CAVEAT_NO_COMPARISON)


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
            view_caveats(measure),
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
        caveats=view_caveats(measure),
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
