"""Are we working *with* families? The practice evidence: audits, family feedback and FGCs.

Every practice measure is a proportion (`mart_practice_proportions`): audits graded good or
better, audits meeting each principle, families agreeing with each statement, FGCs held and
children still in their family network. This module reads them the same way:

- a quarterly series with a Wilson interval per quarter and a Laney p′ chart
  (`pipelines.stats.pprime`), split at the rollout date;
- the change since rollout by unit and wave: the quarters before each unit's start against
  the quarters from a year after it (the first year is left out as bedding-in, as the
  outcomes' planted effect ramps in over 12 months), with Newcombe's interval for the
  difference, pooled by wave and for the area;
- the latest four quarters for the Board's "Working with families" tile.

What these cannot say: a survey is answered by those who choose to answer (no response rate
is collected), audits are a sample of cases chosen by the council, and a unit's change since
rollout has no comparison group, so every figure here is "associated with" the rollout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import marts
from pipelines.contracts_practice import DEFAULT_STATEMENTS
from pipelines.measures import UNIT_ALL
from pipelines.stats.errors import StatsInputError
from pipelines.stats.pprime import SMALL_SAMPLE, PPrimeResult, pprime
from pipelines.stats.rates import newcombe_difference, proportion_ci
from pipelines.store.warehouse import Warehouse

#: Quarters from the unit's start that are left out of "after" (bedding-in).
BEDDING_IN_MONTHS = 12
#: How many latest quarters the Board's tile pools.
LATEST_QUARTERS = 4

CAVEATS = (
    "Families choose whether to answer the survey and no response rate is collected, so those "
    "who answer may not be typical of the families the service works with.",
    "Case-file audits are a sample of cases chosen by the council, and auditors know when a "
    "locality has started Restorative Practice.",
    "A change since rollout has no comparison group: it is associated with the rollout, and "
    "other changes at the same time could explain it.",
)


@dataclass(frozen=True)
class PracticeMeasure:
    """One practice measure as the mart names it, with the words to show it."""

    key: str
    label: str
    source: str
    of_what: str


_FIXED = {
    "good_or_better": ("Audits graded good or outstanding", "audits completed"),
    "fgc_held": ("FGCs held, of those offered", "FGCs offered"),
    "plan_agreed": ("FGCs ending with a family plan agreed", "FGCs held"),
    "in_network_6m": ("Children in their family network 6 months on", "children followed up"),
    "in_network_12m": ("Children in their family network 12 months on", "children followed up"),
}


def describe(key: str, source: str) -> PracticeMeasure:
    """The measure's label and denominator in words."""
    if key in _FIXED:
        label, of_what = _FIXED[key]
    elif key.startswith("grade:"):
        label, of_what = f"Audits graded {key[6:].lower()}", "audits completed"
    elif key.startswith("principle:"):
        label, of_what = f"Audits meeting the principle {key[10:]}", "audits completed"
    elif key.startswith("statement:"):
        label, of_what = f"Agreed: “{key[10:]}”", "people who answered"
    else:
        label, of_what = key, "cases"
    return PracticeMeasure(key, label, source, of_what)


def practice_measures(wh: Warehouse, area_code: str) -> list[PracticeMeasure]:
    """The practice measures the area has data for, audits first, then feedback, then FGCs."""
    rows = marts.practice_measure_keys(wh, area_code)
    order = {"audit": 0, "feedback": 1, "fgc": 2}
    found = sorted(
        zip(rows["source"], rows["measure"], strict=True),
        key=lambda r: (order[r[0]], r[1] != "good_or_better", r[1].startswith("grade:"), r[1]),
    )
    return [describe(measure, source) for source, measure in found]


def framework_statements(wh: Warehouse, area_code: str) -> tuple[str, ...]:
    """The area's survey statements in their framework order (the defaults when none)."""
    return tuple(marts.practice_statement_names(wh, area_code)) or DEFAULT_STATEMENTS


