"""One verdict per primary outcome, read the same on the Board summary and in the report."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from apptest_text import page_text
from streamlit.testing.v1 import AppTest

from pipelines import analysis
from pipelines.analysis.plan import load_plan
from pipelines.analysis.verdict import verdicts
from pipelines.present.verdicts import verdict_views
from pipelines.report import build_report
from pipelines.store.warehouse import open_warehouse

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
AREA = "E06999901"
BANNED = re.compile(r"\bcaused?\b|costs? avoided|-0%|−0%|\+0\b|\+0 ", re.IGNORECASE)


def test_the_board_summary_carries_one_verdict_per_primary_outcome(sample_wh):
    summary = analysis.board_summary(sample_wh, AREA)
    assert [v.outcome for v in summary.verdicts] == list(load_plan(AREA).primary)
    assert summary.verdicts == verdicts(sample_wh, AREA)  # the same call, the same numbers
    assert summary.plan_line.startswith("Analysis plan fixed on")


def _verdict_lines(at: AppTest) -> list[str]:
    """The verdict lines a page drew: the boxed sentence and the grade under it."""
    return [str(m.value) for m in at.markdown]


def _choose(at: AppTest, page: str, measure: str) -> str:
    """``page`` with ``measure`` chosen in the sidebar, as its text."""
    at.switch_page(f"views/{page}.py").run()
    next(s for s in at.sidebar.selectbox if s.label == "Measure").set_value(measure).run()
    assert not at.exception, [e.value for e in at.exception]
    return page_text(at)


@pytest.fixture
def app(read_only_sample, monkeypatch):
    """The dashboard on the sample, on its first page (the Board), and the verdicts as the
    stats layer gives them."""
    with open_warehouse(read_only_sample, read_only=True) as wh:
        views = verdict_views(verdicts(wh, AREA))
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(read_only_sample))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    return at, views


def test_board_trends_cohorts_and_report_say_the_same_sentence(app, read_only_sample, tmp_path):
    at, views = app
    board = page_text(at)
    board_lines = _verdict_lines(at)
    result = build_report(read_only_sample, year=2026, area_code=AREA, out=tmp_path / "r.html")
    report = html.unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert [v.key for v in views] == list(load_plan(AREA).primary)
    for view in views:
        assert view.sentence in board, view.key
        assert view.sentence in report, view.key
        assert view.grade_label in board and view.grade_label in report
        numbers = result.numbers["verdicts"][view.key]
        assert numbers["sentence"] == view.sentence and numbers["grade"] == view.grade
        # Trends and Cohorts, with this primary outcome chosen, draw the Board's own lines:
        # the same sentence and grade, and no other outcome's verdict.
        boxed = (
            f"**{view.title}.** {view.sentence}",
            f"*{view.grade_line}*",
        )
        assert set(boxed) <= set(board_lines), view.key
        for page in ("trends", "cohorts"):
            text = _choose(at, page, view.key)
            assert set(boxed) <= set(_verdict_lines(at)), (page, view.key)
            assert (
                "The verdict for this outcome" in text and "plan, so it has no verdict" not in text
            )
            others = [o.sentence for o in views if o.key != view.key]
            assert not any(sentence in text for sentence in others), (page, view.key)


def test_a_secondary_measure_shows_the_plan_line_not_a_verdict(app):
    at, views = app
    assert load_plan(AREA).role("cla_at_period_end") == "secondary"
    for page in ("trends", "cohorts"):
        text = _choose(at, page, "cla_at_period_end")
        line = next(i.value for i in at.info if "analysis plan" in i.value)
        assert line.startswith("**Children looked after (at period end)** is a secondary outcome")
        assert "children starting to be looked after; child protection plans started" in line
        assert "The verdict for this outcome" not in text
        for view in views:
            assert view.sentence not in text and view.grade_meaning not in text, (page, view.key)
        # The page's own estimates are labelled for what they are: beside a verdict, not one.
        assert "are supporting views" in text
        assert ("SPC is process monitoring, not a verdict" in text) == (page == "trends")


def test_verdict_words_never_overclaim(sample_wh):
    for view in verdict_views(verdicts(sample_wh, AREA)):
        for text in (view.sentence, *view.details, *view.caveats):
            assert not BANNED.search(text), text


#: Each line of the Trends page's "In brief, from the supporting views" opens with its label.
IN_BRIEF_LINE = re.compile(
    r"^- \*\*(Supporting view, graded low|Process monitoring, not a verdict)\.\*\* "
)
#: The measured coverage beside a supporting figure (pipelines.analysis.calibrated).
COVERAGE = re.compile(
    r"intervals like this one contained the truth \d+% of the time|"
    r"intervals like this one contain the truth has not been measured"
)


@pytest.fixture
def trend_texts(read_only_sample):
    """Each measure's Trends findings as the page's default options give them (set up before
    the app opens the warehouse)."""
    measures = (*load_plan(AREA).primary, "cla_at_period_end")
    with open_warehouse(read_only_sample, read_only=True) as wh:
        return {
            m: [f.text for f in analysis.trend_analysis(wh, AREA, m).findings] for m in measures
        }


def test_the_trends_in_brief_never_shows_a_supporting_number_without_its_label(trend_texts, app):
    """The verdict leads; every figure under it is labelled supporting, graded low, with its
    measured coverage beside it (the whole-area ITS's "22% lower" beside the verdict's 16%)."""
    at, views = app
    for measure, texts in trend_texts.items():
        _choose(at, "trends", measure)
        lines = [str(m.value) for m in at.markdown]
        assert texts, measure
        shown = []
        for text in texts:
            where = [i for i, line in enumerate(lines) if text in line]
            assert len(where) == 1, (measure, text)
            line = lines[where[0]]
            label = IN_BRIEF_LINE.match(line)
            assert label, (measure, line)
            if label.group(1).startswith("Supporting"):
                assert COVERAGE.search(line), (measure, line)
            shown.append(where[0])
        view = next((v for v in views if v.key == measure), None)
        if view is not None:
            verdict_at = lines.index(f"**{view.title}.** {view.sentence}")
            assert verdict_at < min(shown), measure
