"""Plotly chart builders: DataFrame(s) in, `plotly.graph_objects.Figure` out.

Every builder is a pure function (no Streamlit, no warehouse) so it can be unit-tested and
reused by the annual report. Each figure has:

- a title that states the finding or the question (wrapped so it fits a phone screen);
- a source line at the bottom (dataset, last upload, population year);
- the Government Analysis Function (GAF) accessible palette and a legible font;
- on every time axis, the rollout marked with a dashed vertical line and a text label;
- categories told apart by marker symbol or line dash as well as colour, never colour alone.

The module also holds the table helpers used by every download: `disclosure_control` (counts
1-4 shown as "c", rates derived from them suppressed) and `csv_bytes` (CSV with formula-like
cells escaped), thin wrappers over `pipelines.disclosure`.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import textwrap
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from pipelines import disclosure

# -- palette and style -------------------------------------------------------------------------

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
TITLE_WIDTH = 40  # characters per title line: fits a 390 px phone screen

# Making Data Count point types: colour AND symbol AND a text label carry the meaning.
POINT_STYLE = {
    "special_cause_improvement": (DARK_BLUE, "diamond", "I: improvement", "I"),
    "special_cause_concern": (ORANGE, "square", "C: concern", "C"),
    "special_cause_neutral": (PLUM, "triangle-up", "S: special cause", "S"),
}

VARIATION_TEXT = {
    "common_cause": ("≈", "Common cause variation: no significant change"),
    "special_cause_improvement_high": ("▲", "Special cause variation: improvement (higher)"),
    "special_cause_improvement_low": ("▼", "Special cause variation: improvement (lower)"),
    "special_cause_concern_high": ("▲", "Special cause variation: concern (higher)"),
    "special_cause_concern_low": ("▼", "Special cause variation: concern (lower)"),
    "special_cause_neutral_high": ("▲", "Special cause variation: higher (neither good nor bad)"),
    "special_cause_neutral_low": ("▼", "Special cause variation: lower (neither good nor bad)"),
}
ASSURANCE_TEXT = {
    "consistent_pass": ("✔", "The target will consistently be met"),
    "consistent_fail": ("✘", "The target will consistently be missed"),
    "hit_or_miss": ("?", "The target may or may not be met (hit and miss)"),
}


def variation_label(icon: str | None) -> str:
    """Plain-English text with a symbol for a Making Data Count variation icon."""
    if not icon:
        return "No SPC assessment"
    symbol, text = VARIATION_TEXT.get(icon, ("•", icon.replace("_", " ")))
    return f"{symbol} {text}"


def assurance_label(icon: str | None) -> str:
    """Plain-English text with a symbol for a Making Data Count assurance icon."""
    if not icon:
        return "No target set"
    symbol, text = ASSURANCE_TEXT.get(icon, ("•", icon.replace("_", " ")))
    return f"{symbol} {text}"


def headline_value(rate: float | None, unit_label: str = "") -> str:
    """A tile's big number: '70.4' (the unit goes in the label) or '74.3%'; 'No figure'."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "No figure"
    if unit_label.startswith("%"):
        return f"{rate:.1f}%"
    return f"{rate:,.1f}"


def source_line(
    dataset: str = "",
    last_upload: dt.date | dt.datetime | str | None = None,
    population: str | None = None,
) -> str:
    """'Source: ... · last upload 3 July 2026 · mid-year population 2024' for a chart footer."""
    parts = [f"Source: {dataset}" if dataset else "Source: rp-impact warehouse"]
    if last_upload:
        when = last_upload
        if isinstance(when, dt.datetime | dt.date):
            when = f"{when.day} {when:%B %Y}"
        parts.append(f"last upload {when}")
    if population:
        parts.append(population)
    return " · ".join(parts)


def wrap(text: str, width: int = TITLE_WIDTH) -> str:
    """Wrap a title into `<br>`-separated lines so it fits narrow screens."""
    return "<br>".join(textwrap.wrap(text, width=width)) or text


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