def practice_series(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    unit: str = UNIT_ALL,
    respondent: str = UNIT_ALL,
) -> pd.DataFrame:
    """One measure's quarters: ``period_end, successes, trials, proportion, lower, upper``
    (Wilson 95%) and ``small_sample`` (fewer than 30 in the quarter)."""
    frame = marts.practice_counts(wh, area_code, measure, unit=unit, respondent=respondent)
    ci = proportion_ci(frame["successes"].astype(float), frame["trials"].astype(float))
    frame["proportion"] = ci["proportion"].to_numpy()
    frame["lower"] = ci["lower"].to_numpy()
    frame["upper"] = ci["upper"].to_numpy()
    frame["small_sample"] = frame["trials"] < SMALL_SAMPLE
    return frame


def rollout_start(wh: Warehouse, area_code: str, unit: str) -> dt.date | None:
    """When `unit` started (the area's first wave for the whole area)."""
    if unit == UNIT_ALL:
        return marts.area_rollout_date(wh, area_code)
    return marts.unit_rollout_date(wh, area_code, unit)


def practice_chart(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    unit: str = UNIT_ALL,
    respondent: str = UNIT_ALL,
) -> PPrimeResult:
    """The measure's Laney p′ chart, rebased at the unit's rollout date where there is one."""
    series = practice_series(wh, area_code, measure, unit=unit, respondent=respondent)
    return pprime_of(series, rollout_start(wh, area_code, unit))


def pprime_of(series: pd.DataFrame, start: dt.date | None, left_out: Iterable = ()) -> PPrimeResult:
    """The Laney p′ chart of a quarterly series (:func:`practice_series`), rebased at `start`.

    Quarters in `left_out` (those the disclosure gate hides) count as quarters with no
    trials: the chart keeps their rows without a value and works its centre line and limits
    out from the other quarters only, because a centre line is the pooled share of every
    quarter in its segment, and with the quarters shown it would give a hidden one back.
    """
    left_out = pd.to_datetime(list(left_out))
    chart = functools.partial(
        pprime, series, "period_end", "successes", "trials", left_out=left_out
    )
    try:
        return chart(improvement="increase", rebase_dates=() if start is None else (start,))
    except StatsInputError:
        if start is None or not series["period_end"].isin(left_out).any():
            raise
    # Too few quarters shown on one side of the rollout to work limits out from: one segment.
    result = chart(improvement="increase")
    note = (
        "Too few quarters are shown on one side of the rollout to work its limits out from "
        "them, so one centre line and one set of limits run across the rollout."
    )
    return dataclasses.replace(result, warnings=(*result.warnings, note))


def _window_counts(series: pd.DataFrame, start: dt.date) -> tuple[float, float, float, float]:
    """(successes, trials) before `start`, and from a year after it."""
    ends = series["period_end"].dt.date
    after_from = (pd.Timestamp(start) + pd.DateOffset(months=BEDDING_IN_MONTHS)).date()
    before = series[ends < start]
    after = series[ends >= after_from]
    return (
        float(before["successes"].sum()),
        float(before["trials"].sum()),
        float(after["successes"].sum()),
        float(after["trials"].sum()),
    )


def _change_row(label: str, wave, start, x0: float, n0: float, x1: float, n1: float) -> dict:
    row = {"group": label, "wave": wave, "start_date": start}
    row |= {"before_successes": x0, "before_trials": n0, "after_successes": x1, "after_trials": n1}
    if n0 > 0 and n1 > 0:
        diff, lower, upper = newcombe_difference(x1, n1, x0, n0)
        row |= {"before": x0 / n0, "after": x1 / n1, "change": diff}
        row |= {"change_lower": lower, "change_upper": upper}
    else:
        row |= dict.fromkeys(("before", "after", "change", "change_lower", "change_upper"), np.nan)
    return row


