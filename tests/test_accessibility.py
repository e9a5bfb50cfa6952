"""axe-core on every page at 1366 px and 390 px, from the browser tests' one walk.

The walk (tests/browser_support.py) runs axe-playwright-python's `Axe().run(page)` on each page
at each width, on the same server and browser as tests/test_browser.py, and writes the counts
per page, width and rule to test-artifacts/axe.json. Each violating element is marked as
Streamlit's page shell (the sidebar's page menu, the top bar), Streamlit's widget internals
(the file uploader's drop zone, a disabled widget's greyed label) or markup we control.
docs/accessibility.md keeps the table.
"""

from __future__ import annotations

import json

import pytest

from tests.browser_support import ARTIFACTS, CHROME, OWNERS, PAGES

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WIDTHS = ("1366", "390")
#: Violations in our own markup that are known and recorded in docs/accessibility.md, waiting
#: for a fix in the pages. Each entry says which elements it covers; when the pages are fixed
#: the test below fails until the entry is removed, so the list cannot go stale.
KNOWN_OURS: dict = {}


def test_axe_ran_on_every_page_at_both_widths(page_walk):
    counts = json.loads((ARTIFACTS / "axe.json").read_text())["counts"]
    names = [name for name, *_ in PAGES] + ["sign-in"]
    assert sorted(counts) == sorted(names)
    for name in names:
        assert sorted(counts[name]) == sorted(WIDTHS), name
        for width in WIDTHS:
            found = page_walk.violations[f"{name}-{width}"]
            for owner in OWNERS:
                expected = sum(1 for v in found if v["owner"] == owner)
                assert sum(counts[name][width][owner].values()) == expected


def test_the_chrome_rule_tells_streamlit_shell_from_our_markup(page_walk, demo_server, browser):
    """The classifier itself: the sidebar's page menu is Streamlit's, a page's h1 is ours."""
    from tests.browser_support import WIDE, new_page, visit

    page = new_page(browser, WIDE)
    visit(page, demo_server.url, "trends", "Trends")
    inside = page.evaluate(
        "(chrome) => [document.querySelector('[data-testid=stSidebarNav] a').closest(chrome)"
        " !== null, document.querySelector('[data-testid=stMain] h1').closest(chrome) !== null]",
        CHROME,
    )
    assert inside == [True, False]
    page.context.close()


def test_no_axe_violation_in_our_markup_beyond_the_recorded_ones(page_walk):
    ours = [
        {"page": key, **found}
        for key in page_walk.pages
        for found in page_walk.violations[key]
        if found["owner"] == "ours"
    ]
    unknown = [f for f in ours if not KNOWN_OURS.get(f["rule"], lambda _: False)(f)]
    assert unknown == [], json.dumps(unknown, indent=1)
    gone = set(KNOWN_OURS) - {f["rule"] for f in ours}
    assert not gone, f"fixed: remove {sorted(gone)} from KNOWN_OURS and docs/accessibility.md"


def test_the_sign_in_page_has_no_axe_violation_at_all(page_walk):
    for width in WIDTHS:
        assert page_walk.violations[f"sign-in-{width}"] == []
