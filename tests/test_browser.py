"""End to end in a real browser: a `streamlit run` server driven by Debian's Chromium.

Visits every page, checks that none shows an exception, uploads the held-back quarter through
the real file input, commits it, and sees the Board summary move on to that quarter.
Screenshots of every page at 1366x768 and 390 px wide go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import config

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "screenshots"
UNLOADED = config.SAMPLE_DIR / "unloaded" / "outcomes_2026-09.csv"
VERA_PASSWORD = "a long password for vera"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PAGES = [
    ("", "Board summary"),  # the default page lives at the root URL
    ("report", "Annual effectiveness report"),
    ("trends", "Trends"),
    ("cohorts", "Cohorts"),
    ("training", "Training"),
    ("benchmarks", "Benchmarks"),
    ("upload", "Upload extracts"),
    ("quality", "Data quality & methods"),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_health(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)  # polling a socket, not waiting for the page
    raise TimeoutError(f"streamlit did not become healthy at {url}")


@contextlib.contextmanager
def _serve(warehouse: Path, log_path: Path, **env_extra: str):
    """A `streamlit run` of the dashboard on a free port; yields (url, start time)."""
    port = _free_port()
    env = {
        **os.environ,
        "RP_IMPACT_WAREHOUSE": str(warehouse),
        "RP_IMPACT_USER": "browser-test",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **env_extra,
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "dashboard" / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        _wait_for_health(url, process)
        yield url, started
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture
def server(sample_copy, tmp_path):
    _need_chromium()
    with _serve(sample_copy, tmp_path / "streamlit.log") as running:
        yield running


@pytest.fixture
def accounts_server(sample_copy, tmp_path):
    """The sample served with local accounts: a viewer `vera`, signed in through the form."""
    from pipelines import auth

    _need_chromium()
    users = tmp_path / "users.toml"
    auth.add_user("vera", "viewer", VERA_PASSWORD, path=users)
    with _serve(sample_copy, tmp_path / "streamlit.log", RP_IMPACT_USERS=str(users)) as running:
        yield running[0]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _idle(page, timeout: float = 90_000) -> None:
    """Wait until the script has finished its run (no fixed sleeps)."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_load_state("networkidle")
    page.wait_for_selector(IDLE, timeout=timeout)


def _visit(page, url: str, path: str, heading: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=90_000)
    _idle(page)
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{path}: {exceptions.first.inner_text()}"


