"""One verdict per area and primary outcome: computed once, read by every page and the report.

A :class:`Verdict` reconciles the designs into one sentence and a grade. The designs, best
first:

1. ``ri_did``: staggered difference-in-differences across localities with randomisation
   inference over rollout orders (:func:`pipelines.stats.randomisation.randomisation_did`);
   a comparison with localities not yet started.
2. ``its_pooled``: each locality's series interrupted at its own start, AR(1) errors,
   pooled across localities (:func:`pipelines.stats.its_pooled.pooled_its`); the second
   comparison design, which can raise a verdict to "high" when it is calibrated and agrees.
3. ``area_before_after``: the whole area's latest four quarters against the four before the
   first wave (:func:`pipelines.stats.before_after.before_after`). No comparison group, so it
   is a supporting view and never graded above "low". Placebo dates in the pre-period give
   its empirical false-positive rate, and its interval is widened where that exceeds 5%
   (:mod:`pipelines.stats.placebo`).
4. ``controlled``: for a council with only DfE annual data, :func:`verdict_from_annual`
   compares it with its statistical neighbours (:mod:`pipelines.stats.controlled`).

The grade follows from the measured calibration of the design (``calibration.json``,
written by ``python -m benchmarks.calibrate``: coverage of the 95% interval and the rate of
"a change" under no effect, on the sample's own data process), never from a constant:

- "low" when the design has no comparison group, when its calibration is missing, or when
  its coverage is outside 90-98% or its false-positive rate above 7%;
- otherwise "moderate" when the interval excludes no change and the Holm-adjusted p-value
  across the plan's primary outcomes is below 5% (Holm 1979, Scand J Statist 6:65-70); "high"
  additionally needs a second calibrated comparison design pointing the same way;
- else "low": we cannot yet tell, and the sentence gives the minimum detectable effect.

The words say "associated with", never "caused".
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.analysis.plan import AnalysisPlan, load_plan
from pipelines.present.numbers import change_words, percent_change, range_words
from pipelines.stats.before_after import poisson_rate_ratio_test
from pipelines.stats.errors import StatsInputError
from pipelines.stats.its_pooled import pooled_its
from pipelines.stats.placebo import apply_calibration, placebo_calibration
from pipelines.stats.randomisation import minimum_detectable_effect, randomisation_did

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")

#: Coverage and false-positive bounds a design must meet to be graded above "low".
COVERAGE_RANGE = (0.90, 0.98)
MAX_FALSE_POSITIVE = 0.07

#: Designs: plain-English name, and whether it has a comparison group.
DESIGNS = {
    "ri_did": (
        "comparison of localities that started at different times (difference-in-differences "
        "with a permutation test over rollout orders)",
        True,
    ),
    "its_pooled": (
        "time series of each locality interrupted at its own start, pooled across localities",
        True,
    ),
    "area_before_after": (
        "whole-area before and after (no comparison group)",
        False,
    ),
}

#: measure -> (what "fewer ..." counts, the short name for "we cannot yet tell for ...").
OUTCOME_WORDS = {
    "cla_starts": ("children starting care", "children starting care"),
    "cpp_starts": ("children starting a child protection plan", "child protection plans"),
    "cla_at_period_end": ("children looked after", "children looked after"),
    "cpp_at_period_end": ("children on a child protection plan", "children on a plan"),
    "rereferrals": ("re-referrals", "re-referrals"),
    "cpp_repeat_starts": ("repeat child protection plans", "repeat child protection plans"),
}

CAVEAT_ASSOCIATION = (
    "This is an association between the rollout and the change, measured against localities "
    "that had not yet started. It is not proof of effect: anything else that reached the "
    "localities at the same time as the rollout could explain it."
)
CAVEAT_RAMP = (
    "The estimate averages every quarter since each locality started, including the first "
    "months while practice was being embedded, so a settled effect may be larger."
)


@dataclass(frozen=True)
class DesignEstimate:
    """One design's estimate of the rate ratio (``None`` fields when it could not run)."""

    design: str
    label: str
    comparison: bool
    rate_ratio: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    n_units: int | None
    n_periods: int | None
    note: str = ""
    #: Share of placebo dates in the pre-period at which the design showed a change
    #: (:mod:`pipelines.stats.placebo`); ``None`` when not measured.
    placebo_false_positive_rate: float | None = None

    @classmethod
    def from_result(
        cls, design: str, label: str, comparison: bool, r, n_units: int, n_periods: int, note: str
    ) -> DesignEstimate:
        """The estimate of a stats result carrying ``rate_ratio``, ``ci_*`` and ``p_value``."""
        return cls(
            design,
            label,
            comparison,
            r.rate_ratio,
            r.ci_lower,
            r.ci_upper,
            r.p_value,
            n_units,
            n_periods,
            note=note,
        )

    @property
    def ran(self) -> bool:
        return self.rate_ratio is not None


