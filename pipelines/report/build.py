"""Build the annual effectiveness report for one financial year: HTML, or PDF printed from it.

The sections are built in `pipelines.report.context` (one module per section in
`pipelines.report.sections`, tables and charts in `pipelines.report.tables`); this module
renders the Jinja2 templates and writes the file.

Reproducible: the same warehouse and options give the same bytes. Nothing random is used;
chart element ids are derived from the chart's name; the only thing that changes between runs
is the "date produced", which `produced=` overrides (tests fix it).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pipelines.present.wording import fy_label
from pipelines.report import pdf as pdf_engine
from pipelines.report import plotly_bundle
from pipelines.report.context import MARKING, MARKING_DESCRIPTOR, SECTIONS, collect
from pipelines.report.options import (
    ReportError,
    available_years,
    check_format,
    default_partnership_name,
    default_year,
    financial_year_of,
)
from pipelines.report.sections.summary import RAG_RULE, rag_status
from pipelines.report.tables import STATIC_WIDTH, Block, Builder, Chart, Table
from pipelines.store.warehouse import Warehouse, open_warehouse

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The names tests/test_report.py has always used.
_Builder = Builder
_rag = rag_status

__all__ = [
    "MARKING",
    "MARKING_DESCRIPTOR",
    "SECTIONS",
    "STATIC_WIDTH",
    "TEMPLATES",
    "Block",
    "Builder",
    "Chart",
    "PreparedReport",
    "RAG_RULE",
    "ReportError",
    "ReportResult",
    "Table",
    "available_years",
    "build_report",
    "default_partnership_name",
    "default_year",
    "financial_year_of",
    "fy_label",
    "prepare_report",
    "rag_status",
    "render_html",
    "write_report",
]


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` made.

    path: the file written. format: "html" or "pdf". pages: the PDF's page count (None for
    HTML). seconds: the time taken. numbers: the headline values the report shows (JSON-safe:
    findings with their estimates and intervals, headline tiles, RAG ratings, the year's
    figures, cost avoidance, suppression and upload counts). warnings: plain-English notes
    about the build (incomplete year, missing comparators, methods that could not run).
    """

    path: Path
    format: str
    pages: int | None
    seconds: float
    numbers: dict[str, Any]
    warnings: tuple[str, ...] = ()


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(context: Mapping[str, Any]) -> str:
    """Render the report template with a context from the builder (plotly.js embedded once)."""
    env = _environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    context = {"appendix_name": "", **context}
    page = env.get_template("report.html.j2").render(
        **context, css=Markup(css), plotly_js=Markup(plotly_bundle.PLACEHOLDER)
    )
    return plotly_bundle.embed(page)


