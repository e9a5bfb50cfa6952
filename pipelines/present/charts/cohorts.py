"""Comparisons between groups: small multiples, an indexed chart, event time, event study.

Groups are localities, age bands or rollout waves. Where several share one chart each has its
own colour, dash and marker (`style.numbered_line`); small multiples share one y scale so the
panels compare fairly.
"""

from __future__ import annotations

import copy
import functools
import json
import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipelines import disclosure
from pipelines.present.charts.style import (
    DARK_BLUE,
    DARK_GREY,
    DARK_PINK,
    FONT,
    PALETTE,
    X_AXIS_STYLE,
    Y_AXIS_STYLE,
    as_timestamp,
    band_traces,
    finish,
    from_zero,
    new_figure,
    numbered_line,
)
from pipelines.present.charts.timeseries import PERIOD_ENDING


@functools.lru_cache(maxsize=32)
def _grid_layout(rows: int, columns: int, panels: int, vertical_spacing: float) -> str:
    """make_subplots' layout for a grid (axes, domains, one title slot per panel), as JSON.

    Building the grid is most of a small-multiples chart's cost and depends only on its
    shape, so it is built once per shape; the titles are placeholders ("0", "1", ...).
    """
    fig = make_subplots(
        rows=rows,
        cols=columns,
        shared_yaxes="all",  # one scale for every panel, so panels compare fairly
        subplot_titles=[str(n) for n in range(panels)],
        vertical_spacing=vertical_spacing,
        horizontal_spacing=0.04,
    )
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    return json.dumps(layout)


def small_multiples(
    frame: pd.DataFrame,
    *,
    title: str,
    source: str,
    series_col: str = "series",
    date_col: str = "period_end",
    value_col: str = "rate_per_10k",
    lower_col: str | None = "rate_lower",
    upper_col: str | None = "rate_upper",
    rollout_col: str | None = "start_date",
    rollout_date=None,
    columns: int = 3,
    y_title: str = "Rate per 10,000",
    x_range=None,
) -> go.Figure:
    """One small panel per series (locality, age band) on a shared y axis, rollout in each.

    The figure is assembled as one dict and validated once: plotly re-validates the whole
    figure on each `add_trace` / `add_vline` / `update_*axes`, which made every panel cost
    tens of milliseconds.

    Where the count (`value`) is 1 to the suppression threshold, the rate and its band are a
    gap; the page gates first with its totals (secondary suppression) as well.
    """
    frame = disclosure.blank_small(frame, "value", (value_col, lower_col, upper_col, "index"))
    names = list(dict.fromkeys(frame[series_col].tolist()))
    columns = max(1, min(columns, len(names) or 1))
    rows = max(1, math.ceil(len(names) / columns))
    # plotly needs vertical spacing <= 1 / (rows - 1): many panels get proportionally less.
    spacing = (0.12 if rows > 1 else 0.1) if rows <= 6 else round(0.6 / (rows - 1), 6)
    layout = json.loads(_grid_layout(rows, columns, len(names), spacing))
    for note in layout.get("annotations", []):
        note["text"] = str(names[int(note["text"])])
        note["font"] = {**note.get("font", {}), "size": 13, "family": FONT}
    traces: list[dict] = []
    shapes: list[dict] = []
    parts = dict(tuple(frame.groupby(series_col, sort=False)))
    for number, name in enumerate(names):
        panel = number + 1  # make_subplots numbers axes row by row: x, x2, x3, ...
        refs = {
            "xaxis": f"x{panel if panel > 1 else ''}",
            "yaxis": f"y{panel if panel > 1 else ''}",
        }
        part = parts[name].sort_values(date_col)
        has_band = lower_col and upper_col and lower_col in part and upper_col in part
        band = (lower_col, upper_col) if has_band else None
        traces += _panel_traces(number, name, part, refs, date_col, value_col, band)
        start = _panel_rollout(part, rollout_col, rollout_date)
        if start is not None:  # as fig.add_vline(row=, col=) draws it, across the panel's height
            shapes.append(_panel_rollout_line(start, refs))
    if shapes:
        layout["shapes"] = shapes
        # One legend entry explains the dashed lines in every panel.
        traces.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "lines",
                "line": {"color": DARK_PINK, "dash": "dash", "width": 2},
                "name": "Rollout starts (dashed line)",
            }
        )
    _style_grid_axes(layout, rows, columns, y_title, _panel_span(frame, date_col, x_range))
    fig = go.Figure(data=traces, layout=layout)
    return finish(fig, title, source, height=220 + 190 * rows)


