"""The board summary: the verdicts, the headline tiles and 5 to 8 supporting findings.

:func:`board_findings` asks each question once, on one read-once view of the warehouse
(:class:`~pipelines.analysis.common.ReadOnce`), keeps the finding each contributes, and grades
each by the measured calibration of its kind of estimate
(:func:`~pipelines.analysis.calibrated.graded_by_calibration`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from pipelines import marts
from pipelines.analysis.benchmarks import (
    BOARD_CONTEXT_MEASURES,
    annual_verdicts,
    benchmark_analysis,
    benchmark_council_code,
)
from pipelines.analysis.calibrated import calibration_key, graded_by_calibration
from pipelines.analysis.cohorts import cohort_analysis
from pipelines.analysis.common import attempt, read_once
from pipelines.analysis.cost import cost_avoidance_analysis
from pipelines.analysis.headlines import (
    ANNUAL_HEADLINE_MEASURES,
    HEADLINE_MEASURES,
    Headline,
    annual_headlines,
    headlines,
)
from pipelines.analysis.plan import load_plan, plan_history
from pipelines.analysis.training import dose_response_analysis
from pipelines.analysis.trend import trend_analysis
from pipelines.analysis.verdict import ANNUAL_FIGURES, Verdict, load_calibration, verdicts
from pipelines.present.cube import outcome_cube
from pipelines.present.cube import shown_findings as shown_trend_findings
from pipelines.stats import findings as fnd
from pipelines.stats.findings import Finding
from pipelines.store.warehouse import Warehouse


@dataclass(frozen=True)
class BoardSummary:
    """What the board summary shows: the verdicts first, then the tiles and the findings.

    ``verdicts``: one per primary outcome of the council's analysis plan
    (:func:`pipelines.analysis.verdict.verdicts`), the answer every surface repeats;
    ``plan_line`` says which plan they follow; ``verdict_note`` why there are none.
    """

    headlines: list[Headline]
    findings: list[Finding]
    verdicts: tuple[Verdict, ...] = ()
    plan_line: str = ""
    verdict_note: str = ""


@dataclass(frozen=True)
class VerdictSummary:
    """The verdicts for an area as every page shows them: the verdicts (possibly none), the
    plan line with its recorded changes, and why there are none when there are none."""

    verdicts: tuple[Verdict, ...]
    plan_line: str
    note: str = ""


def has_local_outcomes(wh: Warehouse, area_code: str) -> bool:
    """Whether the area has outcomes extracts of its own in the warehouse."""
    return marts.period_bounds(wh, area_code)[1] is not None


def is_public_only(wh: Warehouse, area_code: str) -> bool:
    """A council with no local outcomes extracts but with DfE's published figures: its
    verdicts, tiles and findings come from the published annual figures."""
    return (
        not has_local_outcomes(wh, area_code) and benchmark_council_code(wh, area_code) is not None
    )


#: Why an area's verdicts rest on published annual figures (shown with them).
ANNUAL_NOTE = (
    "No local outcomes extracts are loaded for this council, so each verdict compares its "
    f"{ANNUAL_FIGURES} with its statistical neighbours'."
)


def verdict_summary(wh: Warehouse, area_code: str) -> VerdictSummary:
    """:func:`pipelines.analysis.verdict.verdicts` under the area's plan, never raising for
    data that cannot support a verdict (the note says why), with the plan's history.

    An area with no local outcomes extracts but with DfE's published figures and a rollout
    date gets :func:`pipelines.analysis.benchmarks.annual_verdicts` instead (the council
    against its statistical neighbours, year by year), with :data:`ANNUAL_NOTE`.
    """
    plan = load_plan(area_code)
    notes: dict[str, str] = {}
    plan_line = " ".join(plan_history(wh, area_code, plan).lines())
    if is_public_only(wh, area_code):
        found = attempt(notes, "verdicts", lambda: annual_verdicts(wh, area_code, plan=plan))
        if found is None:
            return VerdictSummary((), plan_line, notes["verdicts"])
        return VerdictSummary(tuple(found), plan_line, ANNUAL_NOTE)
    found = attempt(notes, "verdicts", lambda: verdicts(wh, area_code, plan=plan)) or ()
    return VerdictSummary(tuple(found), plan_line, notes.get("verdicts", ""))


def viewer_hidden(wh: Warehouse, area_code: str) -> dict[str, tuple]:
    """The whole area's quarters of each tile's measure that no viewer is shown: the one
    disclosure decision every view of the counts follows (`pipelines.present.cube`), so the
    tiles, their charts and the findings beside them hide what Trends and Cohorts hide."""
    return {
        measure: tuple(outcome_cube(wh, area_code, measure, "quarter").hidden_periods())
        for _key, measure, _label in HEADLINE_MEASURES
    }


def board_summary(wh: Warehouse, area_code: str) -> BoardSummary:
    """The verdicts, :func:`headlines` and :func:`board_findings` together, each computed once,
    with the quarters hidden to protect small numbers (:func:`viewer_hidden`) left out of every
    figure."""
    wh = read_once(wh)
    summary = verdict_summary(wh, area_code)
    if is_public_only(wh, area_code):
        tiles = annual_headlines(wh, area_code)
        found = public_findings(wh, area_code)
    else:
        hidden = viewer_hidden(wh, area_code)
        tiles = headlines(wh, area_code, hidden=hidden)
        found = board_findings(wh, area_code, tiles=tiles, hidden=hidden)
    return BoardSummary(
        tiles,
        found,
        verdicts=summary.verdicts,
        plan_line=summary.plan_line,
        verdict_note=summary.note,
    )


#: Each supporting finding's estimate as the calibration harness names it
#: (``benchmarks/calibrate.py``; ``calibration.json``). The financial-year staggered DiD is
#: measured there (its intervals cover the truth about 80% of the time), so it is graded low
#: with that coverage beside it; a key with no measurement is low until the harness measures it.
def board_findings(
    wh: Warehouse,
    area_code: str,
    *,
    max_findings: int = 8,
    tiles: list[Headline] | None = None,
    hidden: Mapping[str, Iterable] | None = None,
) -> list[Finding]:
    """5 to 8 plain-English findings for the board summary and the annual report.

    They come after the verdicts, as supporting views, in this order: CLA and CPP starts
    across localities (staggered difference-in-differences by financial year, the primary
    outcomes), the whole-area CLA and CPP rates at period end (interrupted time series,
    quarterly, quasi-Poisson with Newey-West errors), training coverage, the dose-response
    link, the difference in child-years in care, and the SPC signal for the CLA rate. Methods
    that cannot run are left out (a low-confidence finding says why when nothing can run).

    Every finding shown with an interval is graded by :func:`graded_by_calibration`: it keeps
    its grade only if its kind of interval was measured to cover the truth 90-98% of the time
    with at most 7% false positives; otherwise it is low with the measured coverage beside it.
    The training finding is a count of staff, graded by :func:`_coverage_finding`.
    ``tiles``: the area's :func:`headlines` (default options), when the caller has them
    already. ``hidden`` (measure -> quarters a viewer is not shown, :func:`viewer_hidden`):
    the whole-area trend findings are the ones the Trends page shows with those quarters
    hidden (its interrupted time series and before/after withheld where they would give a
    hidden quarter back).
    """
    wh = read_once(wh)
    calibration = load_calibration()
    out: list[Finding] = []
    order = 0

    def add(f: Finding | None, *, calibrate: bool = True) -> None:
        nonlocal order
        if f is not None:
            if calibrate:
                f = graded_by_calibration(f, calibration_key(f), calibration)
            out.append(replace(f, importance=order))
            order += 1

    place = marts.area_name(wh, area_code)
    for measure in ("cla_starts", "cpp_starts"):
        # Financial years, not quarters: Callaway & Sant'Anna compare each wave with the one
        # period before it starts, and with two localities per wave a single quarter is too
        # noisy to anchor a board-level estimate (see test_planted_effect's known limitation).
        cohort = cohort_analysis(wh, area_code, measure, grain="financial_year", cross_checks=False)
        add(next((f for f in cohort.findings if f.key.startswith("did:")), None))
    for measure in ("cla_at_period_end", "cpp_at_period_end"):
        trend = trend_analysis(wh, area_code, measure, hac=True)
        shown = shown_trend_findings(trend, (hidden or {}).get(measure, ()))
        its_f = next((f for f in shown if f.key.startswith("its:")), None)
        add(its_f or next((f for f in shown if f.key.startswith("before_after:")), None))
    tiles = {t.key: t for t in (tiles if tiles is not None else headlines(wh, area_code))}
    add(_coverage_finding(tiles["training_coverage"]), calibrate=False)
    dose = dose_response_analysis(wh, area_code, "cpp_starts")
    add(dose.findings[0] if dose.findings else None)
    cost = cost_avoidance_analysis(wh, area_code)
    # Already graded by the calibration of the child-years estimate (analysis.cost).
    add(cost.findings[0] if cost.findings else None, calibrate=False)
    cla = tiles["cla_rate"]
    if cla.spc is not None:
        add(fnd.from_spc(cla.spc, fnd.Subject("the CLA rate", place, measure="cla_at_period_end")))
    if not out:
        return [
            Finding(
                text=f"No findings can be given for {place} yet: outcome data, population and "
                "rollout dates are all needed.",
                confidence="low",
                key="no_data",
                confidence_reason="Low confidence: there is nothing to estimate.",
            )
        ]
    return fnd.sort_findings(out)[:max_findings]


#: The kinds of finding drawn from DfE's figures, by key prefix: (confidence, method, reason).
_DFE_FINDING_KINDS = {
    "dfe_level": (
        "high",
        "DfE published figures",
        "High confidence: the level is a published figure, not an estimate of an effect.",
    ),
    "synth": (
        "low",
        "Synthetic control (Abadie, Diamond & Hainmueller 2010)",
        "Low confidence: the synthetic comparison's intervals have not been checked in simulation.",
    ),
}


def _dfe_finding(kind: str, measure: str, text: str, source: str, importance: int) -> Finding:
    """One finding of a kind in :data:`_DFE_FINDING_KINDS` for ``measure``, citing its source."""
    confidence, method, reason = _DFE_FINDING_KINDS[kind]
    return Finding(
        text=text,
        confidence=confidence,
        caveats=(source,),
        key=f"{kind}:{measure}",
        method=method,
        confidence_reason=reason,
        importance=importance,
    )


def public_findings(wh: Warehouse, area_code: str) -> list[Finding]:
    """The supporting findings for a council with only DfE's published annual figures.

    First what is shown and why (the locality designs, time series and SPC need local
    extracts), then, for CLA and CPP on 31 March, the council against England, its region and
    its statistical neighbours (published figures, so stated as levels), and the synthetic
    comparison with its neighbours where the published years allow one (graded low: its
    intervals have not been checked in simulation).
    """
    place = benchmark_analysis(wh, area_code, BOARD_CONTEXT_MEASURES[0][0], synthetic=False)
    out = [
        Finding(
            text=f"Only {ANNUAL_FIGURES} are loaded for {place.area_name}, so these "
            "findings compare the council with England, its region and its statistical "
            "neighbours year by year. The comparisons between localities, the quarterly time "
            "series and the SPC charts need the council's own monthly or quarterly outcomes "
            "extracts, with the date each locality started.",
            confidence="low",
            key="public_only",
            confidence_reason="Low confidence: annual figures for the whole council can only "
            "be compared with other councils, not between its own localities.",
            importance=0,
        )
    ]
    order = 1
    for measure, _short in BOARD_CONTEXT_MEASURES:
        bench = benchmark_analysis(wh, area_code, measure)
        level = next((t for t in bench.findings if t not in bench.synth_findings), None)
        if level:
            out.append(_dfe_finding("dfe_level", measure, level, bench.source, order))
            order += 1
        if bench.synth_findings:
            synth = " ".join(bench.synth_findings)
            out.append(_dfe_finding("synth", measure, synth, bench.source, order))
        elif bench.notes.get("synthetic_control"):
            out.append(
                Finding(
                    text=f"No synthetic comparison for {bench.short} in {bench.area_name}: "
                    + bench.notes["synthetic_control"],
                    confidence="low",
                    key=f"synth:{measure}",
                    confidence_reason="Low confidence: nothing could be estimated.",
                    importance=order,
                )
            )
        order += 1
    return fnd.sort_findings(out)


def _coverage_finding(training: Headline) -> Finding | None:
    """The training tile as a finding, graded from what it says.

    The level (the share of staff in scope trained) is a count from the training extracts,
    not an estimate of an effect, so a finding that states only the level is "high". A
    finding that also states the change on a year earlier takes the change's grade from its
    own 95% interval (Newcombe): an interval that includes no change makes the finding "low",
    and the estimate and interval it carries are the change's, so the grade, the text and the
    numbers agree.
    """
    if training.latest_rate is None:
        return None
    method = "Wilson score interval (PHEindicatormethods)"
    level = training.level_finding or training.finding
    common = {
        "caveats": training.caveats,
        "measure": None,
        "n": int(training.latest_value or 0),
        "key": "training:coverage",
    }
    if training.change_pct is None:
        return Finding(
            text=level,
            confidence="high",
            method=method,
            estimate=training.latest_rate / 100,
            ci=(training.latest_lower / 100, training.latest_upper / 100),
            scale="proportion",
            confidence_reason=(
                "High confidence: coverage is a count of staff from the training extracts, "
                "not an estimate of an effect."
            ),
            **common,
        )
    lower, upper = training.change_lower, training.change_upper
    grade, reason = fnd.grade_confidence(fnd.interval_excludes(lower, upper, 0))
    reason = {
        "high": "High confidence: the level is a count of staff, and the change on a year "
        "earlier has a 95% interval that excludes no change.",
        "moderate": reason,
        "low": "Low confidence in the change on a year earlier: its 95% interval includes no "
        "change. The level itself is a count of staff from the training extracts.",
    }[grade]
    return Finding(
        text=training.finding,
        confidence=grade,
        method=method + "; Newcombe hybrid score interval for the change",
        estimate=training.change_pct,
        ci=(lower, upper),
        scale="percentage points",
        confidence_reason=reason,
        **common,
    )


@dataclass(frozen=True)
class BoardContext:
    """The board's comparison with England, the region and the statistical neighbours, from
    DfE's published figures, each labelled with its year.

    ``lines``: (sentence, source) per measure, as the Benchmarks page words them;
    ``tiles``: tile key ("cla_rate", "cpp_rate") -> the line under that tile, which names the
    year and source ("England 2025-26 (DfE): 68 per 10,000 ..."), so a tile for a later
    quarter never sits beside an unlabelled annual figure; ``year``: the latest published
    year ("2025-26"), or "" without DfE data.
    """

    lines: tuple[tuple[str, str], ...] = ()
    tiles: dict[str, str] | None = None
    year: str = ""


def _tile_comparison(bench) -> str | None:
    """ "England 2025-26 (DfE, 31 March 2026): 68 per 10,000; region 69; statistical
    neighbours' median 72; Northmoor 72." for the latest year the council has a figure."""
    table = bench.table.dropna(subset=["council"])
    if table.empty:
        return None
    row = table.iloc[-1]
    decimals = bench.decimals

    def figure(value) -> str | None:
        return None if value is None or value != value else f"{value:,.{decimals}f}"

    england = figure(row.get("england"))
    if england is None:
        return None
    unit = f" {bench.unit}" if bench.unit != "%" else "%"
    parts = [f"England {row['year']} (DfE, 31 March {int(row['time_period'])}): {england}{unit}"]
    for label, column in (
        ("region", "region"),
        ("statistical neighbours' median", "neighbours_median"),
    ):
        value = figure(row.get(column))
        if value is not None:
            parts.append(f"{label} {value}")
    parts.append(f"{bench.area_name} {figure(row['council'])} in the same year")
    return "; ".join(parts) + "."


def board_context(wh: Warehouse, area_code: str) -> BoardContext:
    """:class:`BoardContext` for the area: empty when DfE publishes nothing for it."""
    if benchmark_council_code(wh, area_code) is None:
        return BoardContext(tiles={})
    lines: list[tuple[str, str]] = []
    tiles: dict[str, str] = {}
    year = ""
    keys = {measure: key for key, measure, _label in ANNUAL_HEADLINE_MEASURES}
    for measure, _short in BOARD_CONTEXT_MEASURES:
        try:
            bench = benchmark_analysis(wh, area_code, measure, synthetic=False)
        except KeyError:
            continue
        if bench.context_line:
            lines.append((bench.context_line, bench.source))
        line = _tile_comparison(bench)
        if line and measure in keys:
            tiles[keys[measure]] = line
            year = year or str(bench.table.dropna(subset=["council"])["year"].iloc[-1])
    return BoardContext(tuple(lines), tiles, year)
