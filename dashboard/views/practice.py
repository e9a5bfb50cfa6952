"""Practice: are we working *with* families? Audits, family feedback and FGCs over time."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.views.common import chart_block, empty_state, glossary_expander, open_page
from pipelines.present import glossary
from pipelines.present import practice as present

ctx = open_page(
    "Practice",
    "Are we working *with* families? What case-file audits, families' own feedback and family "
    "group conferences say about practice, quarter by quarter, and how each has changed since "
    "Restorative Practice started.",
    caption=False,  # the sidebar's measure and periods are the outcomes': its own line below
)
f = ctx.filters
st.caption(
    f"{ctx.area_name} · {ctx.unit_label} · practice evidence (the sidebar's unit applies here; "
    "its measure and period range do not)"
)

measures = data.practice_measures(f.area)
if not measures:
    empty_state(
        "No practice data yet",
        f"No case-file audits, family feedback or FGC outcomes have been loaded for "
        f"{ctx.area_name}.",
        "Load practice audit, family feedback or FGC outcomes extracts on the **Upload** page.",
    )
    st.stop()

groups = present.measure_groups(measures)
a, b, c = st.columns([2, 3, 2])
group = a.radio("Evidence from", list(groups), key="practice-source")
measure = b.selectbox(
    "Measure",
    groups[group],
    format_func=lambda m: m.label,
    key=f"practice-measure-{group}",
)
respondent = present.RESPONDENTS["All who answered"]
if measure.source == "feedback":
    who = c.selectbox("Who answered", list(present.RESPONDENTS), key="practice-respondent")
    respondent = present.RESPONDENTS[who]

view = data.practice_view(f.area, measure.key, f.unit, respondent)
if not view.has_data:
    empty_state(
        "No figures for this choice",
        f"There are no {measure.label.lower()} figures for {ctx.unit_label}.",
        "Choose another measure, or **All units** in the sidebar.",
    )
    st.stop()

# -- the headline ------------------------------------------------------------------------------
st.header("The latest figure")
st.markdown(view.headline)
st.caption(view.source)

# -- what these figures cannot say: on the page, not in an expander ----------------------------
st.header("Read these figures with care")
st.markdown("\n".join(f"- {line}" for line in (*view.caveats, *view.small_sample_notes)))

# -- quarter by quarter ------------------------------------------------------------------------
st.header("Quarter by quarter")
drawn = chart_block(
    view.pprime_figure(),
    view.points_table(),
    key="practice-pprime",
    file_name=f"{ctx.area_name} {view.place} {measure.label} by quarter",
    caption="Each dot is a quarter's percentage with its Wilson 95% interval. The dotted lines "
    "are the p′ chart's limits (wider in quarters with fewer cases); the centre line and limits "
    "start again at the rollout. Blue dots are special cause improvement, orange concern. "
    "Quarters hidden to protect privacy are gaps.",
)

# -- change since rollout ----------------------------------------------------------------------
st.header("Change since rollout, by locality and wave")
st.caption(
    "Each locality's share in the quarters before its start, against the quarters from a year "
    "after it (the first year is left out while practice beds in), with Newcombe's 95% "
    "interval; then each wave and all localities pooled. With no comparison group, a change is "
    "associated with the rollout, not proof of its effect."
)
if view.has_change:
    drawn += chart_block(
        view.change_figure(),
        view.change_table(),
        key="practice-change",
        file_name=f"{ctx.area_name} {measure.label} change since rollout",
        summary=view.change_summary,
        caption="Changes are in percentage points. Rows hidden to protect privacy, or without "
        "quarters on both sides of the rollout, are left out of the chart.",
    )
else:
    empty_state(
        "No change to show yet",
        "No locality has quarters both before its rollout and from a year after it (or the "
        "rollout dates are missing).",
        "Load the rollout dates and more quarters of this measure on the **Upload** page.",
    )

# -- dose → practice → outcome across localities -----------------------------------------------
chain = data.practice_chain_view(f.area)
st.header(chain.question)
st.markdown("\n".join(f"- {line}" for line in chain.lines))
st.info(chain.note)
for figure, key, name in (
    (chain.dose_practice_figure(), "practice-chain-dose", "staff trained and practice change"),
    (chain.practice_outcome_figure(), "practice-chain-outcome", "practice and outcome change"),
):
    if figure is not None:
        drawn += chart_block(
            figure,
            chain.table(),
            key=key,
            file_name=f"{ctx.area_name} {name} by locality",
            caption="Each dot is a locality. Localities whose figures would show a count of 1 "
            "to 4 are left off.",
        )
drawn += [chain.question, *chain.lines, chain.note]

# -- the terms this page uses, in plain English ------------------------------------------------
glossary_expander(glossary.page_terms("practice", [view.headline, *drawn]))
