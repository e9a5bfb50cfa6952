"""Calibration: a small run of the harness with tolerances that can fail, and the committed
sample's verdicts against the planted truth (the full run is ``make calibrate``)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from benchmarks import calibrate_supporting as supporting
from benchmarks.calibrate import BASE_SEED, DATA_END, DOSE_MEASURES, calibrate, table
from pipelines.analysis.board import board_findings
from pipelines.analysis.calibrated import (
    MONITORING_LABEL,
    SUPPORTING_LABEL,
    as_supporting,
    in_brief,
)
from pipelines.analysis.cohorts import unit_panel
from pipelines.analysis.plan import DEFAULT_PLAN
from pipelines.analysis.verdict import (
    design_calibration,
    is_calibrated,
    load_calibration,
    verdicts,
    verdicts_from_panels,
)
from pipelines.sample import AREA_CODE, SEED, simulate
from pipelines.stats.findings import Finding
from pipelines.store.warehouse import open_warehouse


def test_small_calibration_run_meets_loose_targets() -> None:
    """30 replicates each way: coverage at least 80%, a change called without an effect in at
    most 20% (about 3 standard errors from the targets of 95% and 5%)."""
    results, _ = calibrate(30, progress=None, parts=("verdicts",), mde_check=False)
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


#: The Board's supporting estimates across localities that the harness measures.
SUPPORTING_KEYS = (
    *(f"staggered_did:{m}" for m in DEFAULT_PLAN.primary),
    *(f"dose_response:{m}" for m in DOSE_MEASURES),
)


def _within_three_standard_errors(small: float, committed: float, n: int) -> bool:
    """``small`` (a share of ``n`` replicates) agrees with the committed 200-replicate share
    to within 3 binomial standard errors (the committed share kept off 0 and 1)."""
    p = min(max(committed, 0.05), 0.95)
    return abs(small - committed) <= 3 * math.sqrt(p * (1 - p) / n)


def test_a_small_run_of_the_supporting_estimates_reproduces_their_committed_calibration():
    """30 fresh replicates each way (seeds the full run does not use) of the Board's staggered
    DiD by financial year and its dose-response: coverage and false positives within 3
    standard errors of ``calibration.json``, so a change to either estimate, or to the data it
    is given, that moves its calibration fails here."""
    results, _ = calibrate(
        30, seed=BASE_SEED + 500_000, progress=None, parts=("supporting",), mde_check=False
    )
    committed = load_calibration()["estimates"]
    assert set(SUPPORTING_KEYS) <= set(results)
    for key in SUPPORTING_KEYS:
        r, c = results[key], committed[key]
        assert r["replicates"] == 30 and r["failed"] == 0, key
        assert _within_three_standard_errors(r["coverage"], c["coverage"], 60), (key, r, c)
        assert _within_three_standard_errors(
            r["false_positive_rate"], c["false_positive_rate"], 30
        ), (key, r, c)
    text = table(results, 30, 1.0)
    assert "| Supporting: staggered DiD by financial year" in text
    assert "per 10,000 a year |" in text and " rho |" in text


def test_the_supporting_estimates_are_measured_at_200_replicates_each_way() -> None:
    estimates = load_calibration()["estimates"]
    for key in SUPPORTING_KEYS:
        assert estimates[key]["replicates"] >= 200, key


@pytest.fixture(scope="module")
def sample_board(sample_warehouse_path):
    with open_warehouse(sample_warehouse_path, read_only=True) as wh:
        panels = {m: unit_panel(wh, AREA_CODE, m, "financial_year") for m in DEFAULT_PLAN.primary}
        return board_findings(wh, AREA_CODE), panels


def test_the_harness_runs_the_boards_supporting_estimates_as_the_board_does(sample_board):
    """On the committed sample (``simulate(SEED)``), the harness's panels and estimates are the
    Board's own: the same financial-year panel and the same estimate and interval."""
    findings, panels = sample_board
    by_kind = {(f.key.split(":")[0], f.measure): f for f in findings}
    sim = simulate(SEED)
    for measure in DEFAULT_PLAN.primary:
        ours = supporting.financial_year_panel(sim, measure, DATA_END)
        theirs = panels[measure]
        pd.testing.assert_frame_equal(
            ours.drop(columns="rate_per_10k"),
            theirs[ours.columns.drop("rate_per_10k")],
            check_dtype=False,
        )
        assert np.allclose(ours["rate_per_10k"], theirs["rate_per_10k"], rtol=1e-12)
        _, finding = supporting.staggered_did_estimate(ours, measure)
        board = by_kind[("did", measure)]
        assert finding.estimate == pytest.approx(board.estimate, rel=1e-9)
        assert finding.ci == pytest.approx(board.ci, rel=1e-9)
    coverage = supporting.training_coverage(sim, DATA_END)
    quarterly = sim.locality_panel("cpp_starts")
    quarterly = quarterly[quarterly["period_end"] <= DATA_END]
    finding = supporting.dose_response_estimate(coverage, quarterly, "cpp_starts")
    board = by_kind[("dose_response", "cpp_starts")]
    assert (finding.estimate, *finding.ci) == pytest.approx((board.estimate, *board.ci), rel=1e-12)


