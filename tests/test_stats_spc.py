"""XmR charts with the Making Data Count rules (pipelines.stats.spc).

The rules match the R package NHSRplotthedots; the reference limits come from its
"deviations" vignette. Each rule has its own tests on small hand-made series, including the
boundary cases (6 points versus 7, a tie, a point exactly on the mean or a limit).
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.stats.errors import StatsInputError
from pipelines.stats.spc import (
    LIMIT_FACTOR,
    OUTLIER_SCREEN_FACTOR,
    POINT_TYPES,
    VARIATION_ICONS,
    XmrLimits,
    assurance_icon,
    beyond_near_limits,
    moving_ranges,
    outside_limits,
    point_types,
    screen_moving_ranges,
    shift,
    signal_direction,
    trend,
    trend_direction,
    two_of_three,
    variation_icon,
    xmr,
    xmr_limits,
)

DEVIATIONS_VIGNETTE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def quarters(n, start="2019-03-31"):
    return pd.date_range(start, periods=n, freq="QE")


def limits_around(mean=0.0, mean_moving_range=1.0):
    """Hand-built limits: with mean 0 and mMR 1 the limits are ±2.66, near lines ±1.773."""
    return XmrLimits(
        mean=mean,
        mean_moving_range=mean_moving_range,
        upl=mean + LIMIT_FACTOR * mean_moving_range,
        lpl=mean - LIMIT_FACTOR * mean_moving_range,
        near_upl=mean + 2 / 3 * LIMIT_FACTOR * mean_moving_range,
        near_lpl=mean - 2 / 3 * LIMIT_FACTOR * mean_moving_range,
        n_points=20,
        n_moving_ranges_screened=0,
    )


# --- limits: reference values ----------------------------------------------------------------


def test_deviations_vignette_limits_with_outlier_screening():
    limits = xmr_limits(DEVIATIONS_VIGNETTE)
    assert limits.mean == pytest.approx(1.944444, abs=1e-6)
    assert limits.upl == pytest.approx(4.604444, abs=1e-6)
    assert limits.lpl == pytest.approx(-0.715556, abs=1e-6)
    # the two moving ranges either side of the 10 (8 and 9) are screened out
    assert limits.n_moving_ranges_screened == 2


def test_deviations_vignette_limits_without_screening():
    limits = xmr_limits(DEVIATIONS_VIGNETTE, screen_outliers=False)
    assert limits.mean == pytest.approx(1.944444, abs=1e-6)
    assert limits.upl == pytest.approx(6.951503, abs=1e-6)
    assert limits.lpl == pytest.approx(-3.062614, abs=1e-6)


def test_one_to_ten_limits():
    limits = xmr_limits(range(1, 11))
    assert limits.mean == pytest.approx(5.5, abs=1e-6)
    assert limits.lpl == pytest.approx(2.84, abs=1e-6)
    assert limits.upl == pytest.approx(8.16, abs=1e-6)


def test_near_limit_lines_are_two_thirds_of_the_way_to_the_limits():
    limits = xmr_limits(range(1, 11))
    assert limits.near_upl - limits.mean == pytest.approx(2 / 3 * (limits.upl - limits.mean))
    assert limits.mean - limits.near_lpl == pytest.approx(2 / 3 * (limits.mean - limits.lpl))


def test_moving_ranges_start_with_nan_and_are_nan_next_to_a_gap():
    mr = moving_ranges([1, 4, np.nan, 2, 5])
    assert np.isnan(mr[0]) and np.isnan(mr[2]) and np.isnan(mr[3])
    assert mr[1] == 3 and mr[4] == 3


def test_screening_drops_ranges_above_3267_times_the_mean_once_and_keeps_those_below():
    # with ranges (1, 1, 1, 1, x) the mean is (4 + x) / 5, so x = 3.267 × mean when
    # x = 3.267 × 4 / (5 − 3.267); test just either side of that boundary
    boundary = OUTLIER_SCREEN_FACTOR * 4 / (5 - OUTLIER_SCREEN_FACTOR)
    kept = screen_moving_ranges(np.array([np.nan, 1, 1, 1, 1, boundary * (1 + 1e-9)]))
    assert kept.tolist() == [False, True, True, True, True, False]
    kept = screen_moving_ranges(np.array([np.nan, 1, 1, 1, 1, boundary * (1 - 1e-9)]))
    assert kept.tolist() == [False, True, True, True, True, True]


def test_screening_keeps_everything_when_all_ranges_are_zero():
    assert screen_moving_ranges(np.array([np.nan, 0.0, 0.0])).tolist() == [False, True, True]


# --- rule: outside the limits ----------------------------------------------------------------


def test_outside_limits_is_strict_so_a_point_on_a_limit_is_not_flagged():
    flags = outside_limits([2.66, 2.67, -2.66, -2.67, 0], upl=2.66, lpl=-2.66)
    assert flags.tolist() == [False, True, False, True, False]


# --- rule: trend -----------------------------------------------------------------------------


def test_seven_rising_points_are_a_trend_and_all_seven_are_flagged():
    assert trend([1, 2, 3, 4, 5, 6, 7]).tolist() == [True] * 7


def test_six_rising_points_are_not_a_trend():
    assert not trend([1, 2, 3, 4, 5, 6, 5]).any()


def test_a_tie_breaks_a_trend():
    assert not trend([1, 2, 3, 4, 4, 5, 6, 7]).any()


def test_seven_falling_points_are_a_falling_trend():
    assert trend_direction([9, 8, 7, 6, 5, 4, 3, 5]).tolist() == [-1] * 7 + [0]


def test_only_the_points_in_the_run_are_flagged():
    assert trend([5, 1, 2, 3, 4, 5, 6, 7, 3]).tolist() == [False] + [True] * 7 + [False]


def test_a_peak_between_a_rising_and_falling_trend_takes_the_direction_on_its_right():
    # as NHSRplotthedots ptd_special_cause_type: "if a point is part of a trend either side,
    # use right side"
    direction = trend_direction([1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1])
    assert direction.tolist() == [1] * 6 + [-1] * 7


def test_every_point_of_one_to_ten_is_part_of_a_trend():
    result = xmr(list(range(1, 11)))
    assert result.points["trend"].all()
    assert result.points["special_cause"].all()


# --- rule: shift -----------------------------------------------------------------------------


def test_seven_points_above_the_mean_are_a_shift():
    assert shift([2, 2, 2, 2, 2, 2, 2], mean=1).tolist() == [True] * 7


def test_seven_points_below_the_mean_are_a_shift():
    assert shift([0, 0.5, 0, 0.5, 0, 0.5, 0, 3], mean=1).tolist() == [True] * 7 + [False]


def test_six_points_on_one_side_are_not_a_shift():
    assert not shift([2, 2, 2, 2, 2, 2, 0], mean=1).any()


def test_a_point_exactly_on_the_mean_breaks_a_shift():
    assert not shift([2, 2, 2, 1, 2, 2, 2, 2], mean=1).any()


def test_a_longer_shift_flags_every_point_in_it():
    assert shift([0] + [2] * 9 + [0], mean=1).tolist() == [False] + [True] * 9 + [False]


# --- rule: two of three beyond two-thirds of the way to a limit ---------------------------


def test_beyond_near_limits_excludes_points_outside_the_limits_and_on_the_line():
    limits = limits_around()
    flags = beyond_near_limits([1.9, 2.7, limits.near_upl, -1.9, 0], limits)
    assert flags.tolist() == [True, False, False, True, False]


def test_two_of_three_near_the_upper_limit_flags_the_two():
    flags = two_of_three([0.1, 2.0, 2.0, 0.1], limits_around())
    assert flags.tolist() == [False, True, True, False]


def test_two_of_three_with_a_gap_flags_the_two_not_the_middle_point():
    flags = two_of_three([2.0, 0.1, 2.0], limits_around())
    assert flags.tolist() == [True, False, True]


def test_two_of_three_needs_all_three_points_on_the_same_side_of_the_mean():
    # NHSRplotthedots ptd_two_in_three: abs(sum(relative_to_mean)) == 3
    assert not two_of_three([2.0, -0.1, 2.0], limits_around()).any()


def test_two_of_three_on_opposite_sides_is_not_a_signal():
    assert not two_of_three([2.0, -2.0, 0.1, 2.0, -2.0], limits_around()).any()


def test_one_of_three_is_not_a_signal():
    assert not two_of_three([2.0, 0.1, 0.1, 2.0], limits_around()).any()


def test_two_of_three_near_the_lower_limit():
    flags = two_of_three([-0.1, -2.0, -0.5, -2.0], limits_around())
    assert flags.tolist() == [False, True, False, True]


def test_a_point_outside_the_limits_does_not_count_towards_two_of_three():
    # only one point is between the near line and the limit; the 3.0 is "outside limits"
    assert not two_of_three([3.0, 2.0, 0.1], limits_around()).any()


# --- classification and icons ----------------------------------------------------------------


def test_signal_direction_uses_the_first_rule_in_nhsrplotthedots_order():
    values = np.array([5.0, 4.0, 3.0])
    outside = np.array([True, False, False])
    trend_dir = np.array([-1, -1, 0])
    none = np.zeros(3, dtype=bool)
    shifted = np.array([False, False, True])
    # outside above -> high; falling trend above the mean -> low; shift above -> high
    assert signal_direction(values, 2.0, outside, trend_dir, none, shifted).tolist() == [1, -1, 1]


@pytest.mark.parametrize(
    ("improvement", "expected"),
    [
        ("decrease", ["common_cause", "special_cause_concern", "special_cause_improvement"]),
        ("increase", ["common_cause", "special_cause_improvement", "special_cause_concern"]),
        ("neutral", ["common_cause", "special_cause_neutral", "special_cause_neutral"]),
    ],
)
def test_point_types_follow_the_direction_of_improvement(improvement, expected):
    assert point_types(np.array([0, 1, -1]), improvement).tolist() == expected


def test_unknown_improvement_direction_raises():
    with pytest.raises(StatsInputError, match="'decrease', 'increase' or 'neutral'"):
        point_types(np.array([1]), "down")


@pytest.mark.parametrize(
    ("point_type", "direction", "icon"),
    [
        ("common_cause", 0, "common_cause"),
        ("special_cause_improvement", -1, "special_cause_improvement_low"),
        ("special_cause_improvement", 1, "special_cause_improvement_high"),
        ("special_cause_concern", 1, "special_cause_concern_high"),
        ("special_cause_concern", -1, "special_cause_concern_low"),
        ("special_cause_neutral", 1, "special_cause_neutral_high"),
    ],
)
def test_variation_icon(point_type, direction, icon):
    assert variation_icon(point_type, direction) == icon
    assert icon in VARIATION_ICONS


@pytest.mark.parametrize(
    ("target", "improvement", "icon"),
    [
        (12, "decrease", "consistent_pass"),  # lower is better and the whole process is below
        (3, "decrease", "consistent_fail"),
        (6, "decrease", "hit_or_miss"),
        (12, "increase", "consistent_fail"),
        (3, "increase", "consistent_pass"),
        (8, "increase", "hit_or_miss"),  # a target on a limit is hit or miss
        (6, "neutral", None),
        (None, "decrease", None),
    ],
)
def test_assurance_icon(target, improvement, icon):
    assert assurance_icon(target, upl=8, lpl=4, improvement=improvement) == icon


# --- xmr: the whole chart --------------------------------------------------------------------


def test_xmr_returns_one_row_per_point_with_the_documented_columns():
    result = xmr(pd.Series(DEVIATIONS_VIGNETTE, index=quarters(18)))
    assert len(result.points) == 18
    assert list(result.points.columns) == [
        "date", "value", "segment", "mean", "upl", "lpl", "near_upl", "near_lpl",
        "moving_range", "moving_range_screened", "outside_limits", "trend", "shift",
        "two_of_three", "special_cause", "point_type", "signal", "trial_limits",
    ]  # fmt: skip
    assert set(result.points["point_type"]) <= set(POINT_TYPES)
    assert result.n == 18
    assert result.method.startswith("XmR")


def test_xmr_on_the_deviations_vignette_flags_only_the_outlier():
    result = xmr(pd.Series(DEVIATIONS_VIGNETTE, index=quarters(18)), improvement="decrease")
    points = result.points
    assert points["upl"].iloc[0] == pytest.approx(4.604444, abs=1e-6)
    assert points.loc[points["special_cause"], "value"].tolist() == [10]
    assert points["point_type"].iloc[4] == "special_cause_concern"
    assert points["moving_range_screened"].tolist()[4:6] == [True, True]
    assert result.variation_icon == "common_cause"
    assert not result.trial_limits


def test_xmr_without_screening_uses_the_wider_limits():
    result = xmr(DEVIATIONS_VIGNETTE, screen_outliers=False)
    assert result.points["upl"].iloc[0] == pytest.approx(6.951503, abs=1e-6)
    assert result.points["lpl"].iloc[0] == pytest.approx(-3.062614, abs=1e-6)
    assert not result.points["moving_range_screened"].any()


def test_one_to_ten_is_flagged_as_in_nhsrplotthedots():
    # Outside limits takes precedence: 1 and 2 are below the LPL (improvement when lower is
    # better); 3..8 are in a rising trend and 9, 10 above the UPL (concern).
    result = xmr(list(range(1, 11)), improvement="decrease")
    points = result.points
    assert points["outside_limits"].tolist() == [True, True] + [False] * 6 + [True, True]
    assert points["point_type"].tolist() == (
        ["special_cause_improvement"] * 2 + ["special_cause_concern"] * 8
    )
    assert result.variation_icon == "special_cause_concern_high"
    assert result.trial_limits


def test_a_fall_in_the_latest_seven_points_shows_improvement_when_lower_is_better():
    values = [10, 11, 10, 11, 10, 11, 10, 11, 10, 11] + [8, 8.5, 8, 8.5, 8, 8.5, 8]
    result = xmr(pd.Series(values, index=quarters(len(values))), improvement="decrease")
    assert result.points["shift"].tolist()[-7:] == [True] * 7
    assert result.variation_icon == "special_cause_improvement_low"
    result = xmr(pd.Series(values, index=quarters(len(values))), improvement="increase")
    assert result.variation_icon == "special_cause_concern_low"
    result = xmr(pd.Series(values, index=quarters(len(values))), improvement="neutral")
    assert result.variation_icon == "special_cause_neutral_low"


def test_assurance_icon_uses_the_last_segment_limits():
    values = [50, 52, 49, 51, 50, 48, 52, 51, 49, 50, 51, 50, 49, 50]
    result = xmr(pd.Series(values, index=quarters(14)), improvement="decrease", target=60)
    assert result.assurance_icon == "consistent_pass"
    result = xmr(pd.Series(values, index=quarters(14)), improvement="decrease", target=50)
    assert result.assurance_icon == "hit_or_miss"
    assert xmr(values).assurance_icon is None


def test_a_table_is_read_by_column_names_and_sorted_by_date():
    df = pd.DataFrame(
        {
            "period_end": [dt.date(2024, 6, 30), dt.date(2024, 3, 31), dt.date(2024, 9, 30)],
            "rate": [2.0, 1.0, 3.0],
        }  # fmt: skip
    )
    result = xmr(df, "period_end", "rate")
    assert result.points["value"].tolist() == [1.0, 2.0, 3.0]
    assert result.points["date"].iloc[0] == pd.Timestamp("2024-03-31")


# --- rebasing --------------------------------------------------------------------------------


def test_rebasing_computes_limits_separately_for_each_segment():
    before = [10, 12, 11, 13, 12, 11, 10, 12, 13, 11, 12, 10, 11]
    after = [6, 7, 5, 6, 8, 7, 6, 5, 7, 6, 7, 6, 5]
    series = pd.Series(before + after, index=quarters(26))
    rollout = series.index[13] - pd.Timedelta(days=40)  # mid-quarter: that quarter is "after"
    result = xmr(series, rebase_dates=[rollout])
    points = result.points
    assert points["segment"].tolist() == [0] * 13 + [1] * 13
    assert len(result.limits) == 2
    assert points["mean"].iloc[0] == pytest.approx(xmr_limits(before).mean)
    assert points["upl"].iloc[-1] == pytest.approx(xmr_limits(after).upl)
    assert np.isnan(points["moving_range"].iloc[13])  # no range across the rebase
    assert not result.trial_limits


def test_a_rebase_date_on_a_period_end_starts_the_new_segment_at_that_period():
    series = pd.Series(range(6), index=quarters(6))
    result = xmr(series, rebase_dates=series.index[3])
    assert result.points["segment"].tolist() == [0, 0, 0, 1, 1, 1]


def test_rebase_dates_outside_the_data_are_ignored_with_a_warning():
    series = pd.Series([3, 4, 3, 5, 4, 3], index=quarters(6))
    plain = xmr(series)
    rebased = xmr(series, rebase_dates=["2010-01-01", "2030-01-01"])
    pd.testing.assert_frame_equal(plain.points, rebased.points)
    assert sum("ignored" in w for w in rebased.warnings) == 2


def test_a_segment_with_one_point_raises():
    series = pd.Series([3, 4, 3, 5, 4, 3], index=quarters(6))
    with pytest.raises(StatsInputError, match="at least 2 values"):
        xmr(series, rebase_dates=[series.index[5]])


def test_trial_limits_below_13_points_per_segment():
    assert xmr([1, 2] * 6).trial_limits
    assert not xmr([1, 2] * 6 + [1]).trial_limits
    assert any("trial limits" in w for w in xmr([1, 2] * 6).warnings)


# --- awkward input ---------------------------------------------------------------------------


def test_missing_values_are_kept_as_rows_but_left_out_of_the_limits():
    values = [5, 6, np.nan, 5, 6, 5]
    result = xmr(pd.Series(values, index=quarters(6)))
    assert len(result.points) == 6
    assert result.n == 5
    assert result.points["mean"].iloc[0] == pytest.approx(5.4)
    # moving ranges: 1, (gap), (gap), 1, 1 -> mean 1
    assert result.limits[0].mean_moving_range == pytest.approx(1.0)
    assert pd.isna(result.points["point_type"].iloc[2])
    assert not result.points["special_cause"].iloc[2]
    assert any("no value" in w and "2019-09-30" in w for w in result.warnings)


def test_a_missing_latest_value_is_explained_in_the_warnings():
    result = xmr(pd.Series([5, 6, 5, 6, np.nan], index=quarters(5)))
    assert any("latest period" in w for w in result.warnings)


def test_a_constant_series_collapses_the_limits_to_the_mean_with_a_warning():
    result = xmr([4, 4, 4, 4, 4, 4, 4, 4])
    points = result.points
    assert (points[["upl", "lpl", "near_upl", "near_lpl"]] == 4).all().all()
    assert not points["special_cause"].any()  # on the mean: no shift, no outside
    assert result.variation_icon == "common_cause"
    assert any("same value in every period" in w for w in result.warnings)


def test_two_points_are_enough_for_a_chart():
    assert len(xmr([1, 2]).points) == 2


@pytest.mark.parametrize("values", [[], [7], [7, np.nan], [np.nan, np.nan, np.nan]])
def test_fewer_than_two_values_raise(values):
    with pytest.raises(StatsInputError, match="at least 2"):
        xmr(values)


def test_values_separated_by_gaps_everywhere_raise():
    with pytest.raises(StatsInputError, match="consecutive periods"):
        xmr([1, np.nan, 2, np.nan, 3])


def test_duplicate_dates_raise():
    series = pd.Series([1, 2, 3], index=pd.to_datetime(["2024-03-31", "2024-03-31", "2024-06-30"]))
    with pytest.raises(StatsInputError, match="more than once"):
        xmr(series)


def test_text_values_raise():
    with pytest.raises(StatsInputError, match="must be numbers"):
        xmr(["1", "two", "3"])


def test_a_table_needs_column_names():
    with pytest.raises(StatsInputError, match="name the date column"):
        xmr(pd.DataFrame({"d": [1, 2], "v": [1, 2]}))


def test_an_unknown_improvement_direction_raises_before_any_work():
    with pytest.raises(StatsInputError, match="improvement direction"):
        xmr([1, 2, 3], improvement="lower")


# --- properties ------------------------------------------------------------------------------

series_strategy = st.lists(
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=2, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(values=series_strategy)
def test_property_rebasing_with_no_dates_or_dates_outside_the_data_equals_no_rebasing(values):
    series = pd.Series(values, index=quarters(len(values)))
    plain = xmr(series)
    for rebase in ((), None, ["1990-01-01"]):
        pd.testing.assert_frame_equal(plain.points, xmr(series, rebase_dates=rebase).points)


@settings(max_examples=60, deadline=None)
@given(values=series_strategy, offset=st.integers(min_value=-1000, max_value=1000))
def test_property_adding_a_constant_moves_the_limits_but_not_the_signals(values, offset):
    values = np.round(values, 2)  # keep the arithmetic exact enough to compare flags
    plain = xmr(values).points
    moved = xmr(values + offset).points
    assert np.allclose(moved["mean"], plain["mean"] + offset)
    assert np.allclose(moved["upl"] - moved["lpl"], plain["upl"] - plain["lpl"])
    assert (moved["lpl"] <= moved["mean"]).all() and (moved["mean"] <= moved["upl"]).all()
    assert moved["trend"].tolist() == plain["trend"].tolist()
