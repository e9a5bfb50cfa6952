"""Calendar helpers and DfE-style rounding for the sample generator."""

from __future__ import annotations

import calendar
import math
from datetime import date

from pipelines.sample.params import POPULATION_YEARS, SAMPLE_END, SAMPLE_START, WAVES


def wave_of(unit: str) -> int:
    """The rollout wave of a locality."""
    for wave, (_, units) in WAVES.items():
        if unit in units:
            return wave
    raise KeyError(unit)


def rollout_start(unit: str) -> date:
    return WAVES[wave_of(unit)][0]


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months() -> list[tuple[int, int]]:
    out = []
    y, m = SAMPLE_START.year, SAMPLE_START.month
    while (y, m) <= (SAMPLE_END.year, SAMPLE_END.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _months_since(year: int, month: int, start: date) -> int:
    """Months from the first month on/after ``start`` (month 0) to (year, month)."""
    first = start if start.day == 1 else _add_months(start.replace(day=1), 1)
    return (year - first.year) * 12 + (month - first.month)


def _quarter_end_month(month: int) -> int:
    return ((month - 1) // 3 + 1) * 3


def _fy_end(year: int, month: int) -> int:
    return year + 1 if month >= 4 else year


def _pop_year(year: int, month: int) -> int:
    """Latest mid-year estimate at or before the month (capped at the last estimate)."""
    y = year if month >= 7 else year - 1
    return min(max(y, POPULATION_YEARS[0]), POPULATION_YEARS[-1])


def _round_half_up(x: float, ndigits: int = 0) -> float:
    f = 10**ndigits
    return math.floor(x * f + 0.5 + 1e-9) / f


def _fmt_num(x: float, ndigits: int) -> str:
    """DfE style: rounded half up, no trailing '.0' (e.g. 13, 24.5)."""
    v = _round_half_up(x, ndigits)
    if ndigits == 0 or v == int(v):
        return str(int(v))
    return f"{v:.{ndigits}f}"


def _round10(x: float) -> int:
    return int(_round_half_up(x / 10) * 10)
