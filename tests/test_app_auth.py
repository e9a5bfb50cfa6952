"""AppTest: sign-in and roles are enforced by the router, not just by hiding links."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_text import page_text as _text
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def _app(sample_copy, monkeypatch) -> AppTest:
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    return AppTest.from_file(APP, default_timeout=180)


def test_without_sign_in_or_demo_mode_nothing_is_served(sample_copy, monkeypatch):
    monkeypatch.delenv("RP_IMPACT_DEMO")
    at = _app(sample_copy, monkeypatch).run()
    assert not at.exception
    assert "Sign-in is not configured" in _text(at)
    assert not at.metric, "no figures may be shown before sign-in"


def test_demo_mode_shows_a_one_line_banner(sample_copy, monkeypatch):
    at = _app(sample_copy, monkeypatch).run()
    assert not at.exception
    assert [w.value for w in at.warning][:1] == ["**Demo mode:** synthetic data, not real."]
    assert not any("Public data only" in str(i.value) for i in at.info)


def _open_by_address(at: AppTest, url_path: str) -> AppTest:
    """Request a page by its address, as a browser does (Streamlit hashes the URL path)."""
    from streamlit.util import calc_hash

    at._page_hash = calc_hash(url_path)
    return at.run()


@pytest.mark.parametrize(
    ("url_path", "title"), [("upload", "Upload"), ("quality", "Data quality & methods")]
)
def test_a_viewer_who_opens_an_analyst_page_by_address_is_told(
    url_path, title, sample_copy, monkeypatch, sign_in
):
    at = sign_in(_app(sample_copy, monkeypatch), "viewer")
    at.run()
    _open_by_address(at, url_path)
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"You do not have access to the {title} page; ask an analyst or administrator."
    ]
    assert not at.file_uploader and not at.metric  # neither the page nor the Board ran


def test_a_viewer_cannot_reach_upload_even_by_url(sample_copy, monkeypatch, sign_in):
    """The router registers only the viewer's pages, so no URL or switch can open Upload."""
    import pytest

    at = sign_in(_app(sample_copy, monkeypatch), "viewer")
    at.run()
    assert not at.exception
    for page in ("views/upload.py", "views/quality.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    at.switch_page("views/trends.py").run()
    assert not at.exception and not at.file_uploader


def test_an_analyst_can_upload(sample_copy, monkeypatch, sign_in):
    at = sign_in(_app(sample_copy, monkeypatch), "analyst")
    at.run()
    at.switch_page("views/upload.py").run()
    assert not at.exception
    assert at.file_uploader


def test_a_viewer_is_refused_by_the_pipeline_too(sample_copy):
    import pytest

    from pipelines.load.ingest import ingest_file
    from pipelines.store.warehouse import open_warehouse

    with open_warehouse(sample_copy) as wh, pytest.raises(PermissionError):
        ingest_file(wh, "data/sample/unloaded/outcomes_2026-09.csv", role="viewer")
