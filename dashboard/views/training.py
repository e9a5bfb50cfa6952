"""Training: staff trained over time by unit, agency or course; target; dose-response."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.state import UNIT_ALL, period_label
from dashboard.views.common import (
    chart_block,
    choose_series,
    empty_state,
    glossary_expander,
    in_range,
    open_page,
)
from pipelines.measures import MEASURES
from pipelines.present import charts, glossary
from pipelines.present.charts import tables as gates
from pipelines.present.charts.training import training_caption

ctx = open_page(
    "Training",
    "How many of the staff in scope have been trained in Restorative Practice, across "
    "children's social care and the partner agencies, and did units that trained more staff "
    "see a bigger change?",
    caption=False,  # the sidebar's measure is not what this page counts: its own line below
)
f = ctx.filters
st.caption(
    training_caption(
        ctx.area_name,
        ctx.unit_label,
        MEASURES[f.measure].label.lower(),
        period_label(f.start, "quarter") if f.start else None,
        period_label(f.end, "quarter") if f.end else None,
    )
)

options = data.training_options(f.area)
if not options["unit"]:
    empty_state(
        "No training data yet",
        f"No training extracts have been loaded for {ctx.area_name}.",
        "Load training extracts (staff in scope and staff trained, by unit, agency and course) "
        "on the **Upload** page.",
    )
    st.stop()

BY = {"Unit": "unit", "Agency": "agency", "Course": "course", "Nobody (all staff)": None}
a, b, c, d = st.columns(4)
by_label = a.selectbox("Compare by", list(BY), key="training-by")
agency = b.selectbox("Agency", ["All agencies", *options["agency"]], key="training-agency")
course = c.selectbox("Course", ["All courses", *options["course"]], key="training-course")
target_pct = d.number_input(
    "Target (% of staff trained)",
    min_value=0,
    max_value=100,
    value=80,
    step=5,
    key="training-target",
)
target = target_pct / 100
group = BY[by_label]
unit = None if f.unit == UNIT_ALL else f.unit
coverage = data.training_coverage(
    f.area,
    by=(group,) if group else (),
    unit=unit,
    agency=None if agency == "All agencies" else agency,
    course=None if course == "All courses" else course,
)
shown = in_range(coverage, ctx)
if shown.empty:
    empty_state(
        "No training figures match these filters",
        f"There are no training figures for {ctx.unit_label}, {agency.lower()} and "
        f"{course.lower()} in the chosen periods.",
        "Choose another unit, agency, course or a wider period range.",
    )
    st.stop()

# -- progress against the target ---------------------------------------------------------------
latest_date = shown["period_end"].max()
overall = data.training_coverage(
    f.area,
    unit=unit,
    agency=None if agency == "All agencies" else agency,
    course=None if course == "All courses" else course,
)
# The figures for all staff are the total of the groups': gated with them (`gate_training`),
# so no group hidden in the table can be worked out from the total.
gated = gates.gate_training(shown, in_range(overall, ctx), group)
totals = gated.table[gated.plot["period_end"] == latest_date]
overall_latest = totals.iloc[-1]  # the total row comes last in its period (or is the only one)
st.header("Progress against the target")
m1, m2, m3 = st.columns(3)
m1.metric(
    f"Staff trained, {period_label(latest_date, 'quarter')}",
    gates.as_shown(overall_latest["coverage"], ".0%"),
    help="Wilson 95% confidence interval "
    f"{gates.as_shown(overall_latest['coverage_lower'], '.0%')} to "
    f"{gates.as_shown(overall_latest['coverage_upper'], '.0%')}",
)
m2.metric(
    "Staff trained / in scope",
    f"{gates.as_shown(overall_latest['staff_trained'], ',.0f')} / "
    f"{gates.as_shown(overall_latest['staff_in_scope'], ',.0f')}",
)
hidden = gates.SUPPRESSED in (overall_latest["staff_trained"], overall_latest["staff_in_scope"])
gap = (
    gates.SUPPRESSED
    if hidden
    else f"{max(0, round(target * overall_latest['staff_in_scope'] - overall_latest['staff_trained'])):,}"
)
m3.metric(f"More staff to train to reach {target_pct}%", gap)
groups = gated.plot[gated.plot[group] != gates.TRAINING_TOTAL] if group else gated.plot
if group:
    latest = groups[groups["period_end"] == latest_date]
    met = latest[latest["coverage"] >= target]  # a hidden share is not counted as met
    st.markdown(
        f"**{len(met)} of {len(latest)}** {by_label.lower()}s have reached the {target_pct}% target"
        + (f": {', '.join(met[group].astype(str))}." if len(met) else ".")
    )

# -- coverage over time ------------------------------------------------------------------------
st.header("Coverage over time")
charted = gated
if group:
    names = sorted(groups[group].dropna().astype(str).unique())
    picked = choose_series(names, noun=f"{by_label.lower()}s", key=f"training-show-{group}")
    rows = gated.plot[group].astype(str).isin([*picked, gates.TRAINING_TOTAL])
    charted = gated.take(gated.plot.index[rows])
title = (
    f"{gates.as_shown(overall_latest['coverage'], '.0%')} of staff in scope were trained by "
    f"{latest_date:%B %Y}, against a target of {target_pct}%"
)
plotted = charted.plot
if group:
    plotted = plotted[plotted[group] != gates.TRAINING_TOTAL]
fig = charts.training_coverage_chart(
    plotted,
    title=title,
    source=charts.source_line("training extracts", ctx.last_upload),
    group_col=group,
    target=target,
    rollout_date=data.area_rollout_date(f.area),
    x_range=f.x_range,
)
chart_block(
    fig,
    charted,
    key="training-coverage",
    file_name=f"{ctx.area_name} training coverage by {by_label}",
    caption="Shaded bands are Wilson 95% confidence intervals. Staff numbers are cumulative."
    + (f" The rows “{gates.TRAINING_TOTAL}” are the total of every group." if group else ""),
)

# -- dose-response -----------------------------------------------------------------------------
st.header("Did units that trained more staff see a bigger change?")
outcome = f.measure
measure = MEASURES[outcome]
st.caption(
    f"Outcome: {measure.label.lower()} (change the measure in the sidebar). Each point is a "
    "unit: its training coverage against the change in its rate from before to after its "
    "rollout."
)
gated_dose = data.gated_dose_response(f.area, outcome)
dose = gated_dose.dose
result = dose.result
if result is None:
    empty_state(
        "The dose-response check could not run",
        dose.notes.get(
            "dose_response",
            "It needs at least three units with training figures and outcome rates on both "
            "sides of their rollout.",
        ),
        "Load training and outcome extracts for every unit, and the rollout dates.",
        icon=":material/block:",
    )
else:
    points = gated_dose.points.assign(change=gated_dose.points["change"] * 100)
    fig = charts.dose_response_chart(
        points,
        rho=result.rho,
        ci_lower=result.ci_lower,
        ci_upper=result.ci_upper,
        source=dose.source,
        y_title=f"Change in {measure.short} rate after rollout (%)",
    )
    chart_block(
        fig,
        gated_dose.table,
        key="dose-response",
        file_name=f"{ctx.area_name} dose response {outcome}",
        caption=f"Spearman's ρ = {result.rho:.2f} (95% CI {result.ci_lower:.2f} to "
        f"{result.ci_upper:.2f}, {result.n} units). The change compares the {dose.window} "
        "quarters after each unit's start with the quarters before, as a percentage of the "
        "earlier rate. With so few units this is a hint, not proof."
        + (f" {gated_dose.caption}" if gated_dose.caption else ""),
    )
    for finding in dose.findings:
        st.markdown(f"- {finding.text}")
    for warning in result.warnings:
        st.caption(f"⚠ {warning}")

# -- the terms this page uses, in plain English -------------------------------------------------
glossary_expander(glossary.page_terms("training", [fd.text for fd in dose.findings]))
