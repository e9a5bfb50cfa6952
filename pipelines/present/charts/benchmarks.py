"""The council against DfE's published statistics: benchmarks, donor weights, synthetic gap.

DfE's annual figures are on an axis of years ending 31 March (2026 = the year to 31 March
2026), labelled as financial years ('2025-26').
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipelines.present.charts.style import (
    DARK_BLUE,
    DARK_GREY,
    DARK_PINK,
    FONT,
    ORANGE,
    TURQUOISE,
    add_rollout,
    add_rollout_label,
    as_timestamp,
    band_traces,
    finish,
    from_zero,
    marked_line,
    new_figure,
    rgba,
)
from pipelines.present.wording import fy_label

YEAR_ENDING = "Year ending 31 March"


def year_position(when) -> float | None:
    """Where a date falls on an axis of DfE years (2026 = 31 March 2026): 1 Oct 2019 -> 2019.5."""
    stamp = as_timestamp(when)
    if stamp is None:
        return None
    end = stamp.year + 1 if stamp.month >= 4 else stamp.year
    start, stop = pd.Timestamp(end - 1, 3, 31), pd.Timestamp(end, 3, 31)
    return round(end - 1 + (stamp.normalize() - start).days / (stop - start).days, 3)


def _year_axis(fig: go.Figure, years: Sequence[int], title: str) -> None:
    years = sorted({int(y) for y in years})
    # At most 5 labels, never rotated, so they fit a 390 px phone without overlapping.
    step = max(1, math.ceil(len(years) / 5))
    shown = years[::-1][::step][::-1]  # always label the latest year
    fig.update_xaxes(
        tickmode="array",
        tickvals=shown,
        ticktext=[fy_label(y) for y in shown],
        tickangle=0,
        title_text=title,
    )


def benchmark_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    source: str,
    council_name: str,
    region_name: str | None = None,
    rollout_date=None,
    y_title: str = "Rate per 10,000 children aged 0 to 17",
    unit: str = "per 10,000",
    decimals: int = 0,
) -> go.Figure:
    """A council against England, its region and its statistical neighbours, year by year.

    `frame` has time_period (DfE year: 2026 is the year ending 31 March 2026), council,
    england, region, neighbours_median, neighbours_min and neighbours_max (the table of
    `pipelines.analysis.benchmark_analysis`). The neighbours' range is a shaded band; every
    line has its own dash and marker as well as its colour. The rollout is marked when known.
    """
    data = frame.sort_values("time_period")
    x = data["time_period"].astype(int)
    fmt = f"%{{y:,.{decimals}f}}" + ("%" if unit == "%" else "")
    fig = new_figure()
    if data["neighbours_min"].notna().any():
        fig.add_traces(
            band_traces(
                x,
                data["neighbours_min"],
                data["neighbours_max"],
                name="Neighbours: lowest to highest",
                color=TURQUOISE,
                opacity=0.16,
            )
        )
    lines = (
        ("neighbours_median", "Neighbours: median", TURQUOISE, "dash", "square", 2),
        ("region", region_name or "Region", ORANGE, "dashdot", "triangle-up", 2),
        ("england", "England", DARK_GREY, "dot", "diamond", 2),
        ("council", council_name, DARK_BLUE, "solid", "circle", 3),
    )
    for column, name, color, dash, symbol, width in lines:
        if column not in data or data[column].isna().all():
            continue
        line = {"color": color, "dash": dash, "width": width}
        hover = f"{name}<br>year ending March %{{x}}: {fmt}<extra></extra>"
        size = 8 if column == "council" else 7
        fig.add_trace(marked_line(x, data[column], name, line, symbol, size, hover))
    _year_axis(fig, x, YEAR_ENDING)
    return finish(
        fig,
        title,
        source,
        rollout=year_position(rollout_date),
        y_axis=from_zero(y_title),
        x_axis={"range": [x.min() - 0.4, x.max() + 0.4]} if len(x) else None,
    )


def donor_weights_chart(
    weights: pd.DataFrame,
    *,
    title: str,
    source: str,
    name_col: str = "la_name",
    weight_col: str = "weight",
    min_weight: float = 0.005,
) -> go.Figure:
    """Horizontal bars of the synthetic control's donor weights, largest at the top, each
    labelled with its percentage (donors under `min_weight` are grouped in one bar)."""
    data = weights.sort_values(weight_col, ascending=False)
    big = data[data[weight_col] >= min_weight]
    small = data[data[weight_col] < min_weight]
    # Short names keep the axis narrow enough for a phone (full names are in the table).
    names = [n if len(n) <= 18 else n[:17] + "…" for n in big[name_col].astype(str)]
    values = (big[weight_col] * 100).tolist()
    if len(small):
        names.append(f"{len(small)} other neighbour{'s' if len(small) != 1 else ''}")
        values.append(float(small[weight_col].sum() * 100))
    fig = go.Figure(
        go.Bar(
            x=values[::-1],
            y=names[::-1],
            orientation="h",
            marker={"color": DARK_BLUE},
            text=[f"{v:.0f}%" for v in values[::-1]],
            textposition="outside",
            cliponaxis=False,
            name="Weight",
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
        )
    )
    fig.update_layout(showlegend=False, bargap=0.3)
    fig = finish(
        fig,
        title,
        source,
        x_axis={"title_text": "Weight (%)", "range": [0, 115]},
        height=170 + 32 * len(names),
    )
    # A fixed left margin that fits the names, with the source line moved to match it.
    left = min(150, 20 + 7 * max((len(n) for n in names), default=4))
    fig.update_yaxes(title_text="", automargin=False, tickfont={"size": 12})
    fig.update_layout(margin={"l": left, "t": fig.layout.margin.t - 40})
    for note in fig.layout.annotations:
        if note.name == "source":
            note.xshift = -(left - 12)
    return fig


def synth_gap_chart(
    path: pd.DataFrame,
    *,
    title: str,
    source: str,
    council_name: str,
    treatment_year: int,
    y_title: str = "Rate per 10,000",
    unit: str = "per 10,000",
) -> go.Figure:
    """The synthetic control: the council against its synthetic comparison (top) and the gap
    between them (bottom), with the first year after the programme marked.

    `path` has time, treated, synthetic, gap and period ('pre' / 'post'), as in
    `pipelines.stats.synth.SyntheticControlResult.path`.
    """
    data = path.sort_values("time")
    x = data["time"].astype(int)
    suffix = "%" if unit == "%" else ""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.58, 0.42],
        vertical_spacing=0.16,  # the lower panel's title clear of the upper panel's axis
        subplot_titles=[f"{council_name} and its synthetic comparison", "Gap (actual - synthetic)"],
    )
    for column, name, line, symbol, size in (
        ("treated", council_name, {"color": DARK_BLUE, "width": 3}, "circle", 8),
        ("synthetic", "Synthetic", {"color": TURQUOISE, "width": 2, "dash": "dash"}, "square", 7),
    ):
        hover = f"{name}<br>%{{x}}: %{{y:.1f}}{suffix}<extra></extra>"
        fig.add_trace(marked_line(x, data[column], name, line, symbol, size, hover), row=1, col=1)
    _add_gap_bars(fig, data, suffix)
    fig.add_hline(y=0, line_color=DARK_GREY, line_width=1, row=2, col=1, name="no-gap")
    _mark_treatment(fig, treatment_year)
    _year_axis(fig, x, YEAR_ENDING)
    fig.update_xaxes(title_text="", row=1, col=1)
    fig.update_yaxes(title_text=y_title, row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="Gap", row=2, col=1, zeroline=False)
    fig.update_annotations(font={"family": FONT})
    titles = {f"{council_name} and its synthetic comparison", "Gap (actual - synthetic)"}
    fig.for_each_annotation(  # the panel titles (not the rollout label) left-aligned, clear
        lambda note: (
            note.update(x=0, xanchor="left", yshift=4, font={"size": 13, "color": "#0B0C0C"})
            if note.text in titles
            else None
        )
    )
    fig = finish(fig, title, source, height=640)
    fig.update_layout(margin={"t": fig.layout.margin.t + 24})  # room for the panel titles
    return fig


def _add_gap_bars(fig: go.Figure, data: pd.DataFrame, suffix: str) -> None:
    """The gap before (pale) and after (solid and hatched, not colour alone) the programme."""
    for period, label, color in (
        ("pre", "Gap before", DARK_GREY),
        ("post", "Gap after (hatched)", DARK_PINK),
    ):
        part = data[data["period"] == period]
        if part.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=part["time"].astype(int),
                y=part["gap"],
                name=label,
                marker={
                    "color": rgba(color, 0.35) if period == "pre" else color,
                    "line": {"color": color, "width": 1.5},
                    "pattern": {"shape": "" if period == "pre" else "/"},
                },
                hovertemplate=f"{label}<br>%{{x}}: %{{y:+.1f}}{suffix}<extra></extra>",
            ),
            row=2,
            col=1,
        )


def _mark_treatment(fig: go.Figure, treatment_year: int) -> None:
    """The programme's first year marked in both panels, labelled once ('After: 2020-21 on')."""
    start = treatment_year - 0.5
    add_rollout(fig, start, row=1, col=1)
    add_rollout(fig, start, row=2, col=1)
    add_rollout_label(fig, start, f"After: {fy_label(treatment_year)} on")
