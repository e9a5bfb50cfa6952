"""Data quality & methods: coverage, suppression, upload warnings, revisions, contracts, methods."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.views.common import empty_state, glossary_expander, headed_table, header, safe_table
from pipelines.contracts import contracts_markdown
from pipelines.present import data_tables as tables
from pipelines.present import glossary

#: The DfE revisions table: what changed (measure, year, council) and the two releases' figures.
DFE_REVISION_COLUMNS = [
    "measure",
    "time_period",
    "geographic_level",
    "la_name",
    "area_code",
    "earlier_release",
    "later_release",
    "earlier_value",
    "later_value",
    "value_change",
    "earlier_rate_per_10k",
    "later_rate_per_10k",
    "earlier_null_reason",
    "later_null_reason",
]

#: Counts in the coverage table, with thousands separators (they stay numbers, so they sort).
COUNT_COLUMNS = {
    column: st.column_config.NumberColumn(label, format="localized", width=width)
    for column, label, width in (
        ("periods", "Periods", 58),
        ("units", "Units", 48),
        ("age_bands", "Age bands", 72),
        ("values_present", "Values", 64),
        ("suppressed", "Suppressed", 80),
    )
}

header(
    "Data quality & methods",
    None,
    "What data the warehouse holds, where there are gaps, what past uploads warned about, what "
    "has been revised, the rules every extract must follow and how each method works.",
)


def _shown_or_empty(intro: str, load, *empty: str, **empty_options):
    """Show ``intro``; return what ``load`` gives, or None after an empty state (``empty``)."""
    st.markdown(intro)
    frame = load() if has_data else None
    if frame is None or frame.empty:
        empty_state(*empty, **empty_options)
        return None
    return frame


tabs = st.tabs(
    ["Coverage", "Suppressed cells", "Upload warnings", "Revisions", "Data contracts", "Methods"]
)
has_data = data.warehouse_exists()

with tabs[0]:
    coverage = _shown_or_empty(
        (
            "Which measures are loaded for each area, the periods they cover and how many cells "
            "were suppressed (small numbers hidden at source)."
        ),
        data.coverage_summary,
        "No outcome data yet",
        "Nothing has been loaded, so there is no coverage to report.",
        "Load outcome extracts on the **Upload** page.",
    )
    if coverage is not None:
        headed_table(
            tables.coverage_table(coverage, tables.area_names(data.areas())),
            area_code=st.column_config.TextColumn("Area code", width=84),
            area_name=st.column_config.TextColumn("Area", width=90),
            measure=st.column_config.TextColumn("Measure", width=200),
            # one date style on screen: "30 June 2026"
            first_period=st.column_config.DateColumn(
                "First period", format="D MMMM YYYY", width=106
            ),
            last_period=st.column_config.DateColumn("Last period", format="D MMMM YYYY", width=106),
            **COUNT_COLUMNS,
        )

with tabs[1]:
    suppressed = _shown_or_empty(
        (
            "Cells that arrived suppressed (for example `c` or `<5`). They are stored as missing "
            "with the marker as the reason, never as zero, and left out of rates and statistics."
        ),
        data.suppressed_cells,
        "No suppressed cells",
        "No loaded extract had a suppressed or missing count.",
        "Nothing: this is good news.",
        icon=":material/check_circle:",
    )
    if suppressed is not None:
        st.caption(f"The latest {len(suppressed):,} suppressed cells, newest period first.")
        safe_table(suppressed, hide_index=True, width="stretch")

with tabs[2]:
    issues = _shown_or_empty(
        (
            "Warnings do not stop a file loading but deserve a look (for example age bands that "
            "do not add up to the total, or a jump of more than 50% on the previous quarter). "
            "Errors are from refused files."
        ),
        data.upload_issues,
        "No warnings or errors recorded",
        "No upload so far raised a warning or was refused.",
        "Nothing.",
        icon=":material/check_circle:",
    )
    if issues is not None:
        counts = issues["severity"].value_counts()
        st.caption(
            f"{counts.get('error', 0):,} error(s) and {counts.get('warning', 0):,} warning(s) "
            "from past uploads, newest upload first."
        )
        headed_table(
            tables.upload_issues_table(issues),
            upload_id=st.column_config.NumberColumn("Upload", width=52),
            file_name=st.column_config.TextColumn("File", width=110),
            severity=st.column_config.TextColumn("Severity", width=64),
            row_number=st.column_config.NumberColumn("Row", width=40),
            column_name=st.column_config.TextColumn("Column", width=100),
            unit=st.column_config.TextColumn("Unit", width=80),
            age_band=st.column_config.TextColumn("Age band", width=64),
            period=st.column_config.TextColumn("Period", width=150),
            message=st.column_config.TextColumn("Problem", width=250),
            hint=st.column_config.TextColumn("How to fix", width=200),
            rule=st.column_config.TextColumn("Rule", width=200),
        )

with tabs[3]:
    revisions = _shown_or_empty(
        (
            "When a period is uploaded again with different figures, the new figures replace the "
            "old and the old ones are kept. Each row here is one superseded record."
        ),
        data.revisions,
        "No revisions",
        "No uploaded figure has been replaced by a later upload.",
        "Nothing. Re-upload a corrected extract for a period to revise it.",
        icon=":material/check_circle:",
    )
    if revisions is not None:
        safe_table(revisions, hide_index=True, width="stretch")

    st.header("Revisions between DfE releases")
    dfe_revisions = _shown_or_empty(
        (
            "DfE sometimes revises a published figure in a later release (a late return, a "
            "corrected count, a new population estimate behind a rate). Every imported release is "
            "kept and the newest is used on the **Benchmarks** page; each row here is a figure that "
            "differs between two releases."
        ),
        data.benchmark_revisions,
        "No DfE figures revised between releases",
        "No imported DfE release changes a figure from an earlier imported release (or only "
        "one release of each table has been imported).",
        "Nothing. Import an older release with `rp-impact import-dfe FILE...` to compare.",
        icon=":material/check_circle:",
    )
    if dfe_revisions is not None:
        n_areas = dfe_revisions["area_code"].nunique()
        n_rate_only = int(
            (
                (dfe_revisions["earlier_value"] == dfe_revisions["later_value"])
                & dfe_revisions["later_rate_per_10k"].notna()
            ).sum()
        )
        st.caption(
            f"{len(dfe_revisions):,} revised figure(s) for {n_areas:,} area(s); "
            f"{n_rate_only:,} of them changed only the published rate (the count is the same, "
            "so the population behind it was probably revised)."
        )
        # Here the council's name is a column of its own, so the code is headed "Code".
        headed_table(dfe_revisions[DFE_REVISION_COLUMNS], key="dfe-revisions", area_code="Code")

with tabs[4]:
    st.markdown(contracts_markdown())

with tabs[5]:
    st.markdown(
        """
