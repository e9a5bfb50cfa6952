"""Benchmarks: a council against England, its region and its DfE statistical neighbours."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.state import context
from dashboard.views.common import chart_block, empty_state, glossary_expander, header, safe_table
from pipelines.analysis import BENCHMARK_MEASURES
from pipelines.analysis.benchmark_text import rank_figure, rank_heading
from pipelines.present import charts, glossary
from pipelines.present.wording import fy_label

ctx = context()  # None when no outcome extracts are loaded: DfE figures alone are enough here
header(
    "Benchmarks",
    None,
    "How a council compares with England, its region and its **statistical neighbours** (the "
    "ten councils DfE judges most similar), using DfE's published statistics. Choose any "
    "council with published figures; the Restorative Practice rollout is marked when the "
    "council is one of yours.",
)

EMPTY_WHAT = (
    "Import DfE's published CSVs with `rp-impact import-dfe FILE...` or on the **Upload** page "
    "(section *DfE published statistics*): the children looked after and child protection "
    "tables, the ONS population estimates and DfE's statistical-neighbour file."
)
councils = data.benchmark_councils() if data.warehouse_exists() else None
if councils is None or councils.empty:
    empty_state(
        "No DfE statistics loaded",
        "Benchmarks compare councils on the figures DfE publishes every year, and none have "
        "been imported into this warehouse yet.",
        EMPTY_WHAT,
    )
    st.page_link("views/upload.py", label="Go to Upload", icon=":material/upload_file:")
    st.stop()

# -- choose a council and a measure ------------------------------------------------------------
codes = councils["area_code"].astype(str).tolist()
labels = dict(zip(codes, councils["label"], strict=True))
default = data.benchmark_council_code(ctx.filters.area) if ctx else None
left, right = st.columns(2)
code = left.selectbox(
    "Council",
    codes,
    index=codes.index(default) if default in codes else 0,
    format_func=lambda c: labels.get(c, c),
    key="bench-council",
    help="Any council in the imported DfE files. It starts at the area chosen in the sidebar "
    "of the other pages when DfE publishes figures for it.",
)
measures = data.benchmark_measures(code)
if not measures:
    empty_state(
        "No figures for this council",
        f"The imported DfE files have no published figure for {labels.get(code, code)}.",
        "Choose another council, or import the DfE tables that cover it.",
    )
    st.stop()
measure = right.selectbox(
    "Measure",
    measures,
    index=measures.index("cla_at_31_march") if "cla_at_31_march" in measures else 0,
    format_func=lambda m: BENCHMARK_MEASURES[m][0],
    key=f"bench-measure-{code}",
    help="Counts of children are compared as rates per 10,000 children aged 0 to 17.",
)
bench = data.benchmark_analysis(code, measure)
name = bench.area_name
per = f" {bench.unit}" if bench.unit != "%" else "%"

# -- 1. over time ------------------------------------------------------------------------------
st.header(f"{name} against England, the region and its statistical neighbours")
for sentence in bench.findings[:2]:
    st.markdown(f"- {sentence}")
fig = charts.benchmark_chart(
    bench.table,
    title=bench.title,
    source=bench.source,
    council_name=name,
    region_name=bench.region_name,
    rollout_date=bench.rollout_date,
    y_title=bench.y_title,
    unit=bench.unit,
    decimals=bench.decimals,
)
has_counts = "council_count" in bench.table
rate_note = (
    "Rates are as DfE published them."
    if bench.decimals == 0 and has_counts
    else "Rates DfE does not publish are recomputed here from DfE's counts and the ONS "
    "mid-year estimate for the year before (as DfE does); the table's rate_source and "
    "population_year columns say which."
    if has_counts
    else "Percentages are as DfE published them."
)
chart_block(
    fig,
    bench.table,
    key=f"bench-{code}-{measure}",
    file_name=f"{name} {bench.label} benchmarks",
    count_cols=["council_count"] if has_counts else [],
    derived={"council_count": ("council",)} if has_counts else None,
    caption="Each point is a year ending 31 March. The shaded band runs from the lowest to "
    "the highest of the statistical neighbours with a figure that year. "
    + ("The dashed vertical line marks the rollout. " if bench.rollout_date else "")
    + f"{rate_note} Where DfE releases overlap, the newest release's figure is used; the "
    "earlier figures are kept and the **Data quality** page lists where they changed.",
)

# -- 2. rank -----------------------------------------------------------------------------------
if bench.latest_year is not None:
    st.header(f"Rank in {fy_label(bench.latest_year)}")
    figure = f"{bench.table.dropna(subset=['council'])['council'].iloc[-1]:,.{bench.decimals}f}"
    a, b = st.columns(2)
    a.metric(
        rank_heading(bench.ranks),
        rank_figure(bench.ranks, "all councils"),
        help="Councils with a published figure that year.",
    )
    b.metric(
        "Among itself and its statistical neighbours",
        rank_figure(bench.ranks, "statistical neighbours"),
    )
    st.caption(
        f"{name}: {figure}{per} ({bench.label[0].lower() + bench.label[1:]}). Rank 1 = the lowest "
        f"{'rate' if has_counts else 'figure'}; councils with the same figure share a rank. "
        "A lower rate is not always better: it can also mean unmet need."
    )

# -- 3. neighbours -----------------------------------------------------------------------------
st.header("Statistical neighbours")
if bench.neighbours.empty:
    empty_state(
        "No statistical neighbours",
        f"The imported files do not list statistical neighbours for {name}.",
        "Import DfE's statistical-neighbour file (for example `sn_model_2025_wide.csv`).",
    )
else:
    model = bench.neighbours["model"].iloc[0]
    st.caption(
        f"DfE's statistical-neighbour model {model}, closest first. The closeness is DfE's "
        "own description of how similar the council is."
    )
    safe_table(
        bench.neighbours[
            [
                "neighbour_rank",
                "la_name",
                "old_la_code",
                "new_la_code",
                "region_name",
                "closeness",
                "first_year",
                "last_year",
            ]
        ],
        hide_index=True,
        width="stretch",
        key=f"bench-neighbours-{code}",
        column_config={
            "neighbour_rank": "Rank",
            "la_name": "Council",
            "old_la_code": "DfE code",
            "new_la_code": "ONS code",
            "region_name": "Region",
            "closeness": "Closeness",
            "first_year": st.column_config.NumberColumn("First year", format="%d"),
            "last_year": st.column_config.NumberColumn("Last year", format="%d"),
        },
    )

# -- 4. synthetic control ----------------------------------------------------------------------
st.header("Synthetic control: a comparison built from the neighbours")
st.markdown(
    f"A *synthetic {name}* is a weighted mix of its statistical neighbours chosen to match "
    f"{name}'s figures in the years before the programme. If the match is close, the gap "
    "after the programme began is an estimate of the difference associated with it. The "
    "*placebo test* repeats this for each neighbour as if it had the programme: if many "
    "neighbours show gaps as large, the gap is likely chance."
)
years = bench.table["time_period"].astype(int).tolist()
choices = [None, *years[1:]]
# The year chosen for this council is kept when the measure changes (each measure has its own
# years, so its own select box); it starts at the first year after the council's rollout.
remembered_key = f"_bench_treatment_year_{code}"
remembered = st.session_state.get(remembered_key, bench.treatment_year)
if remembered not in choices:
    remembered = bench.treatment_year
chosen = st.selectbox(
    "First year after the programme began",
    choices,
    index=choices.index(remembered) if remembered in choices else 0,
    format_func=lambda y: "Not set" if y is None else f"{fy_label(y)} (year ending March {y})",
    key=f"bench-treatment-{code}-{measure}",
    help="By default the first financial year that starts after the first rollout date. "
    "Earlier years are the 'before' period used to build the comparison.",
)
st.session_state[remembered_key] = chosen
synth_view = (
    bench
    if chosen == bench.treatment_year
    else data.benchmark_analysis(code, measure, treatment_year=chosen)
)
result = synth_view.synth
if result is None:
    reason = synth_view.notes.get("synthetic_control", "It could not be run with these data.")
    st.info(f"**{synth_view.verdict}**\n\n{reason}", icon=":material/block:")
else:
    verdict = st.warning if result.pre_rmspe_relative > 0.05 else st.success
    verdict(f"**Fit: {synth_view.verdict}**", icon=":material/fact_check:")
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "Fit before the programme",
        f"{result.pre_rmspe_relative:.1%} of the mean",
        help="Root mean squared prediction error (RMSPE) before the programme as a share of "
        f"{name}'s average then: {result.pre_rmspe:.2f}{per} against {result.treated_pre_mean:.1f}"
        ". Above 10% the comparison is refused.",
    )
    m2.metric(
        "Placebo rank",
        f"{result.placebo_rank} of {result.n_donors + 1}",
        help="1 = the largest change after the programme relative to the fit before, among "
        f"{name} and each neighbour given the same test.",
    )
    m3.metric(
        "Placebo p-value",
        f"{result.p_value:.2f}",
        help="The placebo rank divided by the number of councils tested. The smallest possible "
        f"value with {result.n_donors} neighbours is {1 / (result.n_donors + 1):.2f}.",
    )
    for sentence in synth_view.synth_findings:
        st.markdown(f"- {sentence}")

    top = synth_view.weights[synth_view.weights["weight"] >= 0.005].head(3)
    parts = [f"{r.la_name} ({r.weight:.0%})" for r in top.itertuples()]
    mix = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
    fig = charts.donor_weights_chart(
        synth_view.weights,
        title=f"The synthetic {name} is mostly {mix}" if mix else f"The synthetic {name}",
        source=bench.source,
    )
    chart_block(
        fig,
        synth_view.weights,
        key=f"bench-weights-{code}-{measure}",
        file_name=f"{name} {bench.label} synthetic control weights",
        caption="Weights add up to 100%. Neighbours with a missing or suppressed year cannot "
        "be used and are left out.",
    )
    gap = result.mean_post_gap
    fig = charts.synth_gap_chart(
        result.path,
        title=f"From {fy_label(result.treatment_year)} {name}'s {bench.short} was "
        f"{abs(gap):.1f}{per} {'below' if gap < 0 else 'above'} its synthetic comparison on "
        "average",
        source=bench.source,
        council_name=name,
        treatment_year=result.treatment_year,
        y_title=bench.y_title if bench.unit == "%" else "Rate per 10,000",
        unit=bench.unit,
    )
    chart_block(
        fig,
        result.path.rename(columns={"time": "time_period", "treated": "council"}),
        key=f"bench-gap-{code}-{measure}",
        file_name=f"{name} {bench.label} synthetic control gap",
        caption="Top: the council and its synthetic comparison. Bottom: the gap between them; "
        "before the programme it shows how good the match is, after it the difference.",
    )
    council_names = dict(
        zip(bench.neighbours["old_la_code"], bench.neighbours["la_name"], strict=False)
    )
    for warning in result.warnings:
        for old, council_name in council_names.items():
            warning = warning.replace(f" {old}.", f" {council_name} ({old}).").replace(
                f" {old},", f" {council_name} ({old}),"
            )
        st.caption(f"⚠ {warning}")
    st.caption(f"Method: {result.method}.")

with st.expander("About these figures"):
    st.markdown(
        f"""
- **Source.** {bench.source.removeprefix("Source: ")}.
- **Years.** DfE counts children on 31 March, and starts over the year to 31 March; a year
  is labelled as a financial year, so 2025-26 is the year ending 31 March 2026.
- **Published or recomputed.** DfE publishes rates per 10,000 for children looked after.
  For other tables rp-impact divides DfE's count by the ONS mid-year population estimate
  for children aged 0 to 17 for the year before, as DfE does, and labels the rate as
  recomputed.
- **Releases.** Every DfE release imported is kept. Where releases cover the same year the
  newest is used; the **Data quality** page lists figures that changed between releases.
- **Councils** are matched on DfE's three-digit codes and ONS codes, never on names.
  Reorganised councils (for example Cumbria, and Northamptonshire) keep separate series.
"""
    )

# -- the terms this page uses, in plain English -------------------------------------------------
glossary_expander(glossary.page_terms("benchmarks", [*bench.findings, bench.verdict]))