def _figure(data: list | None = None) -> go.Figure:
    """A new figure with its axes styled, built and validated in one step.

    plotly re-runs its whole update machinery for every property set on an existing figure
    (tens of milliseconds for a chart's axes); set at construction it costs a few.
    """
    return go.Figure(data=data, layout={"xaxis": X_AXIS_STYLE, "yaxis": Y_AXIS_STYLE})


def _set_template(fig: go.Figure) -> None:
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


def _style_axes(fig: go.Figure) -> None:
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


def _style(
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
    _set_template(fig)
    _style_axes(fig)
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


def _ts(value) -> pd.Timestamp | None:
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
    x = _ts(when) if not isinstance(when, int | float) else when
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
        fig.add_annotation(
            x=x,
            y=1,
            xref=xref,
            yref=yref,
            text=label,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            xshift=4,
            font={"size": 12, "color": color},
            bgcolor="rgba(255,255,255,0.8)",
            name="rollout-label",
        )
    return fig


def financial_year_bands(start, end) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(start, end, '2024-25') for each financial year (April-March) overlapping start..end."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    year = start.year if start.month >= 4 else start.year - 1
    bands = []
    while pd.Timestamp(year, 4, 1) <= end:
        bands.append(
            (
                pd.Timestamp(year, 4, 1),
                pd.Timestamp(year + 1, 3, 31),
                f"{year}-{(year + 1) % 100:02d}",
            )
        )
        year += 1
    return bands


def add_financial_years(fig: go.Figure, start, end, *, ticks: bool = True) -> go.Figure:
    """Shade alternate financial years and (optionally) label the x axis by financial year."""
    bands = financial_year_bands(start, end)
    for number, (low, high, _label) in enumerate(bands):
        if number % 2 == 0:
            fig.add_vrect(
                x0=low,
                x1=high,
                fillcolor="#F3F2F1",
                line_width=0,
                layer="below",
                name="financial-year",
            )
    if ticks and bands:
        step = max(1, len(bands) // 8)
        shown = bands[::step]
        fig.update_xaxes(
            tickmode="array",
            tickvals=[low + (high - low) / 2 for low, high, _ in shown],
            ticktext=[label for _, _, label in shown],
            title_text="Financial year (April to March)",
        )
    return fig


def _band_traces(
    x: Sequence,
    lower: Sequence,
    upper: Sequence,
    *,
    name: str,
    color: str,
    opacity: float = 0.18,
    showlegend: bool = True,
    legendgroup: str | None = None,
) -> list[dict]:
    """The two traces of a shaded interval: the upper edge, then the lower edge filled to it."""
    fill = _rgba(color, opacity)
    return [
        {
            "type": "scatter",
            "x": list(x),
            "y": list(upper),
            "mode": "lines",
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": legendgroup or name,
            "name": f"{name} (upper)",
        },
        {
            "type": "scatter",
            "x": list(x),
            "y": list(lower),
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": fill,
            "name": name,
            "hoverinfo": "skip",
            "showlegend": showlegend,
            "legendgroup": legendgroup or name,
        },
    ]


def _band(
    fig: go.Figure,
    x: Sequence,
    lower: Sequence,
    upper: Sequence,
    *,
    name: str,
    color: str,
    opacity: float = 0.18,
    showlegend: bool = True,
    row: int | None = None,
    col: int | None = None,
    legendgroup: str | None = None,
) -> None:
    traces = _band_traces(
        x,
        lower,
        upper,
        name=name,
        color=color,
        opacity=opacity,
        showlegend=showlegend,
        legendgroup=legendgroup,
    )
    if row is not None:
        fig.add_traces(traces, rows=[row, row], cols=[col, col])
    else:
        fig.add_traces(traces)


def _rgba(hex_color: str, alpha: float) -> str:
    hex_color = hex_color.lstrip("#")
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _x_range(fig: go.Figure, x_range) -> None:
    if x_range and all(v is not None for v in x_range):
        low, high = (pd.Timestamp(v) for v in x_range)
        pad = pd.Timedelta(days=20)
        # Only on axes that are not matched to another: a range on a matched axis (small
        # multiples) makes plotly.js drop that panel's traces.
        fig.update_xaxes(range=[low - pad, high + pad], selector=lambda axis: not axis.matches)


def empty_figure(message: str, title: str = "No data to show", source: str = "") -> go.Figure:
    """A figure that says why it is empty (used rarely: pages prefer a text empty state)."""
    fig = _figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, title, source, height=260)


# -- time series -------------------------------------------------------------------------------


def time_series(
    frame: pd.DataFrame,
    *,
    title: str,
    source: str,
    rollout_date=None,
    date_col: str = "period_end",
    value_col: str = "rate_per_10k",
    lower_col: str | None = "rate_lower",
    upper_col: str | None = "rate_upper",
    y_title: str = "Rate per 10,000 children",
    series_name: str = "Rate per 10,000",
    financial_years: bool = False,
    x_range=None,
    target: float | None = None,
) -> go.Figure:
    """A rate over time with its 95% confidence band and the rollout marked."""
    data = frame.sort_values(date_col)
    fig = _figure()
    if lower_col and upper_col and lower_col in data and upper_col in data:
        _band(
            fig,
            data[date_col],
            data[lower_col],
            data[upper_col],
            name="95% confidence interval",
            color=DARK_BLUE,
        )
    fig.add_trace(
        go.Scatter(
            x=data[date_col],
            y=data[value_col],
            mode="lines+markers",
            name=series_name,
            line={"color": DARK_BLUE, "width": 2.5},
            marker={"symbol": "circle", "size": 6},
            hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra></extra>",
        )
    )
    if target is not None:
        fig.add_hline(
            y=target,
            line_dash="dot",
            line_color=TURQUOISE,
            annotation_text=f"Target {target:g}",
            annotation_position="top right",
            name="target",
        )
    if financial_years and len(data):
        add_financial_years(fig, data[date_col].min(), data[date_col].max())
    add_rollout(fig, rollout_date)
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    if not financial_years:
        fig.update_xaxes(title_text="Period ending")
    _x_range(fig, x_range)
    return _style(fig, title, source)


# -- before / after ----------------------------------------------------------------------------


def before_after_figure(
    ba,
    *,
    source: str,
    rollout_date,
    period_word: str = "periods",
    y_title: str = "Rate per 10,000 children",
) -> tuple[go.Figure, str]:
    """The before/after chart of a `BeforeAfterResult`, and its finding-stating title.

    One place for the dashboard's Trends page and the annual report.
    """
    direction = "lower" if ba.rate_after < ba.rate_before else "higher"
    title = (
        f"The rate was {abs(ba.percent_change):.0f}% {direction} in the {ba.n_after} "
        f"{period_word} after the rollout than in the {ba.n_before} before "
        f"(rate ratio {ba.rate_ratio:.2f}, 95% CI {ba.rate_ratio_lower:.2f} to "
        f"{ba.rate_ratio_upper:.2f})"
    )
    summary = pd.DataFrame(
        {
            "side": ["before", "after"],
            "start": [ba.before_start, ba.after_start],
            "end": [ba.before_end, ba.after_end],
            "rate": [ba.rate_before, ba.rate_after],
            "lower": [ba.rate_before_lower, ba.rate_after_lower],
            "upper": [ba.rate_before_upper, ba.rate_after_upper],
        }
    )
    figure = before_after_chart(
        ba.periods,
        summary,
        title=title,
        source=source,
        rollout_date=rollout_date,
        y_title=y_title,
    )
    return figure, title


def before_after_chart(
    periods: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    title: str,
    source: str,
    rollout_date,
    y_title: str = "Rate per 10,000 children",
) -> go.Figure:
    """Period rates before and after the rollout, with each side's pooled rate and 95% CI.

    `periods`: date, side ("before"/"after"), rate. `summary`: side, start, end, rate, lower,
    upper (one row per side).
    """
    fig = _figure()
    styles = {
        "before": (DARK_GREY, "circle", "Before rollout"),
        "after": (TURQUOISE, "diamond", "After rollout"),
    }
    for side, (color, symbol, label) in styles.items():
        part = periods[periods["side"] == side]
        fig.add_trace(
            go.Scatter(
                x=part["date"],
                y=part["rate"],
                mode="markers",
                marker={"color": color, "symbol": symbol, "size": 9},
                name=f"{label}: each period",
                hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra></extra>",
            )
        )
        row = summary[summary["side"] == side]
        if row.empty:
            continue
        row = row.iloc[0]
        x = [pd.Timestamp(row["start"]), pd.Timestamp(row["end"])]
        _band(
            fig,
            x,
            [row["lower"]] * 2,
            [row["upper"]] * 2,
            name=f"{label}: 95% CI",
            color=color,
            opacity=0.2,
            showlegend=False,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[row["rate"]] * 2,
                mode="lines+text",
                line={"color": color, "width": 3, "dash": "solid" if side == "after" else "dash"},
                text=[f"{row['rate']:.1f}", ""],
                textposition="top right",
                name=f"{label}: average {row['rate']:.1f}",
            )
        )
    add_rollout(fig, rollout_date)
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_xaxes(title_text="Period ending")
    return _style(fig, title, source)


