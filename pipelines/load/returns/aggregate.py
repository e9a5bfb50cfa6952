"""Child-level frames in memory → `outcomes` rows at month grain, by unit and age band.

The output has the outcomes contract's key (period_end, area_code, unit, age_band) with an
`All` age band (every child, whatever the band) and an `All` unit (every child, placed or
not), as the sample and DfE's tables have. Every month of the collection years read is
written, 0 where nothing happened: a return is complete for its year, so 0 is a count.

The counting is vectorised: a flow is one `bincount` over (month, unit, age band); a stock at
each month end explodes each period (or plan) into the month ends it spans, with the age band
taken at each of them (`definitions.age_at_month_end`), so a child moves up a band as they
grow older. No loop runs over children; the year-end measures loop over the 31 Marches only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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


def _dob_parts(dob) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each DOB as (month index, day of month, known), for `_bands`."""
    values = pd.to_datetime(pd.Series(dob)).to_numpy(dtype="datetime64[D]")
    known = ~np.isnat(values)
    values = np.where(known, values, np.datetime64("2000-01-01", "D"))
    month = values.astype("datetime64[M]")
    day = (values - month.astype("datetime64[D]")).astype("int64") + 1
    return month.astype("int64") + 1970 * 12, day, known


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


#: Exploded (interval, month end) rows counted at a time by `stock_counts`, to bound memory.
STOCK_CHUNK = 2_000_000


def stock_counts(start, end, dob, unit: np.ndarray, grid: Grid) -> np.ndarray:
    """Open intervals at each month end: start ≤ month end < end (end NaT: still open).

    Each interval is exploded into the month ends it spans (a chunk of intervals at a time),
    with the age band taken at each of them."""
    empty = np.zeros(0, "int64")
    counts = _bincount(empty, empty, empty, grid)
    if not len(grid.months):
        return counts
    first = d.month_index(pd.Series(start).reset_index(drop=True))
    end_month = d.month_index(pd.Series(end).reset_index(drop=True))
    last = np.where(end_month < 0, grid.months[-1], end_month - 1)
    first = np.maximum(first, grid.months[0])
    last = np.minimum(last, grid.months[-1])
    lengths = np.where(first >= 0, np.maximum(last - first + 1, 0), 0)
    parts = _dob_parts(dob)
    unit = np.asarray(unit)
    ends = np.cumsum(lengths)
    begin = 0
    while begin < len(lengths):
        stop = int(np.searchsorted(ends, ends[begin] - lengths[begin] + STOCK_CHUNK, "right"))
        stop = max(stop, begin + 1)
        chunk = lengths[begin:stop]
        rows = np.repeat(np.arange(begin, stop), chunk)
        offsets = np.arange(len(rows)) - np.repeat(np.cumsum(chunk) - chunk, chunk)
        month = first[rows] + offsets
        counts += _bincount(grid.position(month), unit[rows], _bands(parts, month, rows), grid)
        begin = stop
    return counts


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
    period_dob = periods["child"].map(dob)
    reentry = d.reentered_within_12_months(periods).to_numpy()
    counts = {
        "cla_at_period_end": stock_counts(periods["start"], periods["end"], period_dob, unit, grid),
        "cla_starts": flow_counts(periods["start"], period_dob, unit, grid),
        "cla_ceased": flow_counts(periods["end"], period_dob, unit, grid),
    }
    extra = {
        "cla_reentry_starts": flow_counts(periods["start"].where(reentry), period_dob, unit, grid),
        **_year_end_stability(periods, counted, dob, unit, grid),
    }
    return to_frame(counts, grid, area_code), to_frame(extra, grid, area_code)


def _year_end_stability(periods, episodes, dob, unit, grid: Grid) -> dict[str, np.ndarray]:
    """The 31 March measures, computed on each 31 March in the grid (NaN in other months)."""
    n_bands = len(d.AGE_BANDS) + 1
    shape = (len(grid.months), grid.n_units, n_bands)
    arrays = {name: np.zeros(shape) for name in CLA_EXTRA[1:]}
    march = (grid.months % 12) == 2
    placement_rows = d.placements(episodes)
    unit_by_period = pd.Series(unit, index=periods.index)
    for position in np.flatnonzero(march):
        at = pd.Timestamp(d.month_end_of(grid.months[position : position + 1])[0])
        current = periods.loc[d.looked_after_at(periods, at)]
        slots = unit_by_period.loc[current.index].to_numpy()
        bands = _band_slots(current["child"].map(dob), np.full(len(current), grid.months[position]))
        # Both measures look only at the periods open on the date and at the placements open
        # in the year to it: handing them just those rows gives the same answer, faster.
        year_start = at - pd.DateOffset(years=1) + pd.Timedelta(days=1)
        near = placement_rows.loc[
            (placement_rows["start"] <= at)
            & (placement_rows["end"].isna() | (placement_rows["end"] >= year_start))
        ]
        three = d.three_or_more_placements(current, near, at)
        stability = d.long_term_stability(current, near, dob, at)
        flags = {
            "cla_3plus_placements": current["child"].map(three).fillna(False).to_numpy(bool),
            "cla_long_term_eligible": current["child"]
            .map(stability["eligible"])
            .fillna(False)
            .to_numpy(bool),
            "cla_long_term_stable": current["child"]
            .map(stability["stable"])
            .fillna(False)
            .to_numpy(bool),
        }
        for name, flag in flags.items():
            np.add.at(arrays[name][position], (slots[flag], bands[flag]), 1)
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
