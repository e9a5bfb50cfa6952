"""Sections 2 and 3: children looked after and child protection plans.

Each has the same sub-sections: in brief, the rate over time, before and after the rollout,
the interrupted time series, SPC, the localities by rollout wave (event time and staggered
difference-in-differences) and, with DfE figures loaded, the benchmarks. Every statistic is
`pipelines.analysis.trend_analysis` or `cohort_analysis`, as on the Trends and Cohorts pages.

Every view of the whole area's series (the rate over time, before/after, the interrupted time
series, SPC and the findings about them) goes through the dashboard's one disclosure decision
for the (area, measure, grain), `pipelines.present.cube.gate_trend`, as the Trends page does:
a quarter the dashboard hides (a count of 1 to the threshold, or a cell hidden to protect
another in the locality x age-band table) is hidden here too, and the before/after and the
interrupted time series are withheld where the dashboard withholds them. A table gated only on
its own counts would show a count the dashboard hides to protect another, and a reader holding
both would work the protected count out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines import analysis, measures
from pipelines import benchmarks as dfe_reads
from pipelines.analysis.benchmarks import council_rollout_date
from pipelines.analysis.board import is_public_only
from pipelines.analysis.headlines import annual_headlines
from pipelines.analysis.trend import MIN_POINTS_EACH_SIDE
from pipelines.analysis.verdict import ANNUAL_FIGURES
from pipelines.present import charts
from pipelines.present import cube as one_decision
from pipelines.present.charts import tables as gates
from pipelines.present.wording import fy_label, is_missing, month_label
from pipelines.report.sections.benchmarks import benchmark_block
from pipelines.report.sections.common import (
    SPC_HEADING,
    could_not_run,
    gated_chart,
    highlight_year,
    spc_block,
)
from pipelines.report.tables import Block, Builder, num
from pipelines.stats import findings as fnd

SERIES_COLUMNS = ["period_end", *analysis.RATE_COLUMNS]
ITS_COLUMNS = (
    "date",
    "observed",
    "observed_rate",
    "fitted_rate",
    "counterfactual_rate",
    "counterfactual_lower_rate",
    "counterfactual_upper_rate",
)
WAVE_COLUMNS = [
    "wave",
    "periods_since_rollout",
    "pooled_rate",
    "pooled_lower",
    "pooled_upper",
    "n_units",
]
DID_COLUMNS = ("relative_period", "att", "ci_lower", "ci_upper", "p_value")


@dataclass(frozen=True)
class OutcomeSpec:
    """One outcome section: its id and heading, its stock (the trend) and flow (the waves)
    measures, and DfE's name for its 31 March figure."""

    section_id: str
    heading: str
    stock: str
    flow: str
    dfe_measure: str


CLA = OutcomeSpec(
    "cla", "Children looked after", "cla_at_period_end", "cla_starts", "cla_at_31_march"
)
CPP = OutcomeSpec(
    "cpp", "Child protection plans", "cpp_at_period_end", "cpp_starts", "cpp_at_31_march"
)


def outcome_section(
    b: Builder,
    spec: OutcomeSpec,
    year_rows: pd.DataFrame,
    has_dfe: bool,
    area_name: str,
    summary_findings: Sequence[Mapping[str, Any]] = (),
) -> tuple[list[Block], dict[str, Any]]:
    """The section's blocks, in the report's order, and the numbers they show.

    `summary_findings` are section 1's findings (key and text): where section 1 states an
    estimate for this section's localities, "In brief" repeats its words rather than a second
    estimate of the same thing (issue 17: the summary and section 2 never contradict)."""
    if is_public_only(b.wh, b.area):
        return _public_section(b, spec, has_dfe, area_name)
    trend = analysis.trend_analysis(b.wh, b.area, spec.stock, hac=True)
    views = trend_views(b, trend)
    cohort = analysis.cohort_analysis(b.wh, b.area, spec.flow)
    for method, reason in trend.notes.items():
        b.warnings.append(f"{spec.heading}: {method.replace('_', ' ')} did not run: {reason}")
    # In the report's order: figures and appendix tables are numbered as they are built.
    parts = [
        _brief(b, spec, views, cohort, year_rows, area_name, summary_findings, trend.caveats),
        _trend_block(b, spec, trend, views, area_name),
        _before_after_block(b, spec, trend, views),
        _its_block(b, spec, trend, views),
        (_spc_block(b, spec, trend, views), {}),
        _cohort_block(b, spec, cohort),
        benchmark_block(
            b,
            spec.section_id,
            spec.stock,
            spec.dfe_measure,
            has_dfe=has_dfe,
            area_name=area_name,
            rollout=trend.rollout_date,
        ),
    ]
    numbers: dict[str, Any] = {}
    for _, found in parts:
        numbers.update(found)
    return [block for block, _ in parts], numbers


