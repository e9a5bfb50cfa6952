"""Global filters (area, unit, measure, time grain, period range) kept in the URL.

The filters live in the sidebar and in `st.query_params`, so a view can be shared as a link:
`?area=E06999901&unit=Ashby&measure=cpp_starts&grain=quarter&from=2018-03-31&to=2026-06-30`.

`resolve_filters` is a pure function (tested without Streamlit): it turns query parameters into
valid `Filters`, falling back to a default for anything it does not recognise and returning a
plain-English notice for each fallback. It never raises.

Pages read the current view with `context()`; `app.py` builds it once per run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from pipelines.measures import GRAIN_LABELS, GRAINS, MEASURES, UNIT_ALL

DEFAULT_MEASURE = "cla_at_period_end"
DEFAULT_GRAIN = "quarter"
PARAMS = ("area", "unit", "measure", "grain", "from", "to")


@dataclass(frozen=True)
class Filters:
    area: str
    unit: str = UNIT_ALL
    measure: str = DEFAULT_MEASURE
    grain: str = DEFAULT_GRAIN
    start: dt.date | None = None
    end: dt.date | None = None

    def to_params(self, default_area: str | None = None) -> dict[str, str]:
        """Query parameters for this view (defaults left out to keep links short)."""
        params = {"area": self.area}
        if self.unit != UNIT_ALL:
            params["unit"] = self.unit
        params["measure"] = self.measure
        params["grain"] = self.grain
        if self.start:
            params["from"] = self.start.isoformat()
        if self.end:
            params["to"] = self.end.isoformat()
        return params

    @property
    def x_range(self) -> tuple[dt.date | None, dt.date | None]:
        return (self.start, self.end)


@dataclass
class Context:
    """Everything a page needs about the current view."""

    path: str
    version: str
    filters: Filters
    area_name: str
    unit_label: str
    measure_label: str
    rollout_date: dt.date | None
    last_upload: dt.datetime | None
    periods: list[dt.date] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _first(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    return str(value)


def _parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def period_label(value: dt.date, grain: str) -> str:
    """'Jun 2026' for months and quarters (the period's end); '2025-26' for financial years."""
    value = pd.Timestamp(value)
    if grain == "financial_year":
        end = value.year if value.month <= 3 else value.year + 1
        return f"{end - 1}-{end % 100:02d}"
    if grain == "quarter":
        start = (value - pd.DateOffset(months=2)).strftime("%b")
        return f"{start}–{value:%b %Y}"
    return f"{value:%b %Y}"


def resolve_filters(
    params: Mapping[str, object],
    *,
    areas: Sequence[str],
    units: Callable[[str], Sequence[str]],
    periods: Callable[[str, str, str, str], Sequence[dt.date]],
) -> tuple[Filters, list[str]]:
    """Valid filters from query parameters, with a notice for each value that was not valid.

    `units(area)` lists the units of an area; `periods(area, measure, unit, grain)` lists the
    period ends available. An empty `areas` is the caller's empty state, not handled here.
    """
    notices: list[str] = []
    get = {name: _first(params.get(name)) for name in PARAMS}

    area = get["area"]
    if area is None or area not in areas:
        if area is not None:
            notices.append(
                f"The area '{area}' in the link is not in the warehouse; showing {areas[0]}."
            )
        area = areas[0]

    unit = get["unit"] or UNIT_ALL
    available_units = list(units(area))
    if unit not in available_units:
        notices.append(f"The unit '{unit}' is not known for this area; showing all units.")
        unit = (
            UNIT_ALL if UNIT_ALL in available_units or not available_units else available_units[0]
        )

    measure = get["measure"] or DEFAULT_MEASURE
    if measure not in MEASURES:
        notices.append(
            f"The measure '{measure}' is not one rp-impact knows; showing "
            f"{MEASURES[DEFAULT_MEASURE].label.lower()}."
        )
        measure = DEFAULT_MEASURE

    grain = get["grain"] or DEFAULT_GRAIN
    if grain not in GRAINS:
        notices.append(
            f"The time grain '{grain}' is not available (use month, quarter or financial_year); "
            "showing quarters."
        )
        grain = DEFAULT_GRAIN

    filters = Filters(area=area, unit=unit, measure=measure, grain=grain)
    return clamp_period(
        filters, periods(area, measure, unit, grain), get["from"], get["to"], notices
    )


def clamp_period(
    filters: Filters,
    available: Sequence[dt.date],
    start_text: str | dt.date | None,
    end_text: str | dt.date | None,
    notices: list[str],
) -> tuple[Filters, list[str]]:
    """Snap a requested period range onto the available periods (whole range if invalid)."""
    dates = sorted(pd.Timestamp(d).date() for d in available)
    if not dates:
        return replace(filters, start=None, end=None), notices
    start = start_text if isinstance(start_text, dt.date) else _parse_date(start_text)
    end = end_text if isinstance(end_text, dt.date) else _parse_date(end_text)
    bad = (start_text and start is None) or (end_text and end is None)
    if start and end and start > end:
        bad = True
    if bad:
        notices.append("The period range in the link was not valid; showing every period.")
        start = end = None
    start = next((d for d in dates if d >= start), dates[-1]) if start else dates[0]
    end = next((d for d in reversed(dates) if d <= end), dates[0]) if end else dates[-1]
    if start > end:
        notices.append("The period range in the link has no data; showing every period.")
        start, end = dates[0], dates[-1]
    return replace(filters, start=start, end=end), notices


def grain_label(grain: str) -> str:
    return GRAIN_LABELS.get(grain, grain)


# -- pages and roles ---------------------------------------------------------------------------
# Which of these pages a user may open is decided by `dashboard.auth.can_open` (roles in
# `pipelines.auth`); the router registers only those pages.


@dataclass(frozen=True)
class PageSpec:
    key: str
    section: str
    title: str
    file: str
    icon: str
    uses_filters: bool = True


PAGES: tuple[PageSpec, ...] = (
    PageSpec("board", "Board", "Board summary", "views/board.py", ":material/dashboard:"),
    PageSpec(
        "report", "Board", "Annual report", "views/report_page.py", ":material/description:", False
    ),
    PageSpec("trends", "Explore", "Trends", "views/trends.py", ":material/show_chart:"),
    PageSpec("cohorts", "Explore", "Cohorts", "views/cohorts.py", ":material/groups:"),
    PageSpec("training", "Explore", "Training", "views/training.py", ":material/school:"),
    PageSpec("practice", "Explore", "Practice", "views/practice.py", ":material/diversity_3:"),
    PageSpec(
        "benchmarks",
        "Explore",
        "Benchmarks",
        "views/benchmarks.py",
        ":material/leaderboard:",
        False,
    ),
    PageSpec("upload", "Data", "Upload", "views/upload.py", ":material/upload_file:", False),
    PageSpec(
        "quality", "Data", "Data quality & methods", "views/quality.py", ":material/rule:", False
    ),
)

# -- Streamlit glue ----------------------------------------------------------------------------

_CONTEXT_KEY = "_rp_context"


def set_context(ctx: Context | None) -> None:
    import streamlit as st

    st.session_state[_CONTEXT_KEY] = ctx


def context() -> Context | None:
    """The current view, built by app.py before the page runs (None when there is no data)."""
    import streamlit as st

    return st.session_state.get(_CONTEXT_KEY)


def viewed_area() -> str | None:
    """The area the viewer has chosen (None before any data, when pages have no context)."""
    ctx = context()
    return None if ctx is None else ctx.filters.area
