"""Plain-English findings from statistical results, with a stated confidence rule.

Every function here turns one result (before/after, interrupted time series, staggered
difference-in-differences, dose-response, cost avoidance, XmR chart) into a :class:`Finding`:
one or two careful sentences for a partnership board, the estimate and its 95% interval, the
caveats that apply, and a confidence grade.

Language. Findings describe association only. They never say that the programme "caused" or
"led to" a change (see :data:`BANNED_PHRASES`): an observational comparison cannot separate
Restorative Practice from anything else that changed at the same time.

Confidence rule (:data:`CONFIDENCE_RULE`, applied by :func:`grade_confidence`):

- **low**: the 95% interval includes "no effect" (a rate ratio of 1, a difference of 0, a
  correlation of 0), or no interval could be calculated;
- **moderate**: the interval excludes "no effect" but at least one *downgrading caveat*
  applies: a short window (fewer than 8 periods a side for an interrupted time series, fewer
  than 4 for a before/after comparison), small numbers (fewer than 10 events a side), the
  COVID-19 period inside the comparison, residual autocorrelation or overdispersion the model
  did not allow for, repeated counts of the same children treated as independent (a stock
  measure in a rate-ratio test), doubt about parallel trends, fewer than 20 units, or an
  illustrative (not local) unit cost;
- **high**: the interval excludes "no effect" and no downgrading caveat applies.

Other caveats (for example that a correlation across units is not evidence of cause) are
stated but do not change the grade.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from pipelines.present.numbers import (
    ci_words,
    count_range_words,
    count_words,
    difference_words,
    interval_has_width,
    money_words,
    pct,
    ratio_change_phrase,
    relative_words,
    signed_number,
)
from pipelines.present.wording import plural
from pipelines.stats import its as _its
from pipelines.stats.before_after import (
    COVID_END as BA_COVID_END,
)
from pipelines.stats.before_after import (
    COVID_START as BA_COVID_START,
)
from pipelines.stats.before_after import (
    MIN_PERIODS_ADVISED,
    SMALL_COUNT,
    BeforeAfterResult,
)
from pipelines.stats.caveats import (
    _DOWNGRADE_LABELS,
    _DOWNGRADING_KEYS,
    CAVEAT_ASSOCIATION_UNITS,
    CAVEAT_AUTOCORRELATION,
    CAVEAT_COVID,
    CAVEAT_ILLUSTRATIVE_COST,
    CAVEAT_MONEY,
    CAVEAT_NO_CAUSE,
    CAVEAT_OVERDISPERSION,
    CAVEAT_PARALLEL,
    CAVEAT_STOCK,
    CAVEAT_STOCK_ITS,
)
from pipelines.stats.cost import DEFAULT_UNIT_COST_SOURCE, CostAvoidanceResult
from pipelines.stats.did import MIN_CLUSTERS, DiD2x2Result, DiDEstimate, StaggeredDiDResult
from pipelines.stats.dose_response import DoseResponseResult
from pipelines.stats.its import ITSResult
from pipelines.stats.spc import XmrResult

Confidence = Literal["high", "moderate", "low"]

CONFIDENCE_RULE = (
    "High: the 95% interval excludes no effect and no downgrading caveat applies. "
    "Moderate: the interval excludes no effect but a downgrading caveat applies (short window, "
    "small numbers, COVID-19 period, unmodelled autocorrelation or overdispersion, repeated "
    "counts of the same children, doubtful parallel trends, fewer than 20 units, illustrative "
    "unit cost). Low: the interval includes no effect, or there is no interval."
)

#: Causal wording that must never appear in generated text.
BANNED_PHRASES = ("caused", "led to", "due to", "because of", "resulted in")

#: Minimum periods each side for a well-supported interrupted time series.
ITS_MIN_POINTS = _its.MIN_POINTS_EACH_SIDE
#: Minimum periods each side for a before/after comparison to avoid a "short window" caveat.
BEFORE_AFTER_MIN_POINTS = MIN_PERIODS_ADVISED
#: Fewer events than this on a side counts as small numbers.
SMALL_NUMBERS = SMALL_COUNT


@dataclass(frozen=True)
class Finding:
    """One plain-English finding.

    Fields:
        text: one or two sentences for a board, in association language.
        confidence: "high", "moderate" or "low" by :data:`CONFIDENCE_RULE`.
        caveats: plain-English caveats that apply (each a full sentence).
        measure: the outcome measure name (e.g. ``cla_starts``), or None.
        method: the method and its source, as the result states it.
        n: the number of periods, units or points behind the estimate.
        estimate: the headline number (see ``scale``), or None.
        ci: the 95% interval of ``estimate`` as (lower, upper), or None.
        key: a stable identifier such as ``"its:cla_starts:All"`` for pages and tests.
        scale: what ``estimate`` is: "rate ratio", "relative change" (fraction, -0.15 is 15%
            lower), "rate per 10,000", "Spearman rho", "child-years", "proportion" or
            "percentage points".
        confidence_reason: why the grade was given, in one sentence.
        importance: sort key for lists of findings (lower is more important).
    """

    text: str
    confidence: Confidence
    caveats: tuple[str, ...] = ()
    measure: str | None = None
    method: str = ""
    n: int | None = None
    estimate: float | None = None
    ci: tuple[float, float] | None = None
    key: str = ""
    scale: str = ""
    confidence_reason: str = ""
    importance: int = 50

    @property
    def all_text(self) -> str:
        """The sentence, the caveats and the confidence reason (what a reader can see)."""
        return " ".join((self.text, *self.caveats, self.confidence_reason))


@dataclass(frozen=True)
class _Caveats:
    """Caveat texts keyed by kind; the keys decide whether the grade is lowered."""

    items: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, text: str) -> None:
        self.items.setdefault(key, text)

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(self.items.values())

    @property
    def downgrading(self) -> tuple[str, ...]:
        return tuple(k for k in self.items if k in _DOWNGRADING_KEYS)


def grade_confidence(
    excludes_no_effect: bool | None, downgrading: Sequence[str] = ()
) -> tuple[Confidence, str]:
    """Apply :data:`CONFIDENCE_RULE`: (grade, one-sentence reason).

    ``excludes_no_effect`` is True when the 95% interval excludes no effect, False when it
    includes it, None when there is no interval. ``downgrading`` lists the downgrading caveats
    that apply (their keys, e.g. ``"covid"``).
    """
    if excludes_no_effect is None:
        return "low", "Low confidence: no interval could be calculated."
    if not excludes_no_effect:
        return "low", "Low confidence: the 95% interval includes no change."
    if downgrading:
        names = ", ".join(_DOWNGRADE_LABELS.get(k, k) for k in downgrading)
        return "moderate", f"Moderate confidence: the interval excludes no change, but {names}."
    return "high", "High confidence: the interval excludes no change and no caveat applies."


# --- number formatting: every figure goes through :mod:`pipelines.present.numbers` ----------


def change_phrase(ratio: float, lower: float, upper: float, noun: str = "") -> str:
    """Describe a ratio and its interval: '14% lower (95% CI 6% to 21% lower)'
    (:func:`pipelines.present.numbers.ratio_change_phrase`, kept here under its old name)."""
    return ratio_change_phrase(ratio, lower, upper, noun)


def _overlaps(start: pd.Timestamp, end: pd.Timestamp, lo: pd.Timestamp, hi: pd.Timestamp) -> bool:
    return bool(start <= hi and end >= lo)


def _round_rate(x: float) -> str:
    return f"{x:.1f}"


def interval_excludes(lower: float, upper: float, no_effect: float) -> bool | None:
    """Whether a 95% interval excludes ``no_effect`` (1 for a ratio, 0 for a difference);
    None when either end is not finite (no interval)."""
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return None
    return upper < no_effect or lower > no_effect


class _Result(Protocol):
    """What every stats result carries: its method (with source) and n."""

    method: str
    n: int


@dataclass(frozen=True)
class Subject:
    """What a finding is about, as its sentence names it.

    ``label`` is the plain name of the measure ("CLA starts"), ``place`` where it was measured
    ("Northmoor", "the first-wave localities"), ``period`` the length of one period
    ("quarter"), ``measure`` the measure's name (``cla_starts``) or None, and ``stock`` whether
    children are counted at every period end (which adds the repeated-counts caveat).
    """

    label: str
    place: str
    period: str = "quarter"
    measure: str | None = None
    stock: bool = False

    def key(self, kind: str) -> str:
        """The finding's stable key, such as ``"its:cla_starts:Northmoor"``."""
        return f"{kind}:{self.measure or self.label}:{self.place}"


