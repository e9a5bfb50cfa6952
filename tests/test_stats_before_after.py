"""Before/after comparison around the rollout date (pipelines.stats.before_after)."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import rates as sm_rates

from pipelines.stats.before_after import (
    BeforeAfterResult,
    before_after,
    mann_whitney_test,
    poisson_rate_ratio_test,
    welch_test,
)
from pipelines.stats.errors import StatsInputError
from pipelines.stats.rates import rate_ci

# Quarterly counts of children starting to be looked after, population 50,000 children.
# Rollout on 15 January 2023, inside the quarter ending 31 March 2023, which counts as "after".
QUARTER_ENDS = pd.date_range("2021-06-30", periods=12, freq="QE")  # Jun 2021 .. Mar 2024
COUNTS = [30, 32, 28, 35, 31, 29, 25, 24, 22, 26, 23, 21]
ROLLOUT = "2023-01-15"


def quarterly(counts=COUNTS, population=50_000, start="2021-06-30"):
    ends = pd.date_range(start, periods=len(counts), freq="QE")
    return pd.DataFrame({"period_end": ends, "cla_starts": counts, "children": population})


def compare(df=None, rollout=ROLLOUT, **kwargs):
    df = quarterly() if df is None else df
    return before_after(df, "period_end", "cla_starts", "children", rollout, **kwargs)


# --- which periods are compared --------------------------------------------------------------


def test_the_quarter_containing_the_rollout_is_after_and_windows_are_four_quarters():
    result = compare()
    assert (result.before_start, result.before_end) == (
        pd.Timestamp("2022-03-31"),
        pd.Timestamp("2022-12-31"),
    )
    assert (result.after_start, result.after_end) == (
        pd.Timestamp("2023-03-31"),
        pd.Timestamp("2023-12-31"),
    )
    assert (result.n_before, result.n_after, result.n) == (4, 4, 8)
    assert result.periods["side"].tolist() == ["before"] * 4 + ["after"] * 4


def test_a_rollout_on_a_period_end_puts_that_period_after():
    result = compare(rollout="2022-12-31")
    assert result.after_start == pd.Timestamp("2022-12-31")
    assert result.before_end == pd.Timestamp("2022-09-30")


def test_window_none_uses_every_period_on_each_side():
    result = compare(window=None)
    assert (result.n_before, result.n_after) == (7, 5)
    assert result.window is None


def test_a_window_longer_than_the_data_uses_what_there_is_and_says_so():
    result = compare(window=6)
    assert result.n_after == 5
    assert any("Only 5 period(s) exist after" in w for w in result.warnings)


# --- rates and changes -----------------------------------------------------------------------


def test_rates_are_pooled_counts_over_pooled_population_with_phe_intervals():
    result = compare()
    # before: 35 + 31 + 29 + 25 = 120 over 200,000; after: 24 + 22 + 26 + 23 = 95 over 200,000
    assert (result.count_before, result.count_after) == (120, 95)
    assert result.rate_before == pytest.approx(6.00, abs=1e-9)
    assert result.rate_after == pytest.approx(4.75, abs=1e-9)
    expected = rate_ci(120, 200_000)
    assert result.rate_before_lower == pytest.approx(expected["lower"].iloc[0], abs=1e-9)
    assert result.rate_before_upper == pytest.approx(expected["upper"].iloc[0], abs=1e-9)
    assert result.absolute_change == pytest.approx(-1.25, abs=1e-9)
    assert result.percent_change == pytest.approx(-20.833333, abs=1e-6)


def test_the_multiplier_scales_rates_but_not_the_ratio():
    per_10k = compare()
    per_100k = compare(multiplier=100_000)
    assert per_100k.rate_before == pytest.approx(10 * per_10k.rate_before)
    assert per_100k.rate_ratio == pytest.approx(per_10k.rate_ratio)


# --- Poisson rate-ratio test -----------------------------------------------------------------


def test_rate_ratio_hand_example_20_versus_10_events_with_equal_exposure():
    # Given 30 events, under "no change" the count after is Binomial(30, 0.5).
    # As R's poisson.test(c(20, 10), c(1000, 1000)).
    ratio, lower, upper, p = poisson_rate_ratio_test(10, 1000, 20, 1000)
    assert ratio == 2
    assert p == pytest.approx(0.098737, abs=1e-6)
    assert lower == pytest.approx(0.893509, abs=1e-6)
    assert upper == pytest.approx(4.784552, abs=1e-6)


def test_rate_ratio_interval_is_the_clopper_pearson_interval_transformed():
    ratio, lower, upper, _ = poisson_rate_ratio_test(40, 120_000, 22, 100_000)
    assert ratio == pytest.approx((22 / 100_000) / (40 / 120_000))
    # Clopper-Pearson limits for 22 of 62 from beta quantiles, then pi/(1-pi) * E_b/E_a
    pi_low = stats.beta.ppf(0.025, 22, 62 - 22 + 1)
    pi_high = stats.beta.ppf(0.975, 22 + 1, 62 - 22)
    assert lower == pytest.approx(pi_low / (1 - pi_low) * 1.2, abs=1e-9)
    assert upper == pytest.approx(pi_high / (1 - pi_high) * 1.2, abs=1e-9)
    assert lower < ratio < upper


def test_rate_ratio_p_value_matches_statsmodels_exact_conditional_test():
    result = compare(window=None)
    expected = sm_rates.test_poisson_2indep(
        int(result.count_after),
        result.exposure_after,
        int(result.count_before),
        result.exposure_before,
        method="exact-cond",
    )
    assert result.rate_ratio_p == pytest.approx(expected.pvalue, abs=1e-12)


def test_rate_ratio_p_value_is_close_to_the_etest():
    # The E-test (Krishnamoorthy & Thomson 2004) is a different exact-type test; on moderate
    # counts the two agree to a couple of percentage points.
    _, _, _, p = poisson_rate_ratio_test(40, 120_000, 22, 100_000)
    _, p_etest = sm_rates.etest_poisson_2indep(22, 100_000, 40, 120_000)
    assert p == pytest.approx(0.126564, abs=1e-6)
    assert abs(p - p_etest) < 0.02


def test_no_events_before_gives_an_infinite_ratio_and_no_percentage():
    df = quarterly([0, 0, 0, 0, 3, 4, 2, 5])
    result = compare(df, rollout="2022-04-01")
    assert math.isinf(result.rate_ratio) and math.isinf(result.rate_ratio_upper)
    assert math.isnan(result.percent_change)
    assert any("percentage change cannot be calculated" in w for w in result.warnings)


# --- Welch and Mann-Whitney on per-period rates ----------------------------------------------


def test_welch_and_mann_whitney_compare_after_with_before_per_period_rates():
    result = compare()
    before = np.array([35, 31, 29, 25]) / 50_000 * 10_000
    after = np.array([24, 22, 26, 23]) / 50_000 * 10_000
    welch = stats.ttest_ind(after, before, equal_var=False)
    assert result.welch_t == pytest.approx(welch.statistic)
    assert result.welch_df == pytest.approx(welch.df)
    assert result.welch_p == pytest.approx(welch.pvalue)
    assert result.welch_t < 0  # negative: rates fell
    mwu = stats.mannwhitneyu(after, before, alternative="two-sided")
    assert result.mann_whitney_u == pytest.approx(mwu.statistic)
    assert result.mann_whitney_p == pytest.approx(mwu.pvalue)
    assert result.welch_note is None and result.mann_whitney_note is None


def test_welch_and_mann_whitney_are_omitted_with_a_reason_below_three_periods_a_side():
    result = compare(window=2)
    assert result.welch_t is None and result.welch_p is None
    assert result.mann_whitney_u is None and result.mann_whitney_p is None
    assert "needs at least 3 periods on each side" in result.welch_note
    assert "needs at least 3 periods on each side" in result.mann_whitney_note
    assert result.rate_ratio_p is not None  # the pooled test still runs


def test_welch_is_omitted_when_no_period_rate_varies():
    t, df, p, note = welch_test(np.array([2.0, 2.0, 2.0]), np.array([3.0, 3.0, 3.0]))
    assert (t, df, p) == (None, None, None)
    assert "no variation" in note
    assert mann_whitney_test(np.array([2.0, 2.0, 2.0]), np.array([3.0, 3.0, 3.0]))[0] == 9


# --- warnings --------------------------------------------------------------------------------


def test_fewer_than_four_periods_a_side_is_flagged():
    result = compare(window=3)
    assert sum("too few to separate a real change" in w for w in result.warnings) == 2
    assert result.welch_t is not None  # three a side is enough to run the tests


def test_small_counts_are_flagged():
    df = quarterly([2, 1, 3, 2, 1, 0, 2, 1], population=5_000)
    result = compare(df, rollout="2022-04-01")
    assert sum("event(s)" in w and "unstable" in w for w in result.warnings) == 2


def test_suppressed_periods_are_dropped_with_a_warning():
    df = quarterly()
    df["cla_starts"] = df["cla_starts"].astype("Int64")
    df.loc[df["period_end"] == "2022-09-30", "cla_starts"] = pd.NA
    result = compare(df)
    assert result.n_before == 3
    assert any("left out: 2022-09-30" in w for w in result.warnings)


def test_a_window_touching_march_2020_to_march_2021_is_flagged_as_covid():
    df = quarterly(start="2019-06-30")  # Jun 2019 .. Mar 2022
    result = before_after(df, "period_end", "cla_starts", "children", "2021-01-15", window=4)
    assert any("COVID-19" in w for w in result.warnings)


def test_the_covid_check_uses_the_whole_period_not_just_its_end():
    # The quarter ending 30 June 2021 (April-June 2021) is after COVID; the quarter ending
    # 31 March 2021 (January-March 2021) is not.
    clean = quarterly()  # starts with the quarter ending 30 June 2021
    assert not any("COVID-19" in w for w in compare(clean, window=None).warnings)
    early = quarterly(COUNTS, start="2021-03-31")
    assert any("COVID-19" in w for w in compare(early, window=None).warnings)


# --- input it cannot analyse -----------------------------------------------------------------


@pytest.mark.parametrize("rollout", ["2021-06-30", "2020-01-01", "2024-04-01", "2030-01-01"])
def test_a_rollout_date_outside_the_data_raises(rollout):
    with pytest.raises(StatsInputError, match="outside the data"):
        compare(rollout=rollout)


def test_a_side_with_only_suppressed_periods_raises():
    df = quarterly([None, None, 5, 6], population=5_000)
    with pytest.raises(StatsInputError, match="no periods with both a count and a population"):
        compare(df, rollout="2021-12-01")


def test_all_zero_counts_raise():
    with pytest.raises(StatsInputError, match="Every count in the window is zero"):
        compare(quarterly([0] * 8), rollout="2022-07-01")


def test_zero_population_raises():
    with pytest.raises(StatsInputError, match="Populations must be above zero"):
        compare(quarterly(population=0))


def test_negative_counts_raise():
    with pytest.raises(StatsInputError, match="negative"):
        compare(quarterly([5, -1, 3, 4]), rollout="2022-01-01")


def test_repeated_dates_raise():
    df = pd.concat([quarterly(), quarterly()])
    with pytest.raises(StatsInputError, match="dates repeat"):
        compare(df)


def test_missing_columns_raise():
    with pytest.raises(StatsInputError, match="not in the table"):
        before_after(quarterly(), "period_end", "cpp_starts", "children", ROLLOUT)


@pytest.mark.parametrize("window", [0, -2, 2.5, "4"])
def test_a_window_must_be_a_positive_whole_number(window):
    with pytest.raises(StatsInputError, match="whole number of periods"):
        compare(window=window)


# --- the result object -----------------------------------------------------------------------


def test_the_result_names_its_method_and_serialises_to_plain_json():
    result = compare()
    assert isinstance(result, BeforeAfterResult)
    assert "exact conditional Poisson" in result.method
    as_dict = result.to_dict()
    text = json.dumps(as_dict)
    assert '"rollout_date": "2023-01-15"' in text
    assert as_dict["periods"][0] == {
        "date": "2022-03-31",
        "side": "before",
        "count": 35.0,
        "population": 50000.0,
        "rate": pytest.approx(7.0),
    }
    assert isinstance(as_dict["warnings"], list)


def test_the_covid_check_understands_financial_years():
    # Financial year 2020-21 ends 31 March 2021 and is the COVID year; 2021-22 is not.
    ends = pd.date_range("2017-03-31", periods=8, freq="YE-MAR")  # FY 2016-17 .. 2023-24
    df = pd.DataFrame({"period_end": ends, "cla_starts": [300] * 8, "children": 50_000})
    args = ("period_end", "cla_starts", "children", "2022-06-01")
    assert not any("COVID-19" in w for w in before_after(df, *args, window=1).warnings)
    assert any("COVID-19" in w for w in before_after(df, *args, window=2).warnings)
