"""Board summary: has Restorative Practice moved CLA and CPP rates, and how sure can we be?"""

from __future__ import annotations

import pandas as pd
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
from dashboard.views.verdict_block import verdict_block
from pipelines.present import charts, glossary
from pipelines.present.charts.labels import variation_with_change
from pipelines.present.wording import grade_words

ctx = open_page("Board summary", caption=False)
INTRO = (
    f"**{ctx.area_name}.** Has Restorative Practice changed the rates of children looked after "
    "(CLA) and children on child protection plans (CPP), and how confident can we be? "
    "Read the verdict first, then the three numbers, the findings and the charts."
)
st.markdown(INTRO)
said: list[str] = [INTRO]  # every sentence drawn, for the glossary at the end
if ctx.rollout_date:
    started = (
        f"Restorative Practice started in {ctx.area_name} on "
        f"{ctx.rollout_date:%-d %B %Y} (the first wave). The dashed line on each chart marks it."
    )
    st.caption(started)
    said.append(started)

area = ctx.filters.area

# -- 0. the verdicts: one per primary outcome, read the same everywhere ------------------------
# Drawn from their own (quick) read before the tiles' and findings' (slow) one: the same
# function `board_summary` calls, so the verdicts are the same ones.
verdicts = data.verdict_summary(area)
said += verdict_block(verdicts.verdicts, note=verdicts.note, plan_line=verdicts.plan_line)
if verdicts.verdicts and verdicts.note:
    st.caption(verdicts.note)  # e.g. the verdicts rest on published annual figures
    said.append(verdicts.note)
terms_slot = st.container()  # "What these terms mean", filled once the page is drawn

summary = data.board_summary(area)  # the tiles and the findings, tiles made once
headlines = summary.headlines
context = data.board_context(area)
comparisons = context.tiles or {}


def change_text(headline) -> str | None:
    if headline.change_pct is None or pd.isna(headline.change_pct):
        return None
    unit = "%" if headline.change_unit == "%" else " percentage points"
    return f"{headline.change_pct:+.1f}{unit}"


def period_text(headline) -> str:
    """The tile's period in bold with what it is: "**Latest: Apr–Jun 2026** (quarter)"."""
    if headline.latest_period is None:
        return ""
    label = period_label(headline.latest_period, headline.grain)
    if headline.grain == "financial_year":
        return f"**Latest: {label}** (year ending {headline.latest_period:%-d %B %Y})"
    return f"**Latest: {label}** (quarter)"


# -- 1. headline tiles ---------------------------------------------------------------------------
st.header("The three numbers")
if not headlines:
    empty_state(
        "No headline figures",
        "The warehouse has no CLA, CPP or training figures for this area yet.",
        "Load outcomes, population and training extracts on the **Upload** page.",
    )
else:
    columns = st.columns(len(headlines))
    for column, headline in zip(columns, headlines, strict=True):
        with column.container(border=True):
            change = change_text(headline)
            st.metric(
                headline.label,
                charts.headline_value(headline.latest_rate, headline.unit_label),
                delta=change,
                delta_color="off",
                help=headline.source,
            )
            lines = [period_text(headline), f"{headline.unit_label.capitalize()}"]
            if headline.latest_lower is not None and not pd.isna(headline.latest_lower):
                lines.append(
                    f"95% confidence interval {headline.latest_lower:,.1f} to "
                    f"{headline.latest_upper:,.1f}"
                )
            if change and headline.change_lower is not None:
                lines.append(
                    f"Change {change} (95% CI {headline.change_lower:+.1f} to "
                    f"{headline.change_upper:+.1f}): {headline.change_basis}"
                )
            lines = [line for line in lines if line]
            st.markdown("  \n".join(lines))
            # An SPC signal beside a change whose interval includes none is not worded as an
            # improvement (variation_with_change), as the Training page words it.
            variation = variation_with_change(
                headline.variation_icon,
                headline.change_pct,
                headline.change_lower,
                headline.change_upper,
                headline.change_unit,
            )
            st.markdown(f"**{variation}**")
            said += [headline.label, headline.source, *lines, variation]
            if headline.assurance_icon:
                st.markdown(charts.assurance_label(headline.assurance_icon))
                said.append(charts.assurance_label(headline.assurance_icon))
            if headline.key in comparisons:
                # DfE's figure for its own year, named, beside a tile for a later quarter
                st.caption(comparisons[headline.key])
                said.append(comparisons[headline.key])
            if headline.finding:
                st.caption(headline.finding)
                said.append(headline.finding)
            for reason in headline.notes.values():
                st.caption(f"⚠ {reason}")
                said.append(reason)

