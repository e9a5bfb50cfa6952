"""The full report's "Working with families" section and the brief's block (issue 18): the
Board tile's sentences word for word (`pipelines.present.practice_summary`), and the section's
charts through the gate."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil

import pytest

from pipelines import report
from pipelines.present.practice_summary import practice_summary
from pipelines.report.brief import build_brief
from pipelines.report.context import SECTIONS
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
YEAR = 2026
PRODUCED = dt.date(2026, 5, 1)


@pytest.fixture(scope="module")
def practice_wh(sample_warehouse_path, tmp_path_factory):
    target = tmp_path_factory.mktemp("report-practice") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    with open_warehouse(target) as wh:
        yield wh


@pytest.fixture(scope="module")
def sentences(practice_wh):
    summary = practice_summary(practice_wh, AREA)
    assert summary is not None
    return summary.sentences


def _text(markup: str) -> str:
    """The page's words: tags dropped, entities read, spaces collapsed."""
    markup = re.sub(r"<script.*?</script>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def _section(markup: str, section_id: str) -> str:
    start = markup.index(f'<section class="chapter" id="{section_id}"')
    return markup[start : markup.index('<section class="chapter"', start + 1)]


# -- the full report -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_html(practice_wh, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-practice-html") / "report.html"
    result = report.build_report(
        practice_wh, year=YEAR, area_code=AREA, out=out, format="html", produced=PRODUCED
    )
    return result, out.read_text(encoding="utf-8")


def test_the_report_has_a_working_with_families_section(report_html):
    assert ("practice", "5. Working with families") in SECTIONS
    assert [sid for sid, _ in SECTIONS][3:6] == ["training", "practice", "value"]
    _, markup = report_html
    section = _text(_section(markup, "practice"))
    assert "5. Working with families" in section


def test_the_section_prints_the_tiles_sentences_word_for_word(report_html, sentences):
    result, markup = report_html
    section = _text(_section(markup, "practice"))
    for sentence in sentences:
        assert sentence in section
    found = result.numbers["practice"]
    assert found["good_or_better"]["sentence"] == sentences[0]
    assert 0.14 < found["good_or_better"]["change"] < 0.26  # the sample's planted +20 points


def test_the_section_has_the_change_and_pprime_charts(report_html):
    _, markup = report_html
    section = _section(markup, "practice")
    assert 'id="chart-practice-change"' in section
    assert 'id="chart-practice-pprime"' in section
    assert "Associated with the rollout: no comparison group" in _text(section)


# -- the brief -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def brief_markup(practice_wh, tmp_path_factory):
    out = tmp_path_factory.mktemp("brief-practice") / "brief.html"
    result = build_brief(practice_wh, year=YEAR, area_code=AREA, out=out, produced=PRODUCED)
    return result, out.read_text(encoding="utf-8")


def test_the_brief_has_the_working_with_families_block(brief_markup, sentences):
    result, markup = brief_markup
    start = markup.index('<section id="brief-families"')
    block = _text(markup[start : markup.index("</section>", start)])
    assert "3. Working with families" in block
    for sentence in sentences:
        assert sentence in block
    assert result.numbers["working_with_families"] == sentences
    text = _text(markup)
    # the block sits between the three numbers and the charts, renumbered after it
    assert text.index("2. The year") < text.index("3. Working with families")
    assert text.index("3. Working with families") < text.index("4. Two charts")
    assert "5. Against England" in text
