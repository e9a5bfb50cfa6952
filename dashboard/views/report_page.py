"""Annual report: make the board's annual effectiveness report (HTML and PDF) for one year.

Thin: every number, chart and table comes from `pipelines.report` (`prepare_report` once,
`write_report` for each format).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from dashboard import data
from dashboard.state import context
from dashboard.views.common import select_area
from pipelines import report
from pipelines.present.wording import fy_label

_RESULT = "_rp_report_files"

st.title("Annual effectiveness report")
st.markdown(
    "Make the partnership board's annual report on Restorative Practice for one financial "
    "year: the findings with their confidence, a red/amber/green status for each measure, the "
    "trends, comparisons by rollout wave and with England, the region and statistical "
    "neighbours, value for money, and the methods and data quality. The **board brief** is "
    "four pages at most: the verdicts, the year's three numbers, two charts and the "
    "comparisons. The data tables, upload log and file fingerprints are a separate appendix "
    "file. The HTML files work offline with interactive charts; the PDFs are A4 and tagged "
    "for screen readers, ready to circulate. "
    "Every table is disclosure-controlled (counts of 1 to 4 are shown as “c”)."
)

wh = data.warehouse()
areas = data.areas() if wh is not None else None
if wh is None or areas is None or areas.empty:
    st.info(
        "**No data yet**\n\nThe warehouse has no outcome data, so there is nothing to report.\n\n"
        "**What to do:** load your extracts on the **Upload** page, or run `rp-impact build` to "
        "load the synthetic sample.",
        icon=":material/info:",
    )
    st.stop()


def pounds_input(column, label: str, step: int, key: str, help: str):
    """An amount in pounds, 0 or more, starting at 0 (which means "not given")."""
    return column.number_input(label, min_value=0, value=0, step=step, key=key, help=help)


ctx = context()
codes = areas["area_code"].tolist()
names = dict(zip(areas["area_code"], areas["area_name"], strict=False))
default = ctx.filters.area if ctx is not None and ctx.filters.area in codes else codes[0]

left, right = st.columns(2)
area = select_area(left, codes, names, default, key="report-area")
years = report.available_years(wh, area)
if not years:
    st.info("There are no outcome figures for this area yet.", icon=":material/info:")
    st.stop()
choices = list(reversed(years))
latest_full = report.default_year(wh, area)
year = right.selectbox(
    "Financial year (April to March)",
    choices,
    index=choices.index(latest_full) if latest_full in choices else 0,
    format_func=fy_label,
    key="report-year",
    help="The report covers this year; its statistics use every complete quarter loaded.",
)
partnership = st.text_input(
    "Partnership name (for the title page)",
    value=report.default_partnership_name(wh, area),
    key="report-partnership",
)
with st.expander("Value for money (optional)"):
    a, b = st.columns(2)
    unit_cost = pounds_input(
        a,
        "Average cost of a child-year looked after (£)",
        1000,
        "report-unit-cost",
        "Your council's own figure. 0 shows the child-years difference only, with no money value.",
    )
    investment = pounds_input(
        b,
        "Investment in the programme so far (£)",
        10000,
        "report-investment",
        "0 means not given: the report values the child-years difference without setting it against an investment.",
    )

pdf_ok, pdf_detail = report.pdf_available()
make_pdf = st.toggle(
    "Also make a PDF (takes a minute or two)",
    value=pdf_ok,
    disabled=not pdf_ok,
    key="report-make-pdf",
)
if not pdf_ok:
    st.info(f"**The PDF is not available on this server.** {pdf_detail}", icon=":material/block:")

if st.button("Generate report", type="primary", icon=":material/description:"):
    options = {
        "year": int(year),
        "area_code": area,
        "partnership_name": partnership.strip() or None,
        "unit_cost": float(unit_cost) if unit_cost else None,
    }
    investment_given = float(investment) if investment else None
    stem = f"rp-impact-report-{names.get(area, area)}-{fy_label(int(year))}".replace(" ", "-")
    made: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="rp-report-") as folder:
        formats = ["html", "pdf"] if make_pdf else ["html"]
        # The analysis, tables and charts once; each format written from them.
        with st.spinner("Working out the report, its appendix and the board brief…"):
            try:
                prepared = report.prepare_report(wh, investment=investment_given, **options)
                prepared_brief = report.prepare_brief(wh, **options)
            except report.ReportError as exc:
                st.error(str(exc), icon=":material/error:")
                formats = []
        for fmt in formats:
            with st.spinner(f"Writing the {fmt.upper()} report, its appendix and the board brief…"):
                try:
                    result = report.write_report(
                        prepared, out=Path(folder) / f"{stem}.{fmt}", format=fmt
                    )
                    brief = report.write_brief(
                        prepared_brief,
                        out=Path(folder) / f"{stem}-brief.{fmt}",
                        format=fmt,
                        full_report=f"{stem}.{fmt}",
                    )
                except report.ReportError as exc:
                    st.error(str(exc), icon=":material/error:")
                    break
                except report.PdfUnavailableError as exc:
                    st.warning(str(exc), icon=":material/block:")
                    continue
                appendix = Path(result.numbers["appendix_file"])
                made[fmt] = {
                    "bytes": result.path.read_bytes(),
                    "appendix": appendix.read_bytes(),
                    "brief": brief.path.read_bytes(),
                    # the first format made carries the analysis both share
                    "seconds": result.seconds
                    + brief.seconds
                    + (0.0 if made else prepared.seconds + prepared_brief.seconds),
                    "pages": result.pages,
                    "brief_pages": brief.pages,
                    "warnings": result.warnings + brief.warnings,
                }
    if made:
        st.session_state[_RESULT] = {"stem": stem, "files": made}

stored = st.session_state.get(_RESULT)
if stored:
    files = stored["files"]
    summary = ", ".join(
        f"{fmt.upper()} in {info['seconds']:.0f} seconds"
        + (
            f" (report {info['pages']} pages, board brief {info['brief_pages']})"
            if info["pages"]
            else ""
        )
        for fmt, info in files.items()
    )
    st.success(f"Report ready: {summary}.", icon=":material/check_circle:")
    mimes = {"html": "text/html", "pdf": "application/pdf"}
    # The full report keeps its "Download HTML" / "Download PDF" names (the browser test's).
    downloads = (
        ("brief", "Board brief ({fmt})", "-brief", ":material/summarize:"),
        ("bytes", "Download {fmt}", "", ":material/download:"),
        ("appendix", "Appendix ({fmt}): tables and provenance", "-appendix", ":material/table:"),
    )
    for fmt, info in files.items():
        columns = st.columns(3)
        for column, (key, label, suffix, icon) in zip(columns, downloads, strict=True):
            column.download_button(
                label.format(fmt=fmt.upper()),
                info[key],
                file_name=f"{stored['stem']}{suffix}.{fmt}",
                mime=mimes[fmt],
                key=f"report-download-{key}-{fmt}",
                icon=icon,
            )
    notes = list(dict.fromkeys(w for info in files.values() for w in info["warnings"]))
    if notes:
        with st.expander("Notes from the build"):
            st.markdown("\n".join(f"- {n}" for n in notes))
