"""Section 7, methods and data quality: each method in plain English, the data's coverage,
the suppressed figures, revisions since the last report, and the upload audit (with every
loaded file's SHA-256, listed in the appendix)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from markupsafe import Markup

from pipelines import marts, measures
from pipelines.present.wording import month_label
from pipelines.report.tables import Block, Builder
from pipelines.stats import findings as fnd

METHODS = (
    (
        "Rates per 10,000 children",
        "Counts are divided by the number of children aged 0 to 17 living in the area (the "
        "latest ONS-style mid-year estimate at or before the period; the year to 31 March uses "
        "the previous mid-year, as DfE does) and multiplied by 10,000. The 95% confidence "
        "interval is the exact Poisson interval for counts under 10 and Byar's method otherwise "
        "(as PHEindicatormethods).",
    ),
    (
        "Before and after",
        "The rate in the quarters after the first rollout is compared with the same number of "
        "quarters before it, with a Poisson rate-ratio test. For children counted at every "
        "period end (looked after, on a plan) the same children appear in many quarters, so "
        "this interval is too narrow; the interrupted time series is preferred.",
    ),
    (
        "Interrupted time series",
        "A segmented quasi-Poisson regression of the quarterly counts with the child population "
        "as exposure, a seasonal term and Newey-West errors that allow for correlation between "
        "neighbouring quarters (Lopez Bernal, Cummins and Gasparrini, 2017). It estimates the "
        "trend before rollout, projects it forward (the counterfactual), and compares what "
        "happened with that projection.",
    ),
    (
        "Statistical process control",
        "XmR charts with the NHS Making Data Count rules: a point outside the limits, a run of "
        "7 points on one side of the mean or rising or falling, or 2 of 3 points near a limit. "
        "Limits are recalculated from rollout.",
    ),
    (
        "Localities by rollout wave",
        "Localities started in waves, so those not yet started act as a comparison for those "
        "that had (staggered difference-in-differences, Callaway and Sant'Anna 2021). Points "
        "before rollout check that the localities were moving in parallel before it.",
    ),
    (
        "Benchmarks",
        "DfE published figures for the council, England, the region and its statistical "
        "neighbours (DfE's children's services statistical neighbour benchmarking tool), year "
        "ending 31 March. Rates are as published where DfE gives them.",
    ),
    (
        "Dose-response",
        "Spearman's rank correlation between each locality's training coverage and the change "
        "in its rate after rollout, with a Fisher-z 95% interval.",
    ),
    (
        "Child-years in care",
        "The estimated difference in child-years in care is the interrupted time series' "
        "projection minus the observed number of children looked after. It is an association, "
        "not a saving in a budget; it is valued in pounds only at the council's own unit cost, "
        "and it carries every caveat and the measured coverage of the estimate behind it.",
    ),
    (
        "Confidence in each finding",
        fnd.CONFIDENCE_RULE
        + " Findings describe association, not cause: other things changed at the same time, "
        "so they cannot show that Restorative Practice alone made the difference.",
    ),
    (
        "Disclosure control",
        "Counts of 1 to {threshold} children are shown as 'c', and so are rates made from them. "
        "Where a total sits beside its parts, the next smallest part is suppressed as well so "
        "that a suppressed figure cannot be worked out by subtraction. Zero is shown.",
    ),
)
HASH_COLUMNS = ["upload_id", "file_name", "dataset", "uploaded_at", "sha256"]


def methods_section(
    b: Builder, area_name: str, year: int
) -> tuple[list[Block], dict[str, Any], list[dict[str, Any]]]:
    """The section's blocks, the numbers they show, and the loaded files with their hashes."""
    methods = Block("methods-methods", "Methods in plain English")
    methods.bullets = [
        Markup("<strong>{}.</strong> {}").format(name, text.format(threshold=b.threshold))
        for name, text in METHODS
    ]
    coverage, source_suppressed = _coverage_block(b, area_name, year)
    suppression = Block("methods-suppression", "Suppressed figures")
    suppression.paragraphs.append(
        f"{source_suppressed:,} cells in the outcome extracts were supplied as suppressed or "
        f"missing with a reason (stored as missing, never as zero). In this report, "
        f"{b.suppressed:,} table cells are shown as 'c' by disclosure control (threshold: counts "
        f"of 1 to {b.threshold})."
    )
    revisions, n_revisions = _revisions_block(b, year)
    uploads, loaded = _uploads_block(b)
    numbers = {
        "suppressed_cells_source": source_suppressed,
        "revisions": n_revisions,
        "uploads_loaded": len(loaded),
    }
    return [methods, coverage, suppression, revisions, uploads], numbers, _hashes(loaded)


