"""One verdict per primary outcome, read the same on the Board summary and in the report."""

from __future__ import annotations

import html
import re
from pathlib import Path

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


def test_board_page_and_report_say_the_same_sentence(sample_copy, monkeypatch, tmp_path):
    with open_warehouse(sample_copy) as wh:
        views = verdict_views(verdicts(wh, AREA))
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    board = page_text(at)
    result = build_report(sample_copy, year=2026, area_code=AREA, out=tmp_path / "r.html")
    report = html.unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert views
    for view in views:
        assert view.sentence in board, view.key
        assert view.sentence in report, view.key
        assert view.grade_label in board and view.grade_label in report
        numbers = result.numbers["verdicts"][view.key]
        assert numbers["sentence"] == view.sentence and numbers["grade"] == view.grade


def test_verdict_words_never_overclaim(sample_wh):
    for view in verdict_views(verdicts(sample_wh, AREA)):
        for text in (view.sentence, *view.details, *view.caveats):
            assert not BANNED.search(text), text
