"""Calibration: a small run of the harness with tolerances that can fail, and the committed
sample's verdicts against the planted truth (the full run is ``make calibrate``)."""

from __future__ import annotations

import pytest

from benchmarks.calibrate import calibrate, table
from pipelines.analysis.plan import DEFAULT_PLAN
from pipelines.analysis.verdict import (
    design_calibration,
    is_calibrated,
    load_calibration,
    verdicts,
    verdicts_from_panels,
)
from pipelines.sample import AREA_CODE, SEED, simulate
from pipelines.store.warehouse import open_warehouse


def test_small_calibration_run_meets_loose_targets() -> None:
    """30 replicates each way: coverage at least 80%, a change called without an effect in at
    most 20% (about 3 standard errors from the targets of 95% and 5%)."""
    results, _ = calibrate(30, progress=None, before=False, mde_check=False)
    for outcome in DEFAULT_PLAN.primary:
        r = results[f"ri_did:{outcome}"]
        assert r["replicates"] == 30 and r["failed"] == 0
        assert r["coverage"] >= 0.80, r
        assert r["false_positive_rate"] <= 0.20, r
        assert abs(r["bias"]) < 0.05, r
    assert "| Verdict: staggered DiD" in table(results, 30, 1.0)


def test_committed_calibration_is_read_by_the_grades() -> None:
    calibration = load_calibration()
    assert calibration.get("replicates", 0) >= 200
    for outcome in DEFAULT_PLAN.primary:
        measured = design_calibration(calibration, "ri_did", outcome)
        assert measured is not None
        assert is_calibrated(measured), measured


@pytest.fixture(scope="module")
def sample_verdicts(sample_warehouse_path):
    with open_warehouse(sample_warehouse_path, read_only=True) as wh:
        return verdicts(wh, AREA_CODE)


def test_on_the_committed_sample_each_primary_interval_contains_the_planted_truth(
    sample_verdicts,
) -> None:
    truth = simulate(SEED).truth  # simulate(SEED) is the committed sample's process draw
    assert [v.outcome for v in sample_verdicts] == list(DEFAULT_PLAN.primary)
    for v in sample_verdicts:
        assert v.ci_lower <= truth[v.outcome] <= v.ci_upper, (v.outcome, v.sentence)


def test_the_warehouse_and_the_simulator_give_the_same_verdict(sample_verdicts) -> None:
    """verdicts(wh) reads the marts; the harness reads simulate(SEED): same numbers."""
    sim = simulate(SEED)
    panels = {m: sim.locality_panel(m) for m in DEFAULT_PLAN.primary}
    pure = verdicts_from_panels(panels, DEFAULT_PLAN, load_calibration(), area_code=AREA_CODE)
    for a, b in zip(sample_verdicts, pure, strict=True):
        assert a.rate_ratio == pytest.approx(b.rate_ratio, rel=1e-9)
        assert (a.ci_lower, a.ci_upper) == pytest.approx((b.ci_lower, b.ci_upper), rel=1e-9)
        assert a.sentence == b.sentence and a.grade == b.grade