def _shot(page, name: str) -> None:
    """The viewport as the user first sees it, and the whole page (`-full`) for review.

    Streamlit scrolls inside its main container, so a full-page screenshot needs a viewport
    as tall as that container's content.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 16000)})
    _idle(page)
    page.screenshot(path=str(SHOTS / f"{name}-full.png"))
    page.set_viewport_size(size)


def test_every_page_renders_and_an_upload_moves_the_board_on(server, browser):
    server, started = server
    wide = browser.new_page(viewport={"width": 1366, "height": 768})
    # Cold start: from launching the server (sample already built) to a rendered Board summary.
    _visit(wide, server, "", "Board summary")
    cold_start = time.monotonic() - started
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / "cold_start.json").write_text(
        json.dumps({"seconds": round(cold_start, 2)})
    )
    narrow = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    for path, heading in PAGES:
        for page, width in ((wide, "1366"), (narrow, "390")):
            _visit(page, server, path, heading)
            _shot(page, f"{path or 'board'}-{width}")

    # The board shows June 2026 as the latest quarter before the upload.
    _visit(wide, server, "", "Board summary")
    main = wide.locator('[data-testid="stMain"]')
    assert "Apr–Jun 2026" in main.inner_text()
    assert "Jul–Sep 2026" not in main.inner_text()

    # Upload the held-back quarter through the real file input, check it, commit it.
    _visit(wide, server, "upload", "Upload extracts")
    wide.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(UNLOADED))
    wide.get_by_text("Ready to load").first.wait_for(timeout=90_000)
    _idle(wide)
    _shot(wide, "upload-checked-1366")
    wide.get_by_role("button", name="Commit 1 file(s) to the warehouse").click()
    wide.get_by_text("Committed.").first.wait_for(timeout=120_000)
    _idle(wide)
    history = wide.locator('[data-testid="stDataFrame"]').last
    history.wait_for()
    _shot(wide, "upload-committed-1366")
    assert wide.locator('[data-testid="stException"]').count() == 0

    # The annual report downloads through the real button.
    _visit(wide, server, "report", "Annual effectiveness report")
    pdf_toggle = wide.get_by_label("Also make a PDF", exact=False).first
    if pdf_toggle.is_checked():  # the PDF has its own tests; keep this run to the HTML
        wide.get_by_text("Also make a PDF (takes a minute or two)").click()
        _idle(wide)
    wide.get_by_role("button", name="Generate report").click()
    download_button = wide.get_by_role("button", name="Download HTML")
    download_button.wait_for(timeout=180_000)
    with wide.expect_download(timeout=60_000) as download:
        download_button.click()
    report_path = download.value.path()
    text = Path(report_path).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Summary for the board" in text
    assert download.value.suggested_filename.endswith(".html")

    # The board now reaches September 2026.
    _visit(wide, server, "", "Board summary")
    wide.get_by_text("Jul–Sep 2026").first.wait_for(timeout=90_000)
    _shot(wide, "board-after-upload-1366")


def test_the_demo_banner_is_one_short_line_on_a_phone(server, browser):
    url, _ = server
    narrow = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _visit(narrow, url, "", "Board summary")
    banner = narrow.locator('[data-testid="stAlert"]').filter(has_text="Demo mode").first
    box = banner.bounding_box()
    assert box["height"] < 844 / 8, box  # one line of text, far below a quarter of the screen
    assert "synthetic sample data; nothing here is real" in banner.inner_text()


def _sign_in_form(page, name: str, password: str) -> None:
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_deep_link_survives_sign_in_and_a_refresh_keeps_the_session(accounts_server, browser):
    from urllib.parse import parse_qs, urlparse

    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{accounts_server}/trends?area=E06999901&unit=Ashby&measure=cpp_starts")
    page.get_by_role("heading", name="Sign in to rp-impact").wait_for(timeout=90_000)
    _idle(page)
    _sign_in_form(page, "vera", VERA_PASSWORD)
    page.get_by_role("heading", name="Trends").first.wait_for(timeout=90_000)
    _idle(page)
    link = urlparse(page.url)
    assert link.path == "/trends"
    assert parse_qs(link.query)["unit"] == ["Ashby"]
    assert parse_qs(link.query)["measure"] == ["cpp_starts"]
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["rp_impact_session"]["sameSite"] == "Strict"

    # a refresh opens a new Streamlit session: the signed cookie keeps the user signed in
    page.reload()
    page.get_by_role("heading", name="Trends").first.wait_for(timeout=90_000)
    _idle(page)
    assert page.get_by_role("heading", name="Sign in to rp-impact").count() == 0
    assert "Signed in as vera" in page.locator('[data-testid="stSidebar"]').inner_text()

    # an analyst page by address says so, and is not in the viewer's menu
    page.goto(f"{accounts_server}/upload")
    page.get_by_text(
        "You do not have access to the Upload page; ask an analyst or administrator."
    ).wait_for(timeout=90_000)
    _idle(page)
    menu = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Trends" in menu and "Upload" not in menu

    # signing out ends the session: a refresh shows the sign-in form again
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to rp-impact").wait_for(timeout=90_000)
    _idle(page)
    page.reload()
    page.get_by_role("heading", name="Sign in to rp-impact").wait_for(timeout=90_000)
    assert "rp_impact_session" not in {c["name"] for c in page.context.cookies()}
