"""The annual effectiveness report: HTML structure, numbers, disclosure, PDF and the page.

The reports are built once per module from the sample warehouse (with its synthetic DfE
comparators). The PDF pages are rendered to PNG in test-artifacts/report/ for a human to look
at (pdftoppm, when installed).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import plotly
import pytest

from pipelines import analysis, report
from pipelines.report import build as report_build
from pipelines.report import pdf as report_pdf
from pipelines.report import plotly_bundle
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
YEAR = 2026
PRODUCED = dt.date(2026, 5, 1)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"
SECTION_IDS = [sid for sid, _ in report_build.SECTIONS]
PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "views" / "report_page.py")


# -- parsing -----------------------------------------------------------------------------------

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr", "area", "base"}


class ReportParser(HTMLParser):
    """Collects ids, headings, tables (with captions and count cells) and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self.text: list[str] = []
        self.lang: str | None = None
        self.tables: list[dict] = []
        self.figures: list[dict] = []
        self.errors: list[str] = []
        self._heading: list[str] | None = None
        self._cell: list[str] | None = None
        self._cell_classes: set[str] = set()
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag not in VOID:
            self.stack.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []
            self.headings.append((int(tag[1]), ""))
        if tag == "table":
            self.tables.append({"caption": "", "cells": [], "section": self._section()})
        if tag == "caption":
            self._in_caption = True
        if tag in ("td", "th"):
            self._cell = []
            self._cell_classes = set((attrs.get("class") or "").split())
        if tag == "figure":
            self.figures.append({"caption": "", "img_label": None})
        if attrs.get("role") == "img" and self.figures:
            self.figures[-1]["img_label"] = attrs.get("aria-label")
        if tag == "figcaption":
            self._figcaption = True

    def _section(self) -> str | None:
        return getattr(self, "_current_section", None)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack:
            self.errors.append(f"closing </{tag}> with nothing open")
            return
        if self.stack[-1] != tag:
            self.errors.append(f"closing </{tag}> but <{self.stack[-1]}> is open")
        else:
            self.stack.pop()
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            level, _ = self.headings[-1]
            self.headings[-1] = (level, " ".join("".join(self._heading).split()))
            self._heading = None
        if tag == "caption":
            self._in_caption = False
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1]["cells"].append(
                ("".join(self._cell).strip(), tag, frozenset(self._cell_classes))
            )
            self._cell = None
        if tag == "figcaption":
            self._figcaption = False

    def handle_data(self, data):
        if any(t in ("script", "style") for t in self.stack):
            return
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)
        if self._in_caption and self.tables:
            self.tables[-1]["caption"] += data
        if self._cell is not None:
            self._cell.append(data)
        if getattr(self, "_figcaption", False) and self.figures:
            self.figures[-1]["caption"] += data

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html: str) -> ReportParser:
    parser = ReportParser()
    # mark which section each table sits in
    parts = re.split(r'(<section class="chapter[^"]*" id="[^"]+")', html)
    parser.feed(parts[0])
    for marker, body in zip(parts[1::2], parts[2::2], strict=True):
        parser._current_section = re.search(r'id="([^"]+)"', marker).group(1)
        parser.feed(marker + body)
    parser.close()
    return parser


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_wh(sample_warehouse_path, tmp_path_factory):
    target = tmp_path_factory.mktemp("report") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    with open_warehouse(target) as wh:
        yield wh


