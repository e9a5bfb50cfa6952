"""Gather every number, table and chart of the report into the template's context.

Every number comes from `pipelines.analysis` (statistics), `pipelines.marts` (reads) and
`pipelines.benchmarks`: the report computes nothing the dashboard could not show.
The sections are built in the report's order, because figures and appendix tables are
numbered as they are built.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly

from pipelines import __version__, analysis, marts
from pipelines import benchmarks as dfe_reads
from pipelines.analysis.board import is_public_only
from pipelines.present.practice_summary import practice_summary
from pipelines.present.verdicts import VERDICT_INTRO, verdict_views
from pipelines.present.wording import fy_label, long_date
from pipelines.report.options import (
    ReportError,
    check_options,
    default_partnership_name,
    public_area_name,
    year_window,
)
from pipelines.report.sections import methods, outcomes, practice, summary, training, value
from pipelines.report.tables import Builder
from pipelines.stats import findings as fnd
from pipelines.store.warehouse import Warehouse

#: The Government Security Classification marking for aggregated, suppressed statistics.
#: Aggregate counts with small numbers suppressed identify no child, so the baseline tier
#: OFFICIAL applies (not OFFICIAL-SENSITIVE, which is for information whose loss would harm
#: someone); the descriptor says why and how to handle the report.
MARKING = "OFFICIAL"
MARKING_DESCRIPTOR = (
    "OFFICIAL: aggregated statistics with small numbers suppressed. Contains no information "
    "about any individual child. Share within the partnership; check with the data owner "
    "before publishing."
)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "1. Summary for the board"),
    ("cla", "2. Children looked after"),
    ("cpp", "3. Child protection plans"),
    ("training", "4. Training in Restorative Practice"),
    ("practice", "5. Working with families"),
    ("value", "6. Value for money"),
    ("methods", "7. Methods and data quality"),
)
#: The appendix is a file of its own (issue 17): data tables, upload log, fingerprints.
APPENDIX_TITLE = "Appendix: data tables and provenance"


def upload_source_is_sample(wh: Warehouse) -> bool:
    """True when every loaded outcomes upload came from the synthetic sample."""
    frame = wh.query(
        "SELECT DISTINCT source FROM raw_uploads WHERE outcome = 'loaded' AND dataset = 'outcomes'"
    )
    sources = set(frame["source"].dropna().astype(str))
    return bool(sources) and sources <= {"sample"}


def _has_dfe(b: Builder) -> bool:
    try:
        dfe_reads.resolve_council(b.wh, b.area)
    except KeyError:
        b.warnings.append("No DfE published statistics for this council: benchmarks are skipped.")
        return False
    return True


def _summary(
    b: Builder, area_name: str, unit_cost: float | None, investment: float | None
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Section 1: the findings, status table and the year in numbers (its template values,
    its numbers, and the cost avoidance analysis section 6 reuses)."""
    year_rows, year_warnings = summary.year_figures(b, b.year)
    b.warnings.extend(year_warnings)
    numbers: dict[str, Any] = {
        "year_figures": summary.year_figure_numbers(year_rows) if len(year_rows) else {}
    }
    # The Board summary's own call: the same tiles, findings and verdicts (for a council with
    # only DfE's published figures, the published annual ones).
    board = analysis.board_summary(b.wh, b.area)
    tiles = {t.key: t for t in board.headlines}
    findings = list(board.findings)
    ca = analysis.cost_avoidance_analysis(b.wh, b.area, unit_cost=unit_cost, investment=investment)
    findings = summary.with_report_costs(
        findings, ca, costed=unit_cost is not None or investment is not None
    )
    found = board.verdicts
    numbers["verdicts"] = {
        v.outcome: {"rate_ratio": v.rate_ratio, "lower": v.ci_lower, "upper": v.ci_upper}
        | {"grade": v.grade, "sentence": v.sentence}
        for v in found
    }
    numbers["headlines"] = summary.headline_numbers(tiles)
    numbers["findings"] = summary.finding_numbers(findings)
    rag_rows = summary.rag_rows(tiles, findings)
    numbers["rag"] = {r["key"]: r["status"] for r in rag_rows}
    has_dfe = _has_dfe(b)
    year_table = None
    if len(year_rows):
        year_table = summary.year_table(b, year_rows, area_name)
        numbers["year_tables"] = [t.number for t in summary.year_breakdowns(b)]
    shown = {
        "verdicts": verdict_views(found),
        "verdict_intro": VERDICT_INTRO,
        # The plan with its recorded changes, as the Board summary shows it.
        "plan_line": board.plan_line,
        "verdict_note": board.verdict_note,
        "findings": [summary.finding_view(f) for f in findings],
        "rag_rows": rag_rows,
        "year_table": year_table,
        "tiles": tiles,
        "year_rows": year_rows,
        "has_dfe": has_dfe,
    }
    return shown, numbers, ca


