"""Pieces more than one section uses: the report year shaded on a time chart, the sentence
for a method that could not run, and the SPC sub-section."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from pipelines.present import charts
from pipelines.present.wording import fy_label
from pipelines.report.options import year_window
from pipelines.report.tables import Block, Builder

SPC_HEADING = "Statistical process control (SPC)"
SPC_COLUMNS = ("date", "value", "mean", "lpl", "upl", "point_type")


def highlight_year(fig: go.Figure, year: int) -> go.Figure:
    """Shade the report's financial year on a time chart, labelled '2025-26'."""
    start, end = year_window(year)
    fig.add_vrect(
        x0=pd.Timestamp(start),
        x1=pd.Timestamp(end),
        fillcolor="#28A197",
        opacity=0.12,
        line_width=0,
        layer="below",
        annotation_text=f"{fy_label(year)}",
        annotation_position="bottom left",
        annotation_font={"size": 11, "color": "#1D6F69"},
        name="report-year",
    )
    return fig


def could_not_run(what: str, notes: Mapping[str, str], key: str) -> str:
    """'The SPC chart could not run: <the analysis's reason>.'"""
    return f"The {what} could not run: " + notes.get(key, "not enough data.")


def spc_block(
    b: Builder,
    block_id: str,
    spc,
    points: pd.DataFrame,
    *,
    what: str,
    value_name: str,
    source: str,
    caption: str,
    table_caption: str,
    **chart_options,
) -> Block:
    """An XmR chart of `points` (an `XmrResult`'s, perhaps rescaled), titled by its variation
    icon in words, with its points and limits in the appendix. `chart_options` go to
    `charts.spc_chart` (rollout date, target, y axis title)."""
    block = Block(block_id, SPC_HEADING)
    title = f"{charts.variation_label(spc.variation_icon)[2:]}: {what}"
    fig = charts.spc_chart(
        points,
        title=title,
        source=source,
        variation_icon=spc.variation_icon,
        assurance_icon=spc.assurance_icon,
        **chart_options,
    )
    cols = [c for c in SPC_COLUMNS if c in points]
    table = points[cols].rename(columns={"value": value_name})
    block.charts.append(b.chart(fig, block_id, title, caption, table, table_caption))
    return block
