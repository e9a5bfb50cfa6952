"""AppTest: the router, the global filters in the URL and the empty states."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from apptest_text import page_text as _text
from streamlit.testing.v1 import AppTest

from dashboard import state
from pipelines.store.warehouse import open_warehouse

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
TIMEOUT = 120


def _param(at: AppTest, key: str) -> str | None:
    """A query parameter's value (AppTest keeps a list or a string, depending on who set it)."""
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


def _app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


@pytest.fixture
def sample_app(read_only_sample, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(read_only_sample))
    return read_only_sample


# -- pure filter resolution --------------------------------------------------------------------

PERIODS = [dt.date(2025, 3, 31), dt.date(2025, 6, 30), dt.date(2025, 9, 30)]


def _resolve(params):
    return state.resolve_filters(
        params,
        areas=["E06999901", "E06999902"],
        units=lambda area: ["All", "Ashby"],
        periods=lambda area, measure, unit, grain: PERIODS,
    )


def test_resolve_filters_reads_a_valid_link():
    filters, notices = _resolve(
        {
            "area": "E06999902",
            "unit": "Ashby",
            "measure": "cpp_starts",
            "grain": "month",
            "from": "2025-06-30",
            "to": "2025-09-30",
        }
    )
    assert notices == []
    assert filters == state.Filters(
        "E06999902", "Ashby", "cpp_starts", "month", PERIODS[1], PERIODS[2]
    )
    assert filters.to_params()["unit"] == "Ashby"


def test_resolve_filters_falls_back_with_a_notice_for_each_bad_value():
    filters, notices = _resolve(
        {
            "area": "E0000",
            "unit": "Atlantis",
            "measure": "DROP TABLE",
            "grain": "week",
            "from": "yesterday",
        }
    )
    assert filters == state.Filters(
        "E06999901", "All", "cla_at_period_end", "quarter", PERIODS[0], PERIODS[-1]
    )
    assert len(notices) == 5
    assert any("Atlantis" in n for n in notices)


def test_resolve_filters_snaps_a_range_onto_available_periods():
    filters, notices = _resolve({"from": "2025-05-01", "to": "2030-01-01"})
    assert (filters.start, filters.end) == (PERIODS[1], PERIODS[2])
    filters, notices = _resolve({"from": "2025-09-30", "to": "2025-03-31"})
    assert notices and (filters.start, filters.end) == (PERIODS[0], PERIODS[2])


def test_period_labels():
    assert state.period_label(dt.date(2026, 6, 30), "quarter") == "Apr–Jun 2026"
    assert state.period_label(dt.date(2026, 3, 31), "financial_year") == "2025-26"
    assert state.period_label(dt.date(2026, 5, 31), "month") == "May 2026"


# -- the running app ---------------------------------------------------------------------------


def test_no_warehouse_shows_how_to_build_one(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(missing))
    at = _app()
    assert not at.exception
    text = _text(at)
    assert "make run" in text and "rp-impact build" in text
    assert not missing.exists(), "looking must not create a warehouse"


def test_without_a_warehouse_a_viewer_asking_for_upload_is_told(tmp_path, monkeypatch):
    from streamlit.util import calc_hash

    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(tmp_path / "nowhere" / "warehouse.duckdb"))
    monkeypatch.setenv("RP_IMPACT_DEMO_ROLE", "viewer")
    at = _app()
    at._page_hash = calc_hash("upload")  # the address /upload, as a browser requests it
    at.run()
    assert not at.exception and not at.file_uploader
    assert [e.value for e in at.error] == [
        "You do not have access to the Upload page; ask an analyst or administrator."
    ]


def test_empty_warehouse_shows_no_data_state_on_every_analysis_page(tmp_path, monkeypatch):
    path = tmp_path / "empty.duckdb"
    open_warehouse(path).close()
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    at = _app()
    for page in ("board", "trends", "cohorts", "training"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, page
        assert "No data yet" in _text(at), page
    at.switch_page("views/quality.py").run()
    assert not at.exception
    assert "No outcome data yet" in _text(at)


def test_filters_are_written_to_the_url(sample_app):
    at = _app()
    assert not at.exception
    assert _param(at, "area") == "E06999901"
    assert _param(at, "measure") == "cla_at_period_end"
    measure_box = next(s for s in at.sidebar.selectbox if s.label == "Measure")
    measure_box.set_value("cpp_starts").run()
    assert not at.exception
    assert _param(at, "measure") == "cpp_starts"


def test_a_shared_link_opens_that_view(sample_app):
    at = _app({"unit": "Castleton", "measure": "cpp_starts", "grain": "month"})
    assert not at.exception
    boxes = {s.label: s.value for s in at.sidebar.selectbox}
    assert boxes["Unit or locality"] == "Castleton"
    assert boxes["Measure"] == "cpp_starts"
    assert at.sidebar.radio[0].value == "month"


def test_a_bad_link_falls_back_with_a_notice_not_an_exception(sample_app):
    at = _app({"area": "nowhere", "measure": "bogus", "grain": "fortnight", "from": "x"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "nowhere" in warnings and "bogus" in warnings and "fortnight" in warnings
    assert _param(at, "measure") == "cla_at_period_end"


def test_each_role_sees_its_pages_in_menu_order():
    from dashboard.auth import Identity, can_open

    def keys(role):
        return [p.key for p in state.PAGES if can_open(Identity("x", role, "local"), p.key)]

    assert keys("admin") == [p.key for p in state.PAGES]
    assert "upload" in keys("analyst") and "quality" in keys("analyst")
    assert "upload" not in keys("viewer") and "quality" not in keys("viewer")
    assert keys("viewer")[:2] == ["board", "report"]
