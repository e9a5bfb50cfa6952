"""A supporting estimate's grade from its measured calibration: one rule for every page.

The Board's findings, the tiles, the cost finding, Trends and Cohorts all show estimates that
are not the verdict. Each kind was re-simulated by ``make calibrate`` (``calibration.json``);
:func:`graded_by_calibration` keeps a finding's grade only where its kind of interval was
measured to cover the truth 90-98% of the time with at most 7% false positives, and otherwise
grades it low with the measured coverage beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
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


def graded_by_calibration(
    finding: Finding, key: str | None, calibration: Mapping[str, Any] | None = None
) -> Finding:
    """``finding`` graded by the measured calibration of its kind of estimate (pure, given
    ``calibration``; read from ``calibration.json`` when it is None).

    ``key`` names the estimate in the calibration harness (``before_its_hac:cla_at_period_end``).
    A calibrated estimate (coverage 90-98%, false positives at most 7%:
    :func:`pipelines.analysis.verdict.is_calibrated`) keeps its grade. Any other is graded low,
    and its measured coverage is set beside it as a caveat ("intervals like this one contained
    the truth 40% of the time in simulation"); one never measured is low because its coverage
    has not been measured. A finding with no interval is returned unchanged: there is nothing
    to calibrate.
    """
    if finding.ci is None:
        return finding
    calibration = load_calibration() if calibration is None else calibration
    measured = calibration.get("estimates", {}).get(key) if key else None
    if is_calibrated(measured):
        return finding
    if measured:
        note = (
            f"In simulation of data like these, intervals like this one contained the truth "
            f"{measured['coverage']:.0%} of the time (95% would be right) and showed a change "
            f"that was not there {measured['false_positive_rate']:.0%} of the time, so this is "
            "a supporting view, graded low."
        )
    else:
        note = (
            "How often intervals like this one contain the truth has not been measured in "
            "simulation, so this is a supporting view, graded low."
        )
    reason = "Low confidence: " + note[0].lower() + note[1:]
    return replace(
        finding,
        confidence="low",
        caveats=tuple(dict.fromkeys((*finding.caveats, note))),
        confidence_reason=reason,
    )
