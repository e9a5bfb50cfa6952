"""Helpers every page shares: the page header, empty states and chart + data blocks."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd
import streamlit as st

from dashboard import charts
from dashboard.state import Context, context, period_label
from pipelines import config
from pipelines.marts import GRAIN_LABELS

# Counts and the columns derived from them, for disclosure control in tables and downloads.
RATE_DERIVED = {"value": ("rate_per_10k", "rate_lower", "rate_upper")}


def empty_state(title: str, why: str, what: str, icon: str = ":material/info:") -> None:
    """A plain-English empty state: what is missing, why, and what to do."""
    st.info(f"**{title}**\n\n{why}\n\n**What to do:** {what}", icon=icon)


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


def source(ctx: Context, dataset: str = "outcomes extracts", population: str | None = None) -> str:
    return charts.source_line(dataset, ctx.last_upload, population)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "data"


def in_range(frame: pd.DataFrame, ctx: Context, column: str = "period_end") -> pd.DataFrame:
    """Rows inside the period range chosen in the sidebar."""
    f = ctx.filters
    if frame.empty or column not in frame or not (f.start and f.end):
        return frame
    dates = pd.to_datetime(frame[column])
    return frame[(dates >= pd.Timestamp(f.start)) & (dates <= pd.Timestamp(f.end))]


def chart_block(
    fig,
    table: pd.DataFrame,
    *,
    key: str,
    file_name: str,
    count_cols: Iterable[str] = (),
    derived: dict[str, Iterable[str]] | None = None,
    caption: str = "",
) -> None:
    """A chart with the data behind it (disclosure-controlled) and a CSV download."""
    st.plotly_chart(fig, width="stretch", key=f"chart-{key}", config={"displaylogo": False})
    if caption:
        st.caption(caption)
    threshold = config.suppression_threshold()
    with st.expander("Data behind this chart (table and CSV download)"):
        shown = charts.disclosure_control(table, count_cols, derived, threshold)
        st.dataframe(shown, hide_index=True, width="stretch")
        st.download_button(
            "Download CSV",
            charts.csv_bytes(table, count_cols, derived, threshold),
            file_name=f"{slug(file_name)}.csv",
            mime="text/csv",
            key=f"download-{key}",
            icon=":material/download:",
        )
        st.caption(
            f"Counts from 1 to {threshold} are shown as “c” (and rates made from them are "
            "suppressed) to protect children's privacy."
        )