def change_table(series_by_unit: Mapping[str, pd.DataFrame], rollout: pd.DataFrame) -> pd.DataFrame:
    """The change since rollout from each unit's quarterly series (pure: the calibration
    harness calls it on simulated series). `rollout` has ``unit, wave, start_date``."""
    rows, pooled = [], {}
    for _, r in rollout.sort_values(["wave", "unit"]).iterrows():
        series = series_by_unit.get(r["unit"])
        if r["unit"] == UNIT_ALL or series is None:
            continue
        counts = _window_counts(series, pd.Timestamp(r["start_date"]).date())
        rows.append(_change_row(r["unit"], int(r["wave"]), r["start_date"], *counts))
        for key in (f"Wave {int(r['wave'])}", "All units"):
            pooled[key] = np.add(pooled.get(key, np.zeros(4)), counts)
    for key, counts in sorted(pooled.items(), key=lambda kv: (kv[0] == "All units", kv[0])):
        wave = int(key.split()[1]) if key.startswith("Wave") else None
        rows.append(_change_row(key, wave, None, *counts))
    return pd.DataFrame(rows)


def change_since_rollout(
    wh: Warehouse, area_code: str, measure: str, *, respondent: str = UNIT_ALL
) -> pd.DataFrame:
    """Each unit's share before its start against from a year after it, then each wave pooled
    and every unit pooled ("All units"). Columns: ``group, wave, start_date``, the four counts,
    ``before, after, change, change_lower, change_upper`` (proportions; Newcombe 95%). A unit
    without a rollout date, or without quarters on both sides, has no change."""
    rollout = marts.rollout(wh, area_code)
    series = {
        unit: practice_series(wh, area_code, measure, unit=unit, respondent=respondent)
        for unit in rollout["unit"]
        if unit != UNIT_ALL
    }
    return change_table(series, rollout)


def pooled_latest(series: pd.DataFrame, quarters: int = LATEST_QUARTERS) -> pd.DataFrame:
    """The latest `quarters` quarters with responses (pure: the harness calls it too)."""
    series = series.dropna(subset=["trials"])
    return series[series["trials"] > 0].tail(quarters)


@dataclass(frozen=True)
class LatestFigure:
    """A practice measure pooled over the latest quarters, for the Board's tile."""

    measure: PracticeMeasure
    successes: int
    trials: int
    proportion: float
    lower: float
    upper: float
    first_quarter_end: dt.date
    last_quarter_end: dt.date
    small_sample: bool


def latest_figure(wh: Warehouse, area_code: str, measure: PracticeMeasure) -> LatestFigure | None:
    """The measure pooled over the area's latest :data:`LATEST_QUARTERS` quarters."""
    series = pooled_latest(practice_series(wh, area_code, measure.key))
    if series.empty:
        return None
    x, n = int(series["successes"].sum()), int(series["trials"].sum())
    ci = proportion_ci(x, n)
    return LatestFigure(
        measure=measure,
        successes=x,
        trials=n,
        proportion=float(ci["proportion"].iloc[0]),
        lower=float(ci["lower"].iloc[0]),
        upper=float(ci["upper"].iloc[0]),
        first_quarter_end=series["period_end"].iloc[0].date(),
        last_quarter_end=series["period_end"].iloc[-1].date(),
        small_sample=n < SMALL_SAMPLE,
    )


def working_with_families(wh: Warehouse, area_code: str) -> list[LatestFigure]:
    """The Board tile's figures: audits graded good or better, and agreement with the first
    survey statement of the framework ("I was listened to" by default), where there are data."""
    measures = {m.key: m for m in practice_measures(wh, area_code)}
    chosen = [measures[k] for k in ("good_or_better",) if k in measures]
    statements = [f"statement:{s}" for s in framework_statements(wh, area_code)]
    chosen += [measures[k] for k in statements if k in measures][:1]
    figures = [latest_figure(wh, area_code, m) for m in chosen]
    return [f for f in figures if f is not None]