def trend_views(b: Builder, trend) -> gates.TrendGates:
    """Every view of `trend` through the dashboard's one disclosure decision for its (area,
    measure, grain), at its unit and age band: the periods hidden, the before/after and the
    interrupted time series withheld, and the findings left, exactly as on the Trends page
    (`pipelines.present.cube.gate_trend`). For a stock the decision is one grain's table; for
    a flow it covers months, quarters and years together."""
    decided = one_decision.outcome_cube(b.wh, b.area, trend.measure, trend.grain, b.threshold)
    return one_decision.gate_trend(decided, trend, trend.unit, trend.age_band, b.threshold)


def year_hidden(b: Builder, measure: str) -> set[pd.Timestamp]:
    """The financial years the dashboard's one decision hides for the whole area's `measure`
    (the year's figure that "In brief" states)."""
    decided = one_decision.outcome_cube(b.wh, b.area, measure, "financial_year", b.threshold)
    return {pd.Timestamp(p) for p in decided.hidden_periods()}


def _public_section(
    b: Builder, spec: OutcomeSpec, has_dfe: bool, area_name: str
) -> tuple[list[Block], dict[str, Any]]:
    """For a council with only DfE's published annual figures: the published level, what the
    quarterly methods need and why they cannot run on annual figures, then the benchmarks."""
    tile = next(
        (t for t in annual_headlines(b.wh, b.area) if t.key == f"{spec.section_id}_rate"),
        None,
    )
    intro = Block(f"{spec.section_id}-brief", "In brief")
    numbers: dict[str, Any] = {}
    if tile is not None and tile.latest_rate is not None:
        intro.paragraphs.append(tile.finding)
        numbers[f"{spec.dfe_measure}_rate_{tile.latest_period.year}"] = num(tile.latest_rate)
        if tile.latest_period.year < b.year:
            intro.paragraphs.append(
                f"DfE has not yet published figures for {fy_label(b.year)}: the latest "
                f"published year is {fy_label(tile.latest_period.year)}."
            )
    intro.paragraphs.append(
        f"Only {ANNUAL_FIGURES} are loaded for {area_name}, so the quarterly views of this "
        f"section cannot run: an interrupted time series needs at least {MIN_POINTS_EACH_SIDE} "
        "points on each side of the rollout (with annual figures, eight years each side), and "
        "the before/after comparison, the SPC chart and the comparison of localities need the "
        "council's own monthly or quarterly outcomes extracts. Loading those extracts, with "
        "the date each locality started, would let them run; importing older DfE releases "
        "lengthens the annual series that the comparison with statistical neighbours uses."
    )
    council = dfe_reads.resolve_council(b.wh, b.area) if has_dfe else None
    rollout = council_rollout_date(b.wh, council) if council else None
    bench = benchmark_block(
        b,
        spec.section_id,
        spec.stock,
        spec.dfe_measure,
        has_dfe=has_dfe,
        area_name=area_name,
        rollout=rollout,
    )
    numbers.update(bench[1])
    return [intro, bench[0]], numbers