def render_appendix(context: Mapping[str, Any]) -> str:
    """The appendix file's HTML: every appendix table (chart data, upload log, fingerprints)."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    context = {"report_name": "", **context}
    return _environment().get_template("appendix.html.j2").render(**context, css=Markup(css))


@contextlib.contextmanager
def borrowed_warehouse(warehouse: Warehouse | Path | str) -> Iterator[Warehouse]:
    """The warehouse a report reads: the caller's open one, or one opened from a path and
    closed again when the report has been collected."""
    if isinstance(warehouse, Warehouse):
        yield warehouse
        return
    wh = open_warehouse(warehouse)
    try:
        yield wh
    finally:
        wh.close()


def appendix_path(out: Path, appendix: Path | str | None = None) -> Path:
    """Where the appendix goes: `appendix`, else `<name>-appendix.<ext>` beside the report."""
    return Path(appendix) if appendix else out.with_name(f"{out.stem}-appendix{out.suffix}")


@dataclass(frozen=True)
class PreparedReport:
    """A report built once, ready to write in any format (`write_report`): every number,
    table and chart, already through disclosure control. Each chart is drawn once for each
    kind of output it is written to (interactive HTML, static PDF) and kept."""

    context: dict[str, Any]
    numbers: dict[str, Any]
    warnings: tuple[str, ...]
    seconds: float


def prepare_report(
    warehouse: Warehouse | str | Path,
    *,
    year: int,
    area_code: str,
    partnership_name: str | None = None,
    unit_cost: float | None = None,
    investment: float | None = None,
    produced: dt.date | dt.datetime | None = None,
) -> PreparedReport:
    """Gather the report for the financial year ending 31 March `year` (the options are as
    in `build_report`), once, for `write_report` to write in as many formats as wanted."""
    started = time.perf_counter()
    with borrowed_warehouse(warehouse) as wh:
        context, numbers, warnings = collect(
            wh,
            year=year,
            area_code=area_code,
            static=False,
            partnership_name=partnership_name,
            unit_cost=unit_cost,
            investment=investment,
            produced=produced,
        )
    return PreparedReport(context, numbers, tuple(warnings), time.perf_counter() - started)


def write_report(
    prepared: PreparedReport,
    *,
    out: Path | str,
    format: str = "html",  # noqa: A002 - the CLI's word
    appendix: Path | str | None = None,
) -> ReportResult:
    """Write a prepared report and its appendix in one format (see `build_report`)."""
    started = time.perf_counter()
    out = Path(out)
    fmt = writable_format(format)
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = appendix_path(out, appendix)
    if extra.resolve() == out.resolve():
        raise ReportError("The appendix needs a file name of its own, not the report's.")
    extra.parent.mkdir(parents=True, exist_ok=True)
    context = {
        **prepared.context,
        "static": fmt == "pdf",
        "appendix_name": extra.name,
        "report_name": out.name,
    }
    numbers = copy.deepcopy(prepared.numbers)
    pages = None
    if fmt == "html":
        out.write_text(render_html(context), encoding="utf-8")
        extra.write_text(render_appendix(context), encoding="utf-8")
    else:
        pages, numbers["appendix_pages"] = _write_pdfs(context, out, extra)
    numbers["appendix_file"] = str(extra)
    seconds = time.perf_counter() - started
    return ReportResult(out, fmt, pages, seconds, numbers, tuple(dict.fromkeys(prepared.warnings)))


def writable_format(format: str) -> str:  # noqa: A002 - the CLI's word
    """`format` checked ("html" or "pdf"); for a PDF, PdfUnavailableError (what to install)
    before any analysis runs when this server cannot print one."""
    fmt = check_format(format)
    if fmt == "pdf":
        ok, detail = pdf_engine.pdf_available()
        if not ok:
            raise pdf_engine.PdfUnavailableError(detail)
    return fmt


def build_report(
    warehouse: Warehouse | str | Path,
    *,
    year: int,
    area_code: str,
    out: Path | str,
    format: str = "html",  # noqa: A002 - the CLI's word
    partnership_name: str | None = None,
    unit_cost: float | None = None,
    investment: float | None = None,
    produced: dt.date | dt.datetime | None = None,
    appendix: Path | str | None = None,
) -> ReportResult:
    """Write the annual effectiveness report for the financial year ending 31 March `year`,
    and its appendix (data tables, upload log, SHA-256 fingerprints) as a file of its own in
    the same format: `appendix`, else `<name>-appendix.html` (or `.pdf`) beside `out`.

    `warehouse` is an open Warehouse or a path. `format` is "html" (one self-contained file,
    interactive charts, works offline) or "pdf" (A4, page numbers, contents with page numbers;
    needs Chromium and Playwright, else PdfUnavailableError says what to install).
    `unit_cost` (£ per child-year looked after) and `investment` (£) feed the value-for-money
    section. `produced` fixes the "date produced" (for reproducible builds).

    For more than one format, `prepare_report` once and `write_report` each: the analysis
    and the charts are then made once.

    Raises ReportError (a ValueError) with a plain-English message for options it cannot
    report on (unknown area, a year with no data, an unknown format).
    """
    started = time.perf_counter()
    fmt = writable_format(format)
    prepared = prepare_report(
        warehouse,
        year=year,
        area_code=area_code,
        partnership_name=partnership_name,
        unit_cost=unit_cost,
        investment=investment,
        produced=produced,
    )
    result = write_report(prepared, out=out, format=fmt, appendix=appendix)
    return dataclasses.replace(result, seconds=time.perf_counter() - started)


def _write_pdfs(context: dict[str, Any], out: Path, extra: Path) -> tuple[int, int]:
    """Print the report and its appendix from one browser: the report's contents get their
    page numbers from its first print (see `pipelines.report.pdf`); the appendix has none."""
    footer = f"{context['partnership']} · Restorative Practice report {context['fy']}"
    appendix_footer = f"{context['partnership']} · Report {context['fy']}: appendix"
    with tempfile.TemporaryDirectory(prefix="rp-report-") as folder:
        html_path = Path(folder) / "report.html"
        html_path.write_text(render_html(context), encoding="utf-8")
        appendix_html = Path(folder) / "appendix.html"
        appendix_html.write_text(render_appendix(context), encoding="utf-8")
        pdf_engine.print_pdfs(
            [
                # contents are on page 2; sections start after it
                pdf_engine.PrintJob(
                    html_path, out, context["marking"], footer, contents=SECTIONS, first_page=3
                ),
                pdf_engine.PrintJob(appendix_html, extra, context["marking"], appendix_footer),
            ]
        )
    return pdf_engine.page_count(out), pdf_engine.page_count(extra)