@dataclass(frozen=True)
class _Effect:
    """A finding's headline estimate: what it is (``scale``), its value, its 95% interval
    (None: none), and whether that interval excludes no effect (None: no interval)."""

    scale: str
    estimate: float
    ci: tuple[float, float] | None
    excludes_no_effect: bool | None


def result_finding(
    result: _Result,
    text: str,
    caveats: _Caveats,
    effect: _Effect | None,
    key: str,
    measure: str | None,
    importance: int,
    grade: tuple[Confidence, str] | None = None,
) -> Finding:
    """The :class:`Finding` for one stats result: its ``method`` and ``n``, the caveats, the
    estimate, and the grade by :data:`CONFIDENCE_RULE` (or ``grade``, (confidence, reason),
    where the rule does not apply, as for an XmR chart that estimates no effect)."""
    excludes = None if effect is None else effect.excludes_no_effect
    confidence, reason = grade or grade_confidence(excludes, caveats.downgrading)
    ci = None
    if effect is not None and effect.ci is not None:
        ci = (float(effect.ci[0]), float(effect.ci[1]))
    return Finding(
        text=text,
        confidence=confidence,
        caveats=caveats.texts,
        measure=measure,
        method=result.method,
        n=result.n,
        estimate=None if effect is None else float(effect.estimate),
        ci=ci,
        key=key,
        scale="" if effect is None else effect.scale,
        confidence_reason=reason,
        importance=importance,
    )


