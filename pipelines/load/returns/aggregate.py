"""Child-level frames in memory → `outcomes` rows at month grain, by unit and age band.

The output has the outcomes contract's key (period_end, area_code, unit, age_band) with an
`All` age band (every child, whatever the band) and an `All` unit (every child, placed or
not), as the sample and DfE's tables have. Every month of the collection years read is
written, 0 where nothing happened: a return is complete for its year, so 0 is a count.

The counting is vectorised: a flow is one `bincount` over (month, unit, age band); a stock at
each month end cuts each period (or plan) where the child moves up an age band (the ages of
`definitions.age_at_month_end`) and sums each piece's start and end down the months, so a
child moves up a band as they grow older (`stock_counts`). No loop runs over children; the
year-end measures loop over the 31 Marches only, on arrays (`_year_end_stability`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipelines.load.returns import definitions as d
from pipelines.load.returns.cin import latest_cin_episodes, latest_plans
from pipelines.load.returns.ssda903 import latest_dob, latest_episodes
from pipelines.load.returns.unit_map import UnitMap
from pipelines.measures import UNIT_ALL

CLA_MEASURES = ("cla_at_period_end", "cla_starts", "cla_ceased")
CPP_MEASURES = ("cpp_at_period_end", "cpp_starts", "cpp_ends", "cpp_repeat_starts")
CIN_MEASURES = ("cin_at_period_end", "referrals", "rereferrals")
CLA_EXTRA = (
    "cla_reentry_starts",
    "cla_3plus_placements",
    "cla_long_term_eligible",
    "cla_long_term_stable",
)
CIN_EXTRA = ("cpp_repeat_2y_starts", "cpp_ends_2y_plus")
#: The episode fields the definitions read.
EPISODE_FIELDS = ("child", "decom", "dec", "rne", "ls", "place", "rec", "year", "home_sector")


@dataclass(frozen=True)
class Grid:
    """The months written (month indices, sorted) and the units that have rows of their own."""

    months: np.ndarray
    units: tuple[str, ...]

    @property
    def n_units(self) -> int:  # the mapped units, plus one slot for children not placed
        return len(self.units) + 1

    def position(self, month: np.ndarray) -> np.ndarray:
        """Position of each month index in the grid, −1 outside it."""
        month = np.asarray(month)
        if len(self.months) and self.months[-1] - self.months[0] + 1 == len(self.months):
            at = month - self.months[0]  # no gap in the grid: a subtraction is enough
            return np.where((at >= 0) & (at < len(self.months)), at, -1)
        at = np.searchsorted(self.months, month)
        at = np.clip(at, 0, len(self.months) - 1)
        return np.where(self.months[at] == month, at, -1)


def collection_months(years, last_day: dt.date | None = None) -> np.ndarray:
    """Month indices of every collection year given (April to March), up to `last_day`'s month
    and never past the last complete month before today (future periods are refused)."""
    today = dt.date.today()
    cap = d.month_index(pd.Series([pd.Timestamp(today)]))[0] - 1
    if last_day is not None:
        last = d.month_index(pd.Series([pd.Timestamp(last_day)]))[0]
        # A period_end must be a month end: a day inside a month stops at the month before.
        if pd.Timestamp(last_day) != pd.Timestamp(last_day) + pd.offsets.MonthEnd(0):
            last -= 1
        cap = min(cap, last)
    months = set()
    for year in years:
        start = (int(year) - 1) * 12 + 3  # April of the year before
        months.update(m for m in range(start, start + 12) if m <= cap)
    return np.array(sorted(months), dtype="int64")


def _slot_units(unit_values: pd.Series, grid: Grid) -> np.ndarray:
    """Unit slot of each row: its unit's position, or the last slot when not placed."""
    lookup = {u: i for i, u in enumerate(grid.units)}
    return unit_values.map(lookup).fillna(len(grid.units)).to_numpy(dtype="int64")


class DobParts(NamedTuple):
    """Dates of birth as the counts take them: month index, day of month, and known."""

    month: np.ndarray
    day: np.ndarray
    known: np.ndarray


def _dob_parts(dob) -> DobParts:
    """Each DOB as (month index, day of month, known), for `_bands`. The counts take `dob` as
    dates or as these parts, so several counts of the same rows split the dates once."""
    if isinstance(dob, DobParts):
        return dob
    values = pd.to_datetime(pd.Series(dob)).to_numpy(dtype="datetime64[D]")
    known = ~np.isnat(values)
    values = np.where(known, values, np.datetime64("2000-01-01", "D"))
    month = values.astype("datetime64[M]")
    day = (values - month.astype("datetime64[D]")).astype("int64") + 1
    return DobParts(month.astype("int64") + 1970 * 12, day, known)


