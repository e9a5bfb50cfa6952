"""What a report can be built for: the financial years with figures, the default year, and the
checks on the options (format, year, area) with messages that say what to do instead.

Financial years are named by their end year, as DfE's `time_period` is: 2026 is 1 April 2025
to 31 March 2026 ('2025-26').
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from pipelines import marts
from pipelines.present.wording import fy_label, month_label
from pipelines.store.warehouse import Warehouse

FORMATS = ("html", "pdf")


class ReportError(ValueError):
    """The report cannot be built for these options (the message says why and what to do)."""


def year_window(year: int) -> tuple[dt.date, dt.date]:
    """The first and last day of the financial year ending 31 March `year`."""
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def financial_year_of(value: Any) -> int:
    """The financial year (by its end year) that a date falls in: 2025-05-31 -> 2026."""
    stamp = pd.Timestamp(value)
    return stamp.year + 1 if stamp.month >= 4 else stamp.year


def available_years(wh: Warehouse, area_code: str) -> list[int]:
    """Financial years (end years, oldest first) with outcome figures for an area."""
    first, last = marts.period_bounds(wh, area_code)
    if first is None or last is None:
        return []
    return list(range(financial_year_of(first), financial_year_of(last) + 1))


def default_year(wh: Warehouse, area_code: str) -> int | None:
    """The latest financial year whose last month (March) is loaded, else the latest year."""
    first, last = marts.period_bounds(wh, area_code)
    if last is None:
        return None
    year = financial_year_of(last)
    return year if (last.month == 3 or year - 1 < financial_year_of(first)) else year - 1


def default_partnership_name(wh: Warehouse, area_code: str) -> str:
    """'Northmoor Safeguarding Children Partnership' for the area's name."""
    name = public_area_name(wh, area_code) or marts.area_name(wh, area_code)
    return f"{name} Safeguarding Children Partnership"


def check_format(given: str) -> str:
    """'html' or 'pdf' (any case); any other format is refused."""
    fmt = str(given).lower()
    if fmt not in FORMATS:
        raise ReportError(f"Unknown report format '{given}'. Use 'html' or 'pdf'.")
    return fmt


def public_area_name(wh: Warehouse, area_code: str) -> str | None:
    """The council's name when it has DfE's published figures (and no local outcomes
    extracts are needed for its report: the verdicts rest on the published annual figures),
    else None."""
    from pipelines import benchmarks as dfe_reads

    try:
        council = dfe_reads.resolve_council(wh, area_code)
    except KeyError:
        return None
    name = marts.area_name(wh, area_code)
    return str(council["area_name"]) if name == area_code else name


def check_options(wh: Warehouse, area_code: str, year: int) -> str:
    """The area's name, once the year and the area are known to have figures to report."""
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ReportError(
            f"The year must be the end year of a financial year, such as 2026 for 2025-26 "
            f"(got {year!r})."
        )
    areas = marts.areas(wh)
    if area_code not in set(areas["area_code"]):
        public = public_area_name(wh, area_code)
        if public is not None:
            return public
        known = ", ".join(
            f"{c} ({n})" for c, n in zip(areas.area_code, areas.area_name, strict=True)
        )
        raise ReportError(
            f"The area '{area_code}' has no outcome data in the warehouse. "
            + (f"Areas with data: {known}." if known else "Load outcome extracts first.")
        )
    first, last = marts.period_bounds(wh, area_code)
    start, end = year_window(year)
    if first is None or last is None or last < start or first > end:
        span = f"{month_label(first)} to {month_label(last)}" if first and last else "none"
        first_year = financial_year_of(first) if first else None
        last_year = financial_year_of(last) if last else None
        raise ReportError(
            f"There are no outcome figures for {marts.area_name(wh, area_code)} in "
            f"{fy_label(year)} (1 April {year - 1} to 31 March {year}). Periods loaded: {span}."
            + (
                f" Choose a year from {first_year} to {last_year}."
                if first_year and last_year
                else ""
            )
        )
    return marts.area_name(wh, area_code)