@pytest.fixture(scope="module")
def html_report(report_wh, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-html") / "report.html"
    result = report.build_report(
        report_wh, year=YEAR, area_code=AREA, out=out, format="html", produced=PRODUCED
    )
    html = out.read_text(encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.html").write_text(html, encoding="utf-8")
    return result, html, parse(html)


@pytest.fixture(scope="module")
def appendix_html(html_report):
    """The appendix file written beside the HTML report (data tables and provenance)."""
    result, _, _ = html_report
    path = Path(result.numbers["appendix_file"])
    assert path.name == "report-appendix.html" and path.parent == result.path.parent
    html = path.read_text(encoding="utf-8")
    return html, parse(html)


@pytest.fixture(scope="module")
def pdf_report(report_wh, tmp_path_factory):
    ok, detail = report.pdf_available()
    if not ok:
        pytest.skip(f"No PDF engine: {detail}")
    out = tmp_path_factory.mktemp("report-pdf") / "report.pdf"
    result = report.build_report(
        report_wh, year=YEAR, area_code=AREA, out=out, format="pdf", produced=PRODUCED
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, ARTIFACTS / "report.pdf")
    if shutil.which("pdftoppm"):
        for old in ARTIFACTS.glob("page-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-r", "70", "-png", str(out), str(ARTIFACTS / "page")],
            check=True,
            timeout=300,
        )
    return result


# -- HTML ----------------------------------------------------------------------------------------


def test_html_is_well_formed_and_has_every_section(html_report):
    result, html, parsed = html_report
    assert result.format == "html" and result.path.exists() and result.pages is None
    assert html.startswith("<!DOCTYPE html>")
    assert parsed.lang == "en-GB"
    assert parsed.errors == []
    assert parsed.stack == []
    for section_id in ["title", "contents", *SECTION_IDS]:
        assert section_id in parsed.ids, section_id
    # the appendix is a file of its own (issue 17)
    assert "appendix" not in parsed.ids and "report-appendix.html" in parsed.visible_text
    assert len(parsed.ids) == len(set(parsed.ids)), "duplicate ids"
    # one h1, and headings never skip a level going down
    levels = [level for level, _ in parsed.headings]
    assert levels.count(1) == 1 and levels[0] == 1
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, parsed.headings
    titles = [text for level, text in parsed.headings if level == 2]
    for _, heading in report_build.SECTIONS:
        assert heading in titles


def test_title_page_states_period_marking_and_data_date(html_report):
    _, _, parsed = html_report
    text = parsed.visible_text
    assert "Financial year 2025-26 (1 April 2025 to 31 March 2026)" in text
    assert "Date produced 1 May 2026" in text
    assert "Data as of" in text and "(last upload)" in text
    assert "OFFICIAL: aggregated statistics with small numbers suppressed" in text
    assert not re.search(r"OFFICIAL\W+OFFICIAL", text), "the marking doubled"
    assert "Northmoor Safeguarding Children Partnership" in text
    assert "Synthetic data." in text
    # the title page says the findings run past 31 March, to the dates they quote
    assert "Statistics use The year's own figures are for 2025-26." in text
    assert "to 30 June 2026, so they include periods after 31 March 2026" in text


def test_every_table_has_a_caption_and_every_chart_a_finding_caption(html_report, appendix_html):
    result, html, parsed = html_report
    assert parsed.tables and all(t["caption"].strip() for t in parsed.tables)
    assert len(parsed.figures) == result.numbers["charts"] >= 14
    for figure in parsed.figures:
        assert figure["caption"].startswith("Figure ")
        assert figure["img_label"] and figure["img_label"].startswith("Figure ")
    # each chart is an image with a one-line text alternative; its SVG is hidden from
    # assistive technology (and from the PDF's structure tree) so it is read once
    assert html.count('role="img" aria-label="Figure ') == result.numbers["charts"]
    assert html.count('<div class="plot" aria-hidden="true">') == result.numbers["charts"]
    # every chart's data are in the appendix file, none in the body
    assert result.numbers["appendix_tables"] >= result.numbers["charts"]
    assert not [t for t in parsed.tables if t["caption"].startswith("Table A")]
    _, appendix = appendix_html
    numbered = [t for t in appendix.tables if t["caption"].startswith("Table A")]
    assert len(numbered) == result.numbers["appendix_tables"]


def test_plotly_js_is_embedded_exactly_once_and_nothing_is_fetched(html_report):
    _, html, _ = html_report
    bundle = plotly_bundle.basic_bundle()
    assert bundle is not None, "the vendored basic bundle is the plotly package's version"
    assert html.count(bundle[:200]) == 1  # every chart is scatter or bar: the basic bundle
    assert plotly.offline.get_plotlyjs()[:200] not in html
    assert plotly_bundle.PLACEHOLDER not in html and plotly_bundle.NEEDS_FULL not in html
    assert html.count("Plotly.newPlot(") >= 14
    assert not re.search(r"""<script[^>]+src=""", html)
    assert not re.search(r"""<link[^>]+href=["']https?:""", html)
    # plotly.js itself names its CDN (for geo maps, unused here); nothing else does
    assert html.count("cdn.plot.ly") == bundle.count("cdn.plot.ly")


def test_no_placeholder_or_error_text(html_report):
    _, _, parsed = html_report
    text = parsed.visible_text
    for word in ("nan", "NaN", "None", "NaT", "Traceback", "inf", "undefined"):
        assert not re.search(rf"\b{word}\b", text), word


def test_findings_and_headlines_equal_the_statistics_layer(html_report, report_wh):
    result, _, parsed = html_report
    text = parsed.visible_text
    expected = analysis.board_findings(report_wh, AREA)
    assert 5 <= len(expected) <= 8
    got = result.numbers["findings"]
    assert [f["key"] for f in got] == [f.key for f in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine["text"] == theirs.text
        assert mine["confidence"] == theirs.confidence
        if theirs.estimate is None:
            assert mine["estimate"] is None
        else:
            assert mine["estimate"] == pytest.approx(theirs.estimate, rel=1e-12)
        if theirs.ci is not None:
            assert mine["ci"] == pytest.approx(list(theirs.ci), rel=1e-12)
        assert " ".join(theirs.text.split()) in text
    tiles = {t.key: t for t in analysis.headlines(report_wh, AREA)}
    for key, tile in tiles.items():
        mine = result.numbers["headlines"][key]
        assert mine["latest_rate"] == pytest.approx(tile.latest_rate)
        assert mine["change"] == pytest.approx(tile.change_pct)
        assert mine["change_lower"] == pytest.approx(tile.change_lower)
        assert mine["change_upper"] == pytest.approx(tile.change_upper)
    # the year's own figure, from the financial-year grain
    cla = result.numbers["year_figures"]["cla_at_period_end"]
    assert cla["count"] == 815
    assert "71.7" in text


def test_rag_status_follows_the_stated_rule(html_report):
    result, _, parsed = html_report
    text = parsed.visible_text
    assert "Green: the 95% confidence interval of the change since rollout lies wholly" in text
    rag = result.numbers["rag"]
    for key, values in result.numbers["headlines"].items():
        improvement = "increase" if key == "training_coverage" else "decrease"
        assert rag[key] == report_build._rag(
            values["change"], values["change_lower"], values["change_upper"], improvement
        )
    assert set(rag.values()) <= {"green", "amber", "red", "grey"}


@pytest.mark.parametrize(
    ("change", "lower", "upper", "improvement", "status"),
    [
        (-10, -15, -5, "decrease", "green"),
        (-2, -6, 3, "decrease", "amber"),
        (8, 2, 12, "decrease", "red"),
        (3, 1, 5, "increase", "green"),
        (-3, -5, -1, "increase", "red"),
        (None, None, None, "decrease", "grey"),
        (float("nan"), 1, 2, "increase", "grey"),
    ],
)
def test_rag_rule(change, lower, upper, improvement, status):
    assert report_build._rag(change, lower, upper, improvement) == status


def test_benchmarks_use_the_dfe_comparators(html_report):
    result, _, parsed = html_report
    assert "cla_at_period_end_benchmark_2026" in result.numbers
    bench = result.numbers["cla_at_period_end_benchmark_2026"]
    assert bench["council"] == 72 and bench["england"] == 68
    assert "statistical neighbours" in parsed.visible_text


def test_appendix_count_cells_never_show_1_to_4(html_report, appendix_html):
    _, _, parsed = html_report
    _, appendix = appendix_html
    count_cells = [
        value
        for table in parsed.tables + appendix.tables
        for value, tag, classes in table["cells"]
        if tag == "td" and "count" in classes
    ]
    assert count_cells, "no count columns found"
    for value in count_cells:
        if value in ("c", "–"):
            continue
        number = float(value.replace(",", ""))
        assert not 1 <= number <= 4, value
    assert len(appendix.tables) >= 14


def test_methods_record_version_hashes_and_suppression(html_report, appendix_html, report_wh):
    result, html, parsed = html_report
    text = parsed.visible_text
    assert "rp-impact 0.1.0" in text
    hashes = report_wh.query("SELECT sha256 FROM raw_uploads WHERE outcome = 'loaded'")["sha256"]
    assert len(hashes) == len(result.numbers["upload_sha256"]) > 70
    # provenance lives in the appendix file, not the body (issue 17)
    appendix_text = appendix_html[1].visible_text
    for sha in hashes:
        assert sha in appendix_text and sha not in html
    assert "Upload log: uploads by dataset and outcome" in appendix_text
    assert "Uploads by dataset and outcome" not in text
    assert "Revisions since the last report" in text
    assert "Data coverage" in text
    assert isinstance(result.numbers["suppressed_cells_report"], int)


def test_table_helper_suppresses_small_counts_rates_and_a_second_part():
    builder = report_build._Builder(None, AREA, YEAR, static=False)
    frame = pd.DataFrame(
        {
            "unit": ["All", "Ashby", "Brookfield", "Castleton"],
            "value": [40, 3, 12, 25],
            "rate_per_10k": [10.0, 0.7, 3.1, 6.2],
        }
    )
    table = builder.table(
        frame,
        "demo",
        "Demo",
        count_columns=["value"],
        derived={"value": ("rate_per_10k",)},
        totals={"unit": []},
    )
    rows = {row[0]: row[1:] for row in table.rows}
    assert rows["Ashby"] == ["c", "c"]
    assert rows["Brookfield"] == ["c", "c"]  # secondary: next smallest part
    assert rows["Castleton"] == ["25", "6.2"] and rows["All"] == ["40", "10.0"]
    assert table.n_suppressed == 4 and builder.suppressed == 4
    assert "suppressed" in table.note


def test_reproducible_with_a_fixed_date(html_report, report_wh, tmp_path):
    result, html, _ = html_report
    again = report.build_report(
        report_wh,
        year=YEAR,
        area_code=AREA,
        out=tmp_path / "again.html",
        format="html",
        produced=PRODUCED,
    )
    assert {k: v for k, v in again.numbers.items() if k != "appendix_file"} == {
        k: v for k, v in result.numbers.items() if k != "appendix_file"
    }
    again_html = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert again_html.replace("again-appendix.html", "report-appendix.html") == html


def test_unit_cost_and_investment_reach_the_value_section(report_wh, tmp_path):
    result = report.build_report(
        report_wh,
        year=YEAR,
        area_code=AREA,
        out=tmp_path / "vfm.html",
        unit_cost=60_000,
        investment=2_000_000,
        produced=PRODUCED,
    )
    cost = result.numbers["cost"]
    assert cost["unit_cost"] == 60_000 and cost["investment"] == 2_000_000
    assert cost["net_avoidance"] == pytest.approx(cost["gross_avoidance"] - 2_000_000)
    text = parse((tmp_path / "vfm.html").read_text(encoding="utf-8")).visible_text
    assert "£60,000" in text and "£2,000,000" in text
    finding = next(f for f in result.numbers["findings"] if f["key"].startswith("cost"))
    assert "£60,000" in finding["text"]


def test_bad_options_give_plain_messages(report_wh, tmp_path):
    with pytest.raises(report.ReportError, match="E09999999"):
        report.build_report(report_wh, year=YEAR, area_code="E09999999", out=tmp_path / "x.html")
    with pytest.raises(report.ReportError, match=r"no outcome figures .* 2009-10"):
        report.build_report(report_wh, year=2010, area_code=AREA, out=tmp_path / "x.html")
    with pytest.raises(report.ReportError, match="'html' or 'pdf'"):
        report.build_report(
            report_wh, year=YEAR, area_code=AREA, out=tmp_path / "x.doc", format="docx"
        )
    assert not (tmp_path / "x.html").exists()
    assert report.available_years(report_wh, AREA) == list(range(2016, 2028))
    assert report.default_year(report_wh, AREA) == 2026


def test_pdf_without_chromium_says_what_to_install(report_wh, tmp_path, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    ok, detail = report.pdf_available()
    assert not ok and "apt-get install chromium" in detail
    with pytest.raises(report.PdfUnavailableError, match="apt-get install chromium"):
        report.build_report(
            report_wh, year=YEAR, area_code=AREA, out=tmp_path / "r.pdf", format="pdf"
        )
    assert not (tmp_path / "r.pdf").exists()


def test_find_section_pages_reads_headings_in_order():
    pages = ["Contents 1. Summary 2. Trends", "intro", "1. Summary\nfor the board", "2. Trends"]
    found = report_pdf.find_section_pages(
        pages, [("summary", "1. Summary for the board"), ("trends", "2. Trends")], first_page=3
    )
    assert found == {"summary": 3, "trends": 4}


# -- PDF -----------------------------------------------------------------------------------------


def test_pdf_is_a4_with_page_numbers_contents_and_findings(pdf_report, report_wh):
    from pypdf import PdfReader

    result = pdf_report
    assert result.format == "pdf" and result.path.exists()
    reader = PdfReader(str(result.path))
    assert len(reader.pages) == result.pages
    # 56 pages before issue 17; the appendix tables and hashes are a file of their own now
    assert 15 <= result.pages <= 32
    appendix = PdfReader(result.numbers["appendix_file"])
    assert len(appendix.pages) == result.numbers["appendix_pages"] >= 10
    assert "SHA-256" in " ".join(page.extract_text() or "" for page in appendix.pages)
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points
    texts = [page.extract_text() or "" for page in reader.pages]
    squash = lambda s: "".join(s.split())  # noqa: E731
    everything = squash(" ".join(texts))
    assert squash(f"Page 1 of {result.pages}") in squash(texts[0])
    assert "OFFICIAL" in texts[0]
    for finding in analysis.board_findings(report_wh, AREA):
        assert squash(finding.text) in everything, finding.text
    # the contents page lists each section with the page it starts on
    contents = texts[1]
    for _section_id, heading in report_build.SECTIONS:
        match = re.search(re.escape(heading) + r"[ .]*(\d+)", contents)
        assert match, heading
        page = int(match.group(1))
        assert squash(heading) in squash(texts[page - 1]), (heading, page)
    for word in ("nan", "None", "NaT", "Traceback"):
        assert not re.search(rf"\b{word}\b", " ".join(texts)), word


# -- the dashboard page --------------------------------------------------------------------------


def test_report_page_makes_an_html_report(sample_copy, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert not at.exception
    assert at.selectbox(key="report-year").value == YEAR  # the latest complete year
    if at.toggle(key="report-make-pdf").value:
        at.toggle(key="report-make-pdf").set_value(False)
    at.button[0].click().run()
    assert not at.exception
    assert not at.error
    assert any("Report ready: HTML in" in s.value for s in at.success)
    # the board brief and the appendix are downloads of their own beside the report
    stored = at.session_state["_rp_report_files"]["files"]["html"]
    assert b"1. The verdicts" in stored["brief"] and b"board brief" in stored["brief"]
    assert b"Appendix: data tables and provenance" in stored["appendix"]
    hashes = set(re.findall(rb"<td[^>]*>([0-9a-f]{64})</td>", stored["appendix"]))
    assert len(hashes) > 70 and not [h for h in hashes if h in stored["bytes"]]


def test_summary_and_sections_describe_one_estimate_one_way(html_report):
    """Issue 17: the status table gives the localities' estimate per the period the finding
    does, and section 2 repeats the summary's finding rather than contradicting it."""
    result, _, parsed = html_report
    text = parsed.visible_text
    did = next(f for f in result.numbers["findings"] if f["key"].startswith("did:cla_starts"))
    assert "a financial year" in did["text"]
    assert "per 10,000 a financial year (95% CI" in text
    assert "per 10,000 a quarter (95% CI" not in text
    # the summary's finding appears twice: in section 1 and in section 2's In brief
    assert text.count(" ".join(did["text"].split())) == 2
