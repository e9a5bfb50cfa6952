"""The browser tests' shared machinery: a `streamlit run` server, Debian's Chromium, and one walk.

One walk per test session (tests/conftest.py holds the session fixtures) visits every page at
1366x900 and 390x844 on the demo server, and the sign-in page on a server with local accounts.
On each page at each width it checks that no exception shows, keeps the text of its main column
(`Walk.texts`), saves the viewport and the whole page to test-artifacts/screenshots/, and runs
axe-core (axe-playwright-python). Before the walk
it measures the first Board view after the server started: from navigation to the Board's h1
and its first verdict on screen (test-artifacts/first_view.json, printed, never asserted).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
WIDE = {"width": 1366, "height": 900}
NARROW = {"width": 390, "height": 844}
RETURNS_TAB = "Statutory returns (SSDA903, CIN census)"
SIGN_IN = "Sign in to rp-impact"
#: (screenshot name, address under the server, the page's h1, a tab to open or None)
PAGES = [
    ("board", "", "Board summary", None),  # the default page lives at the root URL
    ("trends", "trends", "Trends", None),
    ("cohorts", "cohorts", "Cohorts", None),
    ("training", "training", "Training", None),
    ("practice", "practice", "Practice", None),
    ("benchmarks", "benchmarks", "Benchmarks", None),
    ("quality", "quality", "Data quality & methods", None),
    ("upload", "upload", "Upload extracts", None),
    ("upload-returns", "upload", "Upload extracts", RETURNS_TAB),
    ("report", "report", "Annual effectiveness report", None),
]
#: Streamlit's own page shell, which no page of ours draws: the sidebar's page menu, the top
#: bar, its toolbar and status widget, and the sidebar's collapse controls. A violation whose
#: element sits inside one of these (or is the document itself, which Streamlit's index.html
#: writes) is "streamlit-shell".
CHROME = ", ".join(
    f'[data-testid="{testid}"]'
    for testid in (
        "stSidebarNav",
        "stSidebarHeader",
        "stSidebarCollapseButton",
        "stExpandSidebarButton",
        "stHeader",
        "stToolbar",
        "stDecoration",
        "stStatusWidget",
        "stMainMenu",
        "stAppDeployButton",
    )
)
#: Inside a Streamlit widget, the markup and styles Streamlit draws around what we pass it: the
#: file uploader's drop zone, and the label of a widget we disabled (Streamlit greys it). The
#: label's words are ours; its colour is Streamlit's. These are "streamlit-widget".
WIDGET = '[data-testid="stFileUploaderDropzone"]'
OWNERS = ("ours", "streamlit-shell", "streamlit-widget")
_WHERE = """(targets) => targets.map((target) => {
    const selector = Array.isArray(target) ? target[0] : target;
    let el = null;
    try { el = typeof selector === "string" ? document.querySelector(selector) : null; }
    catch (e) { el = null; }
    if (el === null) return {owner: "ours", testid: "(not found)"};
    const box = el.closest("[data-testid]");
    const testid = box ? box.dataset.testid : "(none)";
    if (el === document.documentElement || el.closest(CHROME) !== null)
        return {owner: "streamlit-shell", testid};
    const label = el.closest('[data-testid="stWidgetLabel"]');
    const disabled = label !== null && label.parentElement.querySelector(
        '[aria-disabled="true"], :disabled') !== null;
    if (el.closest(WIDGET) !== null || disabled) return {owner: "streamlit-widget", testid};
    return {owner: "ours", testid};
})""".replace("CHROME", json.dumps(CHROME)).replace("WIDGET", json.dumps(WIDGET))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_health(url: str, process: subprocess.Popen, timeout: float = 300) -> None:
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


@dataclass
class Server:
    url: str
    launched: float  # time.monotonic() when the process was started
    healthy: float  # ... and when /_stcore/health first answered
    log: Path


@contextlib.contextmanager
def serve(warehouse: Path, log_path: Path, **env_extra: str | None):
    """The dashboard served as `rp-impact serve` serves it, on a free port, yielding a `Server`. An `env_extra`
    value of None removes that variable from the server's environment."""
    port = free_port()
    env = {
        **os.environ,
        "RP_IMPACT_WAREHOUSE": str(warehouse),
        "RP_IMPACT_USER": "browser-test",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **env_extra,
    }
    env = {name: value for name, value in env.items() if value is not None}
    log = log_path.open("w")
    # The way `rp-impact serve` starts it (dashboard/serve.py: the Board's reads are made before
    # the server listens), so the first view measured is the one a user gets.
    command = [sys.executable, str(REPO / "dashboard" / "serve.py")]
    options = {
        "--server.headless": "true",
        "--server.port": str(port),
        "--server.address": "127.0.0.1",
        "--server.fileWatcherType": "none",
    }
    command += [part for pair in options.items() for part in pair]
    launched = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process)
        yield Server(url, launched, time.monotonic(), log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
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
            yield browser
        finally:
            browser.close()


def new_page(browser, viewport: dict):
    """A page in its own context (own cookies, so a fresh Streamlit session)."""
    mobile = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile)
    return context.new_page()


