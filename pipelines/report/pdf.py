"""Print the report's HTML to an A4 PDF with Chromium (through Playwright).

Engine: the system Chromium (Debian's ``/usr/bin/chromium``, or ``RP_IMPACT_CHROMIUM``) driven
by the Playwright Python package. No browser is downloaded: Playwright only launches the
Chromium that is already installed, so this works offline. Chromium opens the HTML (plotly.js
is embedded, so no network), waits until every chart has drawn, and prints it with page
numbers in the footer. Charts stay vector (plotly draws SVG). The PDF is tagged (Chromium's
structure tree from the HTML's semantics, the document language and title, alternative text
for every chart from its ``aria-label``) and has an outline of its headings.

Everything one build prints (the report and its appendix) is printed from one browser
(`print_pdfs`), and each document is loaded and its charts drawn once. Page numbers in the
report's contents: the page is printed, the page each section starts on is read from that
PDF's outline (its bookmarks, which Chromium writes from the headings; the pages' text with
pypdf only when the outline lacks one), the numbers are written into the contents on the page
already drawn, and that page is printed again. Every chapter starts a page of its own, so
the numbers do not move the sections. A document without numbered contents (the brief, the
appendix) is printed once.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
INSTALL_HINT = (
    "The PDF report needs Chromium and the Playwright Python package. On Debian or Ubuntu run "
    "`apt-get install chromium` and `pip install playwright` (no `playwright install` is needed: "
    "the system Chromium is used), or set RP_IMPACT_CHROMIUM to a Chromium or Chrome binary. "
    "The HTML report works without them."
)
#: How long to wait for the charts to draw before printing anyway (milliseconds).
DRAW_TIMEOUT_MS = 60_000


class PdfUnavailableError(RuntimeError):
    """Chromium or Playwright is missing, so no PDF can be printed."""


def find_chromium() -> str | None:
    """The Chromium binary to print with, or None when there is none."""
    configured = os.environ.get("RP_IMPACT_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for candidate in CANDIDATES:
        if Path(candidate).exists():
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _playwright_importable() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def pdf_available() -> tuple[bool, str]:
    """(True, binary) when a PDF can be printed, else (False, what to install)."""
    binary = find_chromium()
    if binary is None:
        return False, "No Chromium was found. " + INSTALL_HINT
    if not _playwright_importable():
        return False, "The Playwright Python package is not installed. " + INSTALL_HINT
    return True, binary


HEADER = (
    '<div style="font-family: Arial, Helvetica, sans-serif; font-size: 8px; width: 100%; '
    'text-align: center; color: #0B0C0C; font-weight: bold;">{marking}</div>'
)
FOOTER = (
    '<div style="font-family: Arial, Helvetica, sans-serif; font-size: 8px; width: 100%; '
    'padding: 0 15mm; display: flex; justify-content: space-between; color: #3D3D3D;">'
    "<span>{left}</span><span style='font-weight: bold; color: #0B0C0C;'>{marking}</span>"
    '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
    "</div>"
)

WAIT_FOR_CHARTS = """() => {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return divs.every(d => d._fullLayout && d.querySelector('.main-svg'));
}"""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: Writes {section id: page} into the contents' links, as the template would have rendered it.
FILL_CONTENTS = """(pages) => {
  for (const [sid, page] of Object.entries(pages)) {
    const link = document.querySelector(`nav.toc a[href="#${sid}"]`);
    if (!link) continue;
    let span = link.querySelector('.toc-page');
    if (!span) {
      span = document.createElement('span');
      span.className = 'toc-page';
      link.appendChild(span);
    }
    span.textContent = String(page);
  }
}"""


@dataclass(frozen=True)
class PrintJob:
    """One HTML file to print. `contents`: (section id, heading) pairs whose start pages are
    written into the contents (found from page `first_page` on); empty: printed once."""

    html_path: Path
    pdf_path: Path
    marking: str
    footer_left: str = ""
    contents: tuple[tuple[str, str], ...] = ()
    first_page: int = 3


def _pdf_options(job: PrintJob) -> dict:
    return {
        "format": "A4",
        "print_background": True,
        "display_header_footer": True,
        "header_template": HEADER.format(marking=_escape(job.marking)),
        "footer_template": FOOTER.format(
            marking=_escape(job.marking), left=_escape(job.footer_left)
        ),
        "margin": {"top": "16mm", "bottom": "16mm", "left": "15mm", "right": "15mm"},
        "prefer_css_page_size": False,
        # A tagged PDF (structure tree, /Lang, alt text from aria-label) with the headings
        # as its outline (bookmarks): PDF/UA's basics, checked by pikepdf in
        # tests/test_report_pdf_tags.py.
        "tagged": True,
        "outline": True,
    }


def _print_all(jobs: Sequence[PrintJob], binary: str) -> list[dict[str, int]]:
    from playwright.sync_api import sync_playwright

    found: list[dict[str, int]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, headless=True, args=list(CHROMIUM_ARGS))
        try:
            for job in jobs:
                page = browser.new_page(viewport={"width": 900, "height": 1200})
                try:
                    page.goto(job.html_path.resolve().as_uri(), wait_until="load")
                    page.wait_for_function(WAIT_FOR_CHARTS, timeout=DRAW_TIMEOUT_MS)
                    page.emulate_media(media="print")
                    options = _pdf_options(job)
                    data = page.pdf(**options)
                    pages: dict[str, int] = {}
                    if job.contents:
                        pages = section_pages(data, job.contents, job.first_page)
                        if pages:
                            page.evaluate(FILL_CONTENTS, pages)
                            data = page.pdf(**options)
                    job.pdf_path.write_bytes(data)
                    found.append(pages)
                finally:
                    page.close()
        finally:
            browser.close()
    return found


def _binary(binary: str | None) -> str:
    ok, detail = pdf_available()
    if binary is None:
        if not ok:
            raise PdfUnavailableError(detail)
        return detail
    if not _playwright_importable():
        raise PdfUnavailableError("The Playwright Python package is not installed. " + INSTALL_HINT)
    return binary


def print_pdfs(jobs: Sequence[PrintJob], *, binary: str | None = None) -> list[dict[str, int]]:
    """Print each job from one Chromium (A4, page numbers, classification marking top and
    bottom); for each, the {section id: page} written into its contents ({} when none).

    Runs Playwright's sync API in a worker thread, so it also works when the caller (for
    example Streamlit) already has an asyncio event loop in its thread.
    """
    executable = _binary(binary)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print_all, list(jobs), executable).result()


def print_pdf(
    html_path: Path, pdf_path: Path, *, marking: str, footer_left: str = "", binary: str | None
) -> None:
    """Print `html_path` to `pdf_path` once (see `print_pdfs`)."""
    print_pdfs([PrintJob(html_path, pdf_path, marking, footer_left)], binary=binary)


def outline_pages(data: bytes) -> list[tuple[str, int]] | None:
    """(title, 1-based page) of every bookmark in a PDF, or None without pypdf."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    reader = PdfReader(io.BytesIO(data))
    out: list[tuple[str, int]] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            number = reader.get_destination_page_number(item)
            if number is not None and number >= 0:
                out.append((str(item.title or ""), number + 1))

    try:
        walk(reader.outline)
    except Exception:  # noqa: BLE001 - a damaged outline: read the pages' text instead
        return []
    return out