HOW_TO_READ = """
- **Rate per 10,000 children**: how many children out of every 10,000 aged 0 to 17 living in
  the area. Rates let us compare years as the child population changes.
- **95% confidence interval**: the range the true figure is likely to lie in, allowing for
  chance. If an interval for a change includes 0%, the change could be chance.
- **≈ Common cause variation**: the latest figure is within the normal ups and downs. No
  sign of real change.
- **▲ / ▼ Special cause: improvement**: a real change in the better direction (for CLA and
  CPP, fewer children; for training, more staff trained).
- **▲ / ▼ Special cause: concern**: a real change in the worse direction.
- **✔ / ✘ / ?**: whether a target will consistently be met, consistently be missed, or may or
  may not be met.
"""
with st.expander("How to read these numbers and symbols"):
    st.markdown(HOW_TO_READ)
said.append(HOW_TO_READ)

# -- 1b. working with families: audits and family feedback, the latest four quarters ----------
practice = data.practice_summary(area)
if practice is not None:
    st.header("Working with families")
    columns = st.columns(len(practice.figures))
    for column, figure in zip(columns, practice.figures, strict=True):
        with column.container(border=True):
            # the whole finding in one sentence, as the Practice page and the report print it
            st.metric(figure.label, figure.value_text)
            lines = [f"**{figure.period}** (the latest four quarters)", figure.sentence]
            st.markdown("  \n".join(lines))
            for caveat in figure.own_caveats:
                st.caption(caveat)
            said += [figure.label, figure.sentence, *lines, *figure.own_caveats]
    shared = " ".join(practice.shared_caveats)
    st.caption(shared)
    said.append(shared)

# -- context: England, the region and statistical neighbours (DfE) ----------------------------
if context.lines:
    st.header("Against England, the region and statistical neighbours")
    latest = [period_text(h) for h in headlines if h.key in comparisons and h.latest_period]
    years = f"These are DfE's published figures for {context.year} (the year ending 31 March)" + (
        f"; the tiles above are for {latest[0]}." if latest else "."
    )
    st.markdown(years)
    said.append(years)
    for line, _source in context.lines:
        st.markdown(f"- {line}")
        said.append(line)
    for source in dict.fromkeys(source for _line, source in context.lines):
        st.caption(source)
        said.append(source)
    more = "More on the Benchmarks page (ranks, trends and a synthetic comparison)"
    st.page_link("views/benchmarks.py", label=more, icon=":material/leaderboard:")
    said.append(more)

# -- 2. findings -------------------------------------------------------------------------------
st.header("What the evidence says")
findings = summary.findings
if not findings:
    empty_state(
        "No findings yet",
        "There is not yet enough data before and after the rollout to say anything.",
        "Load more quarters of outcomes, and the rollout dates, on the **Upload** page.",
    )
for finding in findings:
    # The grade and its reason as the report prints them: a graded-down estimate says how
    # often intervals like it contained the truth in simulation.
    label, reason = grade_words(finding.confidence, finding.confidence_reason)
    st.markdown(f"- {finding.text} *{label}: {reason}*" if reason else f"- {finding.text}")
    said += [finding.text, label, reason or ""]
caveats = sorted({c for f in findings for c in (f.caveats or ())})
if caveats:
    with st.expander("Caveats: what could make these findings wrong"):
        st.markdown("\n".join(f"- {c}" for c in caveats))
    said += caveats

# -- 3. key charts -----------------------------------------------------------------------------
st.header("Key charts")
for headline in headlines:
    if headline.key not in ("cla_rate", "cpp_rate"):
        continue
    series = in_range(headline.series, ctx)
    if series.empty or series["rate_per_10k"].notna().sum() == 0:
        empty_state(
            f"No figures for {headline.label.lower()}",
            "There are no quarters with both a count and a population in the chosen range.",
            "Widen the period range in the sidebar, or load outcomes and population extracts.",
        )
        continue
    # The disclosure gate: the quarters the one decision hides (`cube`) are gaps on the chart
    # and "c" in its table and download, as on the Trends page.
    gated = charts.tables.gate_series(headline.series, hidden=headline.hidden).take(series.index)
    fig = charts.time_series(
        gated.plot,
        title=headline.finding or headline.label,
        source=headline.source,
        rollout_date=headline.rollout_date,
        y_title="Rate per 10,000 children",
        x_range=ctx.filters.x_range,
    )
    columns = ["period_end", "value", "population", "rate_per_10k", "rate_lower", "rate_upper"]
    said += chart_block(
        fig,
        gated,
        columns=columns,
        key=f"board-{headline.key}",
        file_name=f"{ctx.area_name} {headline.label} "
        + ("annual" if headline.grain == "financial_year" else "quarterly"),
    )

# -- the glossary: every technical term this page used, defined ---------------------------------
with terms_slot:
    glossary_expander(glossary.page_terms("board", said))
