"""Cohorts: the measure's verdict when the plan makes it primary; localities, rollout waves and
age bands compared; event time and the staggered DiD as supporting views."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.views.common import (
    chart_block,
    choose_series,
    empty_state,
    glossary_expander,
    in_range,
    open_page,
    spread,
)
from dashboard.views.verdict_block import measure_verdict
from pipelines import disclosure
from pipelines.measures import GRAIN_LABELS, MEASURES
from pipelines.present import charts, cube, glossary
from pipelines.present.charts import tables as gates
from pipelines.present.numbers import ci_words, signed_number

#: The per-period columns of a rate table, as the downloads show them.
RATE_TABLE_COLS = ("period_end", "value", "population", "rate_per_10k", "rate_lower", "rate_upper")

ctx = open_page(
    "Cohorts",
    "Localities started Restorative Practice in waves. Comparing localities, waves and age "
    "bands shows whether the change followed each locality's own start, which is stronger "
    "evidence than a change in the whole area alone.",
)
f = ctx.filters
measure = MEASURES[f.measure]
label = measure.label.lower()

# -- the verdict first: it rests on the comparison of localities this page charts --------------
measure_verdict(
    ctx,
    supporting="The event-time chart and the difference-in-differences on this page (per "
    "10,000 children, at the grain chosen in the sidebar) are supporting views. They can differ "
    "from the verdict, which uses quarters and tests the comparison against every order in "
    "which the localities could have started.",
)
step = {"quarter": "Quarters", "month": "Months", "financial_year": "Years"}[f.grain]


def gated_view(comparison) -> disclosure.Gated:
    """The comparison's frame through the disclosure gate (with its totals), then the periods
    chosen in the sidebar: gated whole, so a filter never leaves a part recoverable."""
    fixed = f.unit if comparison.by == "age_band" else "All"
    one_decision = data.outcome_cube(f.area, f.measure, f.grain)
    whole = cube.gate_comparison(one_decision, comparison.frame, comparison.by, fixed)
    return whole.take(in_range(whole.plot, ctx).index)


def index_block(fig, gated, comparison, key: str, by: str) -> None:
    """The indexed chart with its table (count, index) for localities or age bands."""
    chart_block(
        fig,
        gated,
        columns=("series", "period_end", "value", "index"),
        key=f"{key}-index",
        file_name=f"{ctx.area_name} {f.measure} indexed by {by}",
        caption=f"{comparison.index_base} Each panel draws one {by} in blue over the others "
        "in grey.",
    )


tab_units, tab_ages, tab_waves = st.tabs(
    ["Localities", "Age bands", "Rollout waves (event time and DiD)"]
)

# -- localities --------------------------------------------------------------------------------
with tab_units:
    comparison = data.unit_comparison(f.area, f.measure, grain=f.grain)
    order = list(comparison.series_order)
    waves = dict(zip(comparison.frame["series"], comparison.frame["wave"], strict=False))
    shown = choose_series(
        order,
        noun="localities",
        key="cohorts-localities",
        default=order[:1] + spread(order[1:], waves),  # the whole area, then each wave in turn
    )
    gated = gated_view(comparison)
    if len(shown) < len(order):
        gated = gated.take(gated.plot.index[gated.plot["series"].isin(shown)])
    frame = gated.plot
    if frame.empty:
        empty_state(
            "No locality figures match these filters",
            f"There are no {label} figures by locality in the chosen periods.",
            "Widen the period range, or load outcome extracts with a row per locality.",
        )
    else:
        fig = charts.small_multiples(
            frame,
            title=f"Rate of {label} in each locality; the dashed line is that locality's start",
            source=comparison.source,
            x_range=f.x_range,
        )
        chart_block(
            fig,
            gated,
            columns=("series", "wave", "start_date", *RATE_TABLE_COLS, "index"),
            key="units-small",
            file_name=f"{ctx.area_name} {f.measure} by locality",
            caption="Panels share the same scale. The shaded band is the 95% confidence interval.",
        )
        fig = charts.indexed_chart(
            frame,
            title=f"Each locality's rate of {label} as an index: which moved most?",
            source=comparison.source,
            rollout_date=ctx.rollout_date,
            base_label="100 = first year",
            x_range=f.x_range,
        )
        index_block(fig, gated, comparison, "units", "locality")

# -- age bands ---------------------------------------------------------------------------------
with tab_ages:
    comparison = data.age_band_comparison(f.area, f.measure, grain=f.grain, unit=f.unit)
    gated = gated_view(comparison)
    frame = gated.plot
    if frame.empty:
        empty_state(
            "No age-band figures match these filters",
            f"There are no {label} figures by age band for {ctx.unit_label} in the chosen periods.",
            "Choose the whole area or another unit, or widen the period range.",
        )
    else:
        fig = charts.small_multiples(
            frame,
            title=f"Rate of {label} by age band, {ctx.unit_label}",
            source=comparison.source,
            rollout_col=None,
            rollout_date=ctx.rollout_date,
            x_range=f.x_range,
        )
        chart_block(
            fig,
            gated,
            columns=("series", *RATE_TABLE_COLS),
            key="ages-small",
            file_name=f"{ctx.area_name} {f.measure} by age band",
            caption="Age bands often have small numbers, so their intervals are wide; counts "
            "from 1 to 4 are shown as “c” in the table.",
        )
        fig = charts.indexed_chart(
            frame,
            title=f"Which age bands changed most? Rate of {label} as an index",
            source=comparison.source,
            rollout_date=ctx.rollout_date,
            base_label="100 = first year",
            x_range=f.x_range,
        )
        index_block(fig, gated, comparison, "ages", "age band")

# -- waves -------------------------------------------------------------------------------------
with tab_waves:
    cohort = data.cohort_analysis(f.area, f.measure, grain=f.grain)
    for finding in cohort.findings:
        st.markdown(f"- {finding.text}")

    st.markdown(f"##### {step} since rollout, by wave")
    waves = cohort.wave_means
    if waves.empty:
        empty_state(
            "The event-time view could not run",
            cohort.notes.get("wave_means", "No locality has a rollout date inside the data."),
            "Load the rollout extract (each locality's start date and wave).",
            icon=":material/block:",
        )
    else:
        # Pooled counts are not in the table, but exact Poisson limits give them away: the
        # gate suppresses every row whose interval implies a count of 1 to the threshold.
        waves = gates.gate_event_time(waves)
        fig = charts.event_time_chart(
            waves.plot,
            title=f"Lining the waves up on their own start: does {label} fall after 0?",
            source=cohort.source,
            x_col="periods_since_rollout",
            value_col="pooled_rate",
            lower_col="pooled_lower",
            upper_col="pooled_upper",
            x_title=f"{step} since the wave's rollout (0 = the first {GRAIN_LABELS[f.grain].lower()} from the start)",
        )
        chart_block(
            fig,
            waves,
            key="event-time",
            file_name=f"{ctx.area_name} {f.measure} event time by wave",
            caption="Each line is one wave's localities added together; shaded bands are 95% "
            "confidence intervals.",
        )

    st.markdown("##### Staggered difference-in-differences (event study, a supporting view)")
    if cohort.did is None or cohort.dynamic.empty:
        empty_state(
            "The difference-in-differences could not run",
            cohort.notes.get("did", "There were not enough localities or periods."),
            "It needs at least two waves with different start dates and several periods "
            "before and after each. Try the quarterly grain.",
            icon=":material/block:",
        )
    else:
        att = cohort.simple_att
        title = (
            f"After rollout, {label} changed by {signed_number(att.estimate)} per 10,000 a "
            f"{step.lower()[:-1]} against localities not yet started "
            f"({ci_words(att.ci_lower, att.ci_upper)})"
            if att is not None
            else "Difference from localities not yet started, by time since rollout"
        )
        fig = charts.event_study_chart(
            cohort.dynamic,
            title=title,
            source=cohort.source,
            x_title=f"{step} since rollout",
        )
        chart_block(
            fig,
            cohort.dynamic,
            key="did",
            file_name=f"{ctx.area_name} {f.measure} event study",
            caption=cohort.control_note
            + " Points before 0 should sit near zero if the comparison is fair.",
        )
    with st.expander("Method and caveats"):
        for name, reason in cohort.notes.items():
            st.markdown(f"- **{name.replace('_', ' ')}:** {reason}")
        if cohort.did is not None:
            st.markdown(f"- **Method:** {cohort.did.method}")
            for warning in cohort.did.warnings:
                st.markdown(f"- {warning}")
        if cohort.two_by_two_description:
            st.markdown(f"- **Cross-check (2x2):** {cohort.two_by_two_description}")
        for caveat in dict.fromkeys(c for fd in cohort.findings for c in fd.caveats):
            st.markdown(f"- {caveat}")

# -- the terms this page uses, in plain English -------------------------------------------------
glossary_expander(glossary.page_terms("cohorts", [fd.text for fd in cohort.findings]))
