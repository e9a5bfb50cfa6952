"""Section 4, training in Restorative Practice: coverage over time by locality against the
target, its SPC chart, and the dose-response check (did localities that trained more staff
see a bigger change?). The figures are the Training page's (`pipelines.marts` and
`pipelines.analysis`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines import analysis, marts, measures
from pipelines.present import charts, dose_table
from pipelines.present.wording import is_missing, long_date
from pipelines.report.sections.common import (
    SPC_HEADING,
    could_not_run,
    highlight_year,
    spc_block,
)
from pipelines.report.tables import Block, Builder, num

COVERAGE = ("coverage", "coverage_lower", "coverage_upper")
COVERAGE_COLUMNS = ["period_end", "unit", "wave", "staff_in_scope", "staff_trained", *COVERAGE]
DOSE_COLUMNS = (
    "unit",
    "coverage",
    "rate_before",
    "rate_after",
    "change",
    "relative_change",
    "n_before",
    "n_after",
)
SPC_PERCENT_COLUMNS = ("value", "mean", "upl", "lpl", "near_upl", "near_lpl")


def training_section(
    b: Builder, tile: analysis.Headline, area_name: str
) -> tuple[list[Block], dict[str, Any]]:
    """The section's blocks, in the report's order, and the numbers they show."""
    intro = Block("training-brief", "In brief")
    intro.paragraphs.append(tile.finding)
    intro.paragraphs.append(
        "Training starts with the rollout, so there is no 'before' to compare and no "
        "interrupted time series for coverage; DfE publishes no training figures, so there is no "
        "benchmark. The dose-response check below asks instead whether localities that trained "
        "more staff saw a bigger change."
    )
    intro.bullets = list(tile.caveats)
    blocks = [intro, _coverage_block(b, tile), _spc_block(b, tile)]
    dose, numbers = _dose_block(b)
    return [*blocks, dose], numbers


def _by_locality(b: Builder) -> pd.DataFrame:
    """Coverage by locality, each named with its wave ('Ashby (wave 1)'), in wave order."""
    by_unit = marts.training_coverage(b.wh, b.area, by=("unit",))
    if by_unit.empty:
        return by_unit
    waves = marts.units(b.wh, b.area).set_index("unit")["wave"]
    by_unit = by_unit.copy()
    by_unit["wave"] = by_unit["unit"].map(waves)
    by_unit["locality"] = [
        f"{u} (wave {int(w)})" if not is_missing(w) else str(u)
        for u, w in zip(by_unit["unit"], by_unit["wave"], strict=True)
    ]
    return by_unit.sort_values(["wave", "unit", "period_end"])


def _coverage_block(b: Builder, tile: analysis.Headline) -> Block:
    block = Block("training-trend", "Coverage over time, by locality and wave")
    by_unit = _by_locality(b)
    if by_unit.empty:
        block.paragraphs.append("No training extracts are loaded.")
        return block
    title = (
        f"{tile.latest_rate:.0f}% of staff in scope trained by "
        f"{long_date(tile.latest_period)}, against a target of 80%"
    )
    source = charts.source_line("training extracts", marts.last_upload_time(b.wh))
    fig = charts.training_coverage_chart(
        by_unit,
        title=title,
        source=source,
        group_col="locality",
        rollout_date=marts.area_rollout_date(b.wh, b.area),
    )
    highlight_year(fig, b.year)
    block.charts.append(
        b.chart(
            fig,
            "training-coverage",
            title,
            "Cumulative share of staff in scope who have completed Restorative Practice "
            "training, by locality (wave in brackets), with Wilson 95% intervals. The 80% "
            "target line is illustrative.",
            by_unit[COVERAGE_COLUMNS],
            "Training coverage by locality, quarterly",
            count_columns=["staff_trained", "staff_in_scope"],
            derived={"staff_trained": COVERAGE},
            percent_columns=list(COVERAGE),
        )
    )
    return block


def _spc_block(b: Builder, tile: analysis.Headline) -> Block:
    if tile.spc is None:
        block = Block("training-spc", SPC_HEADING)
        block.paragraphs.append(could_not_run("SPC chart", tile.notes, "spc"))
        return block
    points = tile.spc.points.copy()
    for column in SPC_PERCENT_COLUMNS:  # the share as a percentage, like the coverage chart
        if column in points:
            points[column] = points[column] * 100
    return spc_block(
        b,
        "training-spc",
        tile.spc,
        points,
        what="training coverage",
        value_name="coverage",
        source=tile.source,
        caption="XmR chart of the share of all staff in scope who are trained (higher is better).",
        table_caption="Training coverage (%): SPC chart points and limits",
        rollout_date=None,
        y_title="Staff trained (%)",
    )


def _dose_block(b: Builder) -> tuple[Block, dict[str, Any]]:
    """For CPP starts and CLA starts: each locality's coverage against its change."""
    numbers: dict[str, Any] = {}
    block = Block("training-dose", "Did localities that trained more staff see a bigger change?")
    for measure in ("cpp_starts", "cla_starts"):
        gated = dose_table.gated_dose_response(b.wh, b.area, measure)
        dose = gated.dose
        label = measures.measure(measure).label
        if dose.result is None:
            block.paragraphs.append(
                f"{label}: the dose-response check could not run: "
                + dose.notes.get("dose_response", "not enough localities.")
            )
            continue
        res = dose.result
        numbers[f"dose_response_{measure}"] = [num(res.rho), num(res.ci_lower), num(res.ci_upper)]
        block.charts.append(_dose_chart(b, measure, gated))
    return block, numbers


def _dose_chart(b: Builder, measure: str, gated):
    """The chart and table through the gate (`present.dose_table`): the localities whose
    rates rest on 1 to 4 children, or on a quarter hidden elsewhere, are left off the chart
    and shown as ``c``."""
    dose = gated.dose
    res = dose.result
    short = measures.measure(measure).short
    label = measures.measure(measure).label
    fig = charts.dose_response_chart(
        gated.points.assign(change=gated.points["change"] * 100),
        rho=res.rho,
        ci_lower=res.ci_lower,
        ci_upper=res.ci_upper,
        source=dose.source,
        question=f"Training and {short}:",
        y_title=f"Change in {short} rate (%)",
    )
    return b.chart(
        fig,
        f"dose-{measure}",
        dose.findings[0].text if dose.findings else label,
        f"Each point is a locality: its training coverage against the change in its rate "
        f"in the {dose.window} quarters after its rollout compared with before. With "
        f"{res.n} localities this is a hint, not proof."
        + (f" {gated.caption}" if gated.caption else ""),
        _dose_columns(gated.percent_table()),
        f"{label}: training coverage and change by locality",
        static_height=440,
    )


def _dose_columns(table):
    return table[[c for c in DOSE_COLUMNS if c in table]]