@dataclass(frozen=True)
class Verdict:
    """The answer for one area and primary outcome (see the module docstring).

    ``rate_ratio`` with ``ci_lower``/``ci_upper`` (95%), ``percent_change`` and its range
    (``percent_lower``/``percent_upper``, never -0.0); ``p_value`` for this outcome and
    ``p_adjusted`` (Holm across the plan's primary outcomes); ``design`` the one the verdict
    rests on and ``designs_considered`` all of them with ``why_preferred``; ``n_localities``
    and ``n_periods`` the panel; ``mde_percent`` the smallest change the design would detect
    4 times in 5; ``grade`` with ``grade_reason``; ``sentence`` the one line a board reads.
    """

    area_code: str
    outcome: str
    role: str
    rate_ratio: float | None
    percent_change: float | None
    ci_lower: float | None
    ci_upper: float | None
    percent_lower: float | None
    percent_upper: float | None
    p_value: float | None
    p_adjusted: float | None
    detected: bool
    design: str | None
    design_label: str
    designs_considered: tuple[DesignEstimate, ...]
    why_preferred: str
    n_localities: int
    n_periods: int
    window_end: pd.Timestamp | None
    mde_percent: float | None
    grade: str
    grade_reason: str
    sentence: str
    caveats: tuple[str, ...]
    plan_hash: str
    calibration: Mapping[str, float] = field(default_factory=dict)
    #: A second calibrated comparison design agrees in direction and excludes no change.
    corroborated: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["designs_considered"] = [d.__dict__ for d in self.designs_considered]
        out["caveats"] = list(self.caveats)
        out["window_end"] = None if self.window_end is None else self.window_end.date().isoformat()
        out["calibration"] = dict(self.calibration)
        return out


# -- calibration --------------------------------------------------------------------------