# --- one function per result type --------------------------------------------------------------


def from_before_after(
    result: BeforeAfterResult, subject: Subject, *, importance: int = 50
) -> Finding:
    """A before/after comparison of ``subject`` as a finding (rate ratio after / before).

    A stock ``subject`` adds the repeated-counts caveat (children counted at every period end).
    """
    label, place, period = subject.label, subject.place, subject.period
    caveats = _Caveats()
    if min(result.n_before, result.n_after) < BEFORE_AFTER_MIN_POINTS:
        caveats.add(
            "short",
            f"Only {result.n_before} {period}(s) before and {result.n_after} after rollout were "
            "compared: too few to separate a real change from normal ups and downs.",
        )
    if min(result.count_before, result.count_after) < SMALL_NUMBERS:
        caveats.add(
            "small", "The numbers are small, so the rates are unstable and the interval is wide."
        )
    period_start = result.before_start - pd.DateOffset(months=3)
    if _overlaps(period_start, result.after_end, BA_COVID_START, BA_COVID_END):
        caveats.add("covid", CAVEAT_COVID)
    if subject.stock:
        caveats.add("stock", CAVEAT_STOCK)
    caveats.add("no_cause", CAVEAT_NO_CAUSE)
    ratio, lo, hi = result.rate_ratio, result.rate_ratio_lower, result.rate_ratio_upper
    text = (
        f"{label} in {place} averaged {_round_rate(result.rate_after)} per 10,000 children a "
        f"{period} in the {plural(result.n_after, period)} from rollout, against "
        f"{_round_rate(result.rate_before)} in the {plural(result.n_before, period)} before: "
        f"{change_phrase(ratio, lo, hi)}."
    )
    effect = _Effect("rate ratio", ratio, (lo, hi), interval_excludes(lo, hi, 1))
    key = subject.key("before_after")
    return result_finding(result, text, caveats, effect, key, subject.measure, importance)


def its_relative_effect(result: ITSResult) -> tuple[float, float, float] | None:
    """Observed over counterfactual for the whole post period, with its 95% interval.

    Uses ``post_totals``: observed total / counterfactual total, and the interval from the
    counterfactual total's interval (observed / upper to observed / lower). None when the
    totals are missing or zero.
    """
    totals = result.post_totals or {}
    obs = totals.get("observed")
    cf, lo, hi = (
        totals.get(k) for k in ("counterfactual", "counterfactual_lower", "counterfactual_upper")
    )
    if not obs or not cf or not lo or not hi or cf <= 0 or lo <= 0:
        return None
    return obs / cf, obs / hi, obs / lo