# -- the practice verdict: the pooled change graded by its measured calibration ---------------

#: The calibration harness's name for this method (``practice_change:<measure>`` rows).
PRACTICE_DESIGN = "practice_change"
#: Fewer than this many audits, responses or cases in a window is a small sample.
SMALL_WINDOW = SMALL_SAMPLE

CAVEAT_NO_COMPARISON = CAVEATS[2]
CAVEAT_SURVEY = CAVEATS[0]
CAVEAT_AUDIT = CAVEATS[1]
CAVEAT_BEDDING_IN = (
    "Each unit's first year after its start is left out as bedding-in, so the change compares "
    "the quarters before its start with those from a year after it."
)


def source_caveats(measure: PracticeMeasure) -> tuple[str, ...]:
    """The caveat of where a measure's figures come from: the survey's for family feedback,
    the audits' for case-file audits, none of the two for FGC outcomes (every FGC offered is
    counted, not a sample or the families who chose to answer)."""
    if measure.source == "feedback":
        return (CAVEAT_SURVEY,)
    if measure.source == "audit":
        return (CAVEAT_AUDIT,)
    return ()


@dataclass(frozen=True)
class PracticeVerdict:
    """The change since rollout in one practice measure, every unit pooled ("All units").

    Fields:
        area_code, measure: which measure (:class:`PracticeMeasure`), ``respondent`` who
            answered (``All`` for everyone).
        before_successes, before_trials, after_successes, after_trials: the pooled counts
            (before each unit's start; from a year after it).
        before, after, change, change_lower, change_upper: proportions, Newcombe's 95%
            interval for the change (``None`` when a window is empty).
        direction: ``"higher"``, ``"lower"`` or ``"no clear change"`` (the interval's side
            of 0).
        grade, grade_reason: high/moderate/low from the measured calibration of this method
            for this measure (:func:`practice_grade`), never a constant.
        calibration_key, calibration: the ``calibration.json`` row used (the method's worst
            case across measures when this measure was not measured, as
            :func:`pipelines.analysis.verdict.design_calibration` does for outcomes).
        sentence: the plain-English finding ("associated with", never "caused").
        caveats: small samples, who answers, no comparison group, bedding-in.
        small_sample: fewer than :data:`SMALL_WINDOW` in either window.
    """

    area_code: str
    measure: PracticeMeasure
    respondent: str
    before_successes: float
    before_trials: float
    after_successes: float
    after_trials: float
    before: float | None
    after: float | None
    change: float | None
    change_lower: float | None
    change_upper: float | None
    direction: str
    grade: str
    grade_reason: str
    calibration_key: str
    calibration: dict
    sentence: str
    caveats: tuple[str, ...]
    small_sample: bool

    @property
    def detected(self) -> bool:
        """The interval excludes no change."""
        return self.direction != "no clear change"


def change_direction(lower: float | None, upper: float | None) -> str:
    """``"higher"`` when the whole interval is above 0, ``"lower"`` when below, else
    ``"no clear change"`` (also when there is no interval)."""
    if lower is None or upper is None or not (np.isfinite(lower) and np.isfinite(upper)):
        return "no clear change"
    if lower > 0:
        return "higher"
    if upper < 0:
        return "lower"
    return "no clear change"


