"""Trends: one measure over time; its verdict when the plan makes it primary, then the
supporting views (before/after, interrupted time series) and process monitoring (SPC)."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.state import period_label
from dashboard.views.common import (
    chart_block,
    empty_state,
    glossary_expander,
    in_range,
    open_page,
)
from dashboard.views.verdict_block import measure_verdict
from pipelines.analysis import RATE_COLUMNS
from pipelines.analysis.calibrated import in_brief
from pipelines.analysis.comparisons import ordered_age_bands
from pipelines.measures import MEASURES
from pipelines.present import charts, cube, glossary
from pipelines.present.wording import its_step_title

ctx = open_page("Trends")
f = ctx.filters
measure = MEASURES[f.measure]
better = {"decrease": "lower is better", "increase": "higher is better"}.get(
    measure.improvement, "neither higher nor lower is better in itself"
)
st.markdown(
    f"How has the rate of **{measure.label.lower()}** changed since Restorative Practice "
    f"started? For this measure, {better}."
)

# -- the verdict first (primary outcomes only), then what supports it --------------------------
measure_verdict(
    ctx,
    heading="Supporting views and process monitoring",
    supporting="The charts below follow the whole area (or the chosen unit) with no comparison "
    "group, so anything else that changed at the same time shows up in them too: the "
    "before/after and the interrupted time series are supporting views, and SPC is process "
    "monitoring, not a verdict.",
)

# -- page options ------------------------------------------------------------------------------
age_bands = ordered_age_bands(data.age_bands(f.area))  # the contract's order, not text order
left, middle, right = st.columns([1, 2, 1])
age_band = left.selectbox("Age band", age_bands, key="trends-age-band") if age_bands else "All"
window_choice = middle.select_slider(
    "Before/after window (periods each side of the rollout)",
    options=[*range(2, 13), "All"],
    value=4,
    key="trends-window",
    help="How many periods before the rollout are compared with the same number after it.",
)
window = None if window_choice == "All" else int(window_choice)
financial_years = right.toggle(
    "Shade financial years", value=f.grain == "financial_year", key="trends-fy"
)
with st.expander("Model options (for analysts)"):
    a, b, c = st.columns(3)
    family = a.selectbox(
        "ITS model family",
        ["quasipoisson", "poisson", "gaussian"],
        key="trends-family",
        help="Quasi-Poisson allows counts to vary more than a Poisson model assumes.",
    )
    seasonality = b.toggle("Allow for seasonality", value=True, key="trends-season")
    hac = c.toggle("Autocorrelation-robust errors (HAC)", value=False, key="trends-hac")
    target_on = a.toggle("Set a target for the SPC chart", value=False, key="trends-target-on")
    target = (
        b.number_input("Target (rate per 10,000)", min_value=0.0, value=50.0, key="trends-target")
        if target_on
        else None
    )

analysis = data.trend_analysis(
    f.area,
    f.measure,
    unit=f.unit,
    age_band=age_band,
    grain=f.grain,
    window=window,
    its_family=family,
    seasonality=seasonality,
    hac=hac,
    target=target,
)
# The disclosure gate: every chart, hover, table, download and finding below is drawn from it,
# with the periods hidden where this series sits beside the localities or age bands.
views = cube.gate_trend(data.outcome_cube(f.area, f.measure, f.grain), analysis, f.unit, age_band)
series = analysis.series
shown = in_range(series, ctx)
if series.empty or series["value"].notna().sum() == 0 or shown["value"].notna().sum() == 0:
    empty_state(
        "No figures match these filters",
        f"There are no {measure.label.lower()} figures for {ctx.unit_label}, age band "
        f"{age_band}, in the chosen periods. The measure may not be in the extracts for this "
        "area, or every figure may be suppressed.",
        "Choose another measure, unit, age band or period range, or check the **Data quality** "
        "page to see which measures are loaded.",
    )
    st.stop()

# -- findings: supporting, below the verdict, each with its measured coverage --------------------
if views.findings:
    st.header("In brief, from the supporting views")
    st.caption(
        "These figures come from the whole area (or the chosen unit) with no comparison group. "
        "Where this outcome has a verdict above, the verdict is the answer; each figure here "
        "says how often intervals like it contained the truth in simulation."
    )
    for line in in_brief(views.findings):
        st.markdown(f"- **{line.label}.** {line.text} *{line.note}*")

table_columns = [c for c in ("period_end", *RATE_COLUMNS, "complete") if c in shown]
# The disclosure gate: every chart, hover, table and download below is drawn from it.
gated = views.series.take(shown.index)
plotted = gated.plot
y_title = "Rate per 10,000 children"
label = measure.label.lower()

# -- 1. time series ----------------------------------------------------------------------------
st.header("1. Over time")
latest = (
    plotted.dropna(subset=["rate_per_10k"]).iloc[-1]
    if plotted["rate_per_10k"].notna().any()
    else None
)
title = f"Rate of {label}"
if latest is not None:
    title += (
        f": {latest['rate_per_10k']:.1f} per 10,000 in "
        f"{period_label(latest['period_end'], f.grain)}"
    )
fig = charts.time_series(
    plotted,
    title=title,
    source=analysis.source,
    rollout_date=analysis.rollout_date,
    y_title=y_title,
    financial_years=financial_years,
    x_range=f.x_range,
)
chart_block(
    fig,
    gated,
    columns=table_columns,
    key="series",
    file_name=f"{ctx.area_name} {f.measure} {f.unit} {age_band} {f.grain}",
    caption="The shaded band is the 95% confidence interval: the range the true rate is likely "
    "to be in, allowing for chance.",
)


def section(heading: str, result, method: str, what: str):
    """Head a section and return ``result``, or None after saying why ``method`` could not run."""
    st.header(heading)
    if result is None:
        reason = analysis.notes.get(method, "The method could not run on this series.")
        empty_state(
            f"{what} could not run",
            reason,
            "Try the quarterly grain, the whole area, all ages, or a longer period of data.",
            icon=":material/block:",
        )
    return result


def method_block(fig, table, *, key: str, what: str, count: str, rate: str, caption: str):
    """A method's chart and its table, whose one count column ``count`` gives ``rate``.

    ``table`` may be what :func:`gate` returned for it (the chart drawn from its ``plot``)."""
    chart_block(
        fig,
        table,
        key=key,
        file_name=f"{ctx.area_name} {f.measure} {what}",
        count_cols=[count],
        derived={count: (rate,)},
        caption=caption,
    )


# -- 2. before and after -----------------------------------------------------------------------
ba = section(
    "2. Before and after the rollout (supporting view)",
    analysis.before_after,
    "before_after",
    "The before/after comparison",
)
if ba is not None and views.before_after_withheld:
    empty_state(
        "The before/after comparison is withheld",
        "Some periods in the chosen window are hidden to protect children's privacy, or too "
        "few children were counted in it: its averages would let those counts be worked out.",
        "Choose another window, the quarterly grain, the whole area or all ages.",
        icon=":material/lock:",
    )
elif ba is not None:
    ba_gated = views.before_after
    fig, title = charts.before_after_figure(
        ba,
        source=analysis.source,
        rollout_date=analysis.rollout_date,
        y_title=y_title,
        periods=ba_gated.plot,
    )
    method_block(
        fig,
        ba_gated,
        key="before-after",
        what="before after",
        count="count",
        rate="rate",
        caption="Each point is one period. The thick lines are the average rate on each side "
        "and the shaded boxes their 95% confidence intervals.",
    )

# -- 3. interrupted time series ----------------------------------------------------------------
its = section(
    "3. Compared with what we would expect without Restorative Practice (supporting view)",
    analysis.its,
    "its",
    "The interrupted time series model",
)
if its is not None and views.its_withheld:
    empty_state(
        "The interrupted time series is withheld",
        "Some periods of this series are hidden to protect children's privacy, and the model's "
        "fitted values and step would let those counts be worked out.",
        "Choose the quarterly grain, the whole area or all ages.",
        icon=":material/lock:",
    )
elif its is not None:
    effect = its.level_change
    title = its_step_title(effect.scale, effect.estimate, effect.ci_lower, effect.ci_upper)
    its_gated = views.its
    fig = charts.its_chart(
        its_gated.plot,
        title=title,
        source=analysis.source,
        rollout_date=its.intervention_date,
        y_title=y_title,
        x_range=f.x_range,
    )
    method_block(
        fig,
        its_gated,
        key="its",
        what="interrupted time series",
        count="observed",
        rate="observed_rate",
        caption="The dashed orange line projects the trend before the rollout forward: what "
        "the model expects would have happened without Restorative Practice. The darker band is "
        "the 95% interval for that expected path; the lighter, wider one is the range a single "
        "period would fall in without the change (95% prediction interval).",
    )

# -- 4. SPC ------------------------------------------------------------------------------------
spc = section(
    "4. Process monitoring: statistical process control (SPC)", analysis.spc, "spc", "The SPC chart"
)
if spc is not None:
    st.caption(
        "SPC shows whether the rate is moving beyond its normal ups and downs, period by period. "
        "It is process monitoring: it is not a verdict on Restorative Practice."
    )
    # The points are rates: a period whose count is suppressed has its rate suppressed too.
    spc_gated = views.spc
    fig = charts.spc_chart(
        spc_gated.plot,
        title=f"Is the rate of {label} moving beyond its normal ups and downs?",
        source=analysis.source,
        rollout_date=analysis.rollout_date,
        variation_icon=spc_gated.variation_icon,
        assurance_icon=spc_gated.assurance_icon,
        target=spc.target,
        y_title=y_title,
        x_range=f.x_range,
    )
    chart_block(
        fig,
        spc_gated,
        columns=("date", "value", "mean", "lpl", "upl", "point_type", "signal"),
        key="spc",
        file_name=f"{ctx.area_name} {f.measure} spc",
        caption="Points marked I (blue diamond) are special-cause improvement, C (orange "
        "square) special-cause concern, S (plum triangle) special cause where neither "
        "direction is better. The limits are recalculated from the rollout. " + spc_gated.caption,
    )

# -- method and caveats ------------------------------------------------------------------------
with st.expander("Method and caveats"):
    notes = dict(analysis.notes)
    for name, reason in notes.items():
        st.markdown(f"- **{name.replace('_', ' ')} did not run:** {reason}")
    warnings = []
    for result in (ba, its, spc):
        if result is not None:
            st.markdown(f"- **{result.method}**")
            warnings += list(result.warnings)
    for finding in views.findings:
        warnings += list(finding.caveats or ())
    if warnings:
        st.markdown("**Caveats**")
        st.markdown("\n".join(f"- {w}" for w in dict.fromkeys(warnings)))
    st.markdown("See **Data quality & methods** for a plain-English account of each method.")

# -- the terms this page uses, in plain English -------------------------------------------------
glossary_expander(
    glossary.page_terms(
        "trends", [line.text for line in in_brief(views.findings)] if views.findings else []
    )
)
