"""The board summary: the headline tiles and 5 to 8 plain-English findings, most important first.

:func:`board_findings` asks each question once, on one read-once view of the warehouse
(:class:`~pipelines.analysis.common.ReadOnce`), and keeps the finding each contributes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipelines import marts
from pipelines.analysis.cohorts import cohort_analysis
from pipelines.analysis.common import attempt, read_once
from pipelines.analysis.cost import cost_avoidance_analysis
from pipelines.analysis.headlines import Headline, headlines
from pipelines.analysis.plan import load_plan
from pipelines.analysis.training import dose_response_analysis
from pipelines.analysis.trend import trend_analysis
from pipelines.analysis.verdict import Verdict, verdicts
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


def board_summary(wh: Warehouse, area_code: str) -> BoardSummary:
    """The verdicts, :func:`headlines` and :func:`board_findings` together, each computed once."""
    wh = read_once(wh)
    tiles = headlines(wh, area_code)
    plan = load_plan(area_code)
    notes: dict[str, str] = {}
    found = attempt(notes, "verdicts", lambda: verdicts(wh, area_code, plan=plan)) or ()
    return BoardSummary(
        tiles,
        board_findings(wh, area_code, tiles=tiles),
        verdicts=tuple(found),
        plan_line=plan.describe(),
        verdict_note=notes.get("verdicts", ""),
    )


def board_findings(
    wh: Warehouse,
    area_code: str,
    *,
    max_findings: int = 8,
    tiles: list[Headline] | None = None,
) -> list[Finding]:
    """5 to 8 plain-English findings for the board summary and the annual report.

    In order of importance: the whole-area CLA and CPP rates (interrupted time series,
    quarterly, quasi-Poisson with Newey-West errors), CLA and CPP starts across localities
    (staggered difference-in-differences by financial year), training coverage, the
    dose-response link, cost avoidance, and the SPC signal for the CLA rate. Methods that
    cannot run are left out (a low-confidence finding says why when nothing can run).
    ``tiles``: the area's :func:`headlines` (default options), when the caller has them
    already.
    """
    wh = read_once(wh)
    out: list[Finding] = []
    order = 0

    def add(f: Finding | None) -> None:
        nonlocal order
        if f is not None:
            out.append(replace(f, importance=order))
            order += 1

    place = marts.area_name(wh, area_code)
    for measure in ("cla_at_period_end", "cpp_at_period_end"):
        trend = trend_analysis(wh, area_code, measure, hac=True)
        its_f = next((f for f in trend.findings if f.key.startswith("its:")), None)
        add(its_f or next((f for f in trend.findings if f.key.startswith("before_after:")), None))
    for measure in ("cla_starts", "cpp_starts"):
        # Financial years, not quarters: Callaway & Sant'Anna compare each wave with the one
        # period before it starts, and with two localities per wave a single quarter is too
        # noisy to anchor a board-level estimate (see test_planted_effect's known limitation).
        cohort = cohort_analysis(wh, area_code, measure, grain="financial_year", cross_checks=False)
        add(next((f for f in cohort.findings if f.key.startswith("did:")), None))
    tiles = {t.key: t for t in (tiles if tiles is not None else headlines(wh, area_code))}
    add(_coverage_finding(tiles["training_coverage"]))
    dose = dose_response_analysis(wh, area_code, "cpp_starts")
    add(dose.findings[0] if dose.findings else None)
    cost = cost_avoidance_analysis(wh, area_code)
    add(cost.findings[0] if cost.findings else None)
    cla = tiles["cla_rate"]
    if cla.spc is not None:
        add(fnd.from_spc(cla.spc, label="the CLA rate", place=place, measure="cla_at_period_end"))
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


def _coverage_finding(training: Headline) -> Finding | None:
    """The training tile as a finding: a count, not an estimate of an effect, so "high"."""
    if training.latest_rate is None:
        return None
    return Finding(
        text=training.finding,
        confidence="high",
        caveats=training.caveats,
        measure=None,
        method="Wilson score interval (PHEindicatormethods); Newcombe hybrid score interval "
        "for the change",
        n=int(training.latest_value or 0),
        estimate=training.latest_rate / 100,
        ci=(training.latest_lower / 100, training.latest_upper / 100),
        key="training:coverage",
        scale="proportion",
        confidence_reason=(
            "High confidence: coverage is a count of staff from the training extracts, "
            "not an estimate of an effect."
        ),
    )