def test_the_did_truth_is_what_the_estimator_gives_on_the_expected_rates():
    """The estimand the harness scores the DiD against: the estimator is linear in the
    outcome, so on the panels of expected counts with and without the effect its estimates
    differ by exactly the truth (this checks the cells and their cohort-size weights)."""
    sim = simulate(SEED + 1)
    for measure in DEFAULT_PLAN.primary:
        with_fx, without = sim._expected[measure]

        def expected_estimate(values, measure=measure):
            expected = dataclasses.replace(sim, _values={**sim._values, measure: values})
            panel = supporting.financial_year_panel(expected, measure, DATA_END)
            return supporting.staggered_did_estimate(panel, measure)[0].simple.estimate

        panel = supporting.financial_year_panel(sim, measure, DATA_END)
        did, _ = supporting.staggered_did_estimate(panel, measure)
        truth = supporting.staggered_did_truth(sim, measure, panel, did)
        assert truth < -1.0  # a planted fall, in rate per 10,000 a year
        assert truth == pytest.approx(
            expected_estimate(with_fx) - expected_estimate(without), rel=1e-9
        )


def test_the_boards_supporting_findings_are_graded_by_their_measured_calibration(sample_board):
    findings, _ = sample_board
    estimates = load_calibration()["estimates"]
    for f in findings:
        kind = f.key.split(":")[0]
        key = {"did": "staggered_did", "dose_response": "dose_response"}.get(kind)
        if key is None:
            continue
        measured = estimates[f"{key}:{f.measure}"]
        if is_calibrated(measured):
            assert not any("contained the truth" in c for c in f.caveats), f.key
        else:
            assert f.confidence == "low", f.key
            assert f"contained the truth {measured['coverage']:.0%} of the time" in f.all_text


CALIBRATION = {
    "estimates": {
        "before_its_hac:cla_starts": {"coverage": 0.79, "false_positive_rate": 0.23},
        "staggered_did:cla_starts": {"coverage": 0.95, "false_positive_rate": 0.04},
    }
}


def _finding(key: str, ci=(0.8, 0.95), confidence="moderate") -> Finding:
    return Finding(
        text="A figure (95% CI 5% to 20% lower).",
        confidence=confidence,
        key=key,
        measure="cla_starts",
        ci=ci,
        confidence_reason="Moderate confidence: its own rule.",
    )


def test_a_supporting_view_is_never_above_low_and_carries_its_coverage():
    its = as_supporting(_finding("its:cla_starts:Northmoor"), CALIBRATION)
    assert its.confidence == "low"
    assert "intervals like this one contained the truth 79% of the time" in its.confidence_reason
    # A kind whose intervals were measured to cover well is still low beside a verdict.
    did = as_supporting(_finding("did:cla_starts:x", confidence="high"), CALIBRATION)
    assert did.confidence == "low"
    assert did.caveats[-1] == (
        "In simulation of data like these, intervals like this one contained the truth 95% of "
        "the time (95% would be right) and showed a change that was not there 4% of the time; "
        "it has no comparison group, so it is a supporting view, graded low."
    )
    unmeasured = as_supporting(_finding("before_after:cla_starts:Northmoor"), CALIBRATION)
    assert unmeasured.confidence_reason == (
        "Low confidence: how often intervals like this one contain the truth has not been "
        "measured in simulation, so this is a supporting view, graded low."
    )


def test_in_brief_labels_estimates_as_supporting_and_spc_as_monitoring():
    spc = _finding("spc:cla_starts:Northmoor", ci=None, confidence="low")
    lines = in_brief([_finding("its:cla_starts:Northmoor"), spc], CALIBRATION)
    assert [line.label for line in lines] == [SUPPORTING_LABEL, MONITORING_LABEL]
    assert lines[0].note.startswith("In simulation of data like these, intervals like this one")
    assert lines[0].finding.confidence == "low"
    assert lines[1].note == spc.confidence_reason