def _chapters(
    b: Builder, area_name: str, shown: dict[str, Any], ca
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sections 2 to 7 and the appendix's file list, in the report's order."""
    numbers: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    for key, spec in (("cla", outcomes.CLA), ("cpp", outcomes.CPP)):
        blocks[key], found = outcomes.outcome_section(
            b, spec, shown["year_rows"], shown["has_dfe"], area_name, shown["findings"]
        )
        numbers.update(found)
    blocks["training"], found = training.training_section(
        b, shown["tiles"]["training_coverage"], area_name
    )
    numbers.update(found)
    blocks["practice"], found = practice.practice_section(b, practice_summary(b.wh, b.area))
    numbers.update(found)
    blocks["value"], found = value.value_section(b, ca)
    numbers.update(found)
    blocks["methods"], found, hashes = methods.methods_section(b, area_name, b.year)
    numbers.update(found)
    blocks["hash_table"] = methods.hash_table(b, hashes)
    numbers["upload_sha256"] = [h["sha256"] for h in hashes]
    return blocks, numbers


def _title_page(
    wh: Warehouse,
    area_code: str,
    area_name: str,
    year: int,
    partnership_name: str | None,
    produced: dt.date | dt.datetime | None,
) -> dict[str, Any]:
    """The title page's facts: the partnership, the period, the dates, the marking."""
    last_upload = marts.last_upload_time(wh)
    produced_at = produced or dt.datetime.now().replace(microsecond=0)
    rollout = marts.area_rollout_date(wh, area_code)
    return {
        "lang": "en-GB",
        "title": f"Restorative Practice: annual effectiveness report {fy_label(year)}",
        "partnership": partnership_name or default_partnership_name(wh, area_code),
        "area_name": area_name,
        "area_code": area_code,
        "fy": fy_label(year),
        "period": f"1 April {year - 1} to 31 March {year}",
        "produced": long_date(produced_at),
        "data_as_of": (
            f"{long_date(last_upload)} {pd.Timestamp(last_upload):%H:%M}" if last_upload else "–"
        ),
        "marking": MARKING,
        "marking_descriptor": MARKING_DESCRIPTOR,
        "synthetic": upload_source_is_sample(wh),
        "version": __version__,
        "plotly_version": plotly.__version__,
        "rollout": long_date(rollout) if rollout else None,
    }


def statistics_period(tiles: dict[str, Any], year: int) -> str:
    """What the title page says the findings use, so its period agrees with their dates: the
    year's own figures are for the financial year; the trends and findings use every complete
    period loaded, which may run past 31 March (issue 17)."""
    latest = [t.latest_period for t in tiles.values() if t.latest_period is not None]
    if not latest:
        return ""
    last = max(latest)
    if last <= year_window(year)[1]:
        return f"Every complete period loaded, to {long_date(last)}."
    return (
        f"The year's own figures are for {fy_label(year)}. The trends, findings and status "
        f"table use every complete period loaded, to {long_date(last)}, so they include "
        f"periods after 31 March {year}."
    )


def _report_area_name(wh: Warehouse, area_code: str, year: int) -> str:
    """The area's name once `check_options` accepts the year and the area. A council with only
    DfE's published figures has no local periods for it to find in the year, and needs none:
    its report rests on the published annual figures, so only the year must be acceptable."""
    try:
        return check_options(wh, area_code, year)
    except ReportError:
        name = public_area_name(wh, area_code) if is_public_only(wh, area_code) else None
        if name is None or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise
        return name


def collect(
    wh: Warehouse,
    *,
    year: int,
    area_code: str,
    static: bool,
    partnership_name: str | None,
    unit_cost: float | None,
    investment: float | None,
    produced: dt.date | dt.datetime | None,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The template context, the report's numbers (JSON-safe) and its build warnings."""
    area_name = _report_area_name(wh, area_code, year)
    b = Builder(wh, area_code, year, static)
    numbers: dict[str, Any] = {
        "year": year,
        "financial_year": fy_label(year),
        "area_code": area_code,
        "area_name": area_name,
        "software_version": __version__,
    }
    shown, found, ca = _summary(b, area_name, unit_cost, investment)
    numbers.update(found)
    blocks, found = _chapters(b, area_name, shown, ca)
    numbers.update(found)
    numbers["suppressed_cells_report"] = b.suppressed
    numbers["charts"] = b.chart_count
    numbers["appendix_tables"] = len(b.appendix)
    start, end = year_window(year)
    context = {
        **_title_page(wh, area_code, area_name, year, partnership_name, produced),
        "statistics_period": statistics_period(shown["tiles"], year),
        "sections": SECTIONS,
        "verdicts": shown["verdicts"],
        "verdict_intro": shown["verdict_intro"],
        "plan_line": shown["plan_line"],
        "verdict_note": shown["verdict_note"],
        "findings": shown["findings"],
        "confidence_rule": fnd.CONFIDENCE_RULE,
        "rag_rule": summary.RAG_RULE,
        "rag_rows": shown["rag_rows"],
        "year_table": shown["year_table"],
        **blocks,
        "appendix": b.appendix,
        "threshold": b.threshold,
        "suppressed": b.suppressed,
        "static": static,
        "toc_pages": {},
        "start": start,
        "end": end,
    }
    return context, numbers, b.warnings
