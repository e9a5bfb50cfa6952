"""Rates and proportions with confidence intervals (pipelines.stats.rates).

Reference values come from PHEindicatormethods' published examples and from the exact
Poisson limits in standard tables (e.g. Ulm 1990; Breslow & Day 1987, Appendix).
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.stats.errors import StatsInputError
from pipelines.stats.rates import BYAR_THRESHOLD, proportion_ci, rate_ci

# --- rate_ci: reference values -----------------------------------------------------------------


def test_byar_interval_for_65_events_matches_phe_reference():
    row = rate_ci(65, 1, multiplier=1).iloc[0]
    assert row["rate"] == 65
    assert row["lower"] == pytest.approx(50.163188, abs=1e-6)
    assert row["upper"] == pytest.approx(82.849139, abs=1e-6)
    assert row["ci_method"] == "Byar"


def test_222_per_3215_per_100000_matches_phe_reference():
    row = rate_ci(222, 3215, multiplier=100_000).iloc[0]
    assert round(row["rate"], 2) == 6905.13
    assert round(row["lower"], 2) == 6026.57
    assert round(row["upper"], 2) == 7875.73


def test_exact_poisson_interval_for_5_events():
    # chi-square limits: qchisq(0.025, 10) / 2 and qchisq(0.975, 12) / 2
    row = rate_ci(5, 1, multiplier=1).iloc[0]
    assert row["lower"] == pytest.approx(1.623486, abs=1e-6)
    assert row["upper"] == pytest.approx(11.668332, abs=1e-6)
    assert row["ci_method"] == "exact Poisson"


def test_zero_events_gives_rate_zero_lower_zero_and_exact_upper_limit():
    row = rate_ci(0, 1, multiplier=1).iloc[0]
    assert row["rate"] == 0
    assert row["lower"] == 0
    # -log(0.025) = 3.688879, the exact one-sided 97.5% limit for no events
    assert row["upper"] == pytest.approx(-math.log(0.025), abs=1e-6)


def test_method_switches_from_exact_to_byar_at_a_count_of_10():
    result = rate_ci([9, 10], 1, multiplier=1)
    assert list(result["ci_method"]) == ["exact Poisson", "Byar"]
    assert BYAR_THRESHOLD == 10
    # x = 9 exact: qchisq(0.025, 18)/2 and qchisq(0.975, 20)/2
    assert result["lower"].iloc[0] == pytest.approx(4.115373, abs=1e-6)
    assert result["upper"].iloc[0] == pytest.approx(17.084803, abs=1e-6)
    # x = 10 Byar, by the formula in the docstring
    z = 1.959963984540054
    lower = 10 * (1 - 1 / 90 - z / (3 * math.sqrt(10))) ** 3
    upper = 11 * (1 - 1 / 99 + z / (3 * math.sqrt(11))) ** 3
    assert result["lower"].iloc[1] == pytest.approx(lower, abs=1e-9)
    assert result["upper"].iloc[1] == pytest.approx(upper, abs=1e-9)


def test_rates_are_scaled_per_10000_by_default():
    row = rate_ci(50, 100_000).iloc[0]
    assert row["rate"] == pytest.approx(5.0)


def test_higher_confidence_gives_a_wider_interval():
    narrow = rate_ci(40, 1000, confidence=0.95).iloc[0]
    wide = rate_ci(40, 1000, confidence=0.998).iloc[0]
    assert wide["lower"] < narrow["lower"] and wide["upper"] > narrow["upper"]


# --- rate_ci: shapes and missing values ------------------------------------------------------


def test_vectorised_inputs_return_one_row_per_value_and_keep_a_series_index():
    counts = pd.Series([3, 30, 300], index=["A", "B", "C"])
    result = rate_ci(counts, pd.Series([1000, 1000, 1000], index=["A", "B", "C"]))
    assert list(result.index) == ["A", "B", "C"]
    assert list(result.columns) == ["count", "denominator", "rate", "lower", "upper", "ci_method"]


def test_a_scalar_denominator_is_applied_to_every_count():
    result = rate_ci(np.array([1, 2, 3]), 100, multiplier=100)
    assert list(result["rate"]) == [1.0, 2.0, 3.0]


def test_missing_count_or_denominator_gives_nan_never_zero():
    result = rate_ci([None, 5, np.nan, 12], [100, None, 100, pd.NA], multiplier=1)
    assert result[["rate", "lower", "upper"]].isna().all().all()


def test_suppressed_count_in_a_nullable_integer_column_gives_nan():
    counts = pd.Series([12, None], dtype="Int64")
    result = rate_ci(counts, 1000)
    assert not math.isnan(result["rate"].iloc[0])
    assert math.isnan(result["rate"].iloc[1])


# --- rate_ci: input it cannot analyse ----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "denominator", "fragment"),
    [
        (-1, 100, "negative"),
        (2.5, 100, "whole numbers"),
        (5, 0, "above zero"),
        (5, -10, "above zero"),
        ("lots", 100, "numbers"),
        ([1, 2], [100, 100, 100], "different lengths"),
    ],
)
def test_impossible_inputs_raise_a_plain_english_error(count, denominator, fragment):
    with pytest.raises(StatsInputError, match=fragment):
        rate_ci(count, denominator)


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5])
def test_confidence_must_be_a_fraction(confidence):
    with pytest.raises(StatsInputError, match="between 0 and 1"):
        rate_ci(5, 100, confidence=confidence)


def test_multiplier_must_be_positive():
    with pytest.raises(StatsInputError, match="multiplier"):
        rate_ci(5, 100, multiplier=0)


@given(
    count=st.integers(min_value=0, max_value=100_000),
    denominator=st.integers(min_value=1, max_value=10_000_000),
)
def test_property_lower_le_rate_le_upper(count, denominator):
    row = rate_ci(count, denominator).iloc[0]
    assert 0 <= row["lower"] <= row["rate"] <= row["upper"]


# --- proportion_ci -------------------------------------------------------------------------------


def test_wilson_interval_for_65_of_100_matches_reference():
    row = proportion_ci(65, 100).iloc[0]
    assert row["proportion"] == 0.65
    assert row["lower"] == pytest.approx(0.552544, abs=1e-6)
    assert row["upper"] == pytest.approx(0.736358, abs=1e-6)


def test_wilson_interval_stays_inside_zero_and_one_at_the_extremes():
    result = proportion_ci([0, 20], [20, 20])
    assert result["lower"].iloc[0] == 0
    assert 0 < result["upper"].iloc[0] < 1
    assert result["upper"].iloc[1] == 1
    assert 0 < result["lower"].iloc[1] < 1


def test_proportion_with_missing_values_or_no_trials_is_nan():
    result = proportion_ci([None, 3, 0], [10, None, 0])
    assert result[["proportion", "lower", "upper"]].isna().all().all()


def test_more_successes_than_trials_raises():
    with pytest.raises(StatsInputError, match="more successes than trials"):
        proportion_ci([5, 11], [10, 10])


def test_negative_trials_raise():
    with pytest.raises(StatsInputError, match="negative"):
        proportion_ci(0, -3)


@given(
    data=st.integers(min_value=0, max_value=5000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    )
)
def test_property_wilson_lower_le_proportion_le_upper(data):
    successes, trials = data
    row = proportion_ci(successes, trials).iloc[0]
    if trials == 0:
        assert math.isnan(row["proportion"])
    else:
        assert 0 <= row["lower"] <= row["proportion"] <= row["upper"] <= 1
