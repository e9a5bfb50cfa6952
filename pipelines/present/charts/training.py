"""Training in Restorative Practice: coverage over time against a target, and dose-response."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from pipelines import disclosure
from pipelines.present.charts.style import (
    DARK_BLUE,
    DARK_GREY,
    PALETTE,
    add_target,
    band_traces,
    finish,
    new_figure,
    numbered_line,
)

STAFF_TRAINED = "Staff trained (%)"


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
    `marts.training_coverage`); the chart shows percentages. Where staff trained or in scope
    is 1 to the suppression threshold, the share and its band are a gap (the page gates first,
    with the total for all staff; this is the floor).
    """
    counts = [c for c in ("staff_trained", "staff_in_scope") if c in frame]
    shares = ("coverage", "coverage_lower", "coverage_upper")
    frame = disclosure.blank(frame, counts, derived=dict.fromkeys(counts, shares))
    traces: list[dict] = []
    groups = frame.groupby(group_col, sort=True) if group_col else [("All staff in scope", frame)]
    for number, (name, part) in enumerate(groups):
        part = part.sort_values(date_col)
        traces += band_traces(
            part[date_col],
            part["coverage_lower"] * 100,
            part["coverage_upper"] * 100,
            name=f"{name}: 95% CI",
            color=PALETTE[number % len(PALETTE)],
            opacity=0.12,
            showlegend=False,
            legendgroup=str(name),
        )
        hover = f"{name}<br>%{{x|%b %Y}}: %{{y:.0f}}%<extra></extra>"
        traces.append(
            numbered_line(
                number,
                str(name),
                part[date_col],
                part["coverage"] * 100,
                hover,
                legendgroup=str(name),
            )
        )
    fig = new_figure(traces)  # validated once, not trace by trace
    if target is not None:
        add_target(
            fig,
            target * 100,
            f"Target {target:.0%}",
            label_color="#1D6F69",  # darker turquoise: 4.5:1 contrast for text on white
            line_width=2,
            label_name="target-label",
        )
    return finish(
        fig,
        title,
        source,
        rollout=rollout_date,
        rollout_label="First rollout",
        y_axis={"title_text": STAFF_TRAINED, "range": [0, 100]},
        x_axis={"title_text": "Quarter ending"},
        x_range=x_range,
    )


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
    return finish(
        fig,
        title,
        source,
        x_axis={"title_text": STAFF_TRAINED},
        y_axis={"title_text": y_title},
    )