def _its_caveats(result: ITSResult, caveats: _Caveats, period: str) -> None:
    if min(result.n_pre, result.n_post) < ITS_MIN_POINTS:
        caveats.add(
            "short",
            f"Only {result.n_pre} {period}(s) before and {result.n_post} after rollout; at least "
            f"{ITS_MIN_POINTS} on each side are advised.",
        )
    if result.family == "poisson" and result.dispersion > _its.OVERDISPERSION_THRESHOLD:
        caveats.add("overdispersion", CAVEAT_OVERDISPERSION)
    if result.hac_lags is None and not math.isnan(result.ljung_box_p) and result.ljung_box_p < 0.05:
        caveats.add("autocorrelation", CAVEAT_AUTOCORRELATION)
    dates = pd.to_datetime(result.fitted["date"])
    if _overlaps(dates.min(), dates.max(), _its.COVID_START, _its.COVID_END):
        caveats.add("covid", CAVEAT_COVID)


def from_its(result: ITSResult, subject: Subject, *, importance: int = 50) -> Finding:
    """An interrupted time series of ``subject`` as a finding.

    A stock ``subject`` (children counted at every period end) adds the repeated-counts caveat:
    the model treats each period's count as new events, so its interval is likely too narrow.

    The headline is the whole post period against the counterfactual (the pre-rollout trend
    projected on): "CLA starts in Ashby were 14% lower than the pre-rollout trend projected
    over the 27 quarters after rollout (95% CI ...)". A second sentence gives the step at
    rollout (level change) as a rate ratio. For a Gaussian model without population only the
    level change is reported.
    """
    label, place, period = subject.label, subject.place, subject.period
    caveats = _Caveats()
    _its_caveats(result, caveats, period)
    if subject.stock:
        caveats.add("stock", CAVEAT_STOCK_ITS)
    caveats.add("no_cause", CAVEAT_NO_CAUSE)
    rel = its_relative_effect(result) if result.family != "gaussian" else None
    level = result.level_change
    if rel is not None:
        ratio, lo, hi = rel
        scale = "rate ratio"
        excludes = hi < 1 or lo > 1
        over = f"over the {plural(result.n_post, period)} after rollout"
        if excludes:
            phrase = change_phrase(ratio, lo, hi, "than the pre-rollout trend projected")
            text = f"{label} in {place} were {phrase} {over}."
        else:
            phrase = change_phrase(ratio, lo, hi, "against the pre-rollout trend")
            text = f"{label} in {place} showed {phrase} {over}."
        if level.scale == "rate ratio":
            step = ci_words(level.ci_lower, level.ci_upper, 2, signed=False)
            text += f" The step at rollout was a rate ratio of {level.estimate:.2f} ({step})."
    else:
        ratio, lo, hi = level.estimate, level.ci_lower, level.ci_upper
        scale = level.scale
        if level.scale == "rate ratio":
            phrase = change_phrase(ratio, lo, hi)
            excludes = hi < 1 or lo > 1
        else:
            interval = ci_words(lo, hi, 2)
            phrase = (
                f"a step of {signed_number(ratio, 2)} per 10,000 ({interval})"
                if (hi < 0 or lo > 0)
                else f"no clear step ({signed_number(ratio, 2)} per 10,000; {interval})"
            )
            excludes = hi < 0 or lo > 0
        text = f"At rollout, {label} in {place} showed {phrase}."
    effect = _Effect(scale, ratio, (lo, hi), excludes)
    return result_finding(
        result, text, caveats, effect, subject.key("its"), subject.measure, importance
    )


def did_parallel_trends_doubt(result: StaggeredDiDResult) -> bool:
    """True when one joint test of every pre-rollout event-study estimate rejects at 5%
    (see ``StaggeredDiDResult.parallel_trends_doubt``), not any one period's interval."""
    return result.parallel_trends_doubt


