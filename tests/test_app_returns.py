"""AppTest: the Upload page's statutory returns tab (dashboard/views/upload_returns.py)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import returns_door
from dashboard.auth import SESSION_KEY, Identity
from pipelines.store.warehouse import open_warehouse

DATA = Path(__file__).parent / "data" / "returns"
AREA = "E06999990"


def _tab():
    from dashboard.views.upload_returns import render_returns_tab

    render_returns_tab()


def _app(tmp_path, monkeypatch, sign_in, role="analyst"):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(tmp_path / "w.duckdb"))
    at = sign_in(AppTest.from_function(_tab, default_timeout=120), role)
    at.run()
    assert not at.exception
    return at


def _files(pattern):
    return [(p.name, p.read_bytes(), "text/plain") for p in sorted(DATA.glob(pattern))]


def test_cin_tab_previews_suppressed_aggregates_and_commits(tmp_path, monkeypatch, sign_in):
    at = _app(tmp_path, monkeypatch, sign_in)
    at.radio(key="returns-kind").set_value("cin").run()
    at.text_input(key="returns-area").set_value(AREA).run()
    at.get("file_uploader")[0].set_value(_files("cin_census_*.xml"))
    at.run()
    assert not at.exception
    preview = next(d.value for d in at.dataframe if "age_band" in d.value.columns)
    assert "c" in set(preview["cpp_starts"].astype(str))  # small numbers are suppressed
    assert not at.button(key="returns-commit").disabled
    at.button(key="returns-commit").click().run()
    assert not at.exception
    assert any("Committed" in s.value for s in at.success)
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        value = wh.query(
            "SELECT cpp_at_period_end FROM fct_outcomes WHERE period_end = DATE '2025-03-31' "
            "AND unit = 'All' AND age_band = 'All'"
        )
        assert value.iloc[0, 0] == 2
        assert wh.query("SELECT source FROM raw_uploads")["source"].tolist() == ["returns"]


def test_903_tab_shows_the_validation_report_and_refuses(tmp_path, monkeypatch, sign_in):
    at = _app(tmp_path, monkeypatch, sign_in)
    at.text_input(key="returns-area").set_value(AREA).run()
    bad = b"CHILD,DECOM,RNE,LS,PLACE,DEC,REC\nZ1,10/05/2024,S,ZZ,U6,,\n"
    at.get("file_uploader")[0].set_value([("episodes_2024-25.csv", bad, "text/csv")])
    at.run()
    assert not at.exception
    report = next(d.value for d in at.dataframe if "how to fix" in d.value.columns)
    assert "LS" in set(report["field"])
    assert at.button(key="returns-commit").disabled


def test_the_door_checks_without_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(tmp_path / "w.duckdb"))
    files = [(n, b) for n, b, _ in _files("header_*.csv") + _files("episodes_*.csv")]
    check = returns_door.check_returns(
        "ssda903",
        files,
        area_code=AREA,
        unit_map=("unit_map_sectors.csv", (DATA / "unit_map_sectors.csv").read_bytes()),
    )
    assert check.ok and set(check.preview.outcomes["unit"]) == {"All", "North", "South"}
    assert not (tmp_path / "w.duckdb").exists()


def test_demo_mode_switches_returns_off(tmp_path, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(tmp_path / "w.duckdb"))
    at = AppTest.from_function(_tab, default_timeout=120)
    at.session_state[SESSION_KEY] = Identity("demo", "analyst", "demo")  # as the router sets it
    at.run()
    assert not at.exception
    assert any("importing statutory returns is switched off" in i.value for i in at.info)
    assert all(u.proto.disabled for u in at.get("file_uploader"))
