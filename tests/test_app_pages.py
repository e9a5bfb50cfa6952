"""AppTest: every page on the sample warehouse, numbers against the stats layer, filters,
empty states and the Upload page end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_text import chart_titles as _titles
from apptest_text import page_text as _text
from streamlit.testing.v1 import AppTest

from dashboard import data
from pipelines import analysis, config
from pipelines.present import charts
from pipelines.present.wording import grade_words
from pipelines.store.warehouse import open_warehouse, shared_warehouse

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
AREA = "E06999901"
PAGES = ["board", "trends", "cohorts", "training", "upload", "quality"]
UNLOADED = config.SAMPLE_DIR / "unloaded" / "outcomes_2026-09.csv"


def _param(at: AppTest, key: str) -> str | None:
    """A query parameter's value (AppTest keeps a list or a string, depending on who set it)."""
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


def _started(path, monkeypatch) -> AppTest:
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def app(read_only_sample, monkeypatch):
    """The app on the sample, for tests that only read it."""
    return _started(read_only_sample, monkeypatch)


@pytest.fixture
def writable_app(sample_copy, monkeypatch):
    """The app on a private copy, for tests that upload or commit."""
    return _started(sample_copy, monkeypatch)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_exceptions(app, page):
    app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    if page in ("board", "trends", "cohorts", "training"):
        assert app.get("plotly_chart"), f"{page} shows charts"


def test_board_tiles_match_the_stats_layer(app, read_only_sample):
    expected = analysis.headlines(shared_warehouse(read_only_sample), AREA)
    tiles = app.metric[: len(expected)]  # the three numbers; "Working with families" follows
    assert [t.label for t in tiles] == [h.label for h in expected]
    for tile, headline in zip(tiles, expected, strict=True):
        assert tile.value == charts.headline_value(headline.latest_rate, headline.unit_label)
    assert tiles[0].value == f"{expected[0].latest_rate:,.1f}"
    text = _text(app)
    assert "Common cause variation" in text or "Special cause variation" in text
    for finding in analysis.board_findings(shared_warehouse(read_only_sample), AREA)[:3]:
        assert finding.text in text


def test_board_findings_graded_down_show_their_measured_coverage(app, read_only_sample):
    text = _text(app)
    graded_down = [
        f
        for f in analysis.board_findings(shared_warehouse(read_only_sample), AREA)
        if "in simulation" in (f.confidence_reason or "")
    ]
    assert graded_down, "the sample has findings graded low for their measured coverage"
    for finding in graded_down:
        label, reason = grade_words(finding.confidence, finding.confidence_reason)
        assert label == "Low confidence" and "of the time" in reason
        assert f"{finding.text} *{label}: {reason}*" in text


def test_changing_the_measure_changes_the_trends_page(app):
    app.switch_page("views/trends.py").run()
    before = _titles(app)
    assert any("children looked after" in t.lower() for t in before)
    next(s for s in app.sidebar.selectbox if s.label == "Measure").set_value("cpp_starts").run()
    assert not app.exception
    after = _titles(app)
    assert after != before
    assert any("child protection plans started" in t.lower() for t in after)


def test_changing_the_unit_changes_the_trends_caption(app):
    app.switch_page("views/trends.py").run()
    next(s for s in app.sidebar.selectbox if s.label == "Unit or locality").set_value("Ashby").run()
    assert not app.exception
    assert any("Ashby" in c.value for c in app.caption)
    assert _param(app, "unit") == "Ashby"


def test_a_method_that_cannot_run_says_why(app):
    app.switch_page("views/trends.py").run()
    app.sidebar.radio[0].set_value("financial_year").run()
    assert not app.exception
    # Financial years give too few periods for some methods: each says why, none crashes.
    text = _text(app)
    assert "could not run" in text or app.get("plotly_chart")


def test_a_filter_matching_nothing_shows_an_empty_state(tmp_path, monkeypatch, write_file, sign_in):
    from pipelines.load.ingest import ingest_file

    path = tmp_path / "partial.duckdb"
    with open_warehouse(path) as wh:
        for name in ("areas.csv", "population.csv", "rollout.csv"):
            assert ingest_file(wh, config.SAMPLE_DIR / name).outcome == "loaded"
        only_cla = write_file(
            "outcomes_cla_only.csv",
            "period_end,area_code,unit,age_band,cla_at_period_end\n"
            + "".join(
                f"{d},{AREA},All,All,{800 + i}\n"
                for i, d in enumerate(
                    ["2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31", "2020-03-31"]
                )
            ),
        )
        assert ingest_file(wh, only_cla).outcome == "loaded"
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    at = sign_in(AppTest.from_file(APP, default_timeout=180), "analyst")
    at.query_params["measure"] = "cpp_starts"
    at.run()
    at.switch_page("views/trends.py").run()
    assert not at.exception
    assert "No figures match these filters" in _text(at)
    at.switch_page("views/training.py").run()
    assert not at.exception
    assert "No training data yet" in _text(at)


# -- upload ------------------------------------------------------------------------------------


def _uploader(at: AppTest):
    return at.get("file_uploader")[0]


