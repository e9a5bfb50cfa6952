"""Pieces more than one section uses: the report year shaded on a time chart, the sentence
for a method that could not run, a chart whose table the disclosure gate has already hidden,
and the SPC sub-section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from pipelines import disclosure
from pipelines.present import charts
from pipelines.present.wording import fy_label
from pipelines.report.options import year_window
from pipelines.report.tables import Block, Builder, Chart, _suppression_note

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


def gated_chart(
    b: Builder,
    fig: go.Figure,
    key: str,
    title: str,
    caption: str,
    gated: disclosure.Gated,
    columns: Sequence[str],
    table_caption: str = "",
    rename: Mapping[str, str] | None = None,
    **table_options,
) -> Chart:
    """`Builder.chart` with the table of `columns` as the disclosure gate left it (`gated`:
    a view of the dashboard's one decision, `pipelines.present.cube`), its hidden cells "c".

    The builder's own suppression still runs over the table (`table_options`: count columns,
    derived), and the cells the gate hid count as suppressed in the table's note and the
    report's total, as the builder's own do."""
    columns = [c for c in columns if c in gated.table]
    table = gated.table[columns].rename(columns=dict(rename or {}))
    chart = b.chart(fig, key, title, caption, table, table_caption, **table_options)
    if chart.table is None:
        return chart
    # the builder counts the cells it turned into "c"; these came in as "c" from the gate
    hidden = int(sum((table[c].astype(object) == disclosure.SUPPRESSED).sum() for c in table))
    if hidden:
        b.suppressed += hidden
        chart.table.n_suppressed += hidden
        total = chart.table.n_suppressed
        chart.table.note = " ".join(
            n for n in (table_options.get("note", ""), _suppression_note(total, b.threshold)) if n
        )
        # numbers still read as numbers (aligned), as in a table the builder suppressed
        plot = gated.plot[columns]
        chart.table.numeric = [
            pd.api.types.is_numeric_dtype(plot[c]) and not pd.api.types.is_bool_dtype(plot[c])
            for c in columns
        ]
    return chart


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
    gated=None,
    **chart_options,
) -> Block:
    """An XmR chart of `points` (an `XmrResult`'s, perhaps rescaled), titled by its variation
    icon in words, with its points and limits in the appendix. `chart_options` go to
    `charts.spc_chart` (rollout date, target, y axis title).

    `gated` (a `charts.tables.GatedSpc`, the chart through the disclosure gate) replaces `spc`
    and `points`: the chart over the periods shown, its hidden periods gaps in the chart and
    "c" in the table, and the caption says so."""
    block = Block(block_id, SPC_HEADING)
    if gated is not None:
        spc, points = gated, gated.plot
        caption = " ".join(c for c in (caption, gated.caption) if c)
    icon = spc.variation_icon
    title = f"{charts.variation_label(icon)[2:] if icon else 'No SPC assessment'}: {what}"
    fig = charts.spc_chart(
        points,
        title=title,
        source=source,
        variation_icon=icon,
        assurance_icon=spc.assurance_icon,
        **chart_options,
    )
    cols = [c for c in SPC_COLUMNS if c in points]
    rename = {"value": value_name}
    if gated is not None:
        chart = gated_chart(b, fig, block_id, title, caption, gated, cols, table_caption, rename)
    else:
        table = points[cols].rename(columns=rename)
        chart = b.chart(fig, block_id, title, caption, table, table_caption)
    block.charts.append(chart)
    return block
