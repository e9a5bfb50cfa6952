"""One area's measure over time: the rate with its interval, before/after, ITS and SPC.

Each builder takes an analysis result's table and returns a figure whose title states the
finding, with the rollout marked and (optionally) financial years (April to March) shaded.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from pipelines import disclosure
from pipelines.present.charts import tables
from pipelines.present.charts.labels import assurance_label, variation_label
from pipelines.present.charts.style import (
    DARK_BLUE,
    DARK_GREY,
    LIGHT_GREY,
    ORANGE,
    PLUM,
    TURQUOISE,
    add_target,
    band_traces,
    finish,
    from_zero,
    new_figure,
)
from pipelines.present.wording import fy_label
from pipelines.stats import its as _its

PERIOD_ENDING = {"title_text": "Period ending"}
#: The before/after chart's title where its averages would give a suppressed count away.
BEFORE_AFTER_WITHHELD = (
    "The averages before and after the rollout are withheld: too few children were counted, "
    "so they would give away counts suppressed to protect their privacy"
)

# Making Data Count point types: colour AND symbol AND a text label carry the meaning.
POINT_STYLE = {
    "special_cause_improvement": (DARK_BLUE, "diamond", "I: improvement", "I"),
    "special_cause_concern": (ORANGE, "square", "C: concern", "C"),
    "special_cause_neutral": (PLUM, "triangle-up", "S: special cause", "S"),
}


def financial_year_bands(start, end) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(start, end, '2024-25') for each financial year (April-March) overlapping start..end."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    year = start.year if start.month >= 4 else start.year - 1
    bands = []
    while pd.Timestamp(year, 4, 1) <= end:
        bands.append((pd.Timestamp(year, 4, 1), pd.Timestamp(year + 1, 3, 31), fy_label(year + 1)))
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


#: Most tick labels on a financial-year axis: more would overlap on a phone.
MAX_YEAR_TICKS = 8


def is_financial_year_grain(dates) -> bool:
    """Whether every date is a 31 March: the periods are financial years (April to March)."""
    stamps = pd.to_datetime(pd.Series(list(dates)), errors="coerce").dropna()
    return len(stamps) > 0 and bool(((stamps.dt.month == 3) & (stamps.dt.day == 31)).all())


def financial_year_ticks(fig: go.Figure, dates) -> go.Figure:
    """At the financial-year grain, label every x axis "2016-17", one tick at each year's
    end (31 March, where its point is drawn), never a mix with calendar years ("2016").
    Figures whose periods are months or quarters are returned unchanged."""
    if not is_financial_year_grain(dates):
        return fig
    ends = sorted(set(pd.to_datetime(pd.Series(list(dates))).dropna()))
    step = max(1, -(-len(ends) // MAX_YEAR_TICKS))
    shown = ends[::-1][::step][::-1]  # always label the latest year
    fig.update_xaxes(
        tickmode="array",
        tickvals=shown,
        ticktext=[fy_label(end.year) for end in shown],
        title_text="Financial year (April to March)",
    )
    return fig


def _finish_rate(
    fig: go.Figure,
    title: str,
    source: str,
    rollout_date,
    y_title: str,
    x_range=None,
    *,
    x_axis: dict | None = PERIOD_ENDING,
) -> go.Figure:
    """`finish` for a rate or count over time: the y axis from zero, the x axis by period
    (financial years labelled "2016-17" at that grain, :func:`financial_year_ticks`)."""
    fig = finish(
        fig,
        title,
        source,
        rollout=rollout_date,
        y_axis=from_zero(y_title),
        x_axis=x_axis,
        x_range=x_range,
    )
    dates = [x for trace in fig.data if trace.x is not None for x in trace.x if x is not None]
    return financial_year_ticks(fig, [d for d in dates if not isinstance(d, int | float | str)])


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
    count_col: str | None = "value",
) -> go.Figure:
    """A rate over time with its 95% confidence band and the rollout marked.

    Where `count_col` is 1 to the suppression threshold, the rate and its band are a gap
    (`pipelines.disclosure.blank_small`), never a point or a hover.
    """
    data = frame.sort_values(date_col)
    if count_col:
        data = disclosure.blank_small(data, count_col, (value_col, lower_col, upper_col))
    fig = new_figure()
    if lower_col and upper_col and lower_col in data and upper_col in data:
        fig.add_traces(
            band_traces(
                data[date_col],
                data[lower_col],
                data[upper_col],
                name="95% confidence interval",
                color=DARK_BLUE,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=data[date_col],
            y=data[value_col],
            mode="lines+markers",
            name=series_name,
            line={"color": DARK_BLUE, "width": 2.5},
            marker={"symbol": "circle", "size": 6},
            hovertemplate="%{x|%-d %B %Y}: %{y:.1f}<extra></extra>",
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
    x_axis = None if financial_years else PERIOD_ENDING  # financial years title their axis
    return _finish_rate(fig, title, source, rollout_date, y_title, x_range, x_axis=x_axis)


def before_after_figure(
    ba,
    *,
    source: str,
    rollout_date,
    period_word: str = "periods",
    y_title: str = "Rate per 10,000 children",
    periods: pd.DataFrame | None = None,
) -> tuple[go.Figure, str]:
    """The before/after chart of a `BeforeAfterResult`, and its finding-stating title.

    One place for the dashboard's Trends page and the annual report. `periods` (default
    ``ba.periods``) is the per-period table to plot, as the disclosure gate gave it.

    Each side's average, its interval and the rate ratio rest on the side's total count. Where
    the gate withholds the comparison (`tables.before_after_withheld`: a total of 1 to the
    threshold, or hidden counts it would give away), the title says so and states no number,
    and neither average is drawn: only the periods the gate shows.
    """
    if tables.before_after_withheld(ba.periods):
        summary = pd.DataFrame(columns=["side", "start", "end", "rate", "lower", "upper"])
        title = BEFORE_AFTER_WITHHELD
    else:
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
    if periods is None:
        periods = tables.gate_before_after(ba.periods).plot
    figure = before_after_chart(
        periods,
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
    upper (one row per side). A period whose `count` is small has no point (its rate is blank).
    """
    periods = disclosure.blank_small(periods, "count", ("rate",))
    fig = new_figure()
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
                hovertemplate="%{x|%-d %B %Y}: %{y:.1f}<extra></extra>",
            )
        )
        row = summary[summary["side"] == side]
        if row.empty:
            continue
        row = row.iloc[0]
        x = [pd.Timestamp(row["start"]), pd.Timestamp(row["end"])]
        fig.add_traces(
            band_traces(
                x,
                [row["lower"]] * 2,
                [row["upper"]] * 2,
                name=f"{label}: 95% CI",
                color=color,
                opacity=0.2,
                showlegend=False,
            )
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
    return _finish_rate(fig, title, source, rollout_date, y_title)


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
    """Observed points, the model's fitted line and the counterfactual (no rollout) with bands.

    `fitted` is `ITSResult.fitted`: date, observed, fitted, counterfactual(_lower/_upper) (the
    interval for the expected counterfactual), prediction_lower/_upper (the range a single
    period would fall in without the change) when present, and the same with a `_rate` suffix
    when the model had a population. The prediction band is wider, lighter and dot-edged, so
    a reader can tell the two apart: points outside the narrow band of the mean are expected;
    points outside the prediction band are not.
    """
    suffix = "_rate" if rate and "observed_rate" in fitted else ""
    # An observed count of 1 to the threshold is plotted as neither a count nor a rate.
    data = disclosure.blank_small(fitted, "observed", ("observed_rate",)).sort_values("date")
    post = data[data["post"].astype(bool)] if "post" in data else data
    traces: list[dict] = []
    # The wide, light prediction band first (when the fit has one), then the mean's band.
    bands = (
        ("prediction", _its.prediction_interval_label(), 0.08, "dot"),
        ("counterfactual", _its.mean_interval_label(), 0.22, None),
    )
    for kind, label, opacity, edge_dash in bands:
        if f"{kind}_lower{suffix}" in post:
            traces += band_traces(
                post["date"],
                post[f"{kind}_lower{suffix}"],
                post[f"{kind}_upper{suffix}"],
                name=label.capitalize(),
                color=ORANGE,
                opacity=opacity,
                edge_dash=edge_dash,
            )
    fig = new_figure(traces)
    fig.add_trace(
        go.Scatter(
            x=data["date"],
            y=data[f"observed{suffix}"],
            mode="markers",
            name="Observed",
            marker={"color": DARK_GREY, "symbol": "circle-open", "size": 8, "line": {"width": 2}},
            hovertemplate="%{x|%-d %B %Y}: %{y:.1f}<extra>Observed</extra>",
        )
    )
    for rows, column, name, line, label in (
        (data, "fitted", "Model fit", {"color": DARK_BLUE, "width": 3}, "Model fit"),
        (
            post,
            "counterfactual",
            "Expected without Restorative Practice",
            {"color": ORANGE, "width": 3, "dash": "dash"},
            "Counterfactual",
        ),
    ):
        fig.add_trace(
            go.Scatter(
                x=rows["date"],
                y=rows[f"{column}{suffix}"],
                mode="lines",
                name=name,
                line=line,
                hovertemplate=f"%{{x|%-d %B %Y}}: %{{y:.1f}}<extra>{label}</extra>",
            )
        )
    return _finish_rate(fig, title, source, rollout_date, y_title if suffix else "Count", x_range)


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
    suppressed_dates=(),
) -> go.Figure:
    """An XmR chart in the Making Data Count style.

    `points` is `XmrResult.points` (date, value, mean, upl, lpl, near_upl, near_lpl,
    point_type). Special-cause points are marked by symbol, colour and a one-letter text label
    (I = improvement, C = concern, S = special cause with no direction of improvement).
    `suppressed_dates` are periods whose count disclosure control suppressed: their value is
    a gap (the points hold rates, not counts, so the caller says which they are).
    """
    data = points.sort_values("date")
    if len(suppressed_dates):
        data = disclosure.blank(
            data, [], rows={"value": disclosure.rows_matching(data["date"], suppressed_dates)}
        )
    fig = new_figure()
    fig.add_trace(
        go.Scatter(
            x=data["date"],
            y=data["value"],
            mode="lines+markers",
            name="Value",
            line={"color": LIGHT_GREY, "width": 2},
            marker={"color": DARK_GREY, "symbol": "circle", "size": 6},
            hovertemplate="%{x|%-d %B %Y}: %{y:.1f}<extra></extra>",
        )
    )
    _add_limits(fig, data)
    _add_special_causes(fig, data)
    if target is not None:
        add_target(fig, target, f"Target {target:g}", side="right")
    icons = [variation_label(variation_icon)]
    if assurance_icon or target is not None:
        icons.append(assurance_label(assurance_icon))
    fig = finish(
        fig,
        title,
        source,
        rollout=rollout_date,
        rollout_label="Rollout (new limits)",
        y_axis={"title_text": y_title},
        x_axis=PERIOD_ENDING,
        x_range=x_range,
        height=520,
        subtitle=" · ".join(icons),
    )
    return financial_year_ticks(fig, data["date"])


def _add_limits(fig: go.Figure, data: pd.DataFrame) -> None:
    """The mean, limits and near-limits, drawn per segment (recalculated after each rebase)."""
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


def _add_special_causes(fig: go.Figure, data: pd.DataFrame) -> None:
    """Special-cause points: colour, symbol and a letter (`POINT_STYLE`)."""
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
                hovertemplate="%{x|%-d %B %Y}: %{y:.1f}<extra>" + label + "</extra>",
            )
        )