def idle(page, timeout: float = 90_000) -> None:
    """Wait until the script has finished its run and every element has been drawn (no fixed
    sleeps). Streamlit draws a grey skeleton where an element's code is still loading in the
    browser (a fresh session's selectboxes, metrics and charts on a busy machine)."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_load_state("networkidle")
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stSkeleton]') === null", timeout=timeout
    )


def no_exception(page, where: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()}"


def visit(page, url: str, path: str, heading: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=90_000)
    idle(page)
    no_exception(page, path or "board")


def shot(page, name: str) -> None:
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
    idle(page)
    page.screenshot(path=str(SHOTS / f"{name}-full.png"))
    page.set_viewport_size(size)


def axe(page) -> list[dict]:
    """axe-core's violations on the page, one entry per element, each with its owner (see
    CHROME and WIDGET) and the nearest `data-testid` above it."""
    from axe_playwright_python.sync_playwright import Axe

    found = []
    for violation in Axe().run(page).response["violations"]:
        nodes = violation["nodes"]
        places = page.evaluate(_WHERE, [node["target"] for node in nodes])
        for node, place in zip(nodes, places, strict=True):
            found.append(
                {
                    "rule": violation["id"],
                    "impact": violation["impact"],
                    "help": violation["help"],
                    "owner": place["owner"],
                    "testid": place["testid"],
                    "target": node["target"],
                    "html": node["html"][:300],
                }
            )
    return found


@dataclass
class Walk:
    """What the session's one walk over every page found."""

    first_view: dict
    pages: list[str] = field(default_factory=list)  # "<name>-<width>" in the order visited
    violations: dict[str, list[dict]] = field(default_factory=dict)  # by "<name>-<width>"
    seconds: dict[str, dict] = field(default_factory=dict)  # each visit's steps, wall time
    texts: dict[str, str] = field(default_factory=dict)  # each page's main column, as shown

    def counts(self) -> dict:
        """{page: {width: {owner: {rule: n}}}} for axe.json (owners: OWNERS)."""
        table: dict = {}
        for key in self.pages:
            name, width = key.rsplit("-", 1)
            owners = {owner: Counter() for owner in OWNERS}
            for found in self.violations[key]:
                owners[found["owner"]][found["rule"]] += 1
            table.setdefault(name, {})[width] = {
                k: dict(sorted(v.items())) for k, v in owners.items()
            }
        return table


def first_board_view(browser, server: Server) -> dict:
    """From navigation to the Board's h1 and its first verdict on screen, on a server that has
    served nothing yet. Written to test-artifacts/first_view.json and printed."""
    page = new_page(browser, WIDE)
    started = time.monotonic()
    page.goto(server.url)
    page.get_by_role("heading", name="Board summary").first.wait_for(timeout=180_000)
    heading = time.monotonic()
    verdict = page.locator('[data-testid="stMain"] [data-testid="stExpander"]').filter(
        has_text="How this was worked out"
    )
    verdict.first.wait_for(timeout=180_000)
    shown = time.monotonic()
    idle(page)
    no_exception(page, "first Board view")
    result = {
        "first_board_view_seconds": round(shown - started, 2),
        "h1_seconds": round(heading - started, 2),
        "server_launch_to_health_seconds": round(server.healthy - server.launched, 2),
        "server_launch_to_board_seconds": round(shown - server.launched, 2),
        "measured": "navigation to the Board's h1 and first verdict visible, 1366x900",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "first_view.json").write_text(json.dumps(result, indent=2) + "\n")
    # benchmarks/run.py reads this one: launch of the server to a rendered Board summary
    (ARTIFACTS / "cold_start.json").write_text(
        json.dumps({"seconds": result["server_launch_to_board_seconds"]})
    )
    print(f"\nfirst Board view after a server start: {json.dumps(result)}")
    page.context.close()
    return result


def _record(walk: Walk, page, key: str, started: float) -> None:
    shown = time.monotonic()
    walk.texts[key] = page.locator('[data-testid="stMain"]').inner_text()
    shot(page, key)
    shots = time.monotonic()
    walk.violations[key] = axe(page)
    walk.pages.append(key)
    walk.seconds[key] = {
        "render": round(shown - started, 1),
        "screenshots": round(shots - shown, 1),
        "axe": round(time.monotonic() - shots, 1),
    }


def walk_every_page(browser, demo: Server, accounts: Server, first_view: dict) -> Walk:
    """Every page at both widths on the demo server, then the sign-in page on `accounts`."""
    walk = Walk(first_view=first_view)
    for viewport in (WIDE, NARROW):
        page = new_page(browser, viewport)
        for name, path, heading, tab in PAGES:
            started = time.monotonic()
            visit(page, demo.url, path, heading)
            if tab:
                page.get_by_role("tab", name=tab).click()
                page.get_by_text("Which return?").first.wait_for(timeout=90_000)
                idle(page)
                no_exception(page, name)
            _record(walk, page, f"{name}-{viewport['width']}", started)
        page.context.close()
        page = new_page(browser, viewport)
        started = time.monotonic()
        page.goto(accounts.url)
        page.get_by_role("heading", name=SIGN_IN).wait_for(timeout=90_000)
        idle(page)
        no_exception(page, "sign-in")
        _record(walk, page, f"sign-in-{viewport['width']}", started)
        page.context.close()
    details = [{"page": key, **found} for key in walk.pages for found in walk.violations[key]]
    (ARTIFACTS / "axe.json").write_text(
        json.dumps({"counts": walk.counts(), "violations": details}, indent=1) + "\n"
    )
    print(f"\nwalk seconds per page: {json.dumps(walk.seconds)}")
    return walk
