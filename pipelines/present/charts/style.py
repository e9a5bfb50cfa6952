"""What every chart shares: the palette, fonts, template, axis styling and the builders' tail.

A builder makes its traces, then hands the figure to `finish`, which marks the rollout, titles
the axes, fixes the time span and applies `apply_style` (title, legend, source line, template).

Palette: the Government Analysis Function's accessible categorical palette ("Data
visualisation: colours", GSS, 2022). Series also differ by marker symbol and line dash, so
colour is never the only carrier of meaning (WCAG 2.2, success criterion 1.4.1).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from pipelines.present.charts.labels import wrap

DARK_BLUE = "#12436D"
TURQUOISE = "#28A197"
DARK_PINK = "#801650"
ORANGE = "#F46A25"
DARK_GREY = "#3D3D3D"
PLUM = "#A285D1"
LIGHT_GREY = "#BFBFBF"
PALETTE = (DARK_BLUE, TURQUOISE, DARK_PINK, ORANGE, DARK_GREY, PLUM)
# Symbols and dashes that go with the palette, so series differ by more than colour.
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "hexagon")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
FONT = "Arial, Helvetica, sans-serif"

_AXIS_FONT = {"color": DARK_GREY, "family": FONT}
#: Every chart's axes. Set on each axis (not in the template): Streamlit's chart theme restyles
#: a figure's template in the browser, and these must win over it.
X_AXIS_STYLE = {
    "showline": True,
    "linecolor": DARK_GREY,
    "ticks": "outside",
    "automargin": True,
    "title": {"font": _AXIS_FONT},
    "tickfont": _AXIS_FONT,
}
Y_AXIS_STYLE = {
    "gridcolor": "#E5E5E5",
    "zeroline": False,
    "automargin": True,
    "title": {"font": _AXIS_FONT},
    "tickfont": _AXIS_FONT,
}
TEMPLATE = go.layout.Template(pio.templates["plotly_white"])  # validated once, at import


def new_figure(data: list | None = None) -> go.Figure:
    """A new figure with its axes styled, built and validated in one step.

    plotly re-runs its whole update machinery for every property set on an existing figure
    (tens of milliseconds for a chart's axes); set at construction it costs a few.
    """
    return go.Figure(data=data, layout={"xaxis": X_AXIS_STYLE, "yaxis": Y_AXIS_STYLE})


def set_template(fig: go.Figure) -> None:
    """Give `fig` plotly_white without validating it again.

    plotly deep-copies and re-validates a template on every assignment (10 ms or more per
    chart); `TEMPLATE` was validated when it was built, so it is assigned the way plotly
    assigns its own default template (validation off for that one property).
    """
    layout = fig.layout
    validate = getattr(layout, "_validate", True)
    try:
        layout._validate = False
        layout.template = TEMPLATE
    except Exception:  # another plotly: assign it the ordinary (validated) way
        layout._validate = validate
        layout.template = TEMPLATE
    finally:
        layout._validate = validate


def style_axes(fig: go.Figure) -> None:
    """Style the axes a chart did not create styled (extra subplot axes, say)."""
    todo = {}
    for axes, style, mark in (
        (fig.select_xaxes(), X_AXIS_STYLE, "showline"),
        (fig.select_yaxes(), Y_AXIS_STYLE, "gridcolor"),
    ):
        for axis in axes:
            if axis[mark] != style[mark]:
                todo[axis.plotly_name] = style
    if todo:
        fig.update_layout(todo)


def apply_style(
    fig: go.Figure, title: str, source: str, *, height: int = 460, subtitle: str = ""
) -> go.Figure:
    """Title (and subtitle) at the top, legend under them, source line at the bottom.

    Positions are in pixels of the container so that a title wrapped onto several lines, or a
    legend that wraps on a phone, never overlaps the title.
    """
    wrapped = wrap(title)
    lines = wrapped.count("<br>") + 1
    source_text = "<br>".join(textwrap.wrap(source, width=56)) if source else ""
    source_lines = source_text.count("<br>") + 1 if source_text else 0
    title_px = 26 + 20 * lines + (20 if subtitle else 0)
    legend_px = 52  # two rows of legend items on a wide screen
    height = height + 20 * (lines - 1)
    bottom = 66 + 15 * source_lines
    title = {
        "text": wrapped,
        "x": 0,
        "xanchor": "left",
        "xref": "container",
        "y": 1,
        "yanchor": "top",
        "yref": "container",
        "pad": {"t": 22, "l": 12},
        "font": {"size": 15, "color": "#0B0C0C", "family": FONT},
    }
    if subtitle:
        title["subtitle"] = {"text": subtitle, "font": {"size": 13, "color": "#0B0C0C"}}
    set_template(fig)
    style_axes(fig)
    fig.update_layout(
        title=title,
        font={"family": FONT, "size": 14, "color": DARK_GREY},
        colorway=list(PALETTE),
        height=height,
        margin={"l": 60, "r": 20, "t": title_px + legend_px + 8, "b": bottom},
        legend={
            "orientation": "h",
            "yref": "container",
            "yanchor": "top",
            "y": 1 - (title_px + 4) / height,
            "x": 0,
            "xanchor": "left",
            "font": {"size": 12},
        },
        hoverlabel={"font": {"family": FONT, "size": 13}},
        meta={"source": source, "title": title["text"].replace("<br>", " ")},
    )
    if source_text:
        fig.add_annotation(
            text=source_text,
            xref="paper",
            yref="paper",
            x=0,
            y=0,
            xshift=-48,
            yshift=-bottom + 6,
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            align="left",
            font={"size": 11, "color": DARK_GREY},
            name="source",
        )
    return fig


#: Average width of a character of the 15 px Arial title, in pixels (a little over, so that a
#: line of capitals and wide letters still fits).
TITLE_CHAR_PX = 8


def fit_title(fig: go.Figure, width_px: int, height: int | None = None) -> go.Figure:
    """Wrap the title (`apply_style` wraps it for a 390 px phone) to a chart drawn `width_px`
    wide, such as the report's fixed-width PDF figures, so that it spans the chart's width;
    the legend, the top margin and the height follow the title's new number of lines.
    ``height``: the height the chart is drawn at (default: its own, changed by the lines the
    title lost or gained). A figure `apply_style` did not title is returned as it is."""
    meta = fig.layout.meta
    text = meta.get("title") if isinstance(meta, dict) else None
    if not text or fig.layout.title.text is None:
        return fig
    before = fig.layout.title.text.count("<br>") + 1
    wrapped = wrap(text, max(20, (width_px - 24) // TITLE_CHAR_PX))
    change = 20 * (wrapped.count("<br>") + 1 - before)
    old_height = int(fig.layout.height or 460)
    new_height = height or old_height + change
    layout: dict[str, Any] = {"title_text": wrapped, "height": new_height}
    if fig.layout.margin.t is not None:
        layout["margin_t"] = fig.layout.margin.t + change
    if fig.layout.legend.yref == "container" and fig.layout.legend.y is not None:
        # The legend sits a fixed number of pixels below the title's top.
        below_top = (1 - fig.layout.legend.y) * old_height + change
        layout["legend_y"] = 1 - below_top / new_height
    source = meta.get("source")
    notes = [a for a in fig.layout.annotations if a.name == "source"]
    if source and notes and fig.layout.margin.b is not None:
        # The source line (11 px, about 6 px a character) across the width too.
        lines = textwrap.wrap(source, width=max(40, (width_px - 24) // 6))
        shrink = 15 * (notes[0].text.count("<br>") + 1 - len(lines))
        layout["margin_b"] = fig.layout.margin.b - shrink
        notes[0].update(text="<br>".join(lines), yshift=notes[0].yshift + shrink)
    fig.update_layout(**layout)
    return fig


def finish(
    fig: go.Figure,
    title: str,
    source: str,
    *,
    rollout=None,
    rollout_label: str = "Rollout starts",
    x_axis: Mapping[str, Any] | None = None,
    y_axis: Mapping[str, Any] | None = None,
    x_range=None,
    height: int = 460,
    subtitle: str = "",
) -> go.Figure:
    """The tail every builder shares, in one place.

    Marks the rollout (`add_rollout`; nothing when `rollout` is None), applies `y_axis` and
    `x_axis` (keyword arguments of `update_yaxes` / `update_xaxes`, e.g. a title), fixes the
    time span to `x_range` (a pair of dates), then styles the figure (`apply_style`).
    """
    add_rollout(fig, rollout, label=rollout_label)
    if y_axis:
        fig.update_yaxes(**y_axis)
    if x_axis:
        fig.update_xaxes(**x_axis)
    set_x_range(fig, x_range)
    return apply_style(fig, title, source, height=height, subtitle=subtitle)


def from_zero(title: str) -> dict[str, str]:
    """A y axis (for `finish`) titled `title` that starts at zero: rates are never negative."""
    return {"title_text": title, "rangemode": "tozero"}


def as_timestamp(value) -> pd.Timestamp | None:
    """A date as a Timestamp; None, NaN and NaT as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp


def add_rollout(
    fig: go.Figure,
    when,
    label: str = "Rollout starts",
    *,
    row: int | None = None,
    col: int | None = None,
    xref: str = "x",
    yref: str = "y domain",
    color: str = DARK_PINK,
) -> go.Figure:
    """Mark the rollout: a dashed vertical line with a text label (named 'rollout')."""
    if when is None:
        return fig
    x = as_timestamp(when) if not isinstance(when, int | float) else when
    if x is None:
        return fig
    if row is not None and col is not None:
        fig.add_vline(
            x=x, line_dash="dash", line_color=color, line_width=2, row=row, col=col, name="rollout"
        )
        return fig
    fig.add_shape(
        type="line",
        x0=x,
        x1=x,
        y0=0,
        y1=1,
        xref=xref,
        yref=yref,
        line={"color": color, "width": 2, "dash": "dash"},
        name="rollout",
    )
    if label:
        add_rollout_label(fig, x, label, xref=xref, yref=yref, color=color)
    return fig


def add_rollout_label(
    fig: go.Figure, x, text: str, *, xref: str = "x", yref: str = "y domain", color=DARK_PINK
) -> None:
    """The rollout line's text label, at the top of the plot just right of the line."""
    fig.add_annotation(
        x=x,
        y=1,
        xref=xref,
        yref=yref,
        text=text,
        showarrow=False,
        xanchor="left",
        yanchor="top",
        xshift=4,
        font={"size": 12, "color": color},
        bgcolor="rgba(255,255,255,0.8)",
        name="rollout-label",
    )


def add_target(
    fig: go.Figure,
    target: float,
    text: str,
    *,
    side: str = "left",
    label_color: str = TURQUOISE,
    line_width: float | None = None,
    label_name: str | None = None,
) -> None:
    """A target: a dash-dot turquoise line across the plot, labelled at its `side` end."""
    fig.add_hline(
        y=target, line_dash="dashdot", line_color=TURQUOISE, line_width=line_width, name="target"
    )
    fig.add_annotation(
        x=0 if side == "left" else 1,
        y=target,
        xref="paper",
        yref="y",
        text=text,
        showarrow=False,
        xanchor=side,
        yanchor="bottom",
        font={"color": label_color, "size": 12},
        name=label_name,
    )


def band_traces(
    x: Sequence,
    lower: Sequence,
    upper: Sequence,
    *,
    name: str,
    color: str,
    opacity: float = 0.18,
    showlegend: bool = True,
    legendgroup: str | None = None,
    edge_dash: str | None = None,
) -> list[dict]:
    """The two traces of a shaded interval: the upper edge, then the lower edge filled to it.

    ``edge_dash`` (e.g. ``"dot"``) draws both edges as thin lines of that dash, so a second,
    lighter band stays visible where it overlaps another and does not rely on shade alone.
    """
    line = (
        {"width": 0}
        if edge_dash is None
        else {"width": 1, "dash": edge_dash, "color": rgba(color, min(1.0, 3 * opacity))}
    )
    edge = {"type": "scatter", "x": list(x), "mode": "lines", "line": line}
    return [
        {
            **edge,
            "y": list(upper),
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": legendgroup or name,
            "name": f"{name} (upper)",
        },
        {
            **edge,
            "y": list(lower),
            "fill": "tonexty",
            "fillcolor": rgba(color, opacity),
            "name": name,
            "hoverinfo": "skip",
            "showlegend": showlegend,
            "legendgroup": legendgroup or name,
        },
    ]


def marked_line(
    x, y, name: str, line: dict, symbol: str, size: int, hovertemplate: str | None = None
) -> go.Scatter:
    """One series as lines and markers, told apart by its dash and marker symbol as well."""
    return go.Scatter(
        x=x,
        y=y,
        mode="lines+markers",
        name=name,
        line=line,
        marker={"symbol": symbol, "size": size},
        hovertemplate=hovertemplate,
    )


def numbered_line(
    number: int, name: str, x, y, hovertemplate: str, *, marker_size: int = 6, **extra
) -> dict:
    """The `number`th series of a chart of several: its own colour, dash and marker symbol."""
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines+markers",
        "name": name,
        "line": {
            "color": PALETTE[number % len(PALETTE)],
            "dash": DASHES[number % len(DASHES)],
            "width": 2,
        },
        "marker": {"symbol": SYMBOLS[number % len(SYMBOLS)], "size": marker_size},
        "hovertemplate": hovertemplate,
        **extra,
    }