def section_pages(
    data: bytes, headings: Sequence[tuple[str, str]], first_page: int
) -> dict[str, int]:
    """{section id: 1-based page} from a printed PDF: its outline, else its pages' text."""
    bookmarks = outline_pages(data)
    if bookmarks is None:
        return {}
    found: dict[str, int] = {}
    position = first_page
    for section_id, heading in headings:
        needle = _squash(heading)
        for title, number in bookmarks:
            if number >= position and _squash(title) == needle:
                found[section_id] = number
                position = number
                break
    if len(found) == len(headings):
        return found
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return find_section_pages(
        [(page.extract_text() or "") for page in reader.pages], headings, first_page
    )


def pdf_pages_text(pdf_path: Path) -> list[str] | None:
    """The text of each page (pypdf), or None when pypdf is not installed."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    reader = PdfReader(str(pdf_path))
    return [(page.extract_text() or "") for page in reader.pages]


def _squash(text: str) -> str:
    return "".join(text.split()).lower()


def find_section_pages(
    pages: Sequence[str], headings: Sequence[tuple[str, str]], first_page: int
) -> dict[str, int]:
    """{section id: 1-based page} for headings found in order from page `first_page` on.

    Whitespace is ignored (pypdf may break a heading across lines).
    """
    found: dict[str, int] = {}
    squashed = [_squash(p) for p in pages]
    position = max(0, first_page - 1)
    for section_id, heading in headings:
        needle = _squash(heading)
        for index in range(position, len(squashed)):
            if needle in squashed[index]:
                found[section_id] = index + 1
                position = index
                break
    return found


def page_count(pdf_path: Path) -> int:
    """The number of pages in a PDF (pypdf when installed, else the page objects counted)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        PdfReader = None  # noqa: N806
    if PdfReader is not None:
        return len(PdfReader(str(pdf_path)).pages)
    import re

    return len(re.findall(rb"/Type\s*/Page[^s]", pdf_path.read_bytes()))
