"""What every question in :mod:`pipelines.analysis` shares.

- :class:`ReadOnce` / :func:`read_once`: one consistent, read-once view of the warehouse for a
  call that asks several questions (the board's findings);
- :func:`attempt`: run a method, and turn a :class:`~pipelines.stats.errors.StatsInputError`
  into a plain-English note instead of a traceback;
- :func:`source_line`, :func:`measure_label`, :func:`place_name`: the words around a result;
- :func:`check_measure`, and ``RATE_COLUMNS`` (the columns of a rate read).

The grain tables (``PERIOD_WORD``, ``SEASON_LENGTH``, ``PERIODS_PER_YEAR``) are in
:mod:`pipelines.measures`.

Dates, ordinals, plurals and financial years are worded by :mod:`pipelines.present.wording`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from pipelines import marts
from pipelines.measures import UNIT_ALL, Measure, check_grain, measure
from pipelines.present.wording import is_missing, long_date
from pipelines.stats.errors import StatsInputError
from pipelines.store.warehouse import Warehouse

T = TypeVar("T")

#: The count, its population and the rate per 10,000 with its 95% interval, as the marts give
#: them (`pipelines.marts.outcome_series` / `outcome_panel`).
RATE_COLUMNS = (
    "value",
    "population",
    "population_year",
    "rate_per_10k",
    "rate_lower",
    "rate_upper",
)


class ReadOnce:
    """The warehouse, seen by one multi-method analysis: each distinct read runs once.

    The board's findings read the same series, rollout dates, names and upload dates several
    times over (the headline tiles, the trends, the cohorts and the cost each read them). Within
    one call those reads are taken once and shared (each caller gets its own copy), which also
    gives the whole call one consistent view of the data. Nothing outlives the call.
    """

    def __init__(self, wh: Warehouse):
        self._wh = wh
        self._frames: dict[tuple, pd.DataFrame] = {}

    def query(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        try:
            key = (sql, tuple(params or ()))
            hash(key)
        except TypeError:
            return self._wh.query(sql, params)
        if key not in self._frames:
            self._frames[key] = self._wh.query(sql, params)
        return self._frames[key].copy()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wh, name)


def read_once(wh: Warehouse) -> Warehouse:
    """``wh`` wrapped in :class:`ReadOnce`, unless it already is."""
    return wh if isinstance(wh, ReadOnce) else ReadOnce(wh)  # type: ignore[return-value]


def attempt(notes: dict[str, str], key: str, fn: Callable[[], T]) -> T | None:
    """Run ``fn``; on StatsInputError record its message under ``key`` and return None."""
    try:
        return fn()
    except StatsInputError as exc:
        notes[key] = str(exc)
        return None


def as_date(value: Any) -> dt.date | None:
    """A date from a date, Timestamp or ISO string; None when missing."""
    return None if is_missing(value) else pd.Timestamp(value).date()


def _last_upload(wh: Warehouse, dataset: str) -> dt.date | None:
    when = marts.last_loaded(wh, dataset)
    return None if when is None else when.date()


def source_line(wh: Warehouse, frame: pd.DataFrame | None = None, dataset: str = "outcomes") -> str:
    """The source line for a chart: dataset, last upload date and population years.

    Example: "Source: outcomes extracts (last upload 21 November 2026); rates per 10,000 children
    aged 0–17, mid-year population 2015–2025".
    """
    last = _last_upload(wh, dataset)
    upload = f"last upload {long_date(last)}" if last else "no upload recorded"
    if dataset == "training":
        return (
            f"Source: training extracts ({upload}); staff trained (cumulative) over staff in "
            "scope, all agencies and courses"
        )
    years: list[int] = []
    if frame is not None and "population_year" in frame:
        years = sorted({int(y) for y in frame["population_year"].dropna()})
    if not years:
        pop = "no population loaded"
    elif len(years) == 1:
        pop = f"mid-year population {years[0]}"
    else:
        pop = f"mid-year population {years[0]}–{years[-1]}"
    return f"Source: {dataset} extracts ({upload}); rates per 10,000 children aged 0–17, {pop}"


def check_measure(measure_name: str, grain: str) -> Measure:
    """The measure, after checking the grain; ValueError (plain English) for either unknown."""
    check_grain(grain)
    return measure(measure_name)


def measure_label(name: str) -> str:
    """The measure's plain label for sentences: 'Children looked after', 'CPP starts'."""
    m = measure(name)
    return m.label.replace(" (at period end)", "") if m.is_stock else m.short


def place_name(wh: Warehouse, area_code: str, unit: str) -> str:
    """Where a series was measured: the area's name for "All", else the unit."""
    return marts.area_name(wh, area_code) if unit == UNIT_ALL else unit
