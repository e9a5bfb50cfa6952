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
    if group_col:
        add_end_labels(fig, traces)
    if target is not None:
        add_target(
            fig,
            target * 100,
            f"Target {target:.0%}",
            label_color="#1D6F69",  # darker turquoise: 4.5:1 contrast for text on white
            line_width=2,
            label_name="target-label",
        )
    fig = finish(
        fig,
        title,
        source,
        rollout=rollout_date,
        rollout_label="First rollout",
        y_axis={"title_text": STAFF_TRAINED, "range": [0, 100]},
        x_axis={"title_text": "Quarter ending"},
        x_range=x_range,
    )
    if group_col:
        fig.update_layout(margin={"r": END_LABEL_MARGIN})  # room for the line labels
    return fig


#: Right margin (px) for the names written at the end of each line, and the least distance
#: (in y units, here percentage points) between two of them so they never overlap.
END_LABEL_MARGIN, END_LABEL_GAP = 96, 6.0
MAX_END_LABELS = 8


def add_end_labels(fig: go.Figure, traces: list[dict], gap: float = END_LABEL_GAP) -> go.Figure:
    """Write each line's name at its last point, in the line's colour, so a reader matches
    lines to names without the legend; labels closer than ``gap`` are pushed apart (a
    leader-free stack). Beyond :data:`MAX_END_LABELS` lines the legend does the job."""
    ends = []
    for trace in traces:
        color = (trace.get("line") or {}).get("color")
        if trace.get("fill") or trace.get("showlegend") is False or not color:
            continue  # an interval band, not a line
        points = pd.DataFrame({"x": list(trace["x"]), "y": list(trace["y"])}).dropna()
        if points.empty:
            continue
        last = points.iloc[-1]
        ends.append([float(last["y"]), last["x"], trace["name"], color])
    if not ends or len(ends) > MAX_END_LABELS:
        return fig
    ends.sort(key=lambda e: e[0])
    placed: list[float] = []
    for end in ends:
        y = end[0] if not placed else max(end[0], placed[-1] + gap)
        placed.append(y)
    shift = max(0.0, placed[-1] - 100.0)  # keep the stack inside the axis
    for end, y in zip(ends, placed, strict=True):
        fig.add_annotation(
            x=end[1],
            y=y - shift,
            # The name in near-black (4.5:1 on white whatever the line's colour), after a
            # swatch of the line's colour.
            text=f"<span style='color:{end[3]}'>■</span> {end[2]}",
            xanchor="left",
            xshift=8,
            showarrow=False,
            font={"size": 12, "color": "#0B0C0C"},
            name="end-label",
        )
    return fig


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


def training_caption(
    area_name: str, unit_label: str, outcome_label: str, first: str | None, last: str | None
) -> str:
    """The Training page's view line: what its figures are (staff training coverage from the
    training extracts, by quarter), not the outcome measure chosen in the sidebar, which only
    the dose-response section uses and is named as such."""
    span = f" · {first} to {last}" if first and last else ""
    return (
        f"{area_name} · {unit_label} · staff trained in Restorative Practice (training "
        f"extracts, by quarter){span} · dose-response outcome: {outcome_label}"
    )