def _brief(
    b: Builder,
    spec: OutcomeSpec,
    views: gates.TrendGates,
    cohort,
    year_rows: pd.DataFrame,
    area_name: str,
    summary_findings: Sequence[Mapping[str, Any]] = (),
    caveats: Sequence[str] = (),
) -> tuple[Block, dict[str, Any]]:
    """The year's rate against the year before's, then every finding (those the disclosure
    gate leaves, `views`) and caveat. The localities' difference-in-differences is the
    summary's own finding where it has one. A year the dashboard hides is not stated."""
    m = measures.measure(spec.stock)
    numbers: dict[str, Any] = {}
    intro = Block(f"{spec.section_id}-brief", "In brief")
    year_row = year_rows[year_rows["key"] == spec.stock] if len(year_rows) else pd.DataFrame()
    hidden = year_hidden(b, spec.stock) if len(year_row) else set()
    if (
        len(year_row)
        and not is_missing(year_row.iloc[0]["rate_per_10k"])
        and pd.Timestamp(b.year, 3, 31) not in hidden
    ):
        r = year_row.iloc[0]
        line = (
            f"On 31 March {b.year}, {area_name} had {r['rate_per_10k']:.1f} {m.label.lower()} "
            "per 10,000 children"
        )
        if not is_missing(r["previous_rate"]) and pd.Timestamp(b.year - 1, 3, 31) not in hidden:
            line += f" ({r['previous_rate']:.1f} a year earlier)"
        intro.paragraphs.append(line + ".")
        numbers[f"{spec.stock}_rate_{b.year}"] = num(r["rate_per_10k"])
    summary_did = [
        f["text"] for f in summary_findings if str(f["key"]).startswith(f"did:{spec.flow}")
    ]
    cohort_texts = [
        f.text
        for f in cohort.findings
        if not (summary_did and str(f.key).startswith(f"did:{spec.flow}"))
    ]
    intro.bullets = [f.text for f in views.findings] + summary_did + cohort_texts
    intro.bullets += list(dict.fromkeys(caveats))
    return intro, numbers


def _trend_block(
    b: Builder, spec: OutcomeSpec, trend, views: gates.TrendGates, area_name: str
) -> tuple[Block, dict[str, Any]]:
    """The quarterly rate with its interval, the rollout marked and the report year shaded:
    the quarters the dashboard hides are gaps in the chart and "c" in its table."""
    m = measures.measure(spec.stock)
    series = views.series.plot
    block = Block(f"{spec.section_id}-trend", "Over time")
    if not series["rate_per_10k"].notna().any():
        block.paragraphs.append(f"No complete quarters of {m.label.lower()} are loaded.")
        return block, {}
    latest = series.dropna(subset=["rate_per_10k"]).iloc[-1]
    title = (
        f"{m.label}: {latest['rate_per_10k']:.1f} per 10,000 children in the quarter to "
        f"{month_label(latest['period_end'])}"
    )
    fig = charts.time_series(
        series,
        title=title,
        source=trend.source,
        rollout_date=trend.rollout_date,
        y_title="Rate per 10,000 children",
    )
    highlight_year(fig, b.year)
    caption = (
        f"Quarterly rate of {m.label.lower()} per 10,000 children aged 0-17 with its 95% "
        f"confidence interval (shaded). The dashed line marks the first rollout "
        f"({month_label(trend.rollout_date)}); the green band is {fy_label(b.year)}."
    )
    if views.series.masks.get("value", np.zeros(0, bool)).any():
        caption += " Gaps are quarters hidden to protect children's privacy, as on the dashboard."
    block.charts.append(
        gated_chart(
            b,
            fig,
            f"{spec.section_id}-trend",
            title,
            caption,
            views.series,
            SERIES_COLUMNS,
            f"{m.label}, {area_name}, quarterly",
            count_columns=["value"],
            derived={"value": ("rate_per_10k", "rate_lower", "rate_upper")},
        )
    )
    return block, {}


#: Said where the dashboard withholds the before/after comparison (`cube.before_after_withheld`).
BEFORE_AFTER_WITHHELD = (
    "The before/after comparison is withheld, as on the dashboard: some quarters in its window "
    "are hidden to protect children's privacy, or too few children were counted in it, and "
    "its averages would let those counts be worked out."
)
#: Said where the dashboard withholds the interrupted time series (`cube.its_withheld_for`).
ITS_WITHHELD = (
    "The interrupted time series is withheld, as on the dashboard: some quarters of this series "
    "are hidden to protect children's privacy, and the model's fitted values and step would "
    "let those counts be worked out."
)