def from_staggered_did(
    result: StaggeredDiDResult,
    *,
    label: str,
    place: str,
    baseline_rate: float | None = None,
    period: str = "quarter",
    measure: str | None = None,
    importance: int = 50,
) -> Finding:
    """The simple (overall) staggered DiD ATT as a finding.

    The ATT is a difference in rate per 10,000 per period; with ``baseline_rate`` (the units'
    mean rate before rollout) it is also given as a percentage of that rate.
    """
    caveats = _Caveats()
    if did_parallel_trends_doubt(result):
        caveats.add("parallel", result.pretrend_caveat or CAVEAT_PARALLEL)
    if result.n < MIN_CLUSTERS:
        caveats.add(
            "few_units",
            f"Only {result.n} localities took part, so the interval is approximate and one "
            "unusual locality or period can move the estimate.",
        )
    caveats.add("no_cause", CAVEAT_NO_CAUSE)
    est = result.simple
    comparison = (
        "localities not yet started"
        if result.control == "not_yet_treated"
        else "localities that never started"
    )
    effect = _difference_effect(est)
    size = difference_words(est.estimate, f"per 10,000 children a {period}")
    interval = ci_words(est.ci_lower, est.ci_upper, 1)
    if baseline_rate and baseline_rate > 0:
        rel = est.estimate / baseline_rate
        interval += (
            f"; {relative_words(rel)} than the pre-rollout rate of {baseline_rate:.1f}, "
            f"95% CI {_signed_rel(est.ci_lower / baseline_rate)} to "
            f"{_signed_rel(est.ci_upper / baseline_rate)}"
        )
    if effect.excludes_no_effect:
        text = f"After rollout, {label} in {place} were {size} than in {comparison} ({interval})."
    else:
        text = _no_clear_difference(label, place, comparison, size, f"({interval})")
    key = f"did:{measure or label}:{place}"
    return result_finding(result, text, caveats, effect, key, measure, importance)


def _difference_effect(est: DiDEstimate) -> _Effect:
    """A difference-in-differences estimate (rate per 10,000) with its interval, which
    excludes no effect when it excludes 0."""
    excludes = interval_excludes(est.ci_lower, est.ci_upper, 0)
    return _Effect("rate per 10,000", est.estimate, (est.ci_lower, est.ci_upper), excludes)


def _no_clear_difference(label: str, place: str, comparison: str, size: str, interval: str) -> str:
    """The sentence for a difference-in-differences whose interval includes no difference."""
    return (
        f"After rollout, {label} in {place} showed no clear difference from {comparison}: "
        f"{size} {interval}."
    )


def _signed_rel(fraction: float) -> str:
    """-0.14 -> '14% lower' (:func:`pipelines.present.numbers.relative_words`)."""
    return relative_words(fraction)


def from_did_2x2(
    result: DiD2x2Result,
    *,
    label: str,
    treated: str,
    comparison: str,
    period: str = "quarter",
    measure: str | None = None,
    importance: int = 60,
) -> Finding:
    """A simple 2x2 difference-in-differences as a finding (difference in rate per 10,000)."""
    caveats = _Caveats()
    if result.n_clusters is not None and result.n_clusters < MIN_CLUSTERS:
        caveats.add(
            "few_units",
            f"Only {result.n_clusters} localities, so the interval is approximate.",
        )
    caveats.add("no_cause", CAVEAT_NO_CAUSE)
    est = result.estimate
    effect = _difference_effect(est)
    base = float(result.means.loc[1, 0])
    moved = "fell" if est.estimate < 0 else "rose"
    rel = f"{pct(est.estimate / base)} of their earlier rate; " if base > 0 else ""
    unit = f"per 10,000 children a {period}"
    interval = f"({rel}{ci_words(est.ci_lower, est.ci_upper, 1)})"
    if effect.excludes_no_effect:
        text = (
            f"After rollout, {label} in {treated} {moved} by {abs(est.estimate):.1f} {unit} more "
            f"than in {comparison} {interval}."
        )
    else:
        size = difference_words(est.estimate, unit)
        text = _no_clear_difference(label, treated, comparison, size, interval)
    key = f"did2x2:{measure or label}"
    return result_finding(result, text, caveats, effect, key, measure, importance)