# -- interrupted time series -------------------------------------------------------------------


def its_chart(
    fitted: pd.DataFrame,
    *,
    title: str,
    source: str,
    rollout_date,
    rate: bool = True,
    y_title: str = "Rate per 10,000 children",
    x_range=None,
) -> go.Figure:
    """Observed points, the model's fitted line and the counterfactual (no rollout) with band.

    `fitted` is `ITSResult.fitted`: date, observed, fitted, counterfactual(_lower/_upper), and
    the same with a `_rate` suffix when the model had a population.
    """
    suffix = "_rate" if rate and "observed_rate" in fitted else ""
    data = fitted.sort_values("date")
    post = data[data["post"].astype(bool)] if "post" in data else data
    _band(
        fig := _figure(),
        post["date"],
        post[f"counterfactual_lower{suffix}"],
        post[f"counterfactual_upper{suffix}"],
        name="Counterfactual 95% interval",
        color=ORANGE,
        opacity=0.2,
    )
    fig.add_trace(
        go.Scatter(
            x=data["date"],
            y=data[f"observed{suffix}"],
            mode="markers",
            name="Observed",
            marker={"color": DARK_GREY, "symbol": "circle-open", "size": 8, "line": {"width": 2}},
            hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra>Observed</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=data["date"],
            y=data[f"fitted{suffix}"],
            mode="lines",
            name="Model fit",
            line={"color": DARK_BLUE, "width": 3},
            hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra>Model fit</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=post["date"],
            y=post[f"counterfactual{suffix}"],
            mode="lines",
            name="Expected without Restorative Practice",
            line={"color": ORANGE, "width": 3, "dash": "dash"},
            hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra>Counterfactual</extra>",
        )
    )
    add_rollout(fig, rollout_date)
    fig.update_yaxes(title_text=y_title if suffix else "Count", rangemode="tozero")
    fig.update_xaxes(title_text="Period ending")
    _x_range(fig, x_range)
    return _style(fig, title, source)


