"""DfE's definitions (pipelines.load.returns.definitions), each on small hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.load.returns import definitions as d

T = pd.Timestamp


def episodes(*rows) -> pd.DataFrame:
    """Episodes from (child, decom, dec, rne, ls, place, rec) tuples; dates ISO or None."""
    frame = pd.DataFrame(rows, columns=["child", "decom", "dec", "rne", "ls", "place", "rec"])
    frame["decom"] = pd.to_datetime(frame["decom"])
    frame["dec"] = pd.to_datetime(frame["dec"])
    frame["home_post"] = None
    return frame


def plans(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["child", "start", "end", "previous"])
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


# -- age band at the period end, from DOB -------------------------------------------------------


def test_age_counts_the_birthday_on_the_day():
    dob = pd.Series(pd.to_datetime(["2010-05-14", "2010-05-14", "2024-02-29"]))
    ages = d.age_at(dob, pd.Series(pd.to_datetime(["2024-05-13", "2024-05-14", "2025-02-28"])))
    assert ages.tolist() == [13, 14, 0]


def test_age_bands_at_period_end():
    dob = pd.Series(
        pd.to_datetime(
            [
                "2024-01-10",
                "2023-01-10",
                "2019-06-01",
                "2014-03-31",
                "2008-03-31",
                "2006-03-01",
                "2024-05-01",
            ]
        )
    )
    bands = d.age_band(dob, T("2024-03-31"))
    # 0, 1, 4, 10, 16, 18 (ceased on 18th birthday: DfE's "16 and over"), unborn
    assert bands.tolist() == ["Under 1", "1-4", "1-4", "10-15", "16-17", "16-17", "Under 1"]


def test_fast_month_end_age_agrees_with_age_at():
    rng = np.random.default_rng(1)
    dob = pd.Series(pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 9000, 500), "D"))
    months = rng.integers(2015 * 12, 2026 * 12, 500)
    ends = pd.Series(pd.to_datetime(d.month_end_of(months)))
    assert (d.age_at_month_end(dob, months) == d.age_at(dob, ends).to_numpy()).all()


# -- starts are new periods of care -------------------------------------------------------------


def test_starts_count_new_periods_not_new_episodes():
    eps = episodes(
        (1, "2023-04-10", "2023-06-05", "S", "C1", "U6", "X1"),
        (1, "2023-06-05", None, "L", "C2", "U6", None),  # legal status change: same period
        (2, "2023-06-12", "2023-08-20", "S", "V2", "U3", "E13"),
        (2, "2024-01-15", None, "S", "V2", "U6", None),  # a second period of care
    )
    periods = d.periods_of_care(eps)
    assert len(periods) == 3
    assert d.started_in(periods, T("2023-04-01"), T("2024-03-31")).sum() == 3
    assert d.started_in(periods, T("2023-06-01"), T("2023-06-30")).sum() == 1


# -- ceased: X1 is not a leaving ----------------------------------------------------------------


def test_x1_is_not_a_leaving():
    eps = episodes(
        (1, "2023-04-10", "2023-06-05", "S", "C1", "U6", "X1"),
        (1, "2023-06-05", "2024-02-01", "P", "C2", "K2", "E4A"),
    )
    periods = d.periods_of_care(eps)
    assert d.ends_period(eps["rec"], eps["dec"]).tolist() == [False, True]
    assert periods["end"].tolist() == [T("2024-02-01")]
    assert d.ceased_in(periods, T("2023-06-01"), T("2023-06-30")).sum() == 0
    assert d.ceased_in(periods, T("2024-02-01"), T("2024-02-29")).sum() == 1


def test_an_x1_episode_with_no_successor_keeps_the_period_open():
    periods = d.periods_of_care(episodes((1, "2023-04-10", "2023-06-05", "S", "C1", "U6", "X1")))
    assert periods["end"].isna().all()


# -- children looked after at a date ------------------------------------------------------------


def test_looked_after_at_a_date():
    eps = episodes(
        (1, "2024-03-31", None, "S", "C1", "U6", None),  # started on the day: counted
        (2, "2023-01-01", "2024-03-31", "S", "C2", "U6", "E13"),  # ceased on the day: not
        (3, "2023-01-01", "2024-04-01", "S", "C2", "U6", "E13"),  # ceased after: counted
    )
    periods = d.periods_of_care(eps)
    assert d.looked_after_at(periods, T("2024-03-31")).tolist() == [True, False, True]


# -- short breaks (V3/V4) are excluded ----------------------------------------------------------


def test_short_break_episodes_are_left_out_of_the_headline_counts():
    eps = episodes(
        (1, "2023-05-02", "2023-05-04", "S", "V3", "R1", "E13"),
        (2, "2023-05-02", "2023-05-04", "S", "V4", "R1", "E13"),
        (3, "2023-05-02", None, "S", "V2", "U6", None),
    )
    assert d.is_short_break(eps["ls"]).tolist() == [True, True, False]
    periods = d.periods_of_care(d.headline_episodes(eps))
    assert periods["child"].tolist() == [3]


def test_a_period_that_began_as_a_short_break_starts_at_its_first_counted_episode():
    eps = episodes(
        (1, "2023-05-02", "2023-06-01", "S", "V4", "R1", "X1"),
        (1, "2023-06-01", None, "L", "C1", "U6", None),
    )
    periods = d.periods_of_care(d.headline_episodes(eps))
    assert periods["start"].tolist() == [T("2023-06-01")]


# -- CPP starts, ends and on a plan at a date ---------------------------------------------------


def test_plan_starts_ends_and_at_a_date():
    p = plans(
        (1, "2023-05-20", "2023-06-12", 0),
        (2, "2023-07-24", "2024-03-31", 0),  # ended on 31 March: not on a plan that day
        (3, "2024-03-31", None, 0),  # started on 31 March: on a plan
    )
    assert d.plan_started_in(p, T("2023-05-01"), T("2023-05-31")).sum() == 1
    assert d.plan_ended_in(p, T("2024-03-01"), T("2024-03-31")).sum() == 1
    assert d.on_plan_at(p, T("2024-03-31")).tolist() == [False, False, True]


# -- repeat plans: second or subsequent, and within two years -----------------------------------


def test_second_or_subsequent_plans():
    p = plans(
        (1, "2023-07-24", "2024-05-10", 0),
        (1, "2024-11-05", None, 1),  # an earlier plan in the returns
        (2, "2025-02-14", None, 2),  # earlier plans elsewhere (NumberOfPreviousCPP)
        (3, "2025-02-14", None, 0),  # a first plan
    )
    assert d.is_repeat_plan(p).tolist() == [False, True, True, False]


def test_repeat_within_two_years_needs_the_previous_plan_in_the_returns():
    p = plans(
        (1, "2020-01-01", "2021-01-01", 0),
        (1, "2022-12-31", "2023-06-01", 1),  # 2 years less a day after the end: within
        (2, "2019-01-01", "2020-01-01", 0),
        (2, "2022-01-02", None, 1),  # more than 2 years: a repeat, not within two years
        (3, "2024-01-01", None, 3),  # previous plans elsewhere: not seen here
    )
    assert d.repeat_within_two_years(p).tolist() == [False, True, False, False, False]


# -- time on plan --------------------------------------------------------------------------------


def test_time_on_plan():
    p = plans(
        (1, "2022-01-10", "2024-02-20", 0),
        (2, "2024-01-01", None, 0),
        (3, "2023-01-01", "2024-12-31", 0),
    )
    assert d.plan_duration_days(p, T("2024-01-31")).tolist() == [771, 30, 730]
    assert d.ended_after_two_years(p).tolist() == [True, False, False]


# -- three or more placements in a year ---------------------------------------------------------


def test_three_or_more_placements_in_the_year():
    eps = episodes(
        (1, "2024-05-01", "2024-07-15", "S", "C2", "U6", "X1"),
        (1, "2024-07-15", "2024-12-10", "P", "C2", "K2", "X1"),
        (1, "2024-12-10", None, "B", "E1", "U4", None),  # 3 placements
        (2, "2024-05-01", "2024-07-15", "S", "C2", "U6", "X1"),
        (2, "2024-07-15", "2024-12-10", "L", "C1", "U6", "X1"),  # legal status only
        (2, "2024-12-10", None, "T", "C1", "U4", None),  # same carers: not a new placement
        (3, "2022-01-01", "2024-01-10", "S", "C2", "U6", "X1"),  # ended before the year
        (3, "2024-01-10", "2024-06-01", "P", "C2", "U6", "X1"),
        (3, "2024-06-01", None, "P", "C2", "U4", None),
    )
    periods = d.periods_of_care(eps)
    rows = d.placements(eps)
    assert rows.groupby("child").size().tolist() == [3, 1, 3]
    three = d.three_or_more_placements(periods, rows, T("2025-03-31"))
    assert three.to_dict() == {1: True, 2: False, 3: False}


# -- long-term stability -------------------------------------------------------------------------


def test_long_term_stability():
    eps = episodes(
        (1, "2021-01-01", None, "S", "C2", "U4", None),  # 4 years, same placement: stable
        (2, "2021-01-01", "2024-01-01", "S", "C2", "U4", "X1"),
        (2, "2024-01-01", None, "P", "C2", "U6", None),  # moved 15 months ago: not stable
        (3, "2021-01-01", "2024-09-01", "S", "C2", "U6", "X1"),
        (3, "2024-09-01", None, "P", "E1", "A5", None),  # placed for adoption: stable
        (4, "2023-01-01", None, "S", "C2", "U4", None),  # 2.25 years: not eligible
        (5, "2020-01-01", None, "S", "C2", "U4", None),  # 16 on the date: not eligible
    )
    dob = pd.Series(
        pd.to_datetime(["2012-01-01", "2012-01-01", "2019-01-01", "2012-01-01", "2009-03-01"]),
        index=[1, 2, 3, 4, 5],
    )
    periods = d.periods_of_care(eps)
    result = d.long_term_stability(periods, d.placements(eps), dob, T("2025-03-31"))
    assert result["eligible"].to_dict() == {1: True, 2: True, 3: True, 4: False, 5: False}
    assert result["stable"].to_dict() == {1: True, 2: False, 3: True, 4: False, 5: False}


# -- re-entry within 12 months ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second_start", "expected"), [("2024-08-20", True), ("2024-08-21", False)]
)
def test_reentry_within_12_months(second_start, expected):
    eps = episodes(
        (1, "2023-06-12", "2023-08-20", "S", "V2", "U3", "E13"),
        (1, second_start, None, "S", "V2", "U6", None),
        (2, "2023-06-12", None, "S", "V2", "U3", None),
    )
    periods = d.periods_of_care(eps)
    assert d.reentered_within_12_months(periods).tolist() == [False, expected, False]


# -- children in need ----------------------------------------------------------------------------


def test_in_need_at_and_rereferrals():
    cin = pd.DataFrame(
        {
            "child": [1, 1, 2, 3],
            "referral": pd.to_datetime(["2023-01-10", "2023-12-01", "2024-03-01", "2024-01-01"]),
            "closure": pd.to_datetime(["2023-06-01", None, "2024-03-31", None]),
            "nfa": [False, False, False, True],
        }
    )
    assert d.in_need_at(cin, T("2024-03-31")).tolist() == [False, True, False, False]
    assert d.is_rereferral(cin).tolist() == [False, True, False, False]