def practice_grade(
    measured: Mapping[str, float] | None, direction: str, small_sample: bool
) -> tuple[str, str]:
    """(grade, reason) for a practice change from its method's measured calibration.

    The rule is the outcomes' (``docs/calibration.md``): a design is graded above "low" only
    when it has a comparison group and its intervals were measured to cover the truth 90-98%
    of the time with at most 7% false positives. A change since rollout has no comparison
    group, so it is low; the reason says what was measured (coverage, false positives), and
    why it is low: the measurement, a window under :data:`SMALL_WINDOW`, no clear change, or
    the missing comparison group. The simulation cannot see what a comparison group guards
    against (other changes at the same time), so good coverage there does not lift the grade.
    """
    from pipelines.analysis.calibrated import coverage_note
    from pipelines.analysis.verdict import is_calibrated

    if not measured:
        return "low", "Low: " + coverage_note(None)[0].lower() + coverage_note(None)[1:]
    cover = f"{measured['coverage']:.0%}"
    fpr = f"{measured['false_positive_rate']:.0%}"
    basis = (
        f"in simulation of data like these its intervals contained the truth {cover} of the "
        f"time (95% would be right) and showed a change that was not there {fpr} of the time"
    )
    if not is_calibrated(measured):
        return "low", f"Low: {basis}, outside the 90-98% and at most 7% this needs."
    if small_sample:
        return "low", f"Low: fewer than {SMALL_WINDOW} in a window ({basis})."
    if direction == "no clear change":
        return "low", f"Low: no clear change yet ({basis})."
    return "low", (
        f"Low: {basis}, but there is no comparison group, so other changes at the same time "
        "could explain it."
    )


def _points(value: float, digits: int = 0) -> str:
    """A change in percentage points with its sign ("+18", "−3.5"; "0" unsigned)."""
    text = f"{100 * value:+.{digits}f}"
    if float(text) == 0:
        return f"{0:.{digits}f}"
    return text.replace("-", "\u2212")


def practice_verdict_sentence(
    measure: PracticeMeasure,
    before: float | None,
    after: float | None,
    lower: float | None,
    upper: float | None,
    direction: str,
    grade: str,
) -> str:
    """The finding in plain English: what changed, its interval, "associated with"."""
    what = measure.label[0].lower() + measure.label[1:]
    if before is None or after is None or lower is None or upper is None:
        return (
            f"There are not yet quarters on both sides of the rollout to measure a change in "
            f"{what}."
        )
    digits = 0 if round(100 * lower) != round(100 * upper) else 1
    shares = (
        f"{before:.0%} in the quarters before each locality started and {after:.0%} from a "
        "year after it, all localities pooled"
    )
    interval = f"95% interval {_points(lower, digits)} to {_points(upper, digits)}"
    if direction == "no clear change":
        return (
            f"{measure.label}: {shares}. The {interval} percentage points includes no "
            f"change, so there is no clear change yet (confidence: {grade})."
        )
    return (
        f"{measure.label}: {shares}, a change of {_points(after - before)} percentage points "
        f"({interval}). The share was {direction} after the rollout. This is associated with "
        f"the rollout of Restorative Practice; it is not proof of its effect (confidence: "
        f"{grade})."
    )


