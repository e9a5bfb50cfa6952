"""Laney p′ chart: one section per building block, then the whole chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.stats import pprime as pp
from pipelines.stats.errors import StatsInputError

# --- pooled_proportion -----------------------------------------------------------------------


def test_the_centre_line_pools_counts_rather_than_averaging_percentages():
    # 1 of 10 and 50 of 100: the mean of the percentages is 30%, the pooled figure 51/110.
    assert pp.pooled_proportion([1, 50], [10, 100]) == pytest.approx(51 / 110)


def test_a_segment_with_no_responses_has_no_centre_line():
    with pytest.raises(StatsInputError, match="at least one response"):
        pp.pooled_proportion([0, 0], [0, 0])


# --- binomial_sigma --------------------------------------------------------------------------


def test_binomial_sigma_is_the_standard_error_of_a_proportion():
    assert pp.binomial_sigma(0.5, [100, 25]) == pytest.approx([0.05, 0.1])


# --- standardised_scores ---------------------------------------------------------------------


def test_scores_are_distances_from_the_centre_in_standard_errors():
    assert pp.standardised_scores([0.6, 0.4], 0.5, [0.05, 0.1]) == pytest.approx([2.0, -1.0])


def test_scores_are_zero_when_the_centre_is_0_or_1():
    assert pp.standardised_scores([1.0, 1.0], 1.0, [0.0, 0.0]).tolist() == [0.0, 0.0]


# --- sigma_z ---------------------------------------------------------------------------------


def test_sigma_z_is_the_mean_moving_range_over_d2():
    assert pp.sigma_z([0.0, 1.128, 0.0, 1.128]) == pytest.approx(1.0)


def test_sigma_z_needs_two_periods():
    with pytest.raises(StatsInputError, match="at least 2 periods"):
        pp.sigma_z([0.3])


# --- pprime_limits: a worked example ---------------------------------------------------------


def test_limits_for_a_worked_example():
    # 40/100, 60/100, 45/100, 55/100: p̄ = 0.5, σᵢ = 0.05, z = -2, 2, -1, 1,
    # moving ranges 4, 3, 2 -> mean 3 -> σ_z = 3/1.128; limits 0.5 ± 3 × 0.05 × σ_z.
    p_bar, s_z, lines = pp.pprime_limits([40, 60, 45, 55], [100, 100, 100, 100])
    assert p_bar == pytest.approx(0.5)
    assert s_z == pytest.approx(3 / 1.128)
    half_width = 3 * 0.05 * 3 / 1.128
    assert lines["upper"].tolist() == pytest.approx([min(1.0, 0.5 + half_width)] * 4)
    assert lines["lower"].tolist() == pytest.approx([max(0.0, 0.5 - half_width)] * 4)
    assert lines["z"].tolist() == pytest.approx([-2 / s_z, 2 / s_z, -1 / s_z, 1 / s_z])


def test_limits_are_wider_for_a_smaller_sample():
    _, _, lines = pp.pprime_limits([20, 10, 30, 12], [50, 20, 60, 25])
    widths = (lines["upper"] - lines["lower"]).to_numpy()
    assert widths[1] > widths[3] > widths[0] > widths[2]


def test_limits_stay_between_0_and_1():
    _, _, lines = pp.pprime_limits([1, 9, 0, 10], [10, 10, 10, 10])
    assert (lines["lower"] >= 0).all() and (lines["upper"] <= 1).all()


# --- properties measured by simulation -------------------------------------------------------


def _binomial(rng, p, trials):
    return rng.binomial(trials, p)


def test_with_binomial_variation_only_sigma_z_is_near_1():
    rng = np.random.default_rng(20261202)
    trials = rng.integers(20, 400, size=600)
    _, s_z, _ = pp.pprime_limits(_binomial(rng, 0.7, trials), trials)
    assert s_z == pytest.approx(1.0, abs=0.08)


def test_with_overdispersion_p_prime_limits_keep_false_alarms_rare_where_a_p_chart_fails():
    # Each quarter's true agreement rate wanders (beta with mean 0.7): a p chart's binomial
    # limits flag many stable quarters; the p′ chart's limits should flag about 0.3%.
    rng = np.random.default_rng(7)
    trials = rng.integers(80, 400, size=2000)
    truth = rng.beta(70, 30, size=trials.size)
    successes = rng.binomial(trials, truth)
    p_bar, s_z, lines = pp.pprime_limits(successes, trials)
    p_chart_half_width = 3 * pp.binomial_sigma(p_bar, trials)
    p_chart_false = np.mean(np.abs(successes / trials - p_bar) > p_chart_half_width)
    p_prime_false = np.mean(
        (lines["proportion"] > lines["upper"]) | (lines["proportion"] < lines["lower"])
    )
    assert s_z > 1.5
    assert p_chart_false > 0.05  # measured: 9.7% with this seed
    assert p_prime_false < 0.01


# --- pprime: the whole chart -----------------------------------------------------------------


def _quarters(successes, trials):
    return pd.DataFrame(
        {
            "period_end": pd.date_range("2022-06-30", periods=len(trials), freq="QE"),
            "agreed": successes,
            "responses": trials,
        }
    )


def test_a_rise_after_rollout_is_special_cause_improvement():
    rng = np.random.default_rng(3)
    trials = rng.integers(40, 120, size=16)
    truth = np.r_[np.full(8, 0.55), np.full(8, 0.75)]
    frame = _quarters(rng.binomial(trials, truth), trials)
    chart = pp.pprime(frame, "period_end", "agreed", "responses")
    after = chart.points.iloc[8:]
    assert after["special_cause"].sum() >= 7
    assert set(after.loc[after["special_cause"], "point_type"]) == {"special_cause_improvement"}
    assert chart.variation_icon == "special_cause_improvement_high"


def test_rebasing_at_rollout_gives_each_segment_its_own_centre():
    trials = [100] * 8
    frame = _quarters([50, 55, 45, 50, 70, 75, 65, 70], trials)
    chart = pp.pprime(frame, "period_end", "agreed", "responses", rebase_dates="2023-04-01")
    assert chart.centres == pytest.approx((0.5, 0.7))
    assert chart.points["segment"].tolist() == [0] * 4 + [1] * 4


def test_each_point_carries_its_wilson_interval():
    chart = pp.pprime(_quarters([5, 50], [10, 100]), "period_end", "agreed", "responses")
    first = chart.points.iloc[0]
    # Wilson 95% for 5/10 (PHEindicatormethods phe_proportion): 0.2366 to 0.7634.
    assert (first["ci_lower"], first["ci_upper"]) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_a_quarter_with_no_responses_is_kept_but_left_out_with_a_warning():
    chart = pp.pprime(
        _quarters([50, 0, 60, 55], [100, 0, 100, 100]), "period_end", "agreed", "responses"
    )
    assert np.isnan(chart.points.loc[1, "z"])
    assert pd.isna(chart.points.loc[1, "point_type"])
    assert any("no responses" in w for w in chart.warnings)


def test_small_samples_are_flagged_for_the_reader():
    chart = pp.pprime(_quarters([5, 60, 55], [12, 100, 100]), "period_end", "agreed", "responses")
    assert chart.points["small_sample"].tolist() == [True, False, False]
    assert any("fewer than 30" in w for w in chart.warnings)


@pytest.mark.parametrize(
    ("successes", "trials", "message"),
    [
        ([5, 120], [10, 100], "more than 'responses'"),
        ([5, -1], [10, 100], "whole numbers"),
        ([5, 2.5], [10, 100], "whole numbers"),
        ([5, 0], [10, 0], "at least 2 periods"),
    ],
)
def test_bad_counts_get_one_clear_sentence(successes, trials, message):
    with pytest.raises(StatsInputError, match=message):
        pp.pprime(_quarters(successes, trials), "period_end", "agreed", "responses")


def test_an_unknown_direction_is_refused():
    with pytest.raises(StatsInputError, match="improvement direction"):
        pp.pprime(
            _quarters([5, 6], [10, 10]), "period_end", "agreed", "responses", improvement="up"
        )
