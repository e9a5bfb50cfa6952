"""The Board's "Working with families" figures, in words, built once (issue 18).

:func:`practice_summary` gives, for each of the tile's figures (audits graded good or
outstanding; agreement with the framework's first survey statement, "I was listened to" by
default): the share over the latest four quarters with its Wilson 95% interval, the quarters it
covers in words, how many it counts, the change since rollout with every unit pooled ("All
units", Newcombe's 95% interval) and one plain sentence. The Board tile, the full report's
"Working with families" section and the brief all print these sentences, so the words match.

Disclosure (`pipelines.disclosure`): a share whose successes, non-successes or total is 1 to
the threshold is hidden and says why, and so is a change whose counts before or after are.
Every change is "associated with" the rollout: there is no comparison group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import config, disclosure
from pipelines.analysis import practice as analysis
from pipelines.analysis.practice import CAVEATS, LatestFigure, PracticeMeasure
from pipelines.measures import UNIT_ALL
from pipelines.present import practice as present_practice
from pipelines.present.practice import LatestShown, PracticeView
from pipelines.present.wording import grade_words
from pipelines.stats.pprime import SMALL_SAMPLE
from pipelines.store.warehouse import Warehouse

#: The words for each kind of tile figure: what the share is of, and what n counts.
#: The caveats every tile figure carries, said once under the tile.
SHARED_CAVEATS = (analysis.CAVEAT_NO_COMPARISON, analysis.CAVEAT_BEDDING_IN)
_WORDS = {
    "audit": ("of audits were graded good or outstanding", "audits"),
    "feedback": ("of people who answered the family survey agreed", "answers"),
}


@dataclass(frozen=True)
class PracticeFigure:
    """One of the tile's figures.

    Fields:
        key, label, source: the measure (``good_or_better``, ``statement:…``), its label and
            its source (``audit`` or ``feedback``).
        hidden, hidden_reason: True when the share is not shown (a count of 1 to the
            threshold), and why, in words.
        proportion, lower, upper: the share over :data:`pipelines.analysis.practice.LATEST_QUARTERS`
            quarters with its Wilson 95% interval (``None`` when hidden).
        period: the quarters it covers in words ("Jul 2025 to Jun 2026"); ``first_quarter_end``
            and ``last_quarter_end`` the dates.
        n, n_counts: how many (``None`` when hidden) and what n counts ("audits completed").
        change, change_lower, change_upper: the change since rollout, every unit pooled, in
            proportion points (``None`` when there is none, or it is hidden).
        change_hidden: True when the change is hidden for a small count.
        value_text, interval_text, change_text: the tile's pieces; ``sentence`` the whole
            finding in one plain sentence.
        small_sample, caveats: fewer than 30 pooled; the figure's caveats (its source's, the
            small-sample caution, no comparison group).
    """

    key: str
    label: str
    source: str
    hidden: bool
    hidden_reason: str | None
    proportion: float | None
    lower: float | None
    upper: float | None
    period: str
    first_quarter_end: dt.date
    last_quarter_end: dt.date
    n: int | None
    n_counts: str
    change: float | None
    change_lower: float | None
    change_upper: float | None
    change_hidden: bool
    value_text: str
    interval_text: str
    change_text: str
    sentence: str
    small_sample: bool
    caveats: tuple[str, ...]
    grade: str | None = None
    grade_label: str | None = None
    grade_reason: str | None = None

    @property
    def grade_text(self) -> str:
        """The change's grade in the project's confidence words ("Low confidence: …"), or
        '' when there is no change shown to grade."""
        if not self.grade_label:
            return ""
        return f"{self.grade_label}: {self.grade_reason}"

    @property
    def own_caveats(self) -> tuple[str, ...]:
        """This figure's caveats less those every figure shares (its source's, small sample)."""
        return tuple(c for c in self.caveats if c not in SHARED_CAVEATS)


@dataclass(frozen=True)
class PracticeSummary:
    """The tile's figures (audits first) and the practice evidence's caveats."""

    area_code: str
    figures: tuple[PracticeFigure, ...]
    caveats: tuple[str, ...]

    @property
    def sentences(self) -> list[str]:
        return [f.sentence for f in self.figures]

    @property
    def shared_caveats(self) -> tuple[str, ...]:
        """The caveats every figure carries (no comparison group, bedding-in): said once."""
        return SHARED_CAVEATS


def period_words(first_quarter_end: dt.date, last_quarter_end: dt.date) -> str:
    """The quarters from the one ending `first_quarter_end` to `last_quarter_end` in words:
    "Jul 2025 to Jun 2026"."""
    start = (
        pd.Timestamp(first_quarter_end) - pd.DateOffset(months=3) + pd.Timedelta(days=1)
    ).date()
    return f"{start:%b %Y} to {last_quarter_end:%b %Y}"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _points(value: float) -> str:
    return f"{100 * value:+.0f}".replace("-", "\u2212")


def _what(measure: PracticeMeasure, respondent: str = UNIT_ALL) -> tuple[str, str]:
    """(what the share is of, the noun for n) in the sentence, for any practice measure and
    respondent group (the Practice page's words, `share_words`, past the tile's two)."""
    who, did = present_practice.share_words(measure, respondent)
    if measure.key.startswith("statement:"):
        if respondent == UNIT_ALL:
            return f"{_WORDS['feedback'][0]} “{measure.key[10:]}”", _WORDS["feedback"][1]
        return f"of {who} the family survey {did}", "answers"
    if measure.key == "good_or_better":
        return _WORDS["audit"]
    return f"of {who} {did}", who


def _hidden_subject(measure: PracticeMeasure) -> str:
    if measure.key.startswith("statement:"):
        return f"of people who agreed “{measure.key[10:]}”"
    if measure.source == "audit":  # "of audits graded outstanding", not the headline's words
        return f"of {measure.label[0].lower()}{measure.label[1:]}"
    return f"for {measure.label[0].lower()}{measure.label[1:]}"


def _change_words(row: pd.Series | None, hidden: bool, noun: str, threshold: int) -> str:
    if hidden:
        return (
            "the change since Restorative Practice started is hidden to protect privacy: it "
            f"would rest on a count of 1 to {threshold} {noun}"
        )
    if row is None or pd.isna(row["change"]):
        return "there are not yet quarters on both sides of the rollout to measure a change"
    change, lower, upper = (float(row[c]) for c in ("change", "change_lower", "change_upper"))
    interval = f"({_points(lower)} to {_points(upper)} points)"
    if lower > 0 or upper < 0:
        side = "higher" if lower > 0 else "lower"
        near, far = sorted((abs(100 * lower), abs(100 * upper)))
        return (
            f"{abs(100 * change):.0f} points {side} than before Restorative Practice started "
            f"({near:.0f} to {far:.0f} points), associated with the rollout"
        )
    return (
        f"no clear change since Restorative Practice started {interval}, the interval "
        "includes no change"
    )


def _is_small(values, threshold: int) -> bool:
    frame = pd.DataFrame([dict(enumerate(values))])
    return disclosure.has_small_counts(frame, list(frame.columns), threshold=threshold)


def summarise(
    measure: PracticeMeasure,
    latest: LatestShown,
    successes: int,
    trials: int,
    change_row: pd.Series | None,
    change_hidden: bool,
    *,
    threshold: int | None = None,
    grade: tuple[str, str] | None = None,
    place: str | None = None,
    respondent: str = UNIT_ALL,
) -> PracticeFigure:
    """One tile figure (pure): `latest` as the Practice page's gate left it (hidden when any
    quarter it pools is hidden there), its pooled counts (`successes` of `trials`), and the
    gated "All units" row of the change table (`change_hidden` when the gate hid it). The
    figure is hidden too when its own agreed, not agreed or total is 1 to the threshold.

    `grade` is the change's (grade, reason) from :func:`pipelines.analysis.practice.practice_verdict`:
    said after the change, in the project's confidence words (:func:`grade_words`), whenever a
    change is shown. `place` ("Eastgate") prefixes the sentence for one unit; `respondent`
    names whose answers a survey share counts."""
    threshold = config.suppression_threshold() if threshold is None else threshold
    what, noun = _what(measure, respondent)
    period = period_words(latest.first_quarter_end, latest.last_quarter_end)
    hidden = latest.hidden or _is_small((successes, trials - successes, trials), threshold)
    change_text = _change_words(change_row, change_hidden, noun, threshold)
    caveats = []
    if hidden:
        reason = (
            f"Hidden to protect privacy: the figure for {period} would show, or let someone "
            f"work out, a count of 1 to {threshold} {noun}."
        )
        value_text, interval_text = "Hidden", ""
        sentence = (
            f"The share {_hidden_subject(measure)} in {period} is hidden to protect privacy: it would show, or "
            f"let someone work out, a count of 1 to {threshold} {noun}; {change_text}."
        )
    else:
        reason = None
        value_text = _percent(latest.proportion)
        interval_text = f"95% interval {_percent(latest.lower)} to {_percent(latest.upper)}"
        sentence = (
            f"{value_text} {what} in {period} ({interval_text}, {trials:,} {noun}); {change_text}."
        )
        if latest.small_sample:
            caveats.append(
                f"Fewer than {SMALL_SAMPLE} {measure.of_what} in {period}, so the figure can "
                "swing a lot from chance alone."
            )
    caveats += [
        *analysis.source_caveats(measure),
        analysis.CAVEAT_NO_COMPARISON,
        analysis.CAVEAT_BEDDING_IN,
    ]
    shown = change_row is not None and not change_hidden and pd.notna(change_row["change"])
    grade_label = grade_reason = None
    if shown and grade is not None:
        grade_label, grade_reason = grade_words(grade[0], grade[1])
        # lower case after the colon, as the verdicts' confidence line reads
        grade_reason = grade_reason[0].lower() + grade_reason[1:]
        sentence = f"{sentence} {grade_label}: {grade_reason}"
    if place:
        sentence = f"In {place}, {sentence[0].lower()}{sentence[1:]}"
    return PracticeFigure(
        key=measure.key,
        label=measure.label,
        source=measure.source,
        hidden=hidden,
        hidden_reason=reason,
        proportion=None if hidden else latest.proportion,
        lower=None if hidden else latest.lower,
        upper=None if hidden else latest.upper,
        period=period,
        first_quarter_end=latest.first_quarter_end,
        last_quarter_end=latest.last_quarter_end,
        n=None if hidden else trials,
        n_counts=measure.of_what,
        change=float(change_row["change"]) if shown else None,
        change_lower=float(change_row["change_lower"]) if shown else None,
        change_upper=float(change_row["change_upper"]) if shown else None,
        change_hidden=change_hidden,
        value_text=value_text,
        interval_text=interval_text,
        change_text=change_text[0].upper() + change_text[1:] + ".",
        sentence=sentence[0].upper() + sentence[1:],
        small_sample=latest.small_sample and not hidden,
        caveats=tuple(dict.fromkeys(caveats)),
        grade=grade[0] if shown and grade is not None else None,
        grade_label=grade_label,
        grade_reason=grade_reason,
    )


def figure_from_view(view: PracticeView, figure: LatestFigure | None = None) -> PracticeFigure:
    """The figure from the Practice page's gated view (`practice_view`), so the Board hides
    whatever the Practice page hides: for the Board, `figure` gives the pooled counts; for the
    Practice page (any unit and respondent) they come from the view's own latest figure.
    The change is the view's unit's row ("All units" for the area), graded by the view's
    `verdict` (:func:`pipelines.analysis.practice.practice_verdict`)."""
    change = view.change
    row, change_hidden = None, False
    wanted = "All units" if view.unit == UNIT_ALL else view.unit
    if change is not None:
        at = np.flatnonzero((change.plot["group"] == wanted).to_numpy())
        if len(at):
            row = change.plot.iloc[at[0]]
            mask = change.masks.get("change")
            change_hidden = bool(mask is not None and mask[at[0]])
    latest = view.latest
    if figure is not None:
        measure, successes, trials = figure.measure, figure.successes, figure.trials
    else:
        measure = view.measure
        trials = latest.trials if latest is not None and latest.trials else 0
        successes = round(latest.proportion * trials) if trials else 0
    if latest is None:  # the view found nothing: use the pooled figure's own dates, hidden
        first = figure.first_quarter_end if figure else view.first_quarter_end
        last = figure.last_quarter_end if figure else view.last_quarter_end
        latest = LatestShown(first, last, 0, None, None, None, None, False)
    verdict = view.verdict
    grade = (verdict.grade, verdict.grade_reason) if verdict is not None else None
    return summarise(
        measure,
        latest,
        successes,
        trials,
        row,
        change_hidden,
        grade=grade,
        place=None if view.unit == UNIT_ALL else view.unit,
        respondent=view.respondent,
    )


def practice_summary(wh: Warehouse, area_code: str) -> PracticeSummary | None:
    """The Board's "Working with families" figures for `area_code`, or None when the area has
    no practice data."""
    latest = analysis.working_with_families(wh, area_code)
    if not latest:
        return None
    figures = tuple(
        figure_from_view(present_practice.practice_view(wh, area_code, f.measure.key), f)
        for f in latest
    )
    return PracticeSummary(area_code=area_code, figures=figures, caveats=CAVEATS)