def _bands(parts, month: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Band index at each month end (of the DOB `parts[rows]`); band slot 5 (All only) when
    the DOB is unknown."""
    dob_month, dob_day, known = parts if rows is None else (p[rows] for p in parts)
    ages = d.age_from_parts(dob_month, dob_day, month)
    return np.where(known, d.band_codes(ages), len(d.AGE_BANDS))


def _band_slots(dob, month: np.ndarray) -> np.ndarray:
    """Band index at each month end; band slot 5 (All only) when the DOB is unknown."""
    return _bands(_dob_parts(dob), month)


def _bincount(pos: np.ndarray, unit: np.ndarray, band: np.ndarray, grid: Grid) -> np.ndarray:
    n_bands = len(d.AGE_BANDS) + 1
    keep = pos >= 0
    code = (pos[keep] * grid.n_units + unit[keep]) * n_bands + band[keep]
    size = len(grid.months) * grid.n_units * n_bands
    counts = np.bincount(code, minlength=size)
    return counts.reshape(len(grid.months), grid.n_units, n_bands)


def flow_counts(dates, dob, unit: np.ndarray, grid: Grid) -> np.ndarray:
    """Events by the month they fall in, with the age band at that month's end."""
    month = d.month_index(pd.Series(dates).reset_index(drop=True))
    return _bincount(grid.position(month), unit, _band_slots(dob, month), grid)


#: The ages at which a child moves up a band (`definitions.AGE_BANDS`: 1-4 from 1, and so on).
BAND_AGES = (1, 5, 10, 16)


def _band_months(parts: DobParts) -> np.ndarray:
    """For each DOB, the month index of the first month end at which the child is 1, 5, 10
    and 16 (one column each): the birthday's month, or the month after when that month ends
    before the birthday's day (29 February in a year that is not a leap year), as
    `definitions.age_from_parts` counts ages."""
    birthday = parts.month[:, None] + 12 * np.array(BAND_AGES, dtype="int64")
    late = np.flatnonzero(parts.day > 28)  # only a 29th, 30th or 31st can outlast a month
    birthday[late] += parts.day[late, None] > d.days_in_month(birthday[late])
    return birthday


def stock_counts(start, end, dob, unit: np.ndarray, grid: Grid) -> np.ndarray:
    """Open intervals at each month end: start ≤ month end < end (end NaT: still open).

    Each interval is cut where the child moves up an age band (at most four cuts), and each
    piece adds 1 to its band from its first month end and takes 1 away after its last, in a
    table of differences over the months from the grid's first to its last; a running sum
    down the months then gives the counts. The same counts as taking each interval at every
    month end it spans, with the age band at each, without making a row of each."""
    n_bands = len(d.AGE_BANDS) + 1
    empty = np.zeros(0, "int64")
    counts = _bincount(empty, empty, empty, grid)
    if not len(grid.months):
        return counts
    first = d.month_index(pd.Series(start).reset_index(drop=True))
    end_month = d.month_index(pd.Series(end).reset_index(drop=True))
    last = np.where(end_month < 0, grid.months[-1], end_month - 1)
    first = np.maximum(first, grid.months[0])
    last = np.minimum(last, grid.months[-1])
    parts = _dob_parts(dob)
    unit = np.asarray(unit, dtype="int64")
    cuts = _band_months(parts)
    # Piece k (band k) runs from the k-th cut to the month before the next one. A DOB not
    # known has no cut: its one piece is the whole interval, in band slot 5 (All only).
    pieces = [(first, last, len(d.AGE_BANDS), ~parts.known)]
    for band in range(len(BAND_AGES) + 1):
        begin = first if band == 0 else np.maximum(first, cuts[:, band - 1])
        stop = last if band == len(BAND_AGES) else np.minimum(last, cuts[:, band] - 1)
        pieces.append((begin, stop, band, parts.known))
    origin, span = int(grid.months[0]), int(grid.months[-1] - grid.months[0]) + 2
    stride = grid.n_units * n_bands
    change = np.zeros(span * stride, dtype="int64")
    for begin, stop, band, rows in pieces:
        keep = rows & (begin <= stop)
        cell = unit[keep] * n_bands + band
        change += np.bincount((begin[keep] - origin) * stride + cell, minlength=len(change))
        change -= np.bincount((stop[keep] + 1 - origin) * stride + cell, minlength=len(change))
    dense = np.cumsum(change.reshape(span, grid.n_units, n_bands), axis=0)
    return dense[grid.months - origin]


def to_frame(counts: dict[str, np.ndarray], grid: Grid, area_code: str) -> pd.DataFrame:
    """Count arrays [month, unit slot, band slot] → rows with All bands and the All unit."""
    names = list(counts)
    n_bands = len(d.AGE_BANDS)
    unit_labels = [UNIT_ALL, *grid.units]
    band_labels = [UNIT_ALL, *d.AGE_BANDS]
    blocks = {}
    for name, array in counts.items():
        floats = array.astype("float64")
        all_bands = floats.sum(axis=2, keepdims=True)
        with_all = np.concatenate([all_bands, floats[:, :, :n_bands]], axis=2)
        all_units = with_all.sum(axis=1, keepdims=True)
        blocks[name] = np.concatenate([all_units, with_all[:, : len(grid.units), :]], axis=1)
    n_months, n_u, n_b = len(grid.months), len(unit_labels), len(band_labels)
    period_end = pd.to_datetime(d.month_end_of(grid.months)).strftime("%Y-%m-%d")
    frame = pd.DataFrame(
        {
            "period_end": np.repeat(np.asarray(period_end), n_u * n_b),
            "area_code": area_code,
            "unit": np.tile(np.repeat(unit_labels, n_b), n_months),
            "age_band": np.tile(band_labels, n_months * n_u),
        }
    )
    for name in names:
        frame[name] = pd.array(blocks[name].reshape(-1), dtype="float64")
        frame[name] = frame[name].round().astype("Int64")
    return frame


def _mask_counts(array: np.ndarray, mask_months: np.ndarray) -> np.ndarray:
    out = array.astype("float64")
    out[~mask_months] = np.nan
    return out


def _unit_by_child(children: pd.Series, unit_map: UnitMap | None) -> pd.Series:
    if unit_map is None or unit_map.kind != "child":
        return pd.Series([None] * len(children), index=children.index, dtype="object")
    return children.map(unit_map.by_child)


def aggregate_903(
    header: pd.DataFrame,
    episodes: pd.DataFrame,
    grid: Grid,
    area_code: str,
    unit_map: UnitMap | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The CLA measures (contract columns) and the new CLA measures, as two frames."""
    dob = latest_dob(header)
    # The checks' flag columns are not needed here: only the fields the definitions read.
    needed = [c for c in EPISODE_FIELDS if c in episodes.columns]
    counted = d.headline_episodes(latest_episodes(episodes[needed])).reset_index(drop=True)
    periods = d.periods_of_care(counted)
    if unit_map is not None and unit_map.kind == "sector":
        sectors = counted["home_sector"].to_numpy()[periods["first"].to_numpy()]
        units = pd.Series(sectors).map(unit_map.by_sector)
    else:
        units = _unit_by_child(periods["child"], unit_map)
    unit = _slot_units(units.reset_index(drop=True), grid)
    period_dob = _dob_parts(periods["child"].map(dob))  # split once, for every count below
    reentry = d.reentered_within_12_months(periods).to_numpy()
    counts = {
        "cla_at_period_end": stock_counts(periods["start"], periods["end"], period_dob, unit, grid),
        "cla_starts": flow_counts(periods["start"], period_dob, unit, grid),
        "cla_ceased": flow_counts(periods["end"], period_dob, unit, grid),
    }
    extra = {
        "cla_reentry_starts": flow_counts(periods["start"].where(reentry), period_dob, unit, grid),
        **_year_end_stability(periods, counted, period_dob, unit, grid),
    }
    return to_frame(counts, grid, area_code), to_frame(extra, grid, area_code)


def _year_end_stability(periods, episodes, period_dob, unit, grid: Grid) -> dict[str, np.ndarray]:
    """The 31 March measures, computed on each 31 March in the grid (NaN in other months).

    The rules are `definitions.three_or_more_placements` and `.long_term_stability`, taken
    here on arrays for every period at once: the placements are held in child order, so each
    period's child owns one run of them (found once by binary search), and on each 31 March
    a running count of the placements open in the year gives each child's number as one
    subtraction, and the last placement open on the day is found by one binary search."""
    n_bands = len(d.AGE_BANDS) + 1
    march = (grid.months % 12) == 2
    arrays = {name: np.zeros((len(grid.months), grid.n_units, n_bands)) for name in CLA_EXTRA[1:]}
    rows = d.placements(episodes)
    pl_child = rows["child"].to_numpy()
    if len(pl_child) > 1 and (pl_child[1:] < pl_child[:-1]).any():
        rows = rows.iloc[np.argsort(pl_child, kind="stable")]  # each child's in their order
        pl_child = rows["child"].to_numpy()
    pl_start, pl_end = rows["start"].to_numpy(), rows["end"].to_numpy()
    pl_open = np.isnat(pl_end)
    adoption = rows["place"].isin(d.PLACED_FOR_ADOPTION).to_numpy()
    child = periods["child"].to_numpy()
    own_first = np.searchsorted(pl_child, child, "left")
    own_end = np.searchsorted(pl_child, child, "right")
    start, end = periods["start"].to_numpy(), periods["end"].to_numpy()
    parts = _dob_parts(period_dob)
    unit = np.asarray(unit, dtype="int64")
    for position in np.flatnonzero(march):
        month = grid.months[position]
        at = pd.Timestamp(d.month_end_of(grid.months[position : position + 1])[0])
        year_start = at - pd.DateOffset(years=1) + pd.Timedelta(days=1)
        now = np.datetime64(at)
        current = np.flatnonzero((start <= now) & (np.isnat(end) | (end > now)))
        first, stop = own_first[current], own_end[current]
        months = np.full(len(current), month)
        # 3+ placements: those open on some day of the year to 31 March.
        in_year = (pl_start <= now) & (pl_open | (pl_end >= np.datetime64(year_start)))
        running = np.r_[0, np.cumsum(in_year)]
        three = running[stop] - running[first] >= 3
        # Long-term stability: under 16, looked after 2.5 years; same placement 2 years, or
        # placed for adoption. The placement now is the child's last one open on the day.
        ages = d.age_from_parts(parts.month[current], parts.day[current], months)
        eligible = parts.known[current] & (ages < 16)
        eligible &= start[current] <= np.datetime64(at - pd.DateOffset(months=30))
        open_now = np.flatnonzero((pl_start <= now) & (pl_open | (pl_end > now)))
        latest = np.searchsorted(open_now, stop, "left") - 1  # the last one before the run ends
        placed = np.append(open_now, 0)[latest]  # latest −1: none open; a placeholder, masked
        has_one = (latest >= 0) & (placed >= first)
        two_years = has_one & (pl_start[placed] <= np.datetime64(at - pd.DateOffset(years=2)))
        stable = eligible & (two_years | (has_one & adoption[placed]))
        cell = unit[current] * n_bands + _bands(parts, months, current)
        for name, flag in (
            ("cla_3plus_placements", three),
            ("cla_long_term_eligible", eligible),
            ("cla_long_term_stable", stable),
        ):
            counted = np.bincount(cell[flag], minlength=grid.n_units * n_bands)
            arrays[name][position] = counted.reshape(grid.n_units, n_bands)
    return {name: _mask_counts(array, march) for name, array in arrays.items()}


def aggregate_cin(
    plans: pd.DataFrame,
    cin_episodes: pd.DataFrame,
    grid: Grid,
    area_code: str,
    unit_map: UnitMap | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The CPP and CIN measures (contract columns) and the new CPP measures, as two frames."""
    plans = latest_plans(plans.loc[plans["start"].notna()]).reset_index(drop=True)
    unit = _slot_units(_unit_by_child(plans["child"], unit_map).reset_index(drop=True), grid)
    repeat = d.is_repeat_plan(plans).to_numpy()
    within_two = d.repeat_within_two_years(plans).to_numpy()
    long_plans = d.ended_after_two_years(plans).to_numpy()
    episodes = latest_cin_episodes(cin_episodes.loc[cin_episodes["referral"].notna()])
    episodes = episodes.reset_index(drop=True)
    cin_unit = _slot_units(_unit_by_child(episodes["child"], unit_map).reset_index(drop=True), grid)
    in_need = episodes.loc[~episodes["nfa"].astype(bool)]
    counts = {
        "cpp_at_period_end": stock_counts(plans["start"], plans["end"], plans["dob"], unit, grid),
        "cpp_starts": flow_counts(plans["start"], plans["dob"], unit, grid),
        "cpp_ends": flow_counts(plans["end"], plans["dob"], unit, grid),
        "cpp_repeat_starts": flow_counts(plans["start"].where(repeat), plans["dob"], unit, grid),
        "cin_at_period_end": stock_counts(
            in_need["referral"],
            in_need["closure"],
            in_need["dob"],
            cin_unit[in_need.index.to_numpy()],
            grid,
        ),
        "referrals": flow_counts(episodes["referral"], episodes["dob"], cin_unit, grid),
        "rereferrals": flow_counts(
            episodes["referral"].where(d.is_rereferral(episodes).to_numpy()),
            episodes["dob"],
            cin_unit,
            grid,
        ),
    }
    extra = {
        "cpp_repeat_2y_starts": flow_counts(
            plans["start"].where(within_two), plans["dob"], unit, grid
        ),
        "cpp_ends_2y_plus": flow_counts(plans["end"].where(long_plans), plans["dob"], unit, grid),
    }
    return to_frame(counts, grid, area_code), to_frame(extra, grid, area_code)