# -- SPC ---------------------------------------------------------------------------------------


def spc_chart(
    points: pd.DataFrame,
    *,
    title: str,
    source: str,
    rollout_date=None,
    variation_icon: str | None = None,
    assurance_icon: str | None = None,
    target: float | None = None,
    y_title: str = "Rate per 10,000 children",
    x_range=None,
) -> go.Figure:
    """An XmR chart in the Making Data Count style.

    `points` is `XmrResult.points` (date, value, mean, upl, lpl, near_upl, near_lpl,
    point_type). Special-cause points are marked by symbol, colour and a one-letter text label
    (I = improvement, C = concern, S = special cause with no direction of improvement).
    """
    data = points.sort_values("date")
    fig = _figure()
    fig.add_trace(
        go.Scatter(
            x=data["date"],
            y=data["value"],
            mode="lines+markers",
            name="Value",
            line={"color": LIGHT_GREY, "width": 2},
            marker={"color": DARK_GREY, "symbol": "circle", "size": 6},
            hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra></extra>",
        )
    )
    # Lines are drawn per segment (limits are recalculated after each rebase date).
    segments = data["segment"].unique() if "segment" in data else [0]
    line_specs = (
        ("mean", "Mean", DARK_GREY, "solid", 2),
        ("upl", "Limits", DARK_GREY, "dash", 1.5),
        ("lpl", "Limits", DARK_GREY, "dash", 1.5),
        ("near_upl", "Near limits", LIGHT_GREY, "dot", 1.5),
        ("near_lpl", "Near limits", LIGHT_GREY, "dot", 1.5),
    )
    shown: set[str] = set()
    for seg in segments:
        part = data[data["segment"] == seg] if "segment" in data else data
        for column, label, color, dash, width in line_specs:
            if column not in part:
                continue
            fig.add_trace(
                go.Scatter(
                    x=part["date"],
                    y=part[column],
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    showlegend=label not in shown,
                    line={"color": color, "dash": dash, "width": width, "shape": "hv"},
                    hoverinfo="skip",
                )
            )
            shown.add(label)
    for point_type, (color, symbol, label, letter) in POINT_STYLE.items():
        part = data[data["point_type"] == point_type]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["date"],
                y=part["value"],
                mode="markers+text",
                name=label,
                marker={
                    "color": color,
                    "symbol": symbol,
                    "size": 11,
                    "line": {"color": "white", "width": 1},
                },
                text=[letter] * len(part),
                textposition="top center",
                textfont={"color": color, "size": 11},
                hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra>" + label + "</extra>",
            )
        )
    if target is not None:
        fig.add_hline(y=target, line_dash="dashdot", line_color=TURQUOISE, name="target")
        fig.add_annotation(
            x=1,
            y=target,
            xref="paper",
            yref="y",
            text=f"Target {target:g}",
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
            font={"color": TURQUOISE, "size": 12},
        )
    icons = [variation_label(variation_icon)]
    if assurance_icon or target is not None:
        icons.append(assurance_label(assurance_icon))
    add_rollout(fig, rollout_date, label="Rollout (new limits)")
    fig.update_yaxes(title_text=y_title)
    fig.update_xaxes(title_text="Period ending")
    _x_range(fig, x_range)
    return _style(fig, title, source, height=520, subtitle=" · ".join(icons))


