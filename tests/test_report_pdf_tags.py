"""The PDFs are tagged for accessibility (issue 17; the public-sector accessibility
regulations): the brief, the full report and its appendix.

Checked with pikepdf, which reads the PDF's catalog and structure tree: the document is marked
as tagged (/MarkInfo /Marked true), has a language (/Lang en-GB), a structure tree, an outline
of its headings, a title in its metadata shown in the viewer's title bar (/DisplayDocTitle),
and every Figure structure element carries alternative text (/Alt), one per chart. What this
does not check (veraPDF's PDF/UA rules, reading order as a screen reader speaks it, contrast)
is recorded in docs/accessibility.md.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from pipelines.report import build_brief, build_report, pdf_available
from pipelines.store.warehouse import open_warehouse

pikepdf = pytest.importorskip("pikepdf")

AREA = "E06999901"
YEAR = 2026
PRODUCED = dt.date(2026, 5, 1)


@pytest.fixture(scope="module")
def pdfs(sample_warehouse_path, tmp_path_factory) -> dict[str, tuple[Path, object]]:
    ok, detail = pdf_available()
    if not ok:
        pytest.skip(f"No PDF engine: {detail}")
    folder = tmp_path_factory.mktemp("tagged")
    target = folder / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    with open_warehouse(target) as wh:
        options = {"year": YEAR, "area_code": AREA, "format": "pdf", "produced": PRODUCED}
        brief = build_brief(wh, out=folder / "brief.pdf", **options)
        report = build_report(wh, out=folder / "report.pdf", **options)
    return {
        "brief": (brief.path, brief),
        "report": (report.path, report),
        "appendix": (Path(report.numbers["appendix_file"]), report),
    }


def structure(pdf) -> list:
    """Every structure element of the PDF's tree, depth first."""
    found, stack, seen = [], [pdf.Root.StructTreeRoot], set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
            continue
        if not isinstance(node, pikepdf.Dictionary):
            continue
        key = node.objgen if node.is_indirect else id(node)
        if key in seen:
            continue
        seen.add(key)
        if "/S" in node:
            found.append(node)
        if "/K" in node:
            stack.append(node.K)
    return found


@pytest.mark.parametrize("name", ["brief", "report", "appendix"])
def test_pdf_is_tagged_with_language_title_and_outline(pdfs, name):
    path, _ = pdfs[name]
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        assert bool(root.MarkInfo.Marked) is True
        assert str(root.Lang) == "en-GB"
        assert "/StructTreeRoot" in root
        title = str(pdf.docinfo.get("/Title", ""))
        assert title.startswith("Restorative Practice:") and "Northmoor" in title
        assert bool(root.ViewerPreferences.DisplayDocTitle) is True
        assert "/Outlines" in root and int(root.Outlines.Count) >= 2
        kinds = {str(e.S) for e in structure(pdf)}
        assert {"/H1", "/H2", "/P", "/Table", "/TH", "/TD"} <= kinds, kinds


@pytest.mark.parametrize("name", ["brief", "report"])
def test_every_figure_has_alternative_text(pdfs, name):
    path, result = pdfs[name]
    with pikepdf.open(path) as pdf:
        figures = [e for e in structure(pdf) if str(e.S) == "/Figure"]
    alts = [str(e.get("/Alt", "")) for e in figures]
    assert figures and all(alt.startswith("Figure ") and len(alt) > 30 for alt in alts), alts
    # one Figure per chart: none left without a text alternative, none counted twice
    assert len(figures) == result.numbers["charts"]
