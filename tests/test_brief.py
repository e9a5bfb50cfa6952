"""The board brief (issue 17): four A4 pages at most, the Board's verdicts, the year's three
numbers with their period and source, two charts with the rollout marked, the comparisons with
their year, value for money only at the council's own unit cost, what would make the findings
wrong, and a line pointing to the full report.

Built from the sample warehouse, and (when DfE's files are in ../shared/data/dfe) for
Staffordshire from DfE's published figures and its October 2019 rollout. The PDF pages are
rendered to PNG in test-artifacts/brief/ for a human to look at (pdftoppm, when installed).
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_dfe import shared_dfe_dir

from pipelines import analysis
from pipelines.cli import main
from pipelines.present.verdicts import VERDICT_STATUS_WORDS, verdict_status, verdict_views
from pipelines.report import build_brief, pdf_available
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
YEAR = 2026
PRODUCED = dt.date(2026, 5, 1)
STAFFORDSHIRE = "E10000028"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "brief"
BANNED = re.compile(r"\bcaused?\b|costs? avoided", re.IGNORECASE)
#: A month after the report's year (April 2026 onwards), written as the brief writes dates.
AFTER_YEAR = re.compile(
    r"\b(\d{1,2} )?(April|May|June|July|August|September|October|November|December|Apr|Jun|"
    r"Jul|Aug|Sep|Oct|Nov|Dec) 2026\b|\b2027\b|2026-(0[4-9]|1[0-2])"
)


def text_of(html: str) -> str:
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def section(html: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}".*?</section>', html, flags=re.S)
    assert found, section_id
    return found.group(0)


@pytest.fixture(scope="module")
def brief_wh(sample_warehouse_path, tmp_path_factory):
    target = tmp_path_factory.mktemp("brief") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    with open_warehouse(target) as wh:
        yield wh


@pytest.fixture(scope="module")
def brief_html(brief_wh, tmp_path_factory):
    out = tmp_path_factory.mktemp("brief-html") / "brief.html"
    result = build_brief(brief_wh, year=YEAR, area_code=AREA, out=out, produced=PRODUCED)
    return result, out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def brief_pdf(brief_wh, tmp_path_factory):
    ok, detail = pdf_available()
    if not ok:
        pytest.skip(f"No PDF engine: {detail}")
    out = tmp_path_factory.mktemp("brief-pdf") / "brief.pdf"
    result = build_brief(
        brief_wh, year=YEAR, area_code=AREA, out=out, format="pdf", produced=PRODUCED
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, ARTIFACTS / "brief.pdf")
    if shutil.which("pdftoppm"):
        for old in ARTIFACTS.glob("brief-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-r", "50", "-png", str(out), str(ARTIFACTS / "brief")],
            check=True,
            timeout=120,
        )
    return result


def test_brief_pdf_is_at_most_four_a4_pages(brief_pdf):
    from pypdf import PdfReader

    reader = PdfReader(str(brief_pdf.path))
    assert len(reader.pages) == brief_pdf.pages <= 4
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    assert "What would make these findings wrong" in text
    assert not brief_pdf.warnings


def test_verdicts_read_as_on_the_board_with_a_status_that_agrees(brief_html, brief_wh):
    result, html = brief_html
    text = text_of(html)
    verdicts = analysis.verdict_summary(brief_wh, AREA).verdicts
    assert [v.outcome for v in verdicts] == ["cla_starts", "cpp_starts"]
    for v, view in zip(verdicts, verdict_views(verdicts), strict=True):
        assert view.sentence in text and view.grade_label in text
        status = verdict_status(v)
        assert result.numbers["verdicts"][v.outcome]["status"] == status
        assert VERDICT_STATUS_WORDS[status] in section(html, "brief-verdicts")
        # the status never says "clearly" when the sentence does not
        if not v.detected:
            assert status in ("amber", "grey")
    # The comparison window is said for what it is: localities compared until the last started.
    end = max(v.window_end for v in verdicts if v.window_end is not None)
    verdict_text = text_of(section(html, "brief-verdicts"))
    assert f"compare localities up to {end.day} {end:%B %Y}" in verdict_text
    assert "every complete period loaded" not in verdict_text


def test_verdict_status_rule():
    from dataclasses import replace

    from pipelines.analysis.verdict import Verdict

    base = Verdict(**{f: None for f in Verdict.__dataclass_fields__ if f != "calibration"})
    fewer = replace(base, rate_ratio=0.8, ci_lower=0.7, ci_upper=0.9, detected=True)
    assert verdict_status(fewer) == "green"
    assert verdict_status(replace(fewer, detected=False)) == "amber"
    assert verdict_status(replace(fewer, rate_ratio=1.3, ci_lower=1.1, ci_upper=1.5)) == "red"
    assert verdict_status(replace(fewer, ci_lower=0.7, ci_upper=1.2)) == "amber"
    assert verdict_status(replace(fewer, ci_lower=None)) == "grey"


def test_three_numbers_are_the_years_with_period_and_source(brief_html, brief_wh):
    result, html = brief_html
    numbers = section(html, "brief-numbers")
    shown = result.numbers["numbers"]
    assert [n["label"] for n in shown] == [
        "Children looked after",
        "Children on a child protection plan",
        "Staff trained in Restorative Practice",
    ]
    # the year's own figure on 31 March 2026 (815 children, the report's year table too)
    assert shown[0]["value"] == "71.7 per 10,000 children"
    assert "on 31 March 2026 (815 children" in shown[0]["period"]
    assert shown[2]["period"].startswith("by 31 March 2026")
    assert numbers.count("Source:") == 3
    assert "mid-year population" in numbers
    # nothing in the numbers, charts or comparisons comes from after the chosen year
    for part in ("brief-numbers", "brief-charts", "brief-context"):
        visible = text_of(section(html, part)).replace("2026-12-02", "")
        # the upload date says when the data arrived, not the period it describes
        visible = re.sub(r"last upload (\d{4}-\d\d-\d\d|\d{1,2} [A-Z][a-z]+ \d{4})", "", visible)
        assert not AFTER_YEAR.search(visible), (part, AFTER_YEAR.search(visible))


def test_two_charts_with_the_rollout_marked_and_text_alternatives(brief_html):
    result, html = brief_html
    charts = section(html, "brief-charts")
    figures = re.findall(r'<figure class="chart"[^>]*role="img" aria-label="([^"]+)"', charts)
    assert len(figures) == 2 == result.numbers["charts"]
    assert all(label.startswith("Figure ") and len(label) > 40 for label in figures)
    assert charts.count("<figcaption") == 2
    assert charts.count("Rollout starts") == 2
    assert "the band is 2025-26" in charts


def test_context_states_each_year(brief_html):
    _, html = brief_html
    context = text_of(section(html, "brief-context"))
    assert context.count("31 March 2026") == 2
    for word in ("England", "North Fictional", "median of 10", "lowest of 11"):
        assert word in context, word


def test_value_for_money_only_at_the_councils_own_unit_cost(brief_html, brief_wh, tmp_path):
    result, html = brief_html
    assert not result.numbers["value_for_money"]
    assert 'id="brief-value"' not in html and "£" not in text_of(html)
    costed = build_brief(
        brief_wh,
        year=YEAR,
        area_code=AREA,
        out=tmp_path / "costed.html",
        unit_cost=60_000,
        produced=PRODUCED,
    )
    text = text_of(section((tmp_path / "costed.html").read_text(encoding="utf-8"), "brief-value"))
    assert costed.numbers["value_for_money"]
    assert "associated with" in text and "£60,000 a child-year" in text
    # money rounded: no figure to the pound apart from the council's own unit cost
    amounts = re.findall(r"£[\d,]+(?:\.\d+)?(?: million)?", text.replace("£60,000", ""))
    assert amounts and all(a.endswith("million") or len(a) <= 8 for a in amounts), amounts


def test_risks_and_contents_line(brief_html):
    _, html = brief_html
    text = text_of(html)
    risks = section(html, "brief-risks")
    assert 3 <= risks.count("<li>") <= 7
    assert "Contents." in text and "report-2025-26.html" in text
    assert "7. Methods and data quality" in text
    assert not BANNED.search(text)
    assert "OFFICIAL: OFFICIAL" not in text and "OFFICIAL – OFFICIAL" not in text
    # the technical words it uses, defined from the Board's glossary
    glossary = text_of(section(html, "brief-glossary"))
    assert "Statistical neighbours" in glossary and "Interval (plausible range, 95% CI)" in glossary
    assert "7 Words used" in text  # 3 is "Working with families"


def test_cli_writes_the_brief(sample_copy, tmp_path, capsys):
    out = tmp_path / "brief.html"
    args = ["--warehouse", str(sample_copy), "report", "--brief", "--year", "2026"]
    assert main([*args, "--area", AREA, "--out", str(out)]) == 0
    assert "board brief" in capsys.readouterr().err
    assert "1. The verdicts" in out.read_text(encoding="utf-8")
    assert main([*args, "--area", AREA, "--out", str(out), "--appendix", "x.html"]) == 2


@pytest.fixture(scope="module")
def public_path(tmp_path_factory) -> Path:
    folder = shared_dfe_dir()
    if not folder.is_dir() or not list(folder.glob("*.csv")):
        pytest.skip(f"The real DfE files are not at {folder} (set RP_IMPACT_SHARED_DFE).")
    tmp = tmp_path_factory.mktemp("public-brief")
    rollout = tmp / "rollout.csv"
    rollout.write_text(
        "area_code,unit,programme,wave,start_date\n"
        f"{STAFFORDSHIRE},All,Restorative Practice,1,2019-10-01\n",
        encoding="utf-8",
    )
    path = tmp / "public.duckdb"
    assert (
        main(["--warehouse", str(path), "build-public", str(folder), "--rollout", str(rollout)])
        == 0
    )
    return path


def test_brief_for_a_council_with_only_dfe_data(public_path, tmp_path):
    ok, _ = pdf_available()
    fmt = "pdf" if ok else "html"
    out = tmp_path / f"staffs.{fmt}"
    result = build_brief(public_path, year=2025, area_code=STAFFORDSHIRE, out=out, format=fmt)
    assert result.numbers["public_only"] and result.numbers["charts"] == 2
    assert set(result.numbers["verdicts"]) == {"cla_starts", "cpp_starts"}
    if ok:
        assert result.pages <= 4
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, ARTIFACTS / "staffordshire-brief.pdf")
    html_out = tmp_path / "staffs.html"
    build_brief(public_path, year=2025, area_code=STAFFORDSHIRE, out=html_out)
    html = html_out.read_text(encoding="utf-8")
    numbers = result.numbers["numbers"]
    assert numbers[0]["period"].startswith("on 31 March 2025")
    assert "DfE published statistics" in section(html, "brief-numbers")
    assert "Rollout starts" in section(html, "brief-charts")
    context = text_of(section(html, "brief-context"))
    assert "31 March 2025" in context and "West Midlands" in context
    assert not BANNED.search(text_of(html))
