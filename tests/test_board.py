"""The board's supporting findings: graded by measured calibration, training graded from its text."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines import analysis
from pipelines.analysis.board import _coverage_finding
from pipelines.analysis.calibrated import calibration_key, graded_by_calibration
from pipelines.analysis.headlines import Headline, _change, _tile
from pipelines.analysis.verdict import is_calibrated, load_calibration
from pipelines.stats.findings import Finding

AREA = "E06999901"

CALIBRATION = {
    "estimates": {
        "good:x": {"coverage": 0.95, "false_positive_rate": 0.05},
        "bad:x": {"coverage": 0.3975, "false_positive_rate": 0.63},
    }
}


def _finding(confidence: str = "high", ci: tuple[float, float] | None = (0.87, 0.89)) -> Finding:
    return Finding(
        text="Children looked after were 12% lower than projected.",
        confidence=confidence,
        caveats=("A caveat.",),
        ci=ci,
        estimate=0.88,
        key="its:cla_at_period_end:Northmoor",
        measure="cla_at_period_end",
        confidence_reason="High confidence: ...",
    )


def test_a_calibrated_estimate_keeps_its_grade():
    assert graded_by_calibration(_finding(), "good:x", CALIBRATION) == _finding()


def test_an_uncalibrated_estimate_is_low_with_its_measured_coverage_beside_it():
    f = graded_by_calibration(_finding(), "bad:x", CALIBRATION)
    assert f.confidence == "low"
    assert "intervals like this one contained the truth 40% of the time" in f.caveats[-1]
    assert "63%" in f.caveats[-1] and f.caveats[0] == "A caveat."
    assert f.confidence_reason.startswith("Low confidence") and "40%" in f.confidence_reason


def test_an_estimate_never_measured_is_low_and_says_so():
    f = graded_by_calibration(_finding("moderate"), "missing:x", CALIBRATION)
    assert f.confidence == "low" and "has not been measured" in f.caveats[-1]
    assert graded_by_calibration(_finding(), None, CALIBRATION).confidence == "low"


def test_a_finding_without_an_interval_has_nothing_to_calibrate():
    plain = _finding("moderate", ci=None)
    assert graded_by_calibration(plain, "bad:x", CALIBRATION) == plain


def test_the_committed_calibration_is_read_through_the_verdict_loader():
    committed = load_calibration()
    key = "before_its_hac:cla_at_period_end"
    assert not is_calibrated(committed["estimates"][key])
    assert graded_by_calibration(_finding(), key).confidence == "low"
    assert calibration_key(_finding()) == key


def _training(change=None, lower=None, upper=None) -> Headline:
    level = "74% of staff in scope had been trained by 30 June 2026 (3,148 of 4,236)."
    finding = level + ("" if change is None else " Coverage was ... than a year earlier.")
    return _tile(
        "training_coverage",
        "Staff trained",
        "% of staff in scope",
        "Source: training extracts",
        finding,
        latest_period=dt.date(2026, 6, 30),
        latest_value=3148.0,
        latest_rate=74.3,
        latest_lower=73.0,
        latest_upper=75.6,
        **_change(change, lower, upper, basis="", confidence="low"),
        level_finding=level,
    )


def test_a_training_level_alone_is_a_count_and_high():
    f = _coverage_finding(_training())
    assert f.confidence == "high" and f.scale == "proportion"
    assert "year earlier" not in f.text


def test_a_training_change_takes_its_grade_from_its_own_interval():
    unclear = _coverage_finding(_training(0.1, -1.8, 1.9))
    assert unclear.confidence == "low", unclear.confidence_reason
    assert unclear.ci == (-1.8, 1.9) and unclear.scale == "percentage points"
    assert "year earlier" in unclear.text
    clear = _coverage_finding(_training(5.0, 3.1, 6.9))
    assert clear.confidence == "high" and clear.ci == (3.1, 6.9)


@pytest.fixture(scope="module")
def sample_findings(sample_warehouse_path, tmp_path_factory):
    import shutil

    from pipelines.store.warehouse import open_warehouse

    target = tmp_path_factory.mktemp("board") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    with open_warehouse(target) as wh:
        return analysis.board_findings(wh, AREA)


def test_on_the_sample_no_uncalibrated_interval_is_graded_above_low(sample_findings):
    calibration = load_calibration()["estimates"]
    for f in sample_findings:
        if f.ci is None or f.key.startswith("training:"):
            continue
        key = calibration_key(f) or (
            "before_child_years:cla_at_period_end" if f.key == "cost_avoidance" else None
        )
        if not is_calibrated(calibration.get(key)):
            assert f.confidence == "low", (f.key, f.confidence)


def test_on_the_sample_the_old_stock_views_carry_their_measured_coverage(sample_findings):
    by_key = {f.key.split(":")[0] + ":" + (f.measure or ""): f for f in sample_findings}
    its = by_key["its:cla_at_period_end"]
    assert its.confidence == "low" and any("truth 40% of the time" in c for c in its.caveats)
    cost = next(f for f in sample_findings if f.key == "cost_avoidance")
    assert cost.confidence == "low" and any("truth 37% of the time" in c for c in cost.caveats)
    assert "£" not in cost.all_text and "child-years (range" in cost.text
    training = next(f for f in sample_findings if f.key == "training:coverage")
    lo, hi = training.ci
    if lo < 0 < hi:
        assert training.confidence == "low"


def test_on_the_sample_the_primary_outcomes_lead_the_supporting_findings(sample_findings):
    assert [f.measure for f in sample_findings[:2]] == ["cla_starts", "cpp_starts"]
    assert [f.measure for f in sample_findings[2:4]] == ["cla_at_period_end", "cpp_at_period_end"]
