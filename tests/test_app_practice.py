"""AppTest: the Practice page on the sample warehouse (its headline is the present layer's),
switching measure and respondent, and the empty state for an area with no practice data."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from apptest_text import chart_titles, page_text
from streamlit.testing.v1 import AppTest

from pipelines.present import practice as present
from pipelines.store.warehouse import Warehouse

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGE = "views/practice.py"
AREA = "E06999901"
INVOLVED = "statement:I was involved in decisions about my family"


@pytest.fixture(scope="module")
def sample_file(sample_warehouse_path, tmp_path_factory) -> Path:
    """A private copy of the shared sample warehouse, read only by these tests."""
    target = tmp_path_factory.mktemp("app-practice") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    return target


def _open(path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _view(path: Path, measure: str, respondent: str = "All") -> present.PracticeView:
    wh = Warehouse(path)
    try:
        return present.practice_view(wh, AREA, measure, "All", respondent)
    finally:
        wh.close()


# --- the default view -------------------------------------------------------------------------


def test_the_page_opens_on_audits_graded_good_or_better_with_its_headline(sample_file, monkeypatch):
    at = _open(sample_file, monkeypatch)
    assert at.title[0].value == "Practice"
    assert [h.value for h in at.main.header] == [
        "The latest figure",
        "Read these figures with care",
        "Quarter by quarter",
        "Change since rollout, by locality and wave",
        present.CHAIN_QUESTION,
    ]
    assert not at.subheader
    view = _view(sample_file, "good_or_better")
    text = page_text(at)
    assert view.headline in text
    assert (
        "points higher than before" in view.headline
        and "associated with the rollout" in view.headline
    )
    # on the page, not inside an expander; an audit measure's, not the family survey's
    assert view.caveats == (present.analysis.CAVEAT_AUDIT, present.analysis.CAVEAT_NO_COMPARISON)
    for caveat in view.caveats:
        assert caveat in text
    assert present.analysis.CAVEAT_SURVEY not in text
    titles = chart_titles(at)
    assert titles[:2] == [view.chart_title, view.change_title]
    # the dose → practice → outcome section's two charts, each with its ρ
    assert len(titles) == 4 and all("Spearman's ρ" in t for t in titles[2:])
    assert not [s for s in at.selectbox if s.label == "Who answered"]
    assert at.expander[-1].label == "What these terms mean"
    glossary = at.expander[-1].markdown[0].value
    assert "p′ chart" in glossary and "Wilson interval" in glossary
    assert "Percentage points" in glossary


# --- switching measure ------------------------------------------------------------------------


def test_switching_to_an_fgc_measure_redraws_the_headline(sample_file, monkeypatch):
    at = _open(sample_file, monkeypatch)
    at.radio(key="practice-source").set_value("Family group conferences").run()
    measure = at.selectbox(key="practice-measure-Family group conferences")
    assert measure.value.key == "fgc_held"
    view = _view(sample_file, "fgc_held")
    assert view.headline in page_text(at)
    assert "FGCs offered were held" in view.headline
    assert chart_titles(at)[0] == view.chart_title


def test_a_feedback_measure_offers_who_answered_and_follows_it(sample_file, monkeypatch):
    at = _open(sample_file, monkeypatch)
    at.radio(key="practice-source").set_value("Family feedback").run()
    measures = at.selectbox(key="practice-measure-Family feedback")
    assert "Agreed: “I was involved in decisions about my family”" in measures.options
    measures.set_value(next(m for m in _feedback(sample_file) if m.key == INVOLVED)).run()
    who = at.selectbox(key="practice-respondent")
    assert who.options == list(present.RESPONDENTS)
    who.set_value("Children or young people").run()
    assert not at.exception
    view = _view(sample_file, INVOLVED, "Child or young person")
    assert view.headline in page_text(at)
    assert "children and young people who answered the family survey agreed" in view.headline
    assert "(children or young people)" in chart_titles(at)[0]


def _feedback(path: Path):
    from pipelines.analysis import practice as analysis

    wh = Warehouse(path)
    try:
        return [m for m in analysis.practice_measures(wh, AREA) if m.source == "feedback"]
    finally:
        wh.close()


# --- the sidebar's unit ------------------------------------------------------------------------


def test_the_sidebar_unit_picks_the_locality_and_its_hidden_share_says_so(sample_file, monkeypatch):
    at = _open(sample_file, monkeypatch)
    unit = next(s for s in at.sidebar.selectbox if s.label == "Unit or locality")
    unit.set_value("Ashby").run()
    assert not at.exception
    wh = Warehouse(sample_file)
    try:
        view = present.practice_view(wh, AREA, "good_or_better", "Ashby")
    finally:
        wh.close()
    text = page_text(at)
    assert view.headline in text and view.headline.startswith("In Ashby, the share")
    assert "is hidden to protect privacy" in view.headline
    assert chart_titles(at)[0].endswith("Ashby: each quarter with its p′ limits")


# --- the empty state --------------------------------------------------------------------------


def test_an_area_with_no_practice_data_shows_the_empty_state(sample_file, tmp_path, monkeypatch):
    bare = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_file, bare)
    with duckdb.connect(str(bare)) as con:
        for table in ("fct_practice_audit", "fct_family_feedback", "fct_fgc_outcomes"):
            con.execute(f"DELETE FROM {table}")
    at = _open(bare, monkeypatch)
    assert at.title[0].value == "Practice"
    assert "No practice data yet" in at.info[0].value
    assert "Upload" in at.info[0].value
    assert not at.get("plotly_chart")