def rgba(hex_color: str, alpha: float) -> str:
    """'#12436D', 0.2 -> 'rgba(18,67,109,0.2)'."""
    hex_color = hex_color.lstrip("#")
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def set_x_range(fig: go.Figure, x_range) -> None:
    """Show the dates `x_range` (with 20 days' room either side); nothing if either is None."""
    if x_range and all(v is not None for v in x_range):
        low, high = (pd.Timestamp(v) for v in x_range)
        pad = pd.Timedelta(days=20)
        # Only on axes that are not matched to another: a range on a matched axis (small
        # multiples) makes plotly.js drop that panel's traces.
        fig.update_xaxes(range=[low - pad, high + pad], selector=lambda axis: not axis.matches)


def empty_figure(message: str, title: str = "No data to show", source: str = "") -> go.Figure:
    """A figure that says why it is empty (used rarely: pages prefer a text empty state)."""
    fig = new_figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    return finish(
        fig, title, source, x_axis={"visible": False}, y_axis={"visible": False}, height=260
    )


# -- on screen: the title as page text, and a one-line text alternative ------------------------

#: Top margin a figure keeps on screen once its title is drawn as page text above it: room for
#: a legend that wraps onto two rows on a phone.
SCREEN_TOP = 60
#: Pixels between the bottom of a small-multiples legend and the top of its first row of
#: panels on screen: a panel title (13 px bold, 4 px above its panel) and a gap.
PANEL_TITLE_ROOM = 28