def load_calibration(path: Path | None = None) -> dict[str, Any]:
    """The committed calibration results (empty when the harness has not been run)."""
    path = CALIBRATION_FILE if path is None else Path(path)
    if not path.is_file():
        return {}
    # Pages ask for it on every rerun: read the file again only when it has changed on disk.
    return _read_calibration(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_calibration(path: str, _mtime_ns: int) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def design_calibration(
    calibration: Mapping[str, Any], design: str, outcome: str
) -> dict[str, float] | None:
    """The measured calibration of a design for an outcome, else the design's worst case."""
    estimates = calibration.get("estimates", {})
    exact = estimates.get(f"{design}:{outcome}")
    if exact is not None:
        return dict(exact)
    same = [v for k, v in estimates.items() if k.split(":")[0] == design]
    if not same:
        return None
    return {
        "coverage": min(v["coverage"] for v in same),
        "false_positive_rate": max(v["false_positive_rate"] for v in same),
    }


def is_calibrated(measured: Mapping[str, float] | None) -> bool:
    """Coverage within 90-98% and a false-positive rate of at most 7%."""
    if not measured:
        return False
    low, high = COVERAGE_RANGE
    return (
        low <= measured["coverage"] <= high
        and measured["false_positive_rate"] <= MAX_FALSE_POSITIVE
    )


# -- designs ------------------------------------------------------------------------------


def _ri_did(panel: pd.DataFrame, plan: AnalysisPlan) -> tuple[DesignEstimate, Any]:
    label, comparison = DESIGNS["ri_did"]
    try:
        result = randomisation_did(panel, confidence=plan.confidence)
    except StatsInputError as exc:
        return DesignEstimate("ri_did", label, comparison, *([None] * 6), note=str(exc)), None
    return (
        DesignEstimate.from_result(
            "ri_did",
            label,
            comparison,
            result,
            result.n_units,
            result.n_periods,
            "; ".join(result.warnings),
        ),
        result,
    )


def area_series(panel: pd.DataFrame) -> pd.DataFrame:
    """The whole area: counts and populations summed over localities per period."""
    return panel.groupby("period_end", as_index=False)[["value", "population"]].sum(min_count=1)


def _area_before_after(panel: pd.DataFrame, plan: AnalysisPlan, window: int = 4) -> DesignEstimate:
    """Latest ``window`` periods against the ``window`` before the first wave (the tile's
    basis), by the exact Poisson rate-ratio test of
    :func:`pipelines.stats.before_after.poisson_rate_ratio_test`."""
    label, comparison = DESIGNS["area_before_after"]
    series = area_series(panel).dropna().sort_values("period_end")
    first = pd.Timestamp(panel["start_date"].min())
    pre = series[series["period_end"] < first].tail(window)
    post = series[series["period_end"] >= first].tail(window)

    def estimate(before: pd.DataFrame, after: pd.DataFrame) -> tuple[float, float, float] | None:
        """Log rate ratio with its Wald interval, ``se = sqrt(1/a + 1/b)`` (Rothman, Greenland
        & Lash 2008, *Modern Epidemiology*, eq. 14-5): fast enough for every placebo date."""
        a, b = float(before["value"].sum()), float(after["value"].sum())
        if a <= 0 or b <= 0:
            return None
        log_rr = math.log(b / after["population"].sum()) - math.log(a / before["population"].sum())
        half = 1.959964 * math.sqrt(1 / a + 1 / b)
        return math.exp(log_rr), math.exp(log_rr - half), math.exp(log_rr + half)

    try:
        if len(pre) < window or len(post) < window:
            raise StatsInputError(
                f"Fewer than {window} complete quarters on one side of the first wave."
            )
        ratio, low, high, p = poisson_rate_ratio_test(
            pre["value"].sum(),
            pre["population"].sum(),
            post["value"].sum(),
            post["population"].sum(),
            confidence=plan.confidence,
        )
    except StatsInputError as exc:
        return DesignEstimate("area_before_after", label, comparison, *([None] * 6), note=str(exc))
    whole_pre = series[series["period_end"] < first]
    cal = placebo_calibration(whole_pre, estimate, window, window)
    ratio, low, high = apply_calibration(ratio, low, high, cal)
    return DesignEstimate(
        "area_before_after",
        label,
        comparison,
        ratio,
        low,
        high,
        p,
        1,
        len(pre) + len(post),
        note=cal.note() if cal else "",
        placebo_false_positive_rate=cal.false_positive_rate if cal else None,
    )


def _its_pooled(panel: pd.DataFrame, plan: AnalysisPlan) -> DesignEstimate:
    """The pooled ITS at each locality's own start (:func:`pipelines.stats.its_pooled`)."""
    label, comparison = DESIGNS["its_pooled"]
    try:
        r = pooled_its(panel, covid=(plan.covid_start, plan.covid_end), confidence=plan.confidence)
    except (StatsInputError, ValueError, np.linalg.LinAlgError) as exc:
        return DesignEstimate("its_pooled", label, comparison, *([None] * 6), note=str(exc))
    return DesignEstimate.from_result(
        "its_pooled", label, comparison, r, r.n_units, r.n_periods, "; ".join(r.warnings)
    )


def corroborates(second: DesignEstimate | None, rate_ratio: float, measured) -> bool:
    """A second comparison design, calibrated, pointing the same way with an interval that
    excludes no change."""
    if second is None or not second.ran or not is_calibrated(measured):
        return False
    same_way = (second.rate_ratio < 1) == (rate_ratio < 1)
    return bool(same_way and (second.ci_upper < 1 or second.ci_lower > 1))


# -- words --------------------------------------------------------------------------------


def _words(outcome: str) -> tuple[str, str]:
    if outcome in OUTCOME_WORDS:
        return OUTCOME_WORDS[outcome]
    from pipelines.measures import measure

    label = measure(outcome).label.lower()
    return label, label


def verdict_sentence(
    outcome: str,
    grade: str,
    detected: bool,
    rate_ratio: float | None,
    ci: tuple[float, float] | None,
    mde_percent: float | None,
    n_localities: int,
    clear_before_adjustment: bool = False,
) -> str:
    """The one sentence: "Probably fewer children starting care (about 12% fewer, plausible
    range 2% to 21% fewer)." or "We cannot yet tell for child protection plans (...)"."""
    noun, short = _words(outcome)
    if rate_ratio is None or ci is None:
        return f"We cannot yet tell for {short}: the data do not yet allow a comparison."
    detail = f"{change_words(rate_ratio)}, plausible range {range_words(*ci)}"
    if detected:
        lead = {"high": "", "moderate": "Probably "}.get(grade, "Possibly ")
        direction = "fewer" if rate_ratio < 1 else "more"
        text = f"{lead}{direction} {noun} where Restorative Practice had started ({detail})."
        return text[0].upper() + text[1:]
    if clear_before_adjustment:
        return (
            f"Possibly {'fewer' if rate_ratio < 1 else 'more'} {noun} ({detail}), but not "
            "clearly once every primary outcome is allowed for."
        )
    mde = ""
    if mde_percent is not None and math.isfinite(mde_percent):
        mde = (
            f"; with {n_localities} localities, only a change of about "
            f"{abs(mde_percent):.0f}% or more would show"
        )
    return f"We cannot yet tell for {short} ({detail}{mde})."


def grade_for(
    design: str | None,
    measured: Mapping[str, float] | None,
    detected: bool,
    corroborated: bool,
) -> tuple[str, str]:
    """(grade, reason) from the design, its measured calibration and the evidence."""
    if design is None:
        return "low", "Low: no design could run on these data."
    label, comparison = DESIGNS[design]
    if not comparison:
        return "low", f"Low: a {label} cannot separate the rollout from other changes."
    if not measured:
        return "low", "Low: this kind of estimate has not been checked in simulation yet."
    cover = f"{measured['coverage']:.0%}"
    fpr = f"{measured['false_positive_rate']:.0%}"
    if not is_calibrated(measured):
        return "low", (
            f"Low: in simulation, intervals like this one contained the truth {cover} of the "
            f"time and showed a change that was not there {fpr} of the time."
        )
    basis = (
        f"in simulation its intervals contained the truth {cover} of the time and showed a "
        f"change that was not there {fpr} of the time"
    )
    if not detected:
        return "low", f"Low: no clear change yet ({basis})."
    if corroborated:
        return "high", f"High: two comparison designs agree, and {basis}."
    return "moderate", f"Moderate: one comparison design shows a change, and {basis}."


# -- the verdict --------------------------------------------------------------------------


def verdict_from_panel(
    panel: pd.DataFrame,
    plan: AnalysisPlan,
    calibration: Mapping[str, Any],
    *,
    outcome: str,
    area_code: str = "",
    rollout: pd.DataFrame | None = None,
    p_adjusted: float | None = None,
) -> Verdict:
    """The verdict for one outcome from its locality x period panel (pure; no warehouse).

    ``panel``: ``period_end``, ``series`` (locality), ``value``, ``population``,
    ``start_date`` (or ``rollout`` with ``unit`` and ``start_date`` to join). ``p_adjusted``:
    the Holm-adjusted p-value when the caller has it (:func:`adjust_for_multiplicity` sets it
    for a set of verdicts); ``None`` treats this outcome alone.
    """
    panel = panel[panel["series"] != "All"].copy()
    if rollout is not None and "start_date" not in panel:
        starts = rollout.set_index("unit")["start_date"]
        panel["start_date"] = panel["series"].map(starts)
    did, did_result = _ri_did(panel, plan)
    has_starts = "start_date" in panel
    supporting = _area_before_after(panel, plan) if has_starts else None
    second = _its_pooled(panel, plan) if has_starts else None
    considered = tuple(d for d in (did, second, supporting) if d is not None)
    chosen = did if did.ran else None
    mde = None
    if did_result is not None:
        # At the level of Holm's first step, the bar a primary outcome must clear.
        level = (1 - plan.confidence) / max(1, len(plan.primary))
        mde = -percent_change(math.exp(-minimum_detectable_effect(did_result, alpha=level)))
    measured = design_calibration(calibration, "ri_did", outcome) if chosen else None
    p_adj = p_adjusted if p_adjusted is not None else (chosen.p_value if chosen else None)
    excludes_one = bool(chosen and (chosen.ci_upper < 1 or chosen.ci_lower > 1))
    alpha = 1 - plan.confidence
    detected = bool(excludes_one and p_adj is not None and p_adj < alpha)
    corroborated = bool(
        chosen
        and corroborates(
            second, chosen.rate_ratio, design_calibration(calibration, "its_pooled", outcome)
        )
    )
    grade, reason = grade_for("ri_did" if chosen else None, measured, detected, corroborated)
    ci = (chosen.ci_lower, chosen.ci_upper) if chosen else None
    n_loc = int(panel["series"].nunique())
    sentence = verdict_sentence(
        outcome,
        grade,
        detected,
        chosen.rate_ratio if chosen else None,
        ci,
        mde,
        n_loc,
        clear_before_adjustment=excludes_one and not detected,
    )
    caveats = [CAVEAT_ASSOCIATION]
    if did_result is not None:
        caveats.append(CAVEAT_RAMP)
        end = did_result.window_end
        caveats.append(
            f"Quarters to {end:%B %Y} only: after that every locality had started, so none "
            "is left to compare with."
        )
        if plan.covid_start <= end:
            caveats.append(
                f"The period includes COVID-19 ({plan.covid_start:%B %Y} to "
                f"{plan.covid_end:%B %Y}); comparing localities allows for changes common to "
                "all of them, not for ones that hit some harder."
            )
        caveats += [w for w in did_result.warnings]
    elif did.note:
        caveats.append(did.note)
    why = (
        "Preferred: it compares localities that had started with ones that had not yet, so "
        "changes common to the whole area (policy, COVID-19, recording) cancel out. The "
        "whole-area before/after has no comparison and is shown as supporting evidence only."
        if chosen
        else "No comparison design could run, so there is no verdict yet."
    )
    return Verdict(
        area_code=area_code,
        outcome=outcome,
        role=plan.role(outcome),
        rate_ratio=chosen.rate_ratio if chosen else None,
        percent_change=percent_change(chosen.rate_ratio) if chosen else None,
        ci_lower=chosen.ci_lower if chosen else None,
        ci_upper=chosen.ci_upper if chosen else None,
        percent_lower=percent_change(chosen.ci_lower) if chosen else None,
        percent_upper=percent_change(chosen.ci_upper) if chosen else None,
        p_value=chosen.p_value if chosen else None,
        p_adjusted=p_adj,
        detected=detected,
        design="ri_did" if chosen else None,
        design_label=DESIGNS["ri_did"][0] if chosen else "",
        designs_considered=considered,
        why_preferred=why,
        n_localities=n_loc,
        n_periods=did.n_periods or 0,
        window_end=did_result.window_end if did_result is not None else None,
        mde_percent=mde,
        grade=grade,
        grade_reason=reason,
        sentence=sentence,
        caveats=tuple(dict.fromkeys(caveats)),
        plan_hash=plan.plan_hash,
        calibration=dict(measured or {}),
        corroborated=corroborated,
    )


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (statsmodels ``multipletests(method="holm")``); None stays None."""
    from statsmodels.stats.multitest import multipletests

    present = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if present:
        adjusted = multipletests([p_values[i] for i in present], method="holm")[1]
        for i, p in zip(present, adjusted, strict=True):
            out[i] = float(p)
    return out


def with_adjusted_p(verdict: Verdict, p_adjusted: float | None, plan: AnalysisPlan) -> Verdict:
    """The verdict re-read with a multiplicity-adjusted p-value: detection, grade, sentence."""
    if verdict.design is None or p_adjusted is None:
        return verdict
    excludes_one = verdict.ci_upper < 1 or verdict.ci_lower > 1
    detected = bool(excludes_one and p_adjusted < 1 - plan.confidence)
    grade, reason = grade_for(
        verdict.design, verdict.calibration or None, detected, verdict.corroborated
    )
    sentence = verdict_sentence(
        verdict.outcome,
        grade,
        detected,
        verdict.rate_ratio,
        (verdict.ci_lower, verdict.ci_upper),
        verdict.mde_percent,
        verdict.n_localities,
        clear_before_adjustment=excludes_one and not detected,
    )
    return replace(
        verdict,
        p_adjusted=p_adjusted,
        detected=detected,
        grade=grade,
        grade_reason=reason,
        sentence=sentence,
    )


def verdicts_from_panels(
    panels: Mapping[str, pd.DataFrame],
    plan: AnalysisPlan,
    calibration: Mapping[str, Any],
    *,
    area_code: str = "",
) -> tuple[Verdict, ...]:
    """One verdict per primary outcome in ``panels``, Holm-adjusted across them."""
    alone = [
        verdict_from_panel(panels[m], plan, calibration, outcome=m, area_code=area_code)
        for m in plan.primary
        if m in panels
    ]
    adjusted = holm([v.p_value for v in alone])
    return tuple(with_adjusted_p(v, p, plan) for v, p in zip(alone, adjusted, strict=True))


def verdicts(
    wh: Any,
    area_code: str,
    *,
    plan: AnalysisPlan | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> tuple[Verdict, ...]:
    """The area's verdicts, one per primary outcome of its plan, read from the marts."""
    from pipelines import marts

    plan = load_plan(area_code) if plan is None else plan
    calibration = load_calibration() if calibration is None else calibration
    panels = {}
    for outcome in plan.primary:
        panel = marts.outcome_panel(wh, area_code, outcome, grain=plan.grain)
        panels[outcome] = panel[panel["series"] != "All"].reset_index(drop=True)
    return verdicts_from_panels(panels, plan, calibration, area_code=area_code)


# -- councils with only DfE annual figures -------------------------------------------------

DESIGNS["controlled"] = ("controlled comparison with statistical neighbours", True)

CAVEAT_ANNUAL = (
    "Only annual published figures are loaded, so the council is compared with its "
    "statistical neighbours as a whole. Loading the council's own monthly or quarterly records "
    "by locality, with the date each locality started, would let the stronger designs run "
    "(a comparison of localities that started at different times, and each locality's own "
    "time series)."
)
CAVEAT_ASSOCIATION_ANNUAL = (
    "This is an association between the rollout and the change, measured against the "
    "council's statistical neighbours. It is not proof of effect: anything else that changed "
    "in the council, and not in its neighbours, at the same time could explain it."
)
#: What figures an annual verdict rests on (issue 14: published annual figures are labelled).
ANNUAL_FIGURES = "published annual figures (DfE, year ending 31 March)"


def annual_rollout_year(rollout: Any) -> int:
    """The first DfE reporting year counted as after the rollout: the year ending 31 March in
    which the rollout began (1 October 2019 -> 2020, i.e. 2019-20; 1 April 2019 -> 2020), the
    rule the calibration of ``controlled:<outcome>`` uses (``benchmarks/calibrate.py``)."""
    stamp = pd.Timestamp(rollout)
    return int(stamp.year + (1 if stamp.month > 3 else 0))


def annual_shortfall_hint(outcome: str, first_year: int | None) -> str:
    """What would let the annual comparison run when the published series is too short."""
    start = (
        f" (the loaded files start in the year ending 31 March {first_year})" if first_year else ""
    )
    return (
        f"Importing older DfE releases for {_words(outcome)[1]}{start} would add earlier years "
        "(rp-impact import-dfe); the council's own monthly or quarterly extracts by locality, "
        "with the date each locality started, would let the locality comparisons run."
    )


def verdict_from_annual(
    council_series: pd.DataFrame,
    neighbour_series: pd.DataFrame,
    rollout_year: int,
    plan: AnalysisPlan,
    calibration: Mapping[str, Any],
    *,
    outcome: str = "cla_starts",
    area_code: str = "",
    england_series: pd.DataFrame | None = None,
    data_note: str = "",
) -> Verdict:
    """The verdict for a council with only DfE annual data: a DiD of its annual rate against
    its statistical neighbours' mean (:func:`pipelines.stats.controlled.controlled_did`),
    graded from the calibration of ``controlled:<outcome>``. ``council_series``: ``year``,
    ``value``, ``population``; ``neighbour_series`` the same with ``area_code``.
    ``england_series`` adds the same comparison against England as a caveat; ``data_note``
    says which published figures were used (the first caveat after the method's own)."""
    from pipelines.stats.controlled import controlled_did

    label, comparison = DESIGNS["controlled"]
    caveats = [CAVEAT_ASSOCIATION_ANNUAL, CAVEAT_ANNUAL]
    if data_note:
        caveats.append(data_note)
    caveats.append(
        f"Years from {rollout_year - 1}-{rollout_year % 100:02d} (the year ending 31 March in "
        "which the rollout began) count as after it."
    )
    try:
        r = controlled_did(
            council_series,
            neighbour_series,
            rollout_year,
            england=england_series,
            confidence=plan.confidence,
        )
    except StatsInputError as exc:
        r = None
        caveats.append(str(exc))
        years = council_series["year"] if len(council_series) else None
        caveats.append(
            annual_shortfall_hint(outcome, int(years.min()) if years is not None else None)
        )
    if r is None:
        est = DesignEstimate("controlled", label, comparison, *([None] * 6))
    else:
        est = DesignEstimate.from_result(
            "controlled",
            label,
            comparison,
            r,
            r.n_neighbours + 1,
            r.n_years_pre + r.n_years_post,
            f"placebo-in-space p-value {r.p_permutation:.2f}",
        )
        caveats.append(
            f"With {r.n_neighbours} neighbours the placebo ranking alone cannot fall below "
            f"{1 / (r.n_neighbours + 1):.0%}; the interval treats the neighbours' placebo "
            "estimates as the size of chance differences."
        )
        if r.england_estimate is not None:
            caveats.append(
                "Against England as a whole, the same comparison gives "
                f"{change_words(math.exp(r.england_estimate))} (no interval: England is one "
                "comparison, not a set of neighbours to measure chance against)."
            )
    measured = design_calibration(calibration, "controlled", outcome) if est.ran else None
    excludes_one = bool(est.ran and (est.ci_upper < 1 or est.ci_lower > 1))
    detected = bool(excludes_one and est.p_value < 1 - plan.confidence)
    grade, reason = grade_for("controlled" if est.ran else None, measured, detected, False)
    ci = (est.ci_lower, est.ci_upper) if est.ran else None
    sentence = verdict_sentence(outcome, grade, detected, est.rate_ratio, ci, None, 1)
    return Verdict(
        area_code=area_code,
        outcome=outcome,
        role=plan.role(outcome),
        rate_ratio=est.rate_ratio,
        percent_change=percent_change(est.rate_ratio) if est.ran else None,
        ci_lower=est.ci_lower,
        ci_upper=est.ci_upper,
        percent_lower=percent_change(est.ci_lower) if est.ran else None,
        percent_upper=percent_change(est.ci_upper) if est.ran else None,
        p_value=est.p_value,
        p_adjusted=est.p_value,
        detected=detected,
        design="controlled" if est.ran else None,
        design_label=f"{label}, on {ANNUAL_FIGURES}" if est.ran else "",
        designs_considered=(est,),
        why_preferred=(
            "The only design these data allow: it compares the council with similar councils "
            "over the same years, so changes common to all of them cancel out."
        ),
        n_localities=1,
        n_periods=est.n_periods or 0,
        window_end=None,
        mde_percent=None,
        grade=grade,
        grade_reason=reason,
        sentence=sentence,
        caveats=tuple(caveats),
        plan_hash=plan.plan_hash,
        calibration=dict(measured or {}),
    )