def _panel_traces(
    number: int,
    name: str,
    part: pd.DataFrame,
    refs: dict[str, str],
    date_col: str,
    value_col: str,
    band: tuple[str, str] | None,
) -> list[dict]:
    """One panel's interval band (when `band` names its columns) and line; only the first
    panel's appear in the legend."""
    traces = []
    if band is not None:
        for trace in band_traces(
            part[date_col],
            part[band[0]],
            part[band[1]],
            name="95% confidence interval",
            color=DARK_BLUE,
            showlegend=number == 0,
            legendgroup="ci",
        ):
            traces.append({**trace, **refs})
    traces.append(
        {
            "type": "scatter",
            "x": part[date_col],
            "y": part[value_col],
            "mode": "lines",
            "name": "Rate",
            "legendgroup": "rate",
            "showlegend": number == 0,
            "line": {"color": DARK_BLUE, "width": 2},
            "hovertemplate": f"{name}<br>%{{x|%b %Y}}: %{{y:.1f}}<extra></extra>",
            **refs,
        }
    )
    return traces


def _panel_rollout(part: pd.DataFrame, rollout_col: str | None, rollout_date):
    """The panel's own rollout date (from `rollout_col`), else the area's, as a Timestamp."""
    start = None
    if rollout_col and rollout_col in part and part[rollout_col].notna().any():
        start = part[rollout_col].dropna().iloc[0]
    elif rollout_date is not None:
        start = rollout_date
    return (
        as_timestamp(start) if start is not None and not isinstance(start, int | float) else start
    )


def _panel_rollout_line(x, refs: dict[str, str]) -> dict:
    """A dashed rollout line across one panel's height (named 'rollout', like `add_rollout`)."""
    return {
        "type": "line",
        "x0": x,
        "x1": x,
        "xref": refs["xaxis"],
        "y0": 0,
        "y1": 1,
        "yref": f"{refs['yaxis']} domain",
        "line": {"color": DARK_PINK, "dash": "dash", "width": 2},
        "name": "rollout",
    }


def _panel_span(frame: pd.DataFrame, date_col: str, x_range) -> list | None:
    """The same time span for every panel: `x_range`, else the data's, with 20 days' room."""
    if not (x_range and all(v is not None for v in x_range)) and len(frame):
        x_range = (frame[date_col].min(), frame[date_col].max())
    if x_range and all(v is not None for v in x_range):
        low, high = (pd.Timestamp(v) for v in x_range)
        return [low - pd.Timedelta(days=20), high + pd.Timedelta(days=20)]
    return None


def _style_grid_axes(layout: dict, rows: int, columns: int, y_title: str, span) -> None:
    """Style every panel's axes; title the first column's y axes; one span on every x axis.

    The x axes are not "matched": a range on a matched axis makes plotly.js drop that panel's
    traces.
    """
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")):
            for name, value in (X_AXIS_STYLE if key[0] == "x" else Y_AXIS_STYLE).items():
                axis.setdefault(name, copy.deepcopy(value))
        if key.startswith("yaxis"):
            axis["rangemode"] = "tozero"
            if axis.get("anchor") in _first_column_anchors(rows, columns):
                axis["title"] = {**axis["title"], "text": y_title}
        elif key.startswith("xaxis") and span is not None and not axis.get("matches"):
            axis["range"] = span


def _first_column_anchors(rows: int, columns: int) -> set[str]:
    """The x axes that anchor the y axes of the first column (to title those y axes)."""
    return {f"x{k if k > 1 else ''}" for k in range(1, rows * columns + 1, columns)}