def _before_after_block(
    b: Builder, spec: OutcomeSpec, trend, views: gates.TrendGates
) -> tuple[Block, dict[str, Any]]:
    """Each quarter either side of the rollout, with each side's average rate and interval,
    or why it is withheld (`views.before_after_withheld`)."""
    m = measures.measure(spec.stock)
    block = Block(f"{spec.section_id}-before-after", "Before and after the rollout")
    ba = trend.before_after
    if ba is None:
        block.paragraphs.append(
            could_not_run("before/after comparison", trend.notes, "before_after")
        )
        return block, {}
    if views.before_after_withheld or views.before_after is None:
        block.paragraphs.append(BEFORE_AFTER_WITHHELD)
        return block, {}
    fig, title = charts.before_after_figure(
        ba,
        source=trend.source,
        rollout_date=trend.rollout_date,
        period_word="quarters",
        periods=views.before_after.plot,
    )
    block.charts.append(
        gated_chart(
            b,
            fig,
            f"{spec.section_id}-before-after",
            title,
            f"Each point is one quarter. The thick lines are the average rate in the "
            f"{ba.n_before} quarters before and the {ba.n_after} quarters after rollout, "
            "with their 95% confidence intervals (shaded).",
            views.before_after,
            list(ba.periods.columns),
            f"{m.label}: quarters either side of rollout",
            count_columns=["count"],
            derived={"count": ("rate",)},
        )
    )
    return block, {f"{spec.stock}_before_after_rate_ratio": num(ba.rate_ratio)}


def _its_title(its, label: str) -> tuple[str, list | None]:
    """The ITS chart's finding (how far the rate is from the projected trend) and its numbers."""
    rel = fnd.its_relative_effect(its)
    if rel is None:
        return f"{label}: observed against the pre-rollout trend", None
    # observed / counterfactual over the post period, as a change: 0.88 is 12% lower
    est, lo, hi = (x - 1 for x in rel)
    word = "lower" if est < 0 else "higher"
    title = (
        f"Since rollout the rate has been {abs(est) * 100:.0f}% {word} than the "
        f"pre-rollout trend projected (95% CI {lo * 100:+.0f}% to {hi * 100:+.0f}%)"
    )
    return title, [num(est), num(lo), num(hi)]


def _its_block(
    b: Builder, spec: OutcomeSpec, trend, views: gates.TrendGates
) -> tuple[Block, dict[str, Any]]:
    """The interrupted time series: the fit, and the pre-rollout trend projected forward, or
    why it is withheld (`views.its_withheld`)."""
    m = measures.measure(spec.stock)
    block = Block(f"{spec.section_id}-its", "Compared with the trend before rollout")
    its = trend.its
    if its is None:
        block.paragraphs.append(could_not_run("interrupted time series", trend.notes, "its"))
        return block, {}
    if views.its_withheld or views.its is None:
        block.paragraphs.append(ITS_WITHHELD)
        return block, {}
    title, relative = _its_title(its, m.label)
    numbers = {} if relative is None else {f"{spec.stock}_its_relative": relative}
    fig = charts.its_chart(
        views.its.plot, title=title, source=trend.source, rollout_date=its.intervention_date
    )
    block.charts.append(
        gated_chart(
            b,
            fig,
            f"{spec.section_id}-its",
            title,
            "Interrupted time series: the blue line is the model fitted to every quarter; the "
            "dashed orange line projects the trend before rollout forward (what the model "
            "expects without Restorative Practice) with its 95% interval.",
            views.its,
            ITS_COLUMNS,
            f"{m.label}: interrupted time series (rates per 10,000)",
            count_columns=["observed"],
            derived={"observed": ("observed_rate",)},
        )
    )
    return block, numbers