**Rates per 10,000 children.** The count divided by the child population (aged 0 to 17) times
10,000. The population is the latest mid-year estimate at or before the period; for a year
ending 31 March we use the previous mid-year, as the Department for Education does. The 95%
confidence interval uses exact Poisson limits for counts under 10 and Byar's method otherwise
(as the Office for Health Improvement and Disparities does). It shows how much a rate could
move by chance alone.

**Before and after.** The rate in a window of periods before the rollout against the same
number of periods from the rollout on, with the rate ratio and its confidence interval. Simple
and easy to read, but anything else that changed at the same time also shows up as a change.

**Interrupted time series (ITS).** A regression model of the counts over time (quasi-Poisson,
with the population as the exposure and optional seasonal terms). It estimates the trend
before the rollout and projects it forward as the *counterfactual*: what we would expect
without Restorative Practice. The gap between what happened and the counterfactual is the
estimated effect. It assumes the earlier trend would have carried on.

**Statistical process control (SPC).** An XmR chart in the NHS *Making Data Count* style. The
mean and the process limits (mean ± 2.66 × the average moving range) show the normal range
of variation. A point outside the limits, a run of 7 on one side of the mean, a run of 7
rising or falling, or two of three points near a limit is *special cause* variation: a
signal, not chance. The limits are recalculated from the rollout.

- ▲ / ▼ **Improvement** (marked I, blue diamond): a signal in the better direction.
- ▲ / ▼ **Concern** (marked C, orange square): a signal in the worse direction.
- ≈ **Common cause**: no signal; the variation is what the process normally does.
- ✔ / ✘ / ? **Assurance**: whether a target is consistently met, consistently missed or
  hit and miss.

**Cohorts and difference-in-differences.** Localities started Restorative Practice in waves.
Comparing each wave with localities that had not yet started (staggered
difference-in-differences, Callaway and Sant'Anna) separates the programme from changes that
hit every locality at once. The points before rollout should sit near zero: if they do not,
the comparison is less trustworthy.

**Training coverage and dose-response.** The share of staff in scope who have been trained,
with a Wilson confidence interval. Dose-response asks whether units that trained more staff
saw a bigger change, using Spearman's rank correlation (ρ, from -1 to 1). With six units, the
interval around ρ is wide: read it as a hint, not a proof.

**Disclosure control.** Counts from 1 to 4, and rates made from them, are shown as “c” in
tables and downloads. Downloads also neutralise cells that a spreadsheet would run as a
formula.
"""
    )

# -- the terms this page uses, in plain English -------------------------------------------------
glossary_expander(glossary.page_terms("quality", []))
