"""DfE's definitions, one small pure function each, on child-level pandas frames in memory.

Every function takes and returns pandas objects and touches nothing else: no file, no
warehouse, no log. They are vectorised (no loop over children), so a national 903 aggregates
in seconds. The frames are those `pipelines.load.returns.ssda903` and `.cin` build:

- episodes: `child` (an opaque integer key, never the CHILD id), `decom`, `dec` (NaT while
  open), `rne`, `ls`, `place`, `rec`, `home_post`;
- periods of care (`periods_of_care`): `child`, `period`, `start`, `end` (NaT while open);
- plans: `child`, `start`, `end` (NaT while open), `previous` (NumberOfPreviousCPP).

Sources, cited on each function:
- [903] DfE, "Children looked after by local authorities in England: guide to the SSDA903
  collection" (one per collection year), sections on episodes, periods of care, RNE and REC.
- [CLA-meth] DfE, "Children looked after in England including adoptions: methodology"
  (explore-education-statistics.service.gov.uk), headline counts, short breaks, placement
  stability and long-term stability.
- [CIN] DfE, "Children in need census: guide" and "technical specification" (one per census
  year), child protection plan items; [CIN-meth] DfE, "Characteristics of children in need:
  methodology", plans starting/ending, second or subsequent plans, duration of plans.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.load.returns.codes import (
    CONTINUES_REC,
    NEW_PLACEMENT_RNE,
    PLACED_FOR_ADOPTION,
    SHORT_BREAK_LS,
)
from pipelines.load.returns.order import in_order

#: The age bands of the outcomes contract; 16-17 is DfE's "16 and over" (a child who ceases
#: on their 18th birthday is 18 at the month's end and still counted in it).
AGE_BANDS = ("Under 1", "1-4", "5-9", "10-15", "16-17")
_BAND_EDGES = np.array([1, 5, 10, 16])  # lower bounds of the bands after "Under 1"
_BAND_OF_AGE = np.searchsorted(_BAND_EDGES, np.arange(_BAND_EDGES[-1] + 1), side="right")


# -- ages ----------------------------------------------------------------------------------------


def age_at(dob: pd.Series, at) -> pd.Series:
    """Age in whole years on the date(s) `at`: the birthday counts on the day itself.

    An unborn child (DOB after `at`) has a negative age. [903] DOB; [CLA-meth] ages at 31 March.
    """
    dob = pd.to_datetime(dob)
    at = pd.to_datetime(at)
    at_year, at_month, at_day = _ymd(at)
    years = at_year - dob.dt.year
    before = (at_month < dob.dt.month) | ((at_month == dob.dt.month) & (at_day < dob.dt.day))
    return (years - before.astype(int)).astype("Int64")


def _ymd(at):
    if isinstance(at, pd.Series):
        return at.dt.year, at.dt.month, at.dt.day
    return at.year, at.month, at.day


def band_codes(age: np.ndarray) -> np.ndarray:
    """Index into AGE_BANDS for integer ages: under 1 (and unborn) is 0, 16 and over is 4."""
    age = np.asarray(age)
    if age.dtype.kind not in "iu":
        return np.searchsorted(_BAND_EDGES, age, side="right")
    return _BAND_OF_AGE[np.clip(age, 0, _BAND_EDGES[-1])]  # a lookup by age, 0 to 16


def age_band(dob: pd.Series, at) -> pd.Series:
    """The age band at a date (the period end): Under 1, 1-4, 5-9, 10-15, 16-17.

    DfE's bands are under 1, 1 to 4, 5 to 9, 10 to 15 and 16 and over [CLA-meth]; the
    contract's 16-17 is the last of these. The age is taken at the period end, from DOB.
    """
    ages = age_at(dob, at)
    codes = band_codes(ages.fillna(0).to_numpy(dtype=np.int64))
    return pd.Series(np.asarray(AGE_BANDS)[codes], index=dob.index).where(ages.notna())


def month_index(dates) -> np.ndarray:
    """Months since year 0 (year × 12 + month − 1) of each date; −1 for a missing date."""
    values = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[M]")
    index = values.astype("int64") + 1970 * 12
    return np.where(np.isnat(values), -1, index)


def month_end_of(index: np.ndarray) -> np.ndarray:
    """The last day of each month index, as datetime64[D]."""
    months = (np.asarray(index, dtype="int64") - 1970 * 12).astype("datetime64[M]")
    return (months + 1).astype("datetime64[D]") - np.timedelta64(1, "D")


def age_at_month_end(dob, month: np.ndarray) -> np.ndarray:
    """`age_at` on the last day of each month index, on arrays (the aggregation's fast path).

    Same rule as `age_at`: whole years, the birthday counting on the day itself.
    """
    dob = pd.to_datetime(pd.Series(dob)).to_numpy(dtype="datetime64[D]")
    dob_month = dob.astype("datetime64[M]")
    dob_day = (dob - dob_month.astype("datetime64[D]")).astype("int64") + 1
    return age_from_parts(dob_month.astype("int64") + 1970 * 12, dob_day, month)


def days_in_month(index: np.ndarray) -> np.ndarray:
    """Number of days of each month index (February 29 days in a leap year)."""
    index = np.asarray(index, dtype="int64")
    year, month = index // 12, index % 12
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return _MONTH_DAYS[month] + ((month == 1) & leap)


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def age_from_parts(dob_month: np.ndarray, dob_day: np.ndarray, month: np.ndarray) -> np.ndarray:
    """`age_at_month_end` from the DOB's month index and day of month, in integer arithmetic.

    The whole years between the two months, less one in the birthday's own month when that
    month ends before the birthday's day (29 February in a year that is not a leap year)."""
    months = np.asarray(month, dtype="int64") - dob_month
    age = months // 12
    birthday_month = np.flatnonzero(months % 12 == 0)
    if len(birthday_month):
        at = np.asarray(month, dtype="int64")[birthday_month]
        day = np.broadcast_to(dob_day, months.shape)[birthday_month]
        age[birthday_month] -= (day > days_in_month(at)).astype("int64")
    return age


# -- episodes and periods of care (SSDA903) ------------------------------------------------------


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """`frame.sort_values(by, kind="mergesort")`, without the sort (and its copy) when the
    frame is already in that order, in which case a stable sort would leave it unchanged."""
    if _is_sorted(frame, by):
        return frame
    return frame.sort_values(by, kind="mergesort")


def _is_sorted(frame: pd.DataFrame, by: list[str]) -> bool:
    if len(frame) < 2:
        return True
    keys = []
    for column in by:
        values = frame[column]
        if not (
            pd.api.types.is_integer_dtype(values.dtype)
            or pd.api.types.is_datetime64_dtype(values.dtype)
        ):
            return False
        array = values.to_numpy()
        if array.dtype.kind == "M":
            if np.isnat(array).any():
                return False
            array = array.view("int64")
        keys.append(array)
    return in_order(keys)


def is_short_break(ls: pd.Series) -> pd.Series:
    """Episodes under an agreed series of short breaks (LS V3, V4).

    DfE leaves them out of its headline figures of children looked after, starts and ceased
    ([CLA-meth], "children looked after under a series of short-term placements are excluded").
    """
    return ls.isin(SHORT_BREAK_LS)


def headline_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    """The episodes the headline counts are made of: every episode except V3/V4 short breaks."""
    return episodes.loc[~is_short_break(episodes["ls"])]


def starts_new_period(episodes: pd.DataFrame) -> pd.Series:
    """True where an episode begins a new period of care.

    A period of care begins with RNE S ("started to be looked after") [903]. An episode that
    does not begin on the day the child's previous counted episode ended, or that follows an
    episode which ended with a REC other than X1, also begins one: that is how a period that
    began under a short break (left out of the headline count) or a gap in the data is read.
    `episodes` must be sorted by child and DECOM.
    """
    child = episodes["child"].to_numpy()
    same_child = np.r_[False, child[1:] == child[:-1]]
    prev_dec = episodes["dec"].shift(1)
    prev_rec = episodes["rec"].shift(1)
    continues = (
        same_child & (prev_dec == episodes["decom"]).to_numpy() & (prev_rec == CONTINUES_REC)
    )
    return pd.Series((episodes["rne"] == "S").to_numpy() | ~continues, index=episodes.index)


def ends_period(rec: pd.Series, dec: pd.Series) -> pd.Series:
    """True where an episode ends the period of care: it has a DEC and its REC is not X1.

    REC X1 means "episode ceases, and new episode begins on same day": the child is still
    looked after, so it is not a leaving [903].
    """
    return dec.notna() & (rec != CONTINUES_REC)


def periods_of_care(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per period of care: child, period (0, 1, ... per child), start, end, first.

    `start` is the DECOM of its first episode, `end` the DEC of its last episode when that
    episode ends the period (REC not X1), otherwise NaT (still looked after, or the data stop
    mid-period). `first` is the index label of the first episode (for its HOME_POST).
    """
    ordered = _sorted(episodes, ["child", "decom"])
    first, last = _run_bounds(starts_new_period(ordered).to_numpy())
    last_rows = ordered.iloc[last]
    ended = ends_period(last_rows["rec"], last_rows["dec"]).to_numpy()
    frame = pd.DataFrame(
        {
            "child": ordered["child"].to_numpy()[first],
            "start": ordered["decom"].to_numpy()[first],
            "end": np.where(ended, last_rows["dec"].to_numpy(), np.datetime64("NaT")),
            "first": ordered.index.to_numpy()[first],
        }
    )
    frame["period"] = frame.groupby("child").cumcount()
    return frame


def started_in(periods: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Periods of care starting between two dates inclusive: DfE's "started to be looked
    after" counts new periods of care, not new episodes [CLA-meth]."""
    return periods["start"].between(first, last)


def ceased_in(periods: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Periods of care ending between two dates inclusive (an X1 episode end never counts)
    [CLA-meth] "ceased to be looked after"."""
    return periods["end"].between(first, last)


def looked_after_at(periods: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    """Looked after on a date: a period that started on or before it and had not ended by it.

    A child who ceased on 31 March is not looked after at 31 March; one who started on that
    day is [CLA-meth] "children looked after at 31 March".
    """
    return (periods["start"] <= at) & (periods["end"].isna() | (periods["end"] > at))


def reentered_within_12_months(periods: pd.DataFrame) -> pd.Series:
    """Periods of care starting within 12 months of the end of the child's previous period.

    DfE's re-entry measure counts children starting a new period of care who had ceased to be
    looked after in the previous 12 months ([CLA-meth], "returned to care within 12 months").
    """
    ordered = _sorted(periods, ["child", "start"])
    same = ordered["child"].eq(ordered["child"].shift(1))
    prev_end = ordered["end"].shift(1)
    within = same & prev_end.notna() & (ordered["start"] <= prev_end + pd.DateOffset(months=12))
    return within.reindex(periods.index)


def placements(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per placement: child, start, end (NaT while open), place (the latest PLACE).

    A new placement begins with a period of care or with RNE P or B, a change of placement and
    carer(s); L (legal status only), T and U (same carers) continue the placement, as DfE
    counts placements for its stability measures [CLA-meth], [903] RNE.
    """
    ordered = _sorted(episodes, ["child", "decom"])
    new = starts_new_period(ordered).to_numpy() | ordered["rne"].isin(NEW_PLACEMENT_RNE).to_numpy()
    first, last = _run_bounds(new)
    return pd.DataFrame(
        {
            "child": ordered["child"].to_numpy()[first],
            "start": ordered["decom"].to_numpy()[first],
            "end": ordered["dec"].to_numpy()[last],
            "place": ordered["place"].array.take(last),
        }
    )


def _run_bounds(new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first and last row of each run that `new` (True at a run's first row,
    and at row 0) marks."""
    new = np.asarray(new, dtype=bool).copy()
    if len(new):
        new[0] = True
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, len(new) - 1] if len(first) else first
    return first, last


def three_or_more_placements(
    periods: pd.DataFrame, placement_rows: pd.DataFrame, at: pd.Timestamp
) -> pd.Series:
    """Children looked after on `at` who had 3 or more placements in the year ending on it.

    DfE's short-term stability measure: children looked after at 31 March with three or more
    separate placements during the year [CLA-meth]. A placement counts when it was open on any
    day of the year. Returns a boolean Series indexed by child (only children looked after).
    """
    looked_after = periods.loc[looked_after_at(periods, at), "child"].unique()
    year_start = at - pd.DateOffset(years=1) + pd.Timedelta(days=1)
    open_in_year = (placement_rows["start"] <= at) & (
        placement_rows["end"].isna() | (placement_rows["end"] >= year_start)
    )
    counts = placement_rows.loc[open_in_year].groupby("child").size()
    counts = counts.reindex(looked_after, fill_value=0)
    return counts >= 3


def long_term_stability(
    periods: pd.DataFrame,
    placement_rows: pd.DataFrame,
    dob: pd.Series,
    at: pd.Timestamp,
) -> pd.DataFrame:
    """DfE's long-term stability measure on a date, per child: `eligible` and `stable`.

    Eligible: under 16 on the date and looked after continuously for at least 2.5 years.
    Stable: eligible and in the same placement for at least 2 years, or placed for adoption
    (PLACE A3–A6) [CLA-meth] "long-term stability". `dob` is indexed by child.
    """
    current = periods.loc[looked_after_at(periods, at)]
    ages = age_at(dob.reindex(current["child"]).reset_index(drop=True), at)
    eligible = (ages.fillna(99).to_numpy() < 16) & (
        current["start"] <= at - pd.DateOffset(months=30)
    ).to_numpy()
    placement_now = placement_rows.loc[
        (placement_rows["start"] <= at)
        & (placement_rows["end"].isna() | (placement_rows["end"] > at))
    ].drop_duplicates("child", keep="last")
    placement_now = placement_now.set_index("child").reindex(current["child"])
    same_two_years = (placement_now["start"] <= at - pd.DateOffset(years=2)).to_numpy()
    adoption = placement_now["place"].isin(PLACED_FOR_ADOPTION).to_numpy()
    return pd.DataFrame(
        {"eligible": eligible, "stable": eligible & (same_two_years | adoption)},
        index=current["child"].to_numpy(),
    )


# -- child protection plans (CIN census) ---------------------------------------------------------


def plan_started_in(plans: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Plans whose CPPstartDate falls between two dates inclusive [CIN-meth] "starting"."""
    return plans["start"].between(first, last)


def plan_ended_in(plans: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Plans whose CPPendDate falls between two dates inclusive [CIN-meth] "ending"."""
    return plans["end"].between(first, last)


def on_plan_at(plans: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    """On a plan on a date: started on or before it and not ended by it (a plan ending on
    31 March is not counted at 31 March) [CIN-meth] "children on a plan at 31 March"."""
    return (plans["start"] <= at) & (plans["end"].isna() | (plans["end"] > at))


def is_repeat_plan(plans: pd.DataFrame) -> pd.Series:
    """Second or subsequent plans: NumberOfPreviousCPP above 0, or an earlier plan for the same
    child in the returns read [CIN] N00106, [CIN-meth] "second or subsequent plan" (ever, in
    any authority, which NumberOfPreviousCPP records)."""
    ordered = _sorted(plans, ["child", "start"])
    earlier = ordered["child"].eq(ordered["child"].shift(1))
    previous = pd.to_numeric(ordered["previous"], errors="coerce").fillna(0) > 0
    return (earlier | previous).reindex(plans.index)


def repeat_within_two_years(plans: pd.DataFrame) -> pd.Series:
    """Plans starting within two years of the end of the child's previous plan.

    DfE publishes second or subsequent plans with the time since the previous plan ended;
    "within two years" is the band Ofsted and DfE's CIN tables use [CIN-meth]. Only plans in
    the returns read can be seen, so a previous plan elsewhere counts as a repeat
    (`is_repeat_plan`) but not here.
    """
    ordered = _sorted(plans, ["child", "start"])
    same = ordered["child"].eq(ordered["child"].shift(1))
    prev_end = ordered["end"].shift(1)
    within = same & prev_end.notna() & (ordered["start"] <= prev_end + pd.DateOffset(years=2))
    return within.reindex(plans.index)


def plan_duration_days(plans: pd.DataFrame, at: pd.Timestamp | None = None) -> pd.Series:
    """Time on plan in days: from CPPstartDate to CPPendDate, or to `at` for an open plan
    [CIN-meth] "duration of child protection plans"."""
    end = plans["end"] if at is None else plans["end"].fillna(at)
    return (end - plans["start"]).dt.days


def ended_after_two_years(plans: pd.DataFrame) -> pd.Series:
    """Plans that ended after lasting 2 years or more, DfE's longest duration band
    [CIN-meth] "plans ceasing by length of plan"."""
    return plans["end"].notna() & (plans["end"] >= plans["start"] + pd.DateOffset(years=2))


# -- children in need (CIN census) ---------------------------------------------------------------


def in_need_at(episodes: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    """Children in need on a date: a CIN episode referred on or before it, not closed by it,
    and not a referral with no further action [CIN-meth] "children in need at 31 March"."""
    open_ = (episodes["referral"] <= at) & (episodes["closure"].isna() | (episodes["closure"] > at))
    return open_ & ~episodes["nfa"].fillna(False).astype(bool)


def is_rereferral(episodes: pd.DataFrame) -> pd.Series:
    """Referrals within 12 months of the child's previous referral [CIN-meth] re-referrals."""
    ordered = _sorted(episodes, ["child", "referral"])
    same = ordered["child"].eq(ordered["child"].shift(1))
    prev = ordered["referral"].shift(1)
    within = same & (ordered["referral"] <= prev + pd.DateOffset(months=12))
    return within.reindex(episodes.index)