def from_dose_response(
    result: DoseResponseResult,
    *,
    label: str,
    improvement: str = "decrease",
    measure: str | None = None,
    importance: int = 70,
) -> Finding:
    """Spearman's rho between training coverage and change in outcome, as a finding.

    With ``improvement="decrease"`` a negative rho means higher coverage went with larger falls.
    """
    caveats = _Caveats()
    if result.n < MIN_CLUSTERS:
        caveats.add(
            "few_units",
            f"Only {result.n} units, so the rank correlation is very uncertain.",
        )
    caveats.add("association", CAVEAT_ASSOCIATION_UNITS)
    lo, hi = result.ci_lower, result.ci_upper
    # An interval of no width (a perfect rank correlation in a handful of units) is not an
    # interval: it cannot exclude anything, so the finding is graded as having none.
    excludes = interval_excludes(lo, hi, 0) if interval_has_width(lo, hi, 2) else None
    stats_text = (
        f"Spearman's rho {signed_number(result.rho, 2)}, {ci_words(lo, hi, 2)}, {result.n} units"
    )
    if excludes:
        better = (result.rho < 0) == (improvement == "decrease")
        tendency = "larger improvements" if better else "smaller improvements or worsening"
        text = (
            f"Units with higher training coverage tended to have {tendency} in {label} "
            f"({stats_text})."
        )
    else:
        text = (
            f"There was no clear link between training coverage and the change in {label} "
            f"across units ({stats_text})."
        )
    effect = _Effect("Spearman rho", result.rho, (lo, hi), excludes)
    key = f"dose_response:{measure or label}"
    return result_finding(result, text, caveats, effect, key, measure, importance)


def _child_years_range(lower: float, upper: float) -> str:
    """A range of child-years fewer than projected: "540 to 730"; one that crosses no
    difference says which way each end goes ("30 more to 120 fewer")."""
    if lower > 0:
        return count_range_words(lower, upper)
    if upper < 0:
        return count_range_words(-upper, -lower)
    low = "no difference" if lower == 0 else f"{count_words(-lower)} more"
    high = "no difference" if upper == 0 else f"{count_words(upper)} fewer"
    return f"{low} to {high}"


def from_cost_avoidance(
    result: CostAvoidanceResult,
    *,
    since: str,
    importance: int = 80,
) -> Finding:
    """The difference in child-years in care against the pre-rollout projection, as a finding.

    "Since Oct 2019, children spent fewer years in care than the pre-rollout trend projected:
    an estimated difference of 630 child-years (range 540 to 730), worth about £38 million at
    your unit cost of £60,000 a child-year."

    - The money value appears only at the council's own unit cost: with the illustrative
      default the finding gives child-years only, and says how to see a money value.
    - Counts and money are rounded to two significant figures (:mod:`pipelines.present.numbers`).
    - It is never a return claim ("for each £1"), never "avoided" or "saved", and never graded
      above moderate: a money value rests on a modelled counterfactual and a unit cost. The
      analysis layer then applies the measured calibration of the child-years estimate.
    """
    caveats = _Caveats()
    council_cost = result.unit_cost_source != DEFAULT_UNIT_COST_SOURCE
    if not council_cost:
        caveats.add("illustrative_cost", CAVEAT_ILLUSTRATIVE_COST)
    for assumption in result.assumptions:
        if not council_cost and assumption.startswith(("Unit cost:", "The unit cost is held")):
            continue  # no pound figure at all until the council has set its own unit cost
        caveats.add(f"assumption:{assumption[:30]}", assumption)
    if council_cost:
        caveats.add("money", CAVEAT_MONEY)
    lo, hi = result.child_years_avoided_lower, result.child_years_avoided_upper
    years = result.child_years_avoided
    excludes = None if lo is None or hi is None else (lo > 0 or hi < 0)
    rng = f" (range {_child_years_range(lo, hi)})" if lo is not None and hi is not None else ""
    size = count_words(abs(years))
    if years > 0:
        text = (
            f"Since {since}, children spent fewer years in care than the pre-rollout trend "
            f"projected: an estimated difference of {size} child-years{rng}"
        )
        if council_cost:
            text += (
                f", worth about {money_words(result.gross_avoidance)} at your unit cost of "
                f"{money_words(result.unit_cost_per_child_year)} a child-year"
            )
        text += "."
        if council_cost and result.investment is not None:
            text += f" The investment entered is {money_words(result.investment)}."
    else:
        text = (
            f"Since {since}, children spent an estimated {size} more years in care than the "
            f"pre-rollout trend projected{rng}, so no money value is given."
        )
    if not council_cost and years > 0:
        text += " No money value is shown until the council enters its own unit cost."
    grade = grade_confidence(excludes, caveats.downgrading)
    if grade[0] == "high":
        grade = (
            "moderate",
            "Moderate confidence at most: the figure rests on a projected counterfactual and a "
            "unit cost, which the interval does not allow for.",
        )
    effect = _Effect("child-years", years, None if lo is None or hi is None else (lo, hi), excludes)
    measure = "cla_at_period_end"
    return result_finding(
        result, text, caveats, effect, "cost_avoidance", measure, importance, grade
    )


