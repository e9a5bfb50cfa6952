"""The practice verdict: the pooled change since rollout, graded by its measured calibration."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from benchmarks import calibrate_practice as harness
from pipelines.analysis import practice as analysis
from pipelines.analysis.verdict import load_calibration
from pipelines.sample import practice as sample_practice
from pipelines.store.warehouse import Warehouse

AREA = "E06999901"
GOOD = analysis.describe("good_or_better", "audit")
LISTENED = analysis.describe("statement:I was listened to", "feedback")
CALIBRATED = {"coverage": 0.95, "false_positive_rate": 0.05}
OVERCONFIDENT = {"coverage": 0.93, "false_positive_rate": 0.09}


@pytest.fixture(scope="module")
def practice_wh(sample_warehouse_path, tmp_path_factory):
    """A private copy of the sample warehouse (opening the shared one would lock it)."""
    target = tmp_path_factory.mktemp("practice_verdict") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    wh = Warehouse(target)
    yield wh
    wh.close()


def _simulated_table(measure: str, effects) -> pd.DataFrame:
    data = sample_practice.simulate_practice(seed=4242, effects=effects)
    return analysis.change_table(harness.unit_series(data, measure), harness.rollout_table())


def _calibration(**rows) -> dict:
    return {"estimates": {f"practice_change:{k}": v for k, v in rows.items()}}


# --- practice_verdict: the sample's planted change is recovered --------------------------------


def test_the_verdict_interval_contains_the_planted_twenty_points(practice_wh):
    verdict = analysis.practice_verdict(practice_wh, AREA, "good_or_better")
    planted = sample_practice.PLANTED_PRACTICE["good_or_better"]
    assert planted == pytest.approx(0.20)
    assert verdict.change_lower <= planted <= verdict.change_upper
    assert verdict.change_lower > 0 and verdict.direction == "higher"
    assert verdict.measure.label == "Audits graded good or outstanding"


def test_the_grade_comes_from_the_committed_calibration(practice_wh):
    verdict = analysis.practice_verdict(practice_wh, AREA, "good_or_better")
    measured = load_calibration()["estimates"]["practice_change:good_or_better"]
    assert verdict.calibration_key == "practice_change:good_or_better"
    assert verdict.calibration["coverage"] == measured["coverage"]
    assert verdict.calibration["false_positive_rate"] == measured["false_positive_rate"]
    expected, _ = analysis.practice_grade(measured, verdict.direction, verdict.small_sample)
    assert verdict.grade == expected
    assert f"{measured['coverage']:.0%}" in verdict.grade_reason


def test_the_same_change_is_graded_by_whatever_calibration_says(practice_wh):
    table = analysis.change_since_rollout(practice_wh, AREA, "good_or_better")
    good = analysis.practice_verdict_from_table(
        table, GOOD, _calibration(good_or_better=CALIBRATED)
    )
    bad = analysis.practice_verdict_from_table(
        table, GOOD, _calibration(good_or_better=OVERCONFIDENT)
    )
    none = analysis.practice_verdict_from_table(table, GOOD, {})
    # every one low (no comparison group), but each says what was measured and why
    assert (good.grade, bad.grade, none.grade) == ("low", "low", "low")
    assert "no comparison group" in good.grade_reason
    assert "outside the 90-98%" in bad.grade_reason and "9% of the time" in bad.grade_reason
    assert "has not been measured" in none.grade_reason


def test_a_survey_verdict_carries_the_surveys_own_caveats(practice_wh):
    verdict = analysis.practice_verdict(practice_wh, AREA, LISTENED)
    text = " ".join(verdict.caveats)
    assert "no response rate" in text
    assert "Who answered: children and young people gave 30%" in text
    assert "no comparison group" in text
    assert verdict.before_trials > 1000 and not verdict.small_sample


def test_the_sentence_says_associated_with_and_never_caused(practice_wh):
    verdict = analysis.practice_verdict(practice_wh, AREA, "good_or_better")
    assert "associated with" in verdict.sentence
    assert "a change of +18 percentage points (95% interval +14 to +22)" in verdict.sentence
    assert not re.search(r"\bcaus(ed|es)\b", verdict.sentence)


def test_a_change_that_rounds_to_nothing_has_no_sign():
    assert analysis._points(-0.004) == "0" and analysis._points(0.18) == "+18"
    assert analysis._points(-0.035, 1) == "\u22123.5"


# --- practice_verdict_from_table: simulated series --------------------------------------------


def test_with_no_effect_planted_the_interval_contains_zero():
    table = _simulated_table("good_or_better", {})
    verdict = analysis.practice_verdict_from_table(
        table, GOOD, _calibration(good_or_better=CALIBRATED)
    )
    assert verdict.change_lower <= 0 <= verdict.change_upper
    assert verdict.direction == "no clear change" and verdict.grade == "low"
    assert "no clear change yet" in verdict.grade_reason


def test_with_the_effect_planted_the_simulated_interval_contains_it():
    table = _simulated_table("good_or_better", None)
    verdict = analysis.practice_verdict_from_table(
        table, GOOD, _calibration(good_or_better=CALIBRATED)
    )
    assert verdict.change_lower <= 0.20 <= verdict.change_upper
    assert verdict.grade == "low" and "no comparison group" in verdict.grade_reason


def test_small_windows_are_graded_low_with_a_caveat():
    table = _simulated_table("good_or_better", None)
    # The pooled windows cut to 20 and 25 audits (the counts only; the interval is kept).
    small = table.copy()
    small.loc[small["group"] == "All units", ["before_trials", "after_trials"]] = [20.0, 25.0]
    verdict = analysis.practice_verdict_from_table(
        small, GOOD, _calibration(good_or_better=CALIBRATED)
    )
    assert verdict.small_sample and verdict.grade == "low"
    assert verdict.caveats[0].startswith("Fewer than 30 audits completed in a window (20 before")


def test_an_unmeasured_measure_takes_the_methods_worst_calibration():
    table = _simulated_table("good_or_better", None)
    measure = analysis.describe("principle:Relational", "audit")
    verdict = analysis.practice_verdict_from_table(
        table, measure, _calibration(good_or_better=CALIBRATED, fgc_held=OVERCONFIDENT)
    )
    assert verdict.calibration == OVERCONFIDENT and verdict.grade == "low"
    assert "not simulated itself" in verdict.grade_reason


# --- change_direction -------------------------------------------------------------------------


def test_the_direction_is_the_intervals_side_of_zero():
    assert analysis.change_direction(0.01, 0.2) == "higher"
    assert analysis.change_direction(-0.2, -0.01) == "lower"
    assert analysis.change_direction(-0.01, 0.2) == "no clear change"
    assert analysis.change_direction(None, None) == "no clear change"


# --- practice_grade ---------------------------------------------------------------------------


def test_the_grade_is_never_above_low_without_a_comparison_group():
    grade, reason = analysis.practice_grade(CALIBRATED, "higher", False)
    assert grade == "low" and "no comparison group" in reason
    assert analysis.practice_grade(CALIBRATED, "no clear change", False)[0] == "low"
    assert analysis.practice_grade(OVERCONFIDENT, "higher", False)[0] == "low"
    assert analysis.practice_grade(CALIBRATED, "higher", True)[0] == "low"
    assert analysis.practice_grade(None, "higher", False)[0] == "low"


# --- who_answered_caveat ----------------------------------------------------------------------


def test_a_shift_in_who_answers_is_flagged():
    steady = analysis.who_answered_caveat((30, 31), (100, 100))
    shifted = analysis.who_answered_caveat((20, 40), (100, 100))
    assert "30%" in steady and "can move" not in steady
    assert "can move the share agreeing" in shifted
    assert analysis.who_answered_caveat((0, 5), (0, 10)) is None


# --- the harness measures the verdict's own interval ------------------------------------------


def test_the_calibration_harness_scores_the_same_interval_the_verdict_shows():
    data = sample_practice.simulate_practice(seed=4242)
    found = {key: est for key, est, _ in harness.estimates(data, planted=True)}
    table = analysis.change_table(
        harness.unit_series(data, "good_or_better"), harness.rollout_table()
    )
    verdict = analysis.practice_verdict_from_table(table, GOOD, {})
    estimate, lower, upper = found[verdict.calibration_key]
    assert (estimate, lower, upper) == pytest.approx(
        (100 * verdict.change, 100 * verdict.change_lower, 100 * verdict.change_upper)
    )
