"""The annual effectiveness report (HTML and PDF) for one financial year.

    from pipelines.report import build_report
    result = build_report(wh, year=2026, area_code="E06999901", out=Path("report.html"))

`build_report` gathers every number from `pipelines.analysis`, `pipelines.marts` and
`pipelines.benchmarks` (the same functions the dashboard calls), draws the charts with
`pipelines.present.charts`, puts every table through `pipelines.disclosure`, and renders the
Jinja2 templates in `pipelines/report/templates/`. The HTML is one self-contained file
(plotly.js embedded once). The PDF is that HTML printed by Chromium through Playwright (see
`pipelines.report.pdf`).

Modules: `build` (build_report, render_html, the PDF write), `context` (the sections gathered
in order into the template's context), `options` (years, defaults and option checks),
`tables` (Table, Chart, Block and the Builder that numbers them and applies disclosure
control), `sections/` (one builder per section: summary, outcomes, benchmarks, training,
value, methods), `brief` (build_brief: the board brief, four A4 pages at most).

Both formats from one build: `prepare_report` (or `prepare_brief`) once, then `write_report`
(`write_brief`) for each format; the analysis runs once and each chart is drawn once per kind.
"""

from pipelines.report.brief import PreparedBrief, build_brief, prepare_brief, write_brief
from pipelines.report.build import (
    PreparedReport,
    ReportError,
    ReportResult,
    available_years,
    build_report,
    default_partnership_name,
    default_year,
    fy_label,
    prepare_report,
    render_html,
    write_report,
)
from pipelines.report.pdf import PdfUnavailableError, find_chromium, pdf_available

__all__ = [
    "PdfUnavailableError",
    "PreparedBrief",
    "PreparedReport",
    "ReportError",
    "ReportResult",
    "available_years",
    "build_brief",
    "build_report",
    "default_partnership_name",
    "default_year",
    "find_chromium",
    "fy_label",
    "pdf_available",
    "prepare_brief",
    "prepare_report",
    "render_html",
    "write_brief",
    "write_report",
]
