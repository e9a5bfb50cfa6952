"""The verdict block: one renderer for the Board summary, Trends and Cohorts (issue 13).

Every page that shows a verdict draws it here, from `pipelines.present.verdicts`, so the
sentence, the plausible range and the grade read the same on each page and in the report.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from dashboard import data
from dashboard.state import Context
from dashboard.views.common import empty_state
from pipelines.analysis.verdict import Verdict
from pipelines.measures import MEASURES
from pipelines.present.verdicts import VERDICT_INTRO, verdict_views

NO_VERDICT = "The verdicts need each locality's outcomes and the date each locality started."


def verdict_block(
    verdicts: Sequence[Verdict],
    *,
    note: str = "",
    plan_line: str = "",
    heading: str = "The verdict",
) -> list[str]:
    """The verdicts as boxed sentences with their grade, the working behind each, the plan line.

    Returns the text it drew (for the page's glossary, :func:`pipelines.present.glossary`).
    """
    st.header(heading)
    st.caption(VERDICT_INTRO)
    said = [heading, VERDICT_INTRO]
    if not verdicts:
        what = "Load outcomes by locality and the rollout dates on the **Upload** page."
        empty_state("No verdict yet", note or NO_VERDICT, what)
        said += [note or NO_VERDICT, what]
    for view in verdict_views(tuple(verdicts)):
        with st.container(border=True):
            st.markdown(f"**{view.title}.** {view.sentence}")
            st.markdown(f"*{view.grade_line}*")
            with st.expander("How this was worked out"):
                st.markdown("\n".join(f"- {line}" for line in view.details + view.caveats))
        said += [view.title, view.sentence, view.grade_line]
        said += [*view.details, *view.caveats]
    if plan_line:
        st.caption(plan_line)
        said.append(plan_line)
    return said


def measure_verdict(ctx: Context, *, supporting: str, heading: str = "Supporting views") -> None:
    """The selected measure's verdict when the plan makes it primary, else one line saying why
    not; then ``heading`` and ``supporting``, what the page's own estimates are beside it."""
    area, chosen = ctx.filters.area, ctx.filters.measure
    plan = data.analysis_plan(area)
    role = plan.role(chosen)
    found: list[Verdict] = []
    if role == "primary":
        summary = data.verdict_summary(area)
        found = [v for v in summary.verdicts if v.outcome == chosen]
        verdict_block(
            found,
            note=summary.note,
            plan_line=summary.plan_line,
            heading="The verdict for this outcome",
        )
    else:
        primary = "; ".join(MEASURES[m].label.lower() for m in plan.primary if m in MEASURES)
        st.info(
            f"**{MEASURES[chosen].label}** is a {role} outcome in {ctx.area_name}'s analysis "
            f"plan, so it has no verdict here: the verdicts are for the primary outcomes "
            f"({primary}) and are on the **Board summary**.",
            icon=":material/rule:",
        )
    st.header(heading)
    st.caption(("The verdict above is the answer to report. " if found else "") + supporting)
