"""End to end in a real browser: a `streamlit run` server driven by Debian's Chromium.

The session's one walk (tests/browser_support.py, fixtures in tests/conftest.py) visits every
page at 1366x900 and 390x844, checks that none shows an exception and saves screenshots to
test-artifacts/screenshots/; first it measures the first Board view after the server started
(test-artifacts/first_view.json). Then, on the same server and browser, the annual report is
made and downloaded, the held-back quarter is uploaded through the real file input and
committed, and the Board summary moves on to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import config
from pipelines.present import decision_store
from pipelines.sample import params
from tests.browser_support import (
    ARTIFACTS,
    NARROW,
    PAGES,
    SHOTS,
    SIGN_IN,
    WIDE,
    idle,
    new_page,
    no_exception,
    shot,
    visit,
)
from tests.conftest import VERA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

UNLOADED = config.SAMPLE_DIR / "unloaded" / "outcomes_2026-09.csv"
SAMPLE_AREA = params.AREA_CODE  # the sample council, the area the Board opens on


def test_every_page_renders_at_both_widths_with_screenshots(page_walk):
    expected = [f"{name}-{w}" for w in (1366, 390) for name in [p[0] for p in PAGES] + ["sign-in"]]
    assert sorted(page_walk.pages) == sorted(expected)
    for key in expected:
        for suffix in ("", "-full"):
            png = SHOTS / f"{key}{suffix}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    first = json.loads((ARTIFACTS / "first_view.json").read_text())
    assert set(page_walk.first_view) <= set(first)  # another browser test may rewrite it
    assert 0 < first["h1_seconds"] <= first["first_board_view_seconds"]


def test_an_upload_through_the_browser_moves_the_board_on(page_walk, demo_server, browser):
    server = demo_server.url
    # Before the upload the Board shows June 2026 as the latest quarter: as the session's walk
    # saw it on this server (which only this test writes to), so it is not drawn again here.
    before = page_walk.texts["board-1366"]
    assert "Apr–Jun 2026" in before
    assert "Jul–Sep 2026" not in before
    wide = new_page(browser, WIDE)

    # The annual report downloads through the real button. It is made before the upload: its
    # flows' disclosure decisions on the sample are kept by then (the server's `rp-impact
    # decide`, the other tests on the sample), while on the uploaded quarter every flow would
    # be decided again, a minute or more of the test's time spent on no check of its own.
    visit(wide, server, "report", "Annual effectiveness report")
    pdf_toggle = wide.get_by_label("Also make a PDF", exact=False).first
    if pdf_toggle.is_checked():  # the PDF has its own tests; keep this run to the HTML
        wide.get_by_text("Also make a PDF (takes a minute or two)").click()
        idle(wide)
    wide.get_by_role("button", name="Generate report").click()
    download_button = wide.get_by_role("button", name="Download HTML")
    download_button.wait_for(timeout=180_000)
    with wide.expect_download(timeout=60_000) as download:
        download_button.click()
    report_path = download.value.path()
    text = Path(report_path).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Summary for the board" in text
    assert download.value.suggested_filename.endswith(".html")

    # Upload the held-back quarter through the real file input, check it, commit it.
    visit(wide, server, "upload", "Upload extracts")
    wide.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(UNLOADED))
    wide.get_by_text("Ready to load").first.wait_for(timeout=90_000)
    idle(wide)
    shot(wide, "upload-checked-1366")
    wide.get_by_role("button", name="Commit 1 file(s) to the warehouse").click()
    wide.get_by_text("Committed.").first.wait_for(timeout=120_000)
    idle(wide)
    history = wide.locator('[data-testid="stDataFrame"]').last
    history.wait_for()
    shot(wide, "upload-committed-1366")
    no_exception(wide, "upload committed")
    # The new quarter's flow decisions are being made behind the pages for the area in view
    # (`dashboard.background`; only a commit or import names the area, a server start does not).
    decide_log = (
        decision_store.folder_for(demo_server.log.with_name("warehouse.duckdb")) / "decide.log"
    )
    assert f"decide --area {SAMPLE_AREA}" in decide_log.read_text()

    # The board now reaches September 2026.
    visit(wide, server, "", "Board summary")
    wide.get_by_text("Jul–Sep 2026").first.wait_for(timeout=90_000)
    shot(wide, "board-after-upload-1366")
    wide.context.close()


def test_the_demo_banner_is_one_short_line_on_a_phone(demo_server, browser):
    narrow = new_page(browser, NARROW)
    visit(narrow, demo_server.url, "", "Board summary")
    banner = narrow.locator('[data-testid="stAlert"]').filter(has_text="Demo mode").first
    box = banner.bounding_box()
    assert box["height"] < 844 / 8, box  # far below a quarter of the screen
    text = banner.locator('[data-testid="stMarkdownContainer"] p').first
    line = float(text.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert text.bounding_box()["height"] < 1.5 * line, "the demo banner wraps at 390 px"
    assert "synthetic data, not real" in banner.inner_text()
    narrow.context.close()


def _sign_in_form(page, name: str, password: str) -> None:
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_deep_link_survives_sign_in_and_a_refresh_keeps_the_session(accounts_server, browser):
    from urllib.parse import parse_qs, urlparse

    accounts_server = accounts_server.url
    page = new_page(browser, WIDE)
    page.goto(f"{accounts_server}/trends?area=E06999901&unit=Ashby&measure=cpp_starts")
    page.get_by_role("heading", name=SIGN_IN).wait_for(timeout=90_000)
    idle(page)
    _sign_in_form(page, "vera", VERA_PASSWORD)
    page.get_by_role("heading", name="Trends").first.wait_for(timeout=90_000)
    idle(page)
    link = urlparse(page.url)
    assert link.path == "/trends"
    assert parse_qs(link.query)["unit"] == ["Ashby"]
    assert parse_qs(link.query)["measure"] == ["cpp_starts"]
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["rp_impact_session"]["sameSite"] == "Strict"

    # a refresh opens a new Streamlit session: the signed cookie keeps the user signed in
    page.reload()
    page.get_by_role("heading", name="Trends").first.wait_for(timeout=90_000)
    idle(page)
    assert page.get_by_role("heading", name=SIGN_IN).count() == 0
    assert "Signed in as vera" in page.locator('[data-testid="stSidebar"]').inner_text()

    # an analyst page by address says so, and is not in the viewer's menu
    page.goto(f"{accounts_server}/upload")
    page.get_by_text(
        "You do not have access to the Upload page; ask an analyst or administrator."
    ).wait_for(timeout=90_000)
    idle(page)
    menu = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Trends" in menu and "Upload" not in menu

    # signing out ends the session: a refresh shows the sign-in form again
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name=SIGN_IN).wait_for(timeout=90_000)
    idle(page)
    page.reload()
    page.get_by_role("heading", name=SIGN_IN).wait_for(timeout=90_000)
    assert "rp_impact_session" not in {c["name"] for c in page.context.cookies()}
    page.context.close()