def practice_verdict_from_table(
    table: pd.DataFrame,
    measure: PracticeMeasure,
    calibration: Mapping | None = None,
    *,
    area_code: str = "",
    respondent: str = UNIT_ALL,
    extra_caveats: tuple[str, ...] = (),
) -> PracticeVerdict:
    """The verdict from a :func:`change_table` (pure, given ``calibration``; read from
    ``calibration.json`` when it is None): its "All units" row, graded by
    :func:`practice_grade` from the ``practice_change:<measure>`` calibration."""
    from pipelines.analysis.verdict import design_calibration, load_calibration

    calibration = load_calibration() if calibration is None else calibration
    rows = table.set_index("group") if len(table) else pd.DataFrame()
    if "All units" in rows.index:
        row = rows.loc["All units"]
        counts = [float(row[c]) for c in ("before_successes", "before_trials")]
        counts += [float(row[c]) for c in ("after_successes", "after_trials")]
        values = [row[c] for c in ("before", "after", "change", "change_lower", "change_upper")]
        values = [float(v) if pd.notna(v) else None for v in values]
    else:
        counts, values = [0.0] * 4, [None] * 5
    before, after, change, lower, upper = values
    small = min(counts[1], counts[3]) < SMALL_WINDOW
    direction = change_direction(lower, upper)
    key = f"{PRACTICE_DESIGN}:{measure.key}"
    measured = design_calibration(calibration, PRACTICE_DESIGN, measure.key)
    grade, reason = practice_grade(measured, direction, small)
    if measured and key not in calibration.get("estimates", {}):
        reason += (
            " This measure was not simulated itself: the figures are the worst of the "
            "practice measures that were."
        )
    caveats = []
    if small:
        caveats.append(
            f"Fewer than {SMALL_WINDOW} {measure.of_what} in a window "
            f"({counts[1]:.0f} before, {counts[3]:.0f} after), so the figure can swing a lot "
            "from chance alone."
        )
    caveats += [*source_caveats(measure), *extra_caveats, CAVEAT_NO_COMPARISON, CAVEAT_BEDDING_IN]
    return PracticeVerdict(
        area_code=area_code,
        measure=measure,
        respondent=respondent,
        before_successes=counts[0],
        before_trials=counts[1],
        after_successes=counts[2],
        after_trials=counts[3],
        before=before,
        after=after,
        change=change,
        change_lower=lower,
        change_upper=upper,
        direction=direction,
        grade=grade,
        grade_reason=reason,
        calibration_key=key,
        calibration=dict(measured or {}),
        sentence=practice_verdict_sentence(measure, before, after, lower, upper, direction, grade),
        caveats=tuple(dict.fromkeys(caveats)),
        small_sample=small,
    )


def who_answered_caveat(
    child_trials: tuple[float, float], all_trials: tuple[float, float]
) -> str | None:
    """The survey's "who answers" caveat: the share of answers from children and young people
    before and after (``(before, after)`` counts), or None when either window is empty."""
    (c0, c1), (n0, n1) = child_trials, all_trials
    if n0 <= 0 or n1 <= 0:
        return None
    s0, s1 = c0 / n0, c1 / n1
    shift = (
        "; a change in who answers can move the share agreeing by itself"
        if abs(s1 - s0) >= 0.05
        else ""
    )
    return (
        f"Who answered: children and young people gave {s0:.0%} of the answers before the "
        f"rollout and {s1:.0%} from a year after it, the rest parents and carers{shift}."
    )


def practice_verdict(
    wh: Warehouse,
    area_code: str,
    measure: PracticeMeasure | str,
    *,
    calibration: Mapping | None = None,
    table: pd.DataFrame | None = None,
) -> PracticeVerdict:
    """The change since rollout in ``measure`` with every unit pooled ("All units",
    :func:`change_since_rollout`), graded by the measured calibration of this method
    (:func:`practice_grade`), with the survey's and the design's caveats. ``table`` is that
    change table when the caller has already read it (everyone who answered)."""
    if isinstance(measure, str):
        found = {m.key: m for m in practice_measures(wh, area_code)}
        source = "feedback" if measure.startswith("statement:") else "audit"
        measure = found.get(measure) or describe(measure, source)
    if table is None:
        table = change_since_rollout(wh, area_code, measure.key)
    extra: tuple[str, ...] = ()
    if measure.source == "feedback":
        from pipelines.contracts_practice import RESPONDENTS

        rollout = marts.rollout(wh, area_code)
        children = np.zeros(2)
        for _, r in rollout.iterrows():
            if r["unit"] == UNIT_ALL or pd.isna(r["start_date"]):
                continue
            series = practice_series(
                wh, area_code, measure.key, unit=r["unit"], respondent=RESPONDENTS[1]
            )
            counts = _window_counts(series, pd.Timestamp(r["start_date"]).date())
            children += (counts[1], counts[3])
        pooled = table.set_index("group").loc["All units"] if len(table) else None
        if pooled is not None:
            note = who_answered_caveat(
                (children[0], children[1]), (pooled["before_trials"], pooled["after_trials"])
            )
            extra = (note,) if note else ()
    return practice_verdict_from_table(
        table, measure, calibration, area_code=area_code, extra_caveats=extra
    )