# -- comparisons -------------------------------------------------------------------------------


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
    """
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
        if lower_col and upper_col and lower_col in part and upper_col in part:
            for trace in _band_traces(
                part[date_col],
                part[lower_col],
                part[upper_col],
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
        start = None
        if rollout_col and rollout_col in part and part[rollout_col].notna().any():
            start = part[rollout_col].dropna().iloc[0]
        elif rollout_date is not None:
            start = rollout_date
        x = _ts(start) if start is not None and not isinstance(start, int | float) else start
        if x is not None:  # as fig.add_vline(row=, col=) draws it, across the panel's height
            shapes.append(
                {
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
            )
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
    # The same time span in every panel (x axes are not "matched": a range on a matched axis
    # makes plotly.js drop that panel's traces).
    if not (x_range and all(v is not None for v in x_range)) and len(frame):
        x_range = (frame[date_col].min(), frame[date_col].max())
    span = None
    if x_range and all(v is not None for v in x_range):
        low, high = (pd.Timestamp(v) for v in x_range)
        span = [low - pd.Timedelta(days=20), high + pd.Timedelta(days=20)]
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
    fig = go.Figure(data=traces, layout=layout)
    return _style(fig, title, source, height=220 + 190 * rows)


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
    """Every series indexed to 100 at a base, on one chart (line dash and colour per series)."""
    traces = []
    for number, (name, part) in enumerate(frame.groupby(series_col, sort=False)):
        part = part.sort_values(date_col)
        traces.append(
            {
                "type": "scatter",
                "x": part[date_col],
                "y": part[value_col],
                "mode": "lines+markers",
                "name": str(name),
                "line": {
                    "color": PALETTE[number % len(PALETTE)],
                    "dash": DASHES[number % len(DASHES)],
                    "width": 2,
                },
                "marker": {"symbol": SYMBOLS[number % len(SYMBOLS)], "size": 5},
                "hovertemplate": f"{name}<br>%{{x|%b %Y}}: %{{y:.0f}}<extra></extra>",
            }
        )
    fig = _figure(traces)  # validated once, not trace by trace
    fig.add_hline(y=100, line_color=DARK_GREY, line_width=1, name="base")
    add_rollout(fig, rollout_date, label="First rollout")
    fig.update_yaxes(title_text=f"Index ({base_label})")
    fig.update_xaxes(title_text="Period ending")
    _x_range(fig, x_range)
    return _style(fig, title, source)


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
    """One line per rollout wave against time since rollout; 0 is marked."""
    traces: list[dict] = []
    for number, (name, part) in enumerate(frame.groupby(group_col, sort=True)):
        part = part.sort_values(x_col)
        label = f"Wave {name}" if str(name).isdigit() else str(name)
        color = PALETTE[number % len(PALETTE)]
        if lower_col and upper_col and lower_col in part and upper_col in part:
            traces += _band_traces(
                part[x_col],
                part[lower_col],
                part[upper_col],
                name=f"{label}: 95% CI",
                color=color,
                opacity=0.12,
                showlegend=False,
                legendgroup=label,
            )
        traces.append(
            {
                "type": "scatter",
                "x": part[x_col],
                "y": part[value_col],
                "mode": "lines+markers",
                "name": label,
                "legendgroup": label,
                "line": {"color": color, "dash": DASHES[number % len(DASHES)], "width": 2},
                "marker": {"symbol": SYMBOLS[number % len(SYMBOLS)], "size": 6},
                "hovertemplate": f"{label}<br>%{{x}}: %{{y:.1f}}<extra></extra>",
            }
        )
    fig = _figure(traces)  # validated once, not trace by trace
    add_rollout(fig, 0, label="Rollout (0)")
    fig.update_xaxes(title_text=x_title, zeroline=False)
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    return _style(fig, title, source)


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
    fig = _figure()
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
    add_rollout(fig, -0.5, label="Rollout")
    fig.update_xaxes(title_text=x_title, dtick=2 if len(data) > 16 else 1)
    fig.update_yaxes(title_text=y_title)
    return _style(fig, title, source)


# -- training ----------------------------------------------------------------------------------


def training_coverage_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    source: str,
    group_col: str | None = None,
    date_col: str = "period_end",
    target: float | None = 0.8,
    rollout_date=None,
    x_range=None,
) -> go.Figure:
    """Share of staff trained over time (Wilson 95% CI) per group, with a target line.

    `frame` has coverage, coverage_lower, coverage_upper on the 0-1 scale (from
    `marts.training_coverage`); the chart shows percentages.
    """
    traces: list[dict] = []
    groups = frame.groupby(group_col, sort=True) if group_col else [("All staff in scope", frame)]
    for number, (name, part) in enumerate(groups):
        part = part.sort_values(date_col)
        color = PALETTE[number % len(PALETTE)]
        traces += _band_traces(
            part[date_col],
            part["coverage_lower"] * 100,
            part["coverage_upper"] * 100,
            name=f"{name}: 95% CI",
            color=color,
            opacity=0.12,
            showlegend=False,
            legendgroup=str(name),
        )
        traces.append(
            {
                "type": "scatter",
                "x": part[date_col],
                "y": part["coverage"] * 100,
                "mode": "lines+markers",
                "name": str(name),
                "legendgroup": str(name),
                "line": {"color": color, "dash": DASHES[number % len(DASHES)], "width": 2},
                "marker": {"symbol": SYMBOLS[number % len(SYMBOLS)], "size": 6},
                "hovertemplate": f"{name}<br>%{{x|%b %Y}}: %{{y:.0f}}%<extra></extra>",
            }
        )
    fig = _figure(traces)  # validated once, not trace by trace
    if target is not None:
        fig.add_hline(
            y=target * 100, line_dash="dashdot", line_color=TURQUOISE, line_width=2, name="target"
        )
        fig.add_annotation(
            x=0,
            y=target * 100,
            xref="paper",
            yref="y",
            text=f"Target {target:.0%}",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"color": "#1D6F69", "size": 12},
            name="target-label",
        )
    add_rollout(fig, rollout_date, label="First rollout")
    fig.update_yaxes(title_text="Staff trained (%)", range=[0, 100])
    fig.update_xaxes(title_text="Quarter ending")
    _x_range(fig, x_range)
    return _style(fig, title, source)


def dose_response_chart(
    points: pd.DataFrame,
    *,
    rho: float,
    ci_lower: float,
    ci_upper: float,
    source: str,
    question: str = "Did units that trained more staff see a bigger change?",
    label_col: str = "unit",
    x_col: str = "coverage",
    y_col: str = "change",
    y_title: str = "Change in rate per 10,000 (after minus before)",
) -> go.Figure:
    """Training coverage against change in the outcome, one labelled point per unit; ρ in title."""
    title = f"{question} Spearman's ρ = {rho:.2f} (95% CI {ci_lower:.2f} to {ci_upper:.2f})"
    x = points[x_col] * (100 if points[x_col].max() <= 1 else 1)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=points[y_col],
            mode="markers+text",
            text=points[label_col].astype(str) if label_col in points else None,
            textposition="top center",
            marker={
                "color": DARK_BLUE,
                "symbol": "circle",
                "size": 12,
                "line": {"color": "white", "width": 1},
            },
            name="Unit",
            cliponaxis=False,  # keep labels of points at the edge readable
            hovertemplate="%{text}<br>coverage %{x:.0f}%<br>change %{y:.1f}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line_color=DARK_GREY, line_width=1, name="no-change")
    fig.update_xaxes(title_text="Staff trained (%)")
    fig.update_yaxes(title_text=y_title)
    return _style(fig, title, source)


# -- benchmarks against DfE published statistics -------------------------------------------------


def year_position(when) -> float | None:
    """Where a date falls on an axis of DfE years (2026 = 31 March 2026): 1 Oct 2019 -> 2019.5."""
    stamp = _ts(when)
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
        ticktext=[f"{y - 1}-{y % 100:02d}" for y in shown],
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
    fig = _figure()
    if data["neighbours_min"].notna().any():
        _band(
            fig,
            x,
            data["neighbours_min"],
            data["neighbours_max"],
            name="Neighbours: lowest to highest",
            color=TURQUOISE,
            opacity=0.16,
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
        fig.add_trace(
            go.Scatter(
                x=x,
                y=data[column],
                mode="lines+markers",
                name=name,
                line={"color": color, "dash": dash, "width": width},
                marker={"symbol": symbol, "size": 8 if column == "council" else 7},
                hovertemplate=f"{name}<br>year ending March %{{x}}: {fmt}<extra></extra>",
            )
        )
    add_rollout(fig, year_position(rollout_date), label="Rollout starts")
    _year_axis(fig, x, "Year ending 31 March")
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    if len(x):
        fig.update_xaxes(range=[x.min() - 0.4, x.max() + 0.4])
    return _style(fig, title, source)


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
    fig.update_xaxes(title_text="Weight (%)", range=[0, 115])
    fig.update_layout(showlegend=False, bargap=0.3)
    fig = _style(fig, title, source, height=170 + 32 * len(names))
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
        vertical_spacing=0.1,
        subplot_titles=[f"{council_name} and its synthetic comparison", "Gap (actual - synthetic)"],
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data["treated"],
            mode="lines+markers",
            name=council_name,
            line={"color": DARK_BLUE, "width": 3},
            marker={"symbol": "circle", "size": 8},
            hovertemplate=f"{council_name}<br>%{{x}}: %{{y:.1f}}{suffix}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data["synthetic"],
            mode="lines+markers",
            name="Synthetic",
            line={"color": TURQUOISE, "width": 2, "dash": "dash"},
            marker={"symbol": "square", "size": 7},
            hovertemplate=f"Synthetic<br>%{{x}}: %{{y:.1f}}{suffix}<extra></extra>",
        ),
        row=1,
        col=1,
    )
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
                    "color": _rgba(color, 0.35) if period == "pre" else color,
                    "line": {"color": color, "width": 1.5},
                    "pattern": {"shape": "" if period == "pre" else "/"},
                },
                hovertemplate=f"{label}<br>%{{x}}: %{{y:+.1f}}{suffix}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.add_hline(y=0, line_color=DARK_GREY, line_width=1, row=2, col=1, name="no-gap")
    start = treatment_year - 0.5
    add_rollout(fig, start, row=1, col=1)
    add_rollout(fig, start, row=2, col=1)
    fig.add_annotation(
        x=start,
        y=1,
        xref="x",
        yref="y domain",
        text=f"After: {treatment_year - 1}-{treatment_year % 100:02d} on",
        showarrow=False,
        xanchor="left",
        yanchor="top",
        xshift=4,
        font={"size": 12, "color": DARK_PINK},
        bgcolor="rgba(255,255,255,0.8)",
        name="rollout-label",
    )
    _year_axis(fig, x, "Year ending 31 March")
    fig.update_xaxes(title_text="", row=1, col=1)
    fig.update_yaxes(title_text=y_title, row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="Gap", row=2, col=1, zeroline=False)
    fig.update_annotations(font={"family": FONT})
    fig = _style(fig, title, source, height=600)
    fig.update_layout(margin={"t": fig.layout.margin.t + 24})  # room for the panel titles
    return fig


# -- tables and downloads ----------------------------------------------------------------------
# Thin wrappers over pipelines.disclosure so every table and download on the dashboard goes
# through the same rules as the report and the CLI.

SUPPRESSED = disclosure.SUPPRESSED


def disclosure_control(
    frame: pd.DataFrame,
    count_cols: Iterable[str],
    derived: dict[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    totals: dict[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Counts from 1 to `threshold` become "c"; columns derived from them are "c" too.

    `derived` maps a count column to the columns computed from it (its rate and CI). Zero is
    not suppressed. `totals` turns on secondary suppression (see `pipelines.disclosure`).
    Returns a copy; the input is not changed.
    """
    return disclosure.suppress(
        frame, count_cols, derived=derived, threshold=threshold, totals=totals
    )


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with an apostrophe.

    Negative numbers stay numbers: only strings are escaped.
    """
    return disclosure.escape_frame(frame)


def csv_bytes(
    frame: pd.DataFrame,
    count_cols: Iterable[str] = (),
    derived: dict[str, Iterable[str]] | None = None,
    threshold: int | None = None,
) -> bytes:
    """A download-safe CSV: disclosure control, then formula escaping, UTF-8 with BOM for Excel."""
    safe = disclosure_control(frame, count_cols, derived, threshold)
    for column in safe.columns:  # ISO dates, not Timestamps with times, in the download
        if pd.api.types.is_datetime64_any_dtype(safe[column]):
            safe[column] = safe[column].dt.strftime("%Y-%m-%d")
    return disclosure.to_safe_csv(safe)
