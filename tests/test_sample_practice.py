"""The sample's fictional practice evidence (audits, family feedback, FGCs) and its planted change."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipelines.sample import practice
from pipelines.sample.params import LOCALITIES, SAMPLE_END
from pipelines.stats.rates import newcombe_difference


@pytest.fixture(scope="module")
def sample() -> practice.PracticeSample:
    return practice.simulate_practice()


def _with_ramp(frame: pd.DataFrame) -> pd.DataFrame:
    ramps = [
        practice.ramp(u, date.fromisoformat(p))
        for u, p in zip(frame.unit, frame.period_end, strict=True)
    ]
    return frame.assign(ramp=ramps)


# --- ramp ------------------------------------------------------------------------------------


def test_the_ramp_starts_at_each_localitys_own_rollout_and_is_full_a_year_later():
    # Ashby started on 1 October 2019 (wave 1), Elmwood on 1 April 2023 (wave 3).
    assert practice.ramp("Ashby", date(2019, 9, 30)) == 0.0
    assert practice.ramp("Ashby", date(2019, 12, 31)) == pytest.approx(1 / 12)
    assert practice.ramp("Ashby", date(2020, 12, 31)) == 1.0
    assert practice.ramp("Elmwood", date(2022, 12, 31)) == 0.0
    assert practice.ramp("Elmwood", date(2024, 6, 30)) == 1.0


def test_expected_share_at_full_effect_is_the_baseline_plus_the_planted_points():
    for measure, baseline in practice.BASELINE.items():
        full = practice.expected_share(measure, "Ashby", date(2022, 3, 31))
        assert full == pytest.approx(baseline + practice.PLANTED_PRACTICE[measure])


# --- shape and internal consistency ----------------------------------------------------------


def test_every_quarter_and_locality_is_present(sample):
    quarters = practice.quarter_ends()
    assert quarters[0] == practice.PRACTICE_START and quarters[-1] == SAMPLE_END
    assert len(sample.practice_audit) == len(quarters) * len(LOCALITIES)
    assert len(sample.fgc_outcomes) == len(quarters) * len(LOCALITIES)
    assert len(sample.family_feedback) == len(quarters) * len(LOCALITIES) * 2
    assert set(sample.family_feedback.respondent) == set(practice.RESPONDENTS)


def test_audit_grades_add_up_and_no_principle_is_met_by_more_audits_than_were_done(sample):
    a = sample.practice_audit
    grades = a[[c for c in a if c.startswith("graded_")]]
    assert (grades.sum(axis=1) == a.audits_completed).all()
    assert (grades >= 0).all().all()
    for principle in practice.DEFAULT_PRINCIPLES:
        assert (a[f"meets_{principle.lower()}"] <= a.audits_completed).all()


def test_agreement_never_exceeds_responses(sample):
    f = sample.family_feedback
    for key in practice.DEFAULT_STATEMENTS:
        assert (f[f"agree_{key}"] <= f.responses).all()


def test_fgc_counts_nest_and_follow_up_is_missing_only_where_time_has_not_passed(sample):
    g = sample.fgc_outcomes
    assert (g.fgc_held <= g.fgc_offered).all()
    assert (g.family_plan_agreed <= g.fgc_held).all()
    for months in (6, 12):
        known = g[f"children_followed_{months}m"].notna()
        due = pd.to_datetime(g.period_end) + pd.DateOffset(months=months)
        assert (known == (due <= pd.Timestamp(SAMPLE_END))).all()
        rows = g[known]
        assert (rows[f"in_network_{months}m"] <= rows[f"children_followed_{months}m"]).all()


def test_the_data_has_small_cells_the_disclosure_gate_must_handle(sample):
    small = sample.fgc_outcomes.fgc_held.between(1, 4)
    assert small.mean() > 0.2


def test_the_generator_is_deterministic_for_a_seed():
    one = practice.simulate_practice(seed=5).practice_audit
    two = practice.simulate_practice(seed=5).practice_audit
    pd.testing.assert_frame_equal(one, two)


# --- the planted change is there, and measurable ---------------------------------------------


def _before_after(frame: pd.DataFrame, successes, trials: str) -> tuple[float, float, float]:
    frame = _with_ramp(frame)
    before, after = frame[frame.ramp == 0], frame[frame.ramp == 1]
    x = successes(after).sum(), successes(before).sum()
    return newcombe_difference(x[0], after[trials].sum(), x[1], before[trials].sum())


def _good_or_better(frame):
    return frame.graded_outstanding + frame.graded_good


def test_the_sample_shows_the_planted_audit_change_inside_its_interval(sample):
    diff, lower, upper = _before_after(sample.practice_audit, _good_or_better, "audits_completed")
    assert lower <= practice.PLANTED_PRACTICE["good_or_better"] <= upper
    assert lower > 0


def test_with_nothing_planted_the_change_is_near_zero():
    flat = practice.simulate_practice(effects={})
    diff, lower, upper = _before_after(flat.practice_audit, _good_or_better, "audits_completed")
    assert lower <= 0 <= upper


def test_the_before_after_interval_covers_the_planted_change_about_95_percent_of_the_time():
    # Measured, not assumed: 120 re-simulations of the audit data. The quarter-to-quarter
    # variation (beta draws) makes Newcombe's binomial interval slightly too narrow; with
    # CONCENTRATION 150 and about 12 audits a quarter it should still cover about 93-95%.
    truth = practice.PLANTED_PRACTICE["agree:involved"]
    hits = []
    for seed in range(120):
        feedback = practice.simulate_practice(seed=1000 + seed).family_feedback
        _, lower, upper = _before_after(feedback, lambda f: f.agree_involved, "responses")
        hits.append(lower <= truth <= upper)
    assert 0.88 <= np.mean(hits) <= 0.995