def chart_title(fig: go.Figure) -> str:
    """The chart's title as one line of text (``meta["title"]``, else the plotly title)."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    text = meta.get("title") or (fig.layout.title.text or "")
    return " ".join(str(text).replace("<br>", " ").split())


def screen_figure(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` for the dashboard, whose page draws :func:`chart_title` as text above
    the chart at the full width of the page (it wraps to the screen, where a plotly title is
    broken into lines of a fixed length).

    The copy keeps its title text (so the figure still names itself) but does not draw it:
    the page hides plotly's title, and the copy's title is transparent as well, so it never
    shows twice. The legend moves up into the space the title took.
    """
    out = go.Figure(fig)
    if not chart_title(out):
        return out
    old_top = out.layout.margin.t or 0
    out.update_layout(
        title_font_color="rgba(0,0,0,0)",
        # The subtitle (an SPC chart's status line) is page text under the title too
        # (:func:`chart_subtitle`); drawn here it would sit under the legend on a phone.
        title_subtitle_text=None,
        margin_t=SCREEN_TOP,
        height=max(200, (out.layout.height or 460) - max(0, old_top - SCREEN_TOP)),
    )
    if any(note.name == "panel-title" for note in out.layout.annotations):
        # Small multiples: the first row's panel titles sit above the plot area, where a
        # legend at the top of the figure would cover them once it wraps onto two or three
        # rows on a phone. The legend sits above the titles instead, its bottom
        # PANEL_TITLE_ROOM px above the panels, and plotly widens the top margin to fit it.
        margin = out.layout.margin
        plot_px = out.layout.height - (margin.t or 0) - (margin.b or 0)
        out.update_layout(
            legend_yref="paper",
            legend_yanchor="bottom",
            legend_y=1 + PANEL_TITLE_ROOM / max(plot_px, 1),
        )
    elif out.layout.legend.yref == "container":
        out.update_layout(legend_y=1 - 4 / out.layout.height)
    return out