def _spc_block(b: Builder, spec: OutcomeSpec, trend, views: gates.TrendGates) -> Block:
    """The XmR chart as the Trends page draws it (`views.spc`): over the quarters shown."""
    m = measures.measure(spec.stock)
    if trend.spc is None or views.spc is None:
        block = Block(f"{spec.section_id}-spc", SPC_HEADING)
        block.paragraphs.append(could_not_run("SPC chart", trend.notes, "spc"))
        return block
    return spc_block(
        b,
        f"{spec.section_id}-spc",
        trend.spc,
        trend.spc.points,
        what=m.label.lower(),
        value_name="rate_per_10k",
        source=trend.source,
        caption="XmR chart in the NHS Making Data Count style: points outside the limits, runs "
        "of 7 and other special-cause rules are marked (I improvement, C concern). "
        "Limits are recalculated from rollout.",
        table_caption=f"{m.label}: SPC chart points and limits",
        rollout_date=trend.rollout_date,
        target=trend.spc.target,
        gated=views.spc,
    )


def _cohort_block(b: Builder, spec: OutcomeSpec, cohort) -> tuple[Block, dict[str, Any]]:
    """The localities by rollout wave: each wave on its own start, then the event study."""
    fm = measures.measure(spec.flow)
    block = Block(f"{spec.section_id}-cohorts", f"Localities by rollout wave: {fm.label.lower()}")
    if cohort.wave_means.empty:
        block.paragraphs.append(
            "The comparison by wave could not run: no locality has a rollout date in the data."
        )
    else:
        block.charts.append(_event_time_chart(b, spec, cohort, fm.label))
    if cohort.did is None or cohort.dynamic.empty:
        block.paragraphs.append(
            "The difference-in-differences could not run: "
            + cohort.notes.get("did", "not enough localities or periods.")
        )
        return block, {}
    att = cohort.simple_att
    block.charts.append(_did_chart(b, spec, cohort, fm.label))
    return block, {
        f"{spec.flow}_did_att": [num(att.estimate), num(att.ci_lower), num(att.ci_upper)]
    }


def _event_time_chart(b: Builder, spec: OutcomeSpec, cohort, label: str):
    title = f"{label} by quarters since each wave's rollout"
    # The same gate as the Cohorts page: exact Poisson limits give a pooled count away, so a
    # row whose count or interval implies 1 to the threshold is hidden in the chart and table.
    waves = gates.gate_event_time(cohort.wave_means)
    fig = charts.event_time_chart(
        waves.plot,
        title=title,
        source=cohort.source,
        x_col="periods_since_rollout",
        value_col="pooled_rate",
        lower_col="pooled_lower",
        upper_col="pooled_upper",
        x_title="Quarters since the wave's rollout (0 = the first quarter from the start)",
    )
    return b.chart(
        fig,
        f"{spec.section_id}-event-time",
        title,
        "Each line is one wave's localities added together, lined up on their own start "
        "(0); shaded bands are 95% confidence intervals.",
        waves.table[WAVE_COLUMNS],
        f"{label}: rate by wave and quarters since rollout",
    )


def _did_chart(b: Builder, spec: OutcomeSpec, cohort, label: str):
    att = cohort.simple_att
    title = (
        f"After rollout, {label.lower()} changed by {att.estimate:+.1f} per 10,000 a "
        f"quarter against localities not yet started (95% CI {att.ci_lower:+.1f} to "
        f"{att.ci_upper:+.1f})"
    )
    fig = charts.event_study_chart(
        cohort.dynamic,
        title=title,
        source=cohort.source,
        y_title="Difference per 10,000",
    )
    return b.chart(
        fig,
        f"{spec.section_id}-did",
        title,
        cohort.control_note
        + " Points before 0 should sit near zero if the comparison is fair. This quarter-by-"
        "quarter view supports the summary's estimate for the localities, which is by financial "
        "year (the grain whose intervals were checked in simulation); where the two differ, read "
        "the summary's.",
        cohort.dynamic[[c for c in DID_COLUMNS if c in cohort.dynamic]],
        f"{label}: staggered difference-in-differences by quarters since rollout",
    )