def indexed_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    source: str,
    series_col: str = "series",
    date_col: str = "period_end",
    value_col: str = "index",
    rollout_date=None,
    base_label: str = "100 = the year before rollout",
    x_range=None,
) -> go.Figure:
    """Every series indexed to 100 at a base, on one chart (line dash and colour per series).

    An index made from a small count (`value` 1 to the threshold) is a gap."""
    frame = disclosure.blank_small(frame, "value", (value_col,))
    traces = []
    for number, (name, part) in enumerate(frame.groupby(series_col, sort=False)):
        part = part.sort_values(date_col)
        hover = f"{name}<br>%{{x|%b %Y}}: %{{y:.0f}}<extra></extra>"
        traces.append(
            numbered_line(number, str(name), part[date_col], part[value_col], hover, marker_size=5)
        )
    fig = new_figure(traces)  # validated once, not trace by trace
    fig.add_hline(y=100, line_color=DARK_GREY, line_width=1, name="base")
    return finish(
        fig,
        title,
        source,
        rollout=rollout_date,
        rollout_label="First rollout",
        y_axis={"title_text": f"Index ({base_label})"},
        x_axis=PERIOD_ENDING,
        x_range=x_range,
    )


def event_time_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    source: str,
    group_col: str = "wave",
    x_col: str = "event_time",
    value_col: str = "rate_per_10k",
    lower_col: str | None = None,
    upper_col: str | None = None,
    x_title: str = "Quarters since rollout (0 = the quarter the rollout started)",
    y_title: str = "Rate per 10,000 children",
) -> go.Figure:
    """One line per rollout wave against time since rollout; 0 is marked.

    A pooled rate whose exact Poisson interval gives away a count of 1 to the threshold is a
    gap, with its interval (`pipelines.disclosure.implied_counts`); so is one whose count
    (`value`, when the frame has it) is small.
    """
    frame = disclosure.blank_small(frame, "value", (value_col, lower_col, upper_col))
    if lower_col and upper_col:
        frame = disclosure.blank_implied(frame, lower_col, upper_col, (value_col,))
    traces: list[dict] = []
    for number, (name, part) in enumerate(frame.groupby(group_col, sort=True)):
        part = part.sort_values(x_col)
        label = f"Wave {name}" if str(name).isdigit() else str(name)
        if lower_col and upper_col and lower_col in part and upper_col in part:
            traces += band_traces(
                part[x_col],
                part[lower_col],
                part[upper_col],
                name=f"{label}: 95% CI",
                color=PALETTE[number % len(PALETTE)],
                opacity=0.12,
                showlegend=False,
                legendgroup=label,
            )
        hover = f"{label}<br>%{{x}}: %{{y:.1f}}<extra></extra>"
        traces.append(
            numbered_line(number, label, part[x_col], part[value_col], hover, legendgroup=label)
        )
    fig = new_figure(traces)  # validated once, not trace by trace
    return finish(
        fig,
        title,
        source,
        rollout=0,
        rollout_label="Rollout (0)",
        x_axis={"title_text": x_title, "zeroline": False},
        y_axis=from_zero(y_title),
    )


def event_study_chart(
    dynamic: pd.DataFrame,
    *,
    title: str,
    source: str,
    x_col: str = "relative_period",
    estimate_col: str = "att",
    lower_col: str = "ci_lower",
    upper_col: str = "ci_upper",
    x_title: str = "Quarters since rollout",
    y_title: str = "Difference in rate per 10,000 (vs not-yet-treated)",
) -> go.Figure:
    """Staggered difference-in-differences event study: estimate and 95% CI per event time."""
    data = dynamic.sort_values(x_col)
    pre = data[x_col] < 0
    fig = new_figure()
    for mask, label, color, symbol in (
        (pre, "Before rollout (checks parallel trends)", DARK_GREY, "circle-open"),
        (~pre, "After rollout (estimated effect)", DARK_BLUE, "diamond"),
    ):
        part = data[mask]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part[x_col],
                y=part[estimate_col],
                mode="markers",
                name=label,
                marker={
                    "color": color,
                    "symbol": symbol,
                    "size": 10,
                    "line": {"width": 2, "color": color},
                },
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (part[upper_col] - part[estimate_col]).tolist(),
                    "arrayminus": (part[estimate_col] - part[lower_col]).tolist(),
                    "color": color,
                    "thickness": 1.5,
                },
                hovertemplate="%{x}: %{y:.2f}<extra>" + label + "</extra>",
            )
        )
    fig.add_hline(y=0, line_color=DARK_GREY, line_width=1, name="no-difference")
    return finish(
        fig,
        title,
        source,
        rollout=-0.5,
        rollout_label="Rollout",
        x_axis={"title_text": x_title, "dtick": 2 if len(data) > 16 else 1},
        y_axis={"title_text": y_title},
    )