def chart_subtitle(fig: go.Figure) -> str:
    """The line under the chart's title (an SPC chart's status: "≈ Common cause variation:
    no significant change"), as text for the page to draw under :func:`chart_title`."""
    subtitle = fig.layout.title.subtitle
    return " ".join(str(subtitle.text or "").replace("<br>", " ").split()) if subtitle else ""


def _when(value) -> str | None:
    """A date on a time axis as "30 June 2026"; None for anything else (a number such as a
    year or an event time, a category, a "2016-17" label)."""
    from pipelines.present.wording import long_date

    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        return None
    if not isinstance(value, str | dt.date | np.datetime64):  # pd.Timestamp is a dt.date
        return None
    stamp = pd.to_datetime(value, errors="coerce")
    return None if pd.isna(stamp) else long_date(stamp)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def chart_summary(fig: go.Figure) -> str:
    """A one-line text alternative for ``fig``: what kind of chart, what it plots over which
    span, each series' lowest and highest value, and the rollout line.

    Read from the figure itself, so it says what the chart shows (after disclosure control:
    a suppressed value is a gap in the figure and is not counted).
    """
    traces = [
        t
        for t in fig.data
        if t.type in ("scatter", "scattergl", "bar")
        and t.hoverinfo != "skip"
        and t.y is not None
        and len(t.y)
    ]
    if not traces:
        return f"Chart: {chart_title(fig)}." if chart_title(fig) else "Chart with no data."
    if all(t.type == "bar" for t in traces):
        kind = "Bar chart"
    elif all(t.mode and "lines" not in t.mode for t in traces):
        kind = "Scatter chart"
    else:
        kind = "Line chart"
    y_title = fig.layout.yaxis.title.text or "value"
    x_title = fig.layout.xaxis.title.text or ""

    def values_of(trace):  # the value axis: x for a horizontal bar chart
        return trace.x if getattr(trace, "orientation", None) == "h" else trace.y

    def places_of(trace):
        return trace.y if getattr(trace, "orientation", None) == "h" else trace.x

    def shown_places(trace):  # a suppressed value is a gap, not a point of the span
        places = list(places_of(trace)) if places_of(trace) is not None else []
        values = pd.to_numeric(pd.Series(list(values_of(trace))), errors="coerce")
        if len(values) != len(places):
            return places
        return [p for p, v in zip(places, values, strict=True) if pd.notna(v)]

    xs = shown_places(traces[0])
    first, last = (_when(xs[0]), _when(xs[-1])) if xs else (None, None)
    if first and last:
        span = f" over {len(xs)} points from {first} to {last}"
    elif xs and pd.to_numeric(pd.Series(xs), errors="coerce").notna().all():
        numeric = pd.to_numeric(pd.Series(xs))
        years = ((numeric % 1 == 0) & numeric.between(1900, 2100)).all()
        low, high = (
            (f"{numeric.min():.0f}", f"{numeric.max():.0f}")
            if years
            else (_number(numeric.min()), _number(numeric.max()))
        )
        span = f" over {len(xs)} points from {low} to {high}"
        span += f" ({x_title})" if x_title else ""
    elif xs:
        span = f" over {len(xs)} points from {xs[0]} to {xs[-1]}"
        span += f" ({x_title})" if x_title else ""
    else:
        span = ""
    parts = []
    for trace in traces[:4]:
        values = pd.to_numeric(pd.Series(list(values_of(trace))), errors="coerce").dropna()
        if values.empty:
            continue
        low, high = _number(values.min()), _number(values.max())
        spread_ = f"{low}" if low == high else f"from {low} to {high}"
        parts.append(f"{trace.name or 'values'} {spread_}")
    more = f" and {len(traces) - 4} more series" if len(traces) > 4 else ""
    if y_title[:2].istitle():  # "Rate per 10,000" reads "rate per 10,000"; "CLA rate" stays
        y_title = y_title[0].lower() + y_title[1:]
    text = f"{kind} of {y_title}{span}" + (": " + "; ".join(parts) if parts else "")
    text += more + "."
    rollout = next((s for s in fig.layout.shapes if s.name == "rollout"), None)
    if rollout is not None and _when(rollout.x0):
        text += f" A dashed line marks the rollout on {_when(rollout.x0)}."
    return text