_VARIATION_TEXT = {
    "common_cause": "only common-cause variation (no unusual signal)",
    "special_cause_improvement_high": "special-cause variation in the improving direction (high)",
    "special_cause_improvement_low": "special-cause variation in the improving direction (low)",
    "special_cause_concern_high": "special-cause variation of concern (high)",
    "special_cause_concern_low": "special-cause variation of concern (low)",
    "special_cause_neutral_high": "special-cause variation (high)",
    "special_cause_neutral_low": "special-cause variation (low)",
}
_ASSURANCE_TEXT = {
    "consistent_pass": "it will consistently meet the target",
    "consistent_fail": "it will consistently miss the target unless the process changes",
    "hit_or_miss": "it will sometimes meet and sometimes miss the target",
}


def variation_text(icon: str) -> str:
    """Plain-English meaning of a Making Data Count variation icon."""
    return _VARIATION_TEXT.get(icon, icon.replace("_", " "))


def from_spc(result: XmrResult, subject: Subject, *, importance: int = 90) -> Finding:
    """An XmR chart as a finding: the variation icon (and assurance, with a target) in words.

    SPC has no interval of an effect, so the grade follows the signal: a special cause in the
    latest segment is "moderate" (a real signal, but not an estimate of an effect), common
    cause is "low". Trial limits are a caveat.
    """
    caveats = _Caveats()
    if result.trial_limits:
        caveats.add(
            "trial",
            "Some limits rest on fewer than 13 points (trial limits) and may change as data "
            "are added.",
        )
    label, place = subject.label, subject.place
    points = result.points
    last_segment = int(points["segment"].max())
    in_last = points[points["segment"] == last_segment]
    n_signals = int(in_last["special_cause"].sum())
    if label[:1].isupper() and label[1:2].islower():
        label = label[0].lower() + label[1:]  # mid-sentence: "children looked after"
    text = (
        f"On an XmR chart, the latest period of {label} in {place} shows "
        f"{variation_text(result.variation_icon)}"
    )
    if last_segment > 0:
        n_points = int(in_last["value"].notna().sum())
        text += (
            f"; with limits recalculated from rollout, {n_signals} of the {n_points} periods "
            "since then were special-cause signals"
        )
    text += "."
    if result.assurance_icon and result.target is not None:
        text += (
            f" Against the target of {result.target:g}, the limits suggest "
            f"{_ASSURANCE_TEXT[result.assurance_icon]}."
        )
    special = result.variation_icon != "common_cause"
    grade: Confidence = "moderate" if special else "low"
    reason = (
        "Moderate confidence: a special-cause signal, which is evidence of change but not an "
        "estimate of its size."
        if special
        else "Low confidence: the chart shows only common-cause variation."
    )
    # Without a measure name the key keeps the label as the sentence writes it (lower case).
    key = f"spc:{subject.measure or label}:{place}"
    return result_finding(
        result, text, caveats, None, key, subject.measure, importance, (grade, reason)
    )


# --- checks ------------------------------------------------------------------------------------


def banned_phrases_in(text: str) -> list[str]:
    """The causal phrases of :data:`BANNED_PHRASES` found in ``text`` (whole words)."""
    lowered = text.lower()
    return [p for p in BANNED_PHRASES if re.search(rf"\b{re.escape(p)}\b", lowered)]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most important first: by ``importance``, then by confidence (high first)."""
    order = {"high": 0, "moderate": 1, "low": 2}
    return sorted(findings, key=lambda f: (f.importance, order[f.confidence]))


def finite(x: float | None) -> bool:
    return x is not None and bool(np.isfinite(x))
