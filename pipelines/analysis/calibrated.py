"""A supporting estimate's grade from its measured calibration: one rule for every page.

The Board's findings, the tiles, the cost finding, Trends and Cohorts all show estimates that
are not the verdict. Each kind was re-simulated by ``make calibrate`` (``calibration.json``);
:func:`graded_by_calibration` keeps a finding's grade only where its kind of interval was
measured to cover the truth 90-98% of the time with at most 7% false positives, and otherwise
grades it low with the measured coverage beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pipelines.analysis.verdict import is_calibrated, load_calibration
from pipelines.stats.findings import Finding

#: The calibration harness's key for each kind of finding (the part of ``Finding.key`` before
#: the first colon).
CALIBRATION_KEYS = {
    "its": "before_its_hac:{measure}",
    "before_after": "before_after:{measure}",
    "did": "staggered_did:{measure}",
    "dose_response": "dose_response:{measure}",
}


def calibration_key(finding: Finding) -> str | None:
    """The calibration harness's name for the estimate behind a finding, or None."""
    kind = finding.key.split(":", 1)[0]
    template = CALIBRATION_KEYS.get(kind)
    return template.format(measure=finding.measure) if template and finding.measure else None


def graded_all(findings: list[Finding]) -> list[Finding]:
    """Every finding graded by :func:`graded_by_calibration` under its own kind's key."""
    calibration = load_calibration()
    return [graded_by_calibration(f, calibration_key(f), calibration) for f in findings]


def coverage_note(measured: Mapping[str, float] | None, *, calibrated: bool = False) -> str:
    """The sentence set beside a supporting estimate: how often intervals of its kind contained
    the truth in simulation (``measured``, from ``calibration.json``), or that this has not
    been measured. ``calibrated``: its kind met the bar, and it is low for having no comparison
    group, not for its calibration."""
    if not measured:
        return (
            "How often intervals like this one contain the truth has not been measured in "
            "simulation, so this is a supporting view, graded low."
        )
    why = (
        "; it has no comparison group, so it is a supporting view, graded low."
        if calibrated
        else ", so this is a supporting view, graded low."
    )
    return (
        f"In simulation of data like these, intervals like this one contained the truth "
        f"{measured['coverage']:.0%} of the time (95% would be right) and showed a change "
        f"that was not there {measured['false_positive_rate']:.0%} of the time" + why
    )


def _graded_low(finding: Finding, note: str) -> Finding:
    return replace(
        finding,
        confidence="low",
        caveats=tuple(dict.fromkeys((*finding.caveats, note))),
        confidence_reason="Low confidence: " + note[0].lower() + note[1:],
    )


def graded_by_calibration(
    finding: Finding, key: str | None, calibration: Mapping[str, Any] | None = None
) -> Finding:
    """``finding`` graded by the measured calibration of its kind of estimate (pure, given
    ``calibration``; read from ``calibration.json`` when it is None).

    ``key`` names the estimate in the calibration harness (``before_its_hac:cla_at_period_end``).
    A calibrated estimate (coverage 90-98%, false positives at most 7%:
    :func:`pipelines.analysis.verdict.is_calibrated`) keeps its grade. Any other is graded low,
    and its measured coverage is set beside it as a caveat (:func:`coverage_note`: "intervals
    like this one contained the truth 40% of the time in simulation"); one never measured is
    low because its coverage has not been measured. A finding with no interval is returned
    unchanged: there is nothing to calibrate.
    """
    if finding.ci is None:
        return finding
    calibration = load_calibration() if calibration is None else calibration
    measured = calibration.get("estimates", {}).get(key) if key else None
    if is_calibrated(measured):
        return finding
    return _graded_low(finding, coverage_note(measured))


#: How each line of a page's "In brief, from the supporting views" is introduced.
SUPPORTING_LABEL = "Supporting view, graded low"
MONITORING_LABEL = "Process monitoring, not a verdict"
#: Kinds of finding that monitor a process and estimate no effect (nothing to calibrate).
MONITORING_KINDS = frozenset({"spc"})


@dataclass(frozen=True)
class InBrief:
    """One supporting line as a page shows it beside a verdict: its ``label``
    (:data:`SUPPORTING_LABEL` or :data:`MONITORING_LABEL`), the finding's ``text``, and the
    ``note`` that goes with it (for an estimate, its measured coverage)."""

    label: str
    text: str
    note: str
    finding: Finding


def supporting_note(finding: Finding, calibration: Mapping[str, Any] | None = None) -> str:
    """The sentence set beside ``finding`` as a supporting view: its kind's measured coverage
    (:func:`coverage_note`), or why none could be measured."""
    calibration = load_calibration() if calibration is None else calibration
    if finding.ci is None:
        return (
            "It comes with no interval whose coverage could be measured, so it is a "
            "supporting view, graded low."
        )
    key = calibration_key(finding)
    measured = calibration.get("estimates", {}).get(key) if key else None
    return coverage_note(measured, calibrated=is_calibrated(measured))


def as_supporting(finding: Finding, calibration: Mapping[str, Any] | None = None) -> Finding:
    """``finding`` as a supporting view beside a verdict: never above low, with its measured
    coverage (or that it has none) beside it (:func:`supporting_note`). Issue 13: an
    uncontrolled before/after or whole-area time series is a supporting view, never graded
    above "low", however well its intervals cover."""
    return _graded_low(finding, supporting_note(finding, calibration))


def in_brief(
    findings: list[Finding], calibration: Mapping[str, Any] | None = None
) -> list[InBrief]:
    """A page's supporting findings as it shows them beside the verdict: each estimate
    labelled :data:`SUPPORTING_LABEL` with its measured coverage (:func:`as_supporting`), each
    process-monitoring line (SPC) labelled :data:`MONITORING_LABEL` with its own reason."""
    calibration = load_calibration() if calibration is None else calibration
    out = []
    for f in findings:
        if f.key.split(":", 1)[0] in MONITORING_KINDS:
            out.append(InBrief(MONITORING_LABEL, f.text, f.confidence_reason, f))
        else:
            note = supporting_note(f, calibration)
            out.append(InBrief(SUPPORTING_LABEL, f.text, note, _graded_low(f, note)))
    return out
