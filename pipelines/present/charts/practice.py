"""Practice evidence: a Laney p′ chart of a practice measure, and the change since rollout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pipelines import disclosure
from pipelines.present.charts.style import (
    DARK_BLUE,
    DARK_GREY,
    LIGHT_GREY,
    ORANGE,
    TURQUOISE,
    finish,
    new_figure,
)
from pipelines.stats.pprime import PPrimeResult

#: Point colours by Making Data Count point type (improvement blue, concern orange).
POINT_COLOURS = {
    "common_cause": DARK_GREY,
    "special_cause_improvement": DARK_BLUE,
    "special_cause_concern": ORANGE,
    "special_cause_neutral": TURQUOISE,
}
_SHARES = ("proportion", "ci_lower", "ci_upper", "lower", "upper", "centre")


def gated_points(points: pd.DataFrame) -> pd.DataFrame:
    """The chart's points with every share blanked where it would give away a count of 1 to
    the threshold: the number who agreed (or met the standard), the number who did not, or
    the number asked. The page shows the same frame as its data table."""
    frame = points.assign(not_counted=points["trials"] - points["successes"])
    counts = ("successes", "not_counted", "trials")
    return disclosure.blank(frame, counts, derived=dict.fromkeys(counts, _SHARES))


def pprime_chart(
    result: PPrimeResult,
    *,
    title: str,
    source: str,
    y_title: str = "Per cent",
    rollout_date=None,
    x_range=None,
) -> go.Figure:
    """Each quarter's percentage with its Wilson 95% interval, the centre line and the p′
    limits (wider where a quarter had fewer responses), special causes coloured."""
    points = gated_points(result.points)
    when = points["date"]
    traces = [
        go.Scatter(
            x=when,
            y=points["upper"] * 100,
            mode="lines",
            line={"color": LIGHT_GREY, "width": 1, "dash": "dot", "shape": "hvh"},
            name="Process limits (p′)",
            legendgroup="limits",
            hoverinfo="skip",
        ),
        go.Scatter(
            x=when,
            y=points["lower"] * 100,
            mode="lines",
            line={"color": LIGHT_GREY, "width": 1, "dash": "dot", "shape": "hvh"},
            name="Process limits (p′)",
            legendgroup="limits",
            showlegend=False,
            hoverinfo="skip",
        ),
        go.Scatter(
            x=when,
            y=points["centre"] * 100,
            mode="lines",
            line={"color": DARK_GREY, "width": 1.5, "shape": "hv"},
            name="Centre line",
            hoverinfo="skip",
        ),
    ]
    colours = [POINT_COLOURS.get(t, DARK_GREY) for t in points["point_type"].fillna("")]
    error = {
        "type": "data",
        "symmetric": False,
        "array": (points["ci_upper"] - points["proportion"]) * 100,
        "arrayminus": (points["proportion"] - points["ci_lower"]) * 100,
        "color": LIGHT_GREY,
        "thickness": 1,
    }
    traces.append(
        go.Scatter(
            x=when,
            y=points["proportion"] * 100,
            mode="markers+lines",
            line={"color": DARK_BLUE, "width": 1},
            marker={"color": colours, "size": 8, "symbol": "circle"},
            error_y=error,
            name="Quarter (95% interval)",
            customdata=np.column_stack(
                [points["ci_lower"] * 100, points["ci_upper"] * 100, points["trials"]]
            ),
            hovertemplate=(
                "%{x|%b %Y}: %{y:.0f}% (95% interval %{customdata[0]:.0f}% to "
                "%{customdata[1]:.0f}%)<extra></extra>"
            ),
        )
    )
    fig = new_figure(traces)
    return finish(
        fig,
        title,
        source,
        rollout=rollout_date,
        y_axis={"title_text": y_title, "range": [0, 100]},
        x_range=x_range,
    )


_CHANGE_SHARES = ("before", "after", "change", "change_lower", "change_upper")


def gated_change(table: pd.DataFrame) -> pd.DataFrame:
    """The change table with a row's shares blanked where any count behind them (agreed or
    not, before or after, or the number asked) is 1 to the threshold."""
    frame = table.assign(
        before_not=table["before_trials"] - table["before_successes"],
        after_not=table["after_trials"] - table["after_successes"],
    )
    counts = (
        "before_successes",
        "before_trials",
        "before_not",
        "after_successes",
        "after_trials",
        "after_not",
    )
    return disclosure.blank(frame, counts, derived=dict.fromkeys(counts, _CHANGE_SHARES))


def change_chart(table: pd.DataFrame, *, title: str, source: str) -> go.Figure:
    """Change since rollout (percentage points) per unit, wave and all units, with its
    95% interval; groups without quarters on both sides, or whose counts are too small to
    show, are left out."""
    shown = gated_change(table).dropna(subset=["change"]).iloc[::-1]
    colour = [
        DARK_BLUE if g == "All units" else TURQUOISE if str(g).startswith("Wave") else DARK_GREY
        for g in shown["group"]
    ]
    fig = new_figure(
        [
            go.Scatter(
                x=shown["change"] * 100,
                y=shown["group"],
                mode="markers",
                marker={"color": colour, "size": 10},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (shown["change_upper"] - shown["change"]) * 100,
                    "arrayminus": (shown["change"] - shown["change_lower"]) * 100,
                    "color": DARK_GREY,
                },
                name="Change since rollout",
                hovertemplate="%{y}: %{x:+.0f} points<extra></extra>",
            )
        ]
    )
    fig.add_vline(x=0, line={"color": DARK_GREY, "width": 1})
    return finish(
        fig,
        title,
        source,
        x_axis={"title_text": "Change in percentage points (95% interval)"},
        height=max(320, 40 * len(shown) + 160),
    )


def chain_chart(
    points: pd.DataFrame,
    result,
    *,
    source: str,
    question: str,
    x_col: str,
    y_col: str,
    y_title: str,
    x_title: str | None = None,
) -> go.Figure:
    """One step of dose → practice → outcome: a labelled point per locality, ρ in the title
    (the training page's dose-response chart, with this step's axes)."""
    from pipelines.present.charts.training import dose_response_chart

    fig = dose_response_chart(
        points,
        rho=result.rho,
        ci_lower=result.ci_lower,
        ci_upper=result.ci_upper,
        source=source,
        question=question,
        x_col=x_col,
        y_col=y_col,
        y_title=y_title,
    )
    if x_title:
        fig.update_xaxes(title_text=x_title)
        fig.update_traces(hovertemplate="%{text}<br>x %{x:.1f}<br>y %{y:.1f}<extra></extra>")
    return fig
