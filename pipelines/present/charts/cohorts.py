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
    LIGHT_GREY,
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
from pipelines.present.charts.timeseries import financial_year_ticks


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
    layout = _titled_grid(names, rows, columns)
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
        if number == 0:
            traces.append(_legend_key("Rate", {"color": DARK_BLUE, "width": 2}, "rate"))
        start = _panel_rollout(part, rollout_col, rollout_date)
        if start is not None:  # as fig.add_vline(row=, col=) draws it, across the panel's height
            shapes.append(_panel_rollout_line(start, refs))
    if shapes:
        layout["shapes"] = shapes
        # One legend entry explains the dashed lines in every panel.
        traces.append(
            _legend_key(
                "Rollout starts (dashed line)", {"color": DARK_PINK, "dash": "dash", "width": 2}
            )
        )
    _style_grid_axes(layout, rows, columns, y_title, _panel_span(frame, date_col, x_range))
    fig = go.Figure(data=traces, layout=layout)
    return _finish_grid(fig, title, source, rows, frame[date_col])


#: Pixels of a small-multiples grid: each row of panels, the gap between rows (room for the
#: x tick labels of the row above and the panel title below them), and the room a first-row
#: title needs above the panels, so no title meets an axis or the legend.
PANEL_PX, GAP_PX, TITLE_ROOM_PX = 170, 74, 40


def _grid_height(rows: int) -> int:
    return 230 + PANEL_PX * rows + GAP_PX * (rows - 1)


def _titled_grid(names: list, rows: int, columns: int) -> dict:
    """The grid's layout with each panel titled by its series: left-aligned over the panel on
    a white ground (a rollout line never runs through it), with a fixed pixel gap between
    rows, so a title never collides with the tick labels of the panel above."""
    plot_px = PANEL_PX * rows + GAP_PX * (rows - 1)
    spacing = round(GAP_PX / plot_px, 6) if rows > 1 else 0.1
    layout = json.loads(_grid_layout(rows, columns, len(names), spacing))
    for note in layout.get("annotations", []):
        number = int(note["text"])
        axis = layout[f"xaxis{number + 1 if number else ''}"]
        note.update(
            text=str(names[number]),
            x=axis["domain"][0],
            xanchor="left",
            yshift=4,
            bgcolor="#FFFFFF",
            font={
                **note.get("font", {}),
                "size": 13,
                "family": FONT,
                "color": "#0B0C0C",
                "weight": "bold",
            },
            name="panel-title",
        )
    return layout


def _finish_grid(fig: go.Figure, title: str, source: str, rows: int, dates) -> go.Figure:
    """`finish` for a grid, with room above the first row's titles (the legend wraps onto two
    lines on a phone) and financial-year ticks at that grain."""
    fig = finish(fig, title, source, height=_grid_height(rows) + TITLE_ROOM_PX)
    fig.update_layout(margin={"t": fig.layout.margin.t + TITLE_ROOM_PX})
    return financial_year_ticks(fig, dates)


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
            "name": str(name),  # the text alternative names each panel's series
            "legendgroup": "rate",
            "showlegend": False,  # one legend entry, `_legend_key("Rate", ...)`
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
    columns: int = 3,
) -> go.Figure:
    """Every series indexed to 100 at a base, as highlight-one small multiples: one panel per
    series, that series drawn bold in dark blue over every other series in light grey, so
    each line can be read against the rest without a legend of seven near-identical colours.

    An index made from a small count (`value` 1 to the threshold) is a gap."""
    frame = disclosure.blank_small(frame, "value", (value_col,))
    names = list(dict.fromkeys(frame[series_col].tolist()))
    columns = max(1, min(columns, len(names) or 1))
    rows = max(1, math.ceil(len(names) / columns))
    layout = _titled_grid(names, rows, columns)
    parts = {name: part.sort_values(date_col) for name, part in frame.groupby(series_col)}
    traces: list[dict] = []
    shapes: list[dict] = []
    rollout = as_timestamp(rollout_date) if rollout_date is not None else None
    for number, name in enumerate(names):
        panel = number + 1
        refs = {
            "xaxis": f"x{panel if panel > 1 else ''}",
            "yaxis": f"y{panel if panel > 1 else ''}",
        }
        for other in names:
            if other == name:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "x": parts[other][date_col],
                    "y": parts[other][value_col],
                    "mode": "lines",
                    "name": f"{other} (grey)",
                    "legendgroup": "others",
                    "showlegend": False,
                    "line": {"color": LIGHT_GREY, "width": 1},
                    "hoverinfo": "skip",
                    **refs,
                }
            )
        traces.append(
            {
                "type": "scatter",
                "x": parts[name][date_col],
                "y": parts[name][value_col],
                "mode": "lines",
                "name": str(name),
                "legendgroup": "highlight",
                "showlegend": False,
                "line": {"color": DARK_BLUE, "width": 2.5},
                "hovertemplate": f"{name}<br>%{{x|%b %Y}}: %{{y:.0f}}<extra></extra>",
                **refs,
            }
        )
        shapes.append(_panel_base_line(refs))
        if rollout is not None:
            shapes.append(_panel_rollout_line(rollout, refs))
    traces.append(_legend_key("The panel's own series", {"color": DARK_BLUE, "width": 2.5}))
    traces.append(_legend_key("The other series", {"color": LIGHT_GREY, "width": 1}))
    if rollout is not None:
        traces.append(
            _legend_key(
                "First rollout (dashed line)", {"color": DARK_PINK, "dash": "dash", "width": 2}
            )
        )
    layout["shapes"] = shapes
    _style_grid_axes(
        layout, rows, columns, f"Index ({base_label})", _panel_span(frame, date_col, x_range)
    )
    for key, axis in layout.items():
        if key.startswith("yaxis"):
            axis["rangemode"] = "normal"  # an index is read against 100, not against zero
    fig = go.Figure(data=traces, layout=layout)
    return _finish_grid(fig, title, source, rows, frame[date_col])


def _legend_key(name: str, line: dict, group: str | None = None) -> dict:
    """A legend entry with no data (the text alternative skips it: no hover, no values)."""
    key = {
        "type": "scatter",
        "x": [None],
        "y": [None],
        "mode": "lines",
        "line": line,
        "name": name,
        "hoverinfo": "skip",
    }
    return {**key, "legendgroup": group} if group else key


def _panel_base_line(refs: dict[str, str]) -> dict:
    """The index's base (100) across one panel."""
    return {
        "type": "line",
        "x0": 0,
        "x1": 1,
        "xref": f"{refs['xaxis']} domain",
        "y0": 100,
        "y1": 100,
        "yref": refs["yaxis"],
        "line": {"color": DARK_GREY, "width": 1},
        "name": "base",
    }


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