def _coverage_block(b: Builder, area_name: str, year: int) -> tuple[Block, int]:
    """The months each measure covers, and how many cells came suppressed from the source."""
    coverage = marts.coverage_summary(b.wh)
    coverage = coverage[coverage["area_code"] == b.area].drop(columns=["area_code"])
    coverage["first_period"] = coverage["first_period"].map(month_label)
    coverage["last_period"] = coverage["last_period"].map(month_label)
    coverage = coverage.rename(columns={"periods": "months"})
    coverage["measure"] = coverage["measure"].map(
        lambda n: measures.MEASURES[n].label if n in measures.MEASURES else n
    )
    source_suppressed = int(coverage["suppressed"].sum()) if len(coverage) else 0
    block = Block("methods-coverage", "Data coverage")
    first, last = marts.period_bounds(b.wh, b.area)
    if first is None or last is None or coverage.empty:
        block.paragraphs.append(
            f"No outcome extracts are loaded for {area_name}: its figures are DfE's published "
            "annual ones, whose releases are listed in the appendix file's upload log."
        )
        return block, source_suppressed
    covers = f"Outcome extracts for {area_name} cover {month_label(first)} to {month_label(last)}."
    if last and pd.Timestamp(last) > pd.Timestamp(dt.date(year, 3, 31)):
        covers += (
            " The statistics use every complete quarter loaded, so they include quarters after "
            f"31 March {year} where these are loaded; the year's own figures are in the summary."
        )
    block.paragraphs.append(covers)
    block.tables.append(
        b.table(
            coverage,
            "data-coverage",
            "Data coverage by measure (monthly cells in the outcome extracts)",
            appendix=False,
        )
    )
    return block, source_suppressed


def _earlier_revisions(revisions: pd.DataFrame, year: int) -> pd.DataFrame:
    """Revised rows for periods up to 31 March of the year before (the last report's)."""
    if revisions.empty:
        return revisions
    last_report_end = pd.Timestamp(dt.date(year - 1, 3, 31))
    period = pd.to_datetime(
        revisions["row_key"].str.split(" | ", regex=False).str[0], errors="coerce"
    )
    return revisions[(period <= last_report_end).fillna(False)]


def _revisions_block(b: Builder, year: int) -> tuple[Block, int]:
    block = Block("methods-revisions", "Revisions since the last report")
    revisions = marts.revisions(b.wh, limit=100_000)
    if revisions.empty:
        block.paragraphs.append(
            "No figure in the warehouse has been revised: every period was loaded once."
        )
        return block, 0
    earlier = _earlier_revisions(revisions, year)
    by_dataset = revisions.groupby("dataset").size()
    block.paragraphs.append(
        f"{len(revisions):,} rows have been revised by a later upload ("
        + ", ".join(f"{n:,} {d}" for d, n in by_dataset.items())
        + f"). {len(earlier):,} of them are for periods up to 31 March {year - 1}, which the "
        "previous annual report would have covered: its figures for those periods may "
        "differ from this report's."
    )
    table = revisions[["dataset", "row_key", "old_file", "new_file", "superseded_at"]].head(200)
    listed = b.table(table, "revisions", "Revised rows (latest 200)")
    block.paragraphs.append(f"The revised rows are listed in table {listed.number}.")
    return block, len(revisions)


def _uploads_block(b: Builder) -> tuple[Block, pd.DataFrame]:
    """The audit log summarised by dataset and outcome; returns the loaded uploads too."""
    block = Block("methods-uploads", "Upload audit")
    uploads = marts.uploads(b.wh, limit=100_000).sort_values("upload_id")
    loaded = uploads[uploads["outcome"] == "loaded"]
    summary = (
        uploads.groupby(["dataset", "outcome"], as_index=False)
        .agg(
            uploads=("upload_id", "count"),
            rows=("n_rows", "sum"),
            first=("uploaded_at", "min"),
            last=("uploaded_at", "max"),
        )
        .sort_values(["dataset", "outcome"])
    )
    for column in ("first", "last"):
        summary[column] = pd.to_datetime(summary[column]).dt.strftime("%Y-%m-%d %H:%M")
    block.paragraphs.append(
        f"{len(uploads):,} uploads are recorded in the audit log, {len(loaded):,} of them loaded. "
        "The upload log by dataset and outcome, and the SHA-256 fingerprint of every loaded "
        "file, are in the appendix file, so anyone can check that the files behind this report "
        "are the ones they hold."
    )
    b.table(summary, "upload-summary", "Upload log: uploads by dataset and outcome")
    return block, loaded


def _hashes(loaded: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "upload_id": int(r.upload_id),
            "file_name": str(r.file_name),
            "dataset": str(r.dataset),
            "uploaded_at": pd.Timestamp(r.uploaded_at).strftime("%Y-%m-%d %H:%M"),
            "sha256": str(r.sha256),
        }
        for r in loaded.itertuples()
    ]


def hash_table(b: Builder, hashes: list[dict[str, Any]]):
    """The appendix table of every loaded upload with its SHA-256 fingerprint."""
    return b.table(
        pd.DataFrame(hashes, columns=HASH_COLUMNS),
        "uploads-used",
        "Files behind this report: every loaded upload with its SHA-256 fingerprint",
    )
