"""Helpers every page shares: the page header, empty states and chart + data blocks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

from dashboard.state import Context, context, period_label
from pipelines import config, disclosure
from pipelines.measures import GRAIN_LABELS
from pipelines.present import charts, glossary
from pipelines.present.wording import slug

# Counts and the columns derived from them, for disclosure control in tables and downloads.
RATE_DERIVED = {"value": ("rate_per_10k", "rate_lower", "rate_upper")}


def empty_state(title: str, why: str, what: str, icon: str = ":material/info:") -> None:
    """A plain-English empty state: what is missing, why, and what to do."""
    st.info(f"**{title}**\n\n{why}\n\n**What to do:** {what}", icon=icon)


def select_area(container, codes: list[str], names: dict[str, str], current: str, **options):
    """A select box of councils, each shown as "Name (code)", starting at ``current``."""
    return container.selectbox(
        "Area",
        codes,
        index=codes.index(current),
        format_func=lambda c: f"{names.get(c, c)} ({c})",
        **options,
    )


def require_context() -> Context:
    """The current view, or an empty state (and stop) when the warehouse has no data."""
    ctx = context()
    if ctx is None:
        empty_state(
            "No data yet",
            "The warehouse has no outcome data for any area, so there is nothing to chart.",
            "Go to **Upload** and load your extracts (areas and population first, then "
            "rollout, outcomes and training), or run `rp-impact build` to load the synthetic "
            "sample.",
        )
        st.page_link("views/upload.py", label="Go to Upload", icon=":material/upload_file:")
        st.stop()
    return ctx


def view_caption(ctx: Context) -> str:
    f = ctx.filters
    span = ""
    if f.start and f.end:
        span = f" · {period_label(f.start, f.grain)} to {period_label(f.end, f.grain)}"
    return (
        f"{ctx.area_name} · {ctx.unit_label} · {ctx.measure_label} · "
        f"{GRAIN_LABELS.get(f.grain, f.grain)}{span}"
    )


def header(title: str, ctx: Context | None, intro: str = "") -> None:
    st.title(title)
    if ctx is not None:
        st.caption(view_caption(ctx))
    if intro:
        st.markdown(intro)


def open_page(title: str, intro: str = "", *, caption: bool = True) -> Context:
    """The opening of a page that reads the warehouse: its context, title, view caption, intro.

    Stops with an empty state when the warehouse has no data (:func:`require_context`).
    ``caption=False`` leaves out the line naming the area, unit, measure and periods, for a page
    that does not follow those filters.
    """
    ctx = require_context()
    header(title, ctx if caption else None, intro)
    return ctx


def source(ctx: Context, dataset: str = "outcomes extracts", population: str | None = None) -> str:
    return charts.source_line(dataset, ctx.last_upload, population)


def in_range(frame: pd.DataFrame, ctx: Context, column: str = "period_end") -> pd.DataFrame:
    """Rows inside the period range chosen in the sidebar."""
    f = ctx.filters
    if frame.empty or column not in frame or not (f.start and f.end):
        return frame
    dates = pd.to_datetime(frame[column])
    return frame[(dates >= pd.Timestamp(f.start)) & (dates <= pd.Timestamp(f.end))]


#: Most series drawn on one chart (panels of a small-multiples chart, lines of a line chart).
#: Beyond it a chart is unreadable and slow to draw, so the page offers a choice.
MAX_SERIES = 12


def choose_series(
    names: list[str],
    *,
    noun: str,
    key: str,
    default: list[str] | None = None,
    limit: int = MAX_SERIES,
) -> list[str]:
    """Every series when there are at most `limit`; otherwise a choice of up to 2 x `limit`.

    `default` (else the first `limit`) is what shows until the user picks. The choice only
    appears for warehouses with many localities, so small ones look exactly as before.
    """
    names = list(names)
    if len(names) <= limit:
        return names
    picked = st.multiselect(
        f"{noun.capitalize()} to show ({len(names):,} in all)",
        names,
        default=(default or names)[:limit],
        max_selections=2 * limit,
        key=key,
        help=f"Charts show at most {2 * limit} {noun} at once, so they stay readable.",
    )
    chosen = set(picked)
    return [n for n in names if n in chosen] or (default or names)[:limit]


def spread(names: list[str], group: dict[str, object]) -> list[str]:
    """`names` reordered to take one from each group in turn (e.g. one locality per wave).

    A name without a group (missing, NaN or pandas' NA: a locality with no rollout row) joins
    the group of names without one.
    """
    queues: dict[object, list[str]] = {}
    for name in names:
        key = group.get(name)
        # pd.isna, not `key != key`: pandas' NA compares as NA, whose truth is an error.
        queues.setdefault(None if pd.isna(key) else key, []).append(name)
    out: list[str] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                out.append(queue.pop(0))
    return out


def gate(
    frame: pd.DataFrame,
    count_cols: Iterable[str] = (),
    derived: dict[str, Iterable[str]] | None = None,
    *,
    totals: dict[str, Sequence[str]] | None = None,
    rows: dict[str, object] | None = None,
) -> disclosure.Gated:
    """The disclosure gate (`pipelines.disclosure.gate`) at the configured threshold.

    Give its ``plot`` to the chart builder and the gated frame itself to :func:`chart_block`,
    so the chart, its hover, the table and the CSV hide the same cells.
    """
    return disclosure.gate(
        frame,
        count_cols,
        derived=derived,
        threshold=config.suppression_threshold(),
        totals=totals,
        rows=rows,
    )


#: Plotly's own title is hidden on screen: :func:`chart_block` draws the title as page text at
#: the full width of the page (see ``charts.style.screen_figure``). Style-only, so it takes no
#: space on the page.
_CHART_CSS = """<style>
[data-testid="stPlotlyChart"] .gtitle { display: none; }
</style>"""

#: No mode bar: it covered titles on phones and added eight tab stops per chart; the table
#: and CSV in "Chart data" replace its download, and zoom is the sidebar's period range.
PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False, "scrollZoom": False}


def chart_block(
    fig,
    table: pd.DataFrame | disclosure.Gated,
    *,
    key: str,
    file_name: str,
    count_cols: Iterable[str] = (),
    derived: dict[str, Iterable[str]] | None = None,
    totals: dict[str, Sequence[str]] | None = None,
    columns: Iterable[str] | None = None,
    caption: str = "",
    summary: str = "",
) -> list[str]:
    """A chart with its title, a one-line text alternative, and the data behind it
    (disclosure-controlled) with a CSV download.

    The title is drawn as page text above the chart, at the page's full width; plotly's mode
    bar is off (no toolbar over the title on a phone, no tab stops inside the chart), so the
    chart adds one tab stop: its "Chart data" expander, which holds the table and the CSV.
    ``summary`` is the text alternative (default: :func:`charts.style.chart_summary`, read from
    the figure), shown under the title.

    ``table`` is a frame (gated here with ``count_cols``, ``derived`` and ``totals``) or what
    :func:`gate` returned for the frame the chart was drawn from; ``columns`` picks the
    columns shown and downloaded. The table on screen, its toolbar's CSV and the download are
    all the gate's ``table``: suppressed cells are "c" and text is formula-escaped.

    Returns the text it drew (title, summary, captions), for the page's glossary.
    """
    if not isinstance(table, disclosure.Gated):
        table = gate(table, count_cols, derived, totals=totals)
    shown = table.table
    if columns is not None:
        shown = shown[[c for c in columns if c in shown.columns]]
    title = charts.style.chart_title(fig)
    summary = f"Chart summary: {summary or charts.style.chart_summary(fig)}"
    st.html(_CHART_CSS)
    if title:
        st.markdown(f"**{_escape_markdown(title)}**")
    subtitle = charts.style.chart_subtitle(fig)
    if subtitle:
        st.markdown(_escape_markdown(subtitle))
    st.caption(summary)
    st.plotly_chart(
        charts.style.screen_figure(fig), width="stretch", key=f"chart-{key}", config=PLOTLY_CONFIG
    )
    if caption:
        st.caption(caption)
    threshold = config.suppression_threshold()
    with st.expander("Chart data: table and CSV download"):
        st.dataframe(_as_cells(shown), hide_index=True, width="stretch")
        st.download_button(
            "Download CSV",
            disclosure.to_safe_csv(disclosure.iso_dates(shown)),
            file_name=f"{slug(file_name, 'data')}.csv",
            mime="text/csv",
            key=f"download-{key}",
            icon=":material/download:",
        )
        privacy = (
            f"Counts from 1 to {threshold} are shown as “c” (and rates made from them are "
            "suppressed, and where a total sits beside its parts, the next smallest part too) "
            "to protect children's privacy."
        )
        st.caption(privacy)
    return [title, subtitle, summary, caption, privacy]


def _escape_markdown(text: str) -> str:
    """``text`` with Markdown's emphasis and link characters escaped, to show as written."""
    for char in "\\*_[]`<>$":
        text = text.replace(char, "\\" + char)
    return text


def glossary_expander(terms: Iterable[glossary.Term], label: str = "What these terms mean") -> None:
    """The terms a page uses, each with its plain-English definition, in one expander.

    Give it :func:`pipelines.present.glossary.page_terms` for the page (its fixed terms and
    those found in what it drew). Nothing is drawn for no terms.
    """
    lines = glossary.glossary_lines(terms)
    if lines:
        with st.expander(label, icon=":material/menu_book:"):
            st.markdown("\n".join(f"- {line}" for line in lines))


def safe_table(frame: pd.DataFrame, **options) -> None:
    """`st.dataframe` of ``frame`` with its text formula-escaped (the toolbar's CSV too).

    Every table a page shows goes through here or :func:`headed_table` / :func:`chart_block`:
    the toolbar's "Download as CSV" exports what the table holds.
    """
    st.dataframe(_as_cells(disclosure.escape_frame(frame)), **options)


def _as_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each column that mixes text ("c") and numbers as text throughout.

    Arrow needs one type per column: given a mix, Streamlit logs a traceback and converts the
    column itself. Converting here gives the same cells without the traceback.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype != object:
            continue
        kinds = {type(v) for v in values if not (v is None or v is pd.NA or v != v)}
        if str in kinds and len(kinds) > 1:
            out[column] = [None if v is None or v is pd.NA or v != v else str(v) for v in values]
    return out


#: Plain-English headings for the columns of the Data pages' tables (coverage, upload issues,
#: upload history, DfE revisions), one heading per column name so every table reads alike.
HEADINGS: dict[str, object] = {
    "area_code": "Area",
    "measure": "Measure",
    "first_period": st.column_config.DateColumn("First period", format="D MMM YYYY"),
    "last_period": st.column_config.DateColumn("Last period", format="D MMM YYYY"),
    "periods": "Periods",
    "units": "Units",
    "age_bands": "Age bands",
    "values_present": "Values present",
    "suppressed": "Suppressed cells",
    "upload_id": "Upload",
    "uploaded_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY, HH:mm"),
    "file_name": "File",
    "n_rows": "Rows",
    "n_added": "Added",
    "n_revised": "Revised",
    "n_warnings": "Warnings",
    "n_errors": "Errors",
    "user_name": "By",
    "row_number": "Row",
    "column_name": "Column",
    "message": "Problem",
    "hint": "How to fix",
    "time_period": st.column_config.NumberColumn("Year ending March", format="%d"),
    "geographic_level": "Level",
    "la_name": "Council",
    "earlier_release": "Earlier release",
    "later_release": "Later release",
    "earlier_value": "Earlier figure",
    "later_value": "Later figure",
    "value_change": "Change",
    "earlier_rate_per_10k": "Earlier rate",
    "later_rate_per_10k": "Later rate",
    "earlier_null_reason": "Earlier marker",
    "later_null_reason": "Later marker",
}


def headed_table(frame: pd.DataFrame, *, key: str | None = None, **headings) -> None:
    """A full-width table without the index, its columns headed from :data:`HEADINGS`.

    ``headings`` override a heading for this table only (a column whose name means something
    else here).
    """
    config = {c: HEADINGS[c] for c in frame.columns if c in HEADINGS} | headings
    safe_table(frame, hide_index=True, width="stretch", key=key, column_config=config)