def test_upload_a_bad_file_shows_the_validation_report(writable_app):
    app = writable_app
    app.switch_page("views/upload.py").run()
    bad = (
        b"period_end,area_code,unit,age_band,cla_at_period_end\n"
        b"2026-09-31,E06999901,All,All,12\n"
        b"2026-06-30,E06999901,All,All,-3\n"
    )
    _uploader(app).set_value(("bad.csv", bad, "text/csv"))
    app.run()
    assert not app.exception
    assert "Refused" in _text(app)
    tables = [d.value for d in app.dataframe]
    report = next(t for t in tables if "how to fix" in t.columns)
    # The place each problem names (unit, age band, period) comes before the problem, so a
    # narrow column never hides it (issue 17).
    assert list(report.columns) == [
        "severity",
        "row",
        "column",
        "value",
        "unit",
        "age_band",
        "period",
        "problem",
        "how to fix",
    ]
    assert set(report["row"].dropna().astype(int)) >= {2, 3}
    assert app.button(key="commit").disabled


def test_upload_check_and_commit_functions(sample_copy, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    wh = shared_warehouse(sample_copy)
    content = UNLOADED.read_bytes()
    check = data.check_upload(wh, UNLOADED.name, content)
    assert check.ok and check.result.outcome == "valid"
    assert check.result.n_added == 126 and check.preview is not None
    assert set(check.preview["change"]) == {"add"}
    result = data.commit_upload(wh, UNLOADED.name, content)
    assert result.outcome == "loaded"
    again = data.check_upload(wh, UNLOADED.name, content)
    assert again.result.outcome == "no-op"


def test_upload_commit_appears_in_history_and_moves_the_board_on(writable_app):
    app = writable_app
    app.switch_page("views/upload.py").run()
    _uploader(app).set_value((UNLOADED.name, UNLOADED.read_bytes(), "text/csv"))
    app.run()
    assert not app.exception
    assert "Ready to load" in _text(app)
    assert [m.value for m in app.metric][:1] == ["126"]
    app.button(key="commit").click().run()
    assert not app.exception
    assert "Committed." in _text(app)
    history = app.dataframe[-1].value
    assert history.iloc[0]["file_name"] == UNLOADED.name
    assert history.iloc[0]["outcome"] == "Loaded"  # in words (issue 17)
    app.switch_page("views/board.py").run()
    assert not app.exception
    assert "Latest: Jul–Sep 2026" in _text(app)


# -- cohorts -----------------------------------------------------------------------------------


def test_cohorts_runs_with_a_locality_that_has_no_rollout_row(sample_copy, monkeypatch):
    """A locality without a rollout row has no wave (pandas' NA): the page orders the
    localities without it, rather than failing on "boolean value of NA is ambiguous"."""
    with open_warehouse(sample_copy) as wh:
        with wh.transaction() as cursor:
            cursor.execute("DELETE FROM fct_rollout WHERE unit = 'Fairhaven'")
        frame = analysis.unit_comparison(wh, AREA, "cla_starts").frame
    assert frame.loc[frame["series"] == "Fairhaven", "wave"].isna().all()
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("views/cohorts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    localities = next(t.value for t in at.dataframe if "wave" in t.value)
    assert "Fairhaven" in set(localities["series"])


def test_spread_takes_a_locality_without_a_wave_as_its_own_group():
    import pandas as pd

    from dashboard.views.common import spread

    waves = {"Ashby": 1, "Brookfield": 1, "Castleton": 2, "Fairhaven": pd.NA, "Elmwood": None}
    names = ["Ashby", "Brookfield", "Castleton", "Fairhaven", "Elmwood"]
    assert spread(names, waves) == ["Ashby", "Castleton", "Fairhaven", "Brookfield", "Elmwood"]


def test_the_training_page_caption_describes_training(app):
    app.switch_page("views/training.py").run()
    assert not app.exception
    captions = [c.value for c in app.caption]
    view = next(c for c in captions if c.startswith("Northmoor · "))
    assert "staff trained in Restorative Practice" in view
    # The sidebar's measure is named only as the dose-response outcome, not as the page's.
    assert "· Children looked after (at period end) ·" not in view
    assert view.endswith("dose-response outcome: children looked after (at period end)")


def test_the_quality_page_names_areas_and_words_its_rules(app):
    app.switch_page("views/quality.py").run()
    assert not app.exception
    tables = [d.value for d in app.dataframe]
    coverage = next(t for t in tables if "values_present" in t.columns)
    assert set(coverage["area_name"]) == {"Northmoor"}
    issues = next(t for t in tables if "hint" in t.columns)
    assert "jump_over_50pct" not in set(issues["rule"])
    assert {"unit", "age_band", "period"} <= set(issues.columns)
    assert issues["period"].str.contains("quarter ending").any()
    assert not issues["message"].str.contains(r"\d{4}-\d{2}-\d{2}").any()


def test_the_trends_age_band_choice_follows_the_contract(app):
    app.switch_page("views/trends.py").run()
    box = next(s for s in app.selectbox if s.label == "Age band")
    assert list(box.options) == ["All", "Under 1", "1-4", "5-9", "10-15", "16-17"]
