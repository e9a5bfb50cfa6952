"""The Board summary as a board member reads it (issue 17): the verdicts before the tiles,
each tile with its period, DfE's comparison with its own year, and a glossary that defines
every technical term the page uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.state import period_label
from pipelines import analysis
from pipelines.present import glossary
from pipelines.store.warehouse import shared_warehouse

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
AREA = "E06999901"
GLOSSARY_LABEL = "What these terms mean"


def _walk(node, inside: tuple[str, ...] = ()):
    """Every element the page drew, in order, as (kind, text, labels of the expanders it sits
    in). Blocks are walked depth first, the way the page reads from top to bottom."""
    children = getattr(node, "children", None)
    if children is not None and not hasattr(node, "value"):
        label = getattr(node, "label", None) if node.type == "expander" else None
        here = (*inside, str(label)) if label else inside
        for key in sorted(children):
            yield from _walk(children[key], here)
        return
    kind = node.type
    if kind == "metric":
        yield kind, f"{node.label} {node.value}", inside
    elif hasattr(node, "value") and isinstance(getattr(node, "value", None), str):
        yield kind, node.value, inside
    elif kind == "plotly_chart":
        yield kind, "", inside


@pytest.fixture(scope="module")
def board(sample_warehouse_path, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("board-page")
    path = folder / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RP_IMPACT_WAREHOUSE", str(path))
        patch.setenv("RP_IMPACT_DEMO", "1")
        patch.setenv("RP_IMPACT_USERS", str(folder / "no-users.toml"))
        at = AppTest.from_file(APP, default_timeout=240)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        elements = list(_walk(at.main))
        summary = analysis.board_summary(shared_warehouse(path), AREA)
        bench = analysis.benchmark_analysis(
            shared_warehouse(path), AREA, "cla_at_31_march", synthetic=False
        )
    return elements, summary, bench


def _index(elements, predicate) -> list[int]:
    return [i for i, element in enumerate(elements) if predicate(element)]


def test_the_verdicts_come_before_the_tiles(board):
    elements, summary, _ = board
    assert summary.verdicts, "the sample has verdicts for its primary outcomes"
    from pipelines.present.verdicts import verdict_views

    sentences = [f"**{v.title}.** {v.sentence}" for v in verdict_views(summary.verdicts)]
    verdict_at = [_index(elements, lambda e, s=s: e[1] == s) for s in sentences]
    assert all(len(found) == 1 for found in verdict_at), sentences
    tiles = _index(elements, lambda e: e[0] == "metric")
    families = _index(elements, lambda e: e[0] == "header" and e[1] == "Working with families")
    tiles = [i for i in tiles if not families or i < families[0]]  # the three numbers' tiles
    assert len(tiles) == len(summary.headlines) == 3
    assert max(found[0] for found in verdict_at) < min(tiles)
    title = _index(elements, lambda e: e[0] == "title" and e[1] == "Board summary")
    assert title and title[0] < min(found[0] for found in verdict_at)


def _tile_texts(elements) -> list[list[str]]:
    """The text of each tile: from its metric to the next tile's (or the tiles' end)."""
    tiles = _index(elements, lambda e: e[0] == "metric")
    end = _index(elements, lambda e: e[1] == "How to read these numbers and symbols")
    # the "Working with families" tile, after the three numbers, is not one of them
    end = end or _index(elements, lambda e: e[0] == "header" and e[1] == "Working with families")
    tiles = [i for i in tiles if not end or i < end[0]]
    stops = [*tiles[1:], end[0] if end else len(elements)]
    return [[e[1] for e in elements[a:b]] for a, b in zip(tiles, stops, strict=True)]


def test_each_tile_says_the_period_it_covers(board):
    elements, summary, _ = board
    for texts, headline in zip(_tile_texts(elements), summary.headlines, strict=True):
        assert headline.latest_period is not None
        label = period_label(headline.latest_period, headline.grain)
        assert any(f"**Latest: {label}** (quarter)" in t for t in texts), (headline.key, texts)
    # the sample's latest quarter, as the browser test reads it
    assert period_label(summary.headlines[0].latest_period, "quarter") == "Apr–Jun 2026"


def test_the_england_comparison_under_a_tile_names_its_own_year(board):
    elements, summary, bench = board
    table = bench.table.dropna(subset=["council", "england"])
    year = str(table["year"].iloc[-1])
    england = f"{table['england'].iloc[-1]:,.{bench.decimals}f}"
    tiles = dict(zip((h.key for h in summary.headlines), _tile_texts(elements), strict=True))
    cla_tile = tiles["cla_rate"]
    line = next(t for t in cla_tile if t.startswith("England "))
    assert line.startswith(f"England {year} (DfE, 31 March {int(table['time_period'].iloc[-1])})")
    assert f": {england} per 10,000" in line
    # the tile itself is for a later quarter, and says so beside it
    quarter = period_label(summary.headlines[0].latest_period, "quarter")
    assert quarter != year and any(quarter in t for t in cla_tile)
    assert any(t.startswith("England ") and "(DfE, 31 March" in t for t in tiles["cpp_rate"])
    assert not any(t.startswith("England ") for t in tiles["training_coverage"])
    # the context section states the year of its figures and the tiles' period together
    said = [e[1] for e in elements]
    assert any(
        t.startswith(f"These are DfE's published figures for {year}") and quarter in t for t in said
    )


def test_every_technical_term_on_the_board_is_in_its_glossary(board):
    elements, _, _ = board
    shown = [e for e in elements if GLOSSARY_LABEL not in e[2]]
    defined = "\n".join(e[1] for e in elements if GLOSSARY_LABEL in e[2])
    assert defined, "the Board has a 'What these terms mean' expander"
    used = glossary.terms_in(*(e[1] for e in shown))
    # the jargon a board member meets on the sample's Board, whatever else is found
    names = {t.name for t in used}
    for must in ("CLA (children looked after)", "Rate per 10,000 children"):
        assert must in names
    assert any("XmR" in n for n in names) and any("Staggered" in n for n in names)
    for term in used:
        assert f"**{term.name}**: {term.definition}" in defined, term.name
    # the glossary sits before the tiles, under the verdicts
    first = _index(elements, lambda e: GLOSSARY_LABEL in e[2])[0]
    assert first < _index(elements, lambda e: e[0] == "metric")[0]


def test_the_board_charts_go_through_chart_block(board):
    elements, _, _ = board
    charts = _index(elements, lambda e: e[0] == "plotly_chart")
    assert len(charts) == 2
    for at in charts:
        before = [e[1] for e in elements[at - 2 : at]]
        assert before[1].startswith("Chart summary: Line chart of rate per 10,000 children")
        assert before[0].startswith("**Children")  # the title, stating the finding


# -- the glossary itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "XmR",
        "SPC",
        "special cause",
        "rate ratio",
        "difference-in-differences",
        "staggered DiD",
        "randomisation inference",
        "placebo in space",
        "RMSPE",
        "synthetic control",
        "plausible range",
        "coverage",
        "Wilson interval",
        "Spearman's rho",
        "statistical neighbours",
        "rate per 10,000",
        "CLA",
        "CPP",
        "CIN",
        "FGC",
        "common-cause variation",
    ],
)
def test_each_term_the_brief_names_has_a_definition(text):
    found = glossary.terms_in(text)
    assert found, text
    assert all(t.definition.endswith(".") and len(t.definition) > 40 for t in found)


def test_acronyms_match_whole_words_in_capitals_only():
    assert glossary.terms_in("a class of its own; cpp is lower case") == []
    assert [t.name for t in glossary.terms_in("the CLA rate")] == ["CLA (children looked after)"]


def test_page_terms_keeps_glossary_order_and_adds_what_the_page_said():
    terms = glossary.page_terms("benchmarks", ["a placebo run", "the CLA rate"])
    names = [t.name for t in terms]
    assert "Placebo in space" in names and "CLA (children looked after)" in names
    assert names == [t.name for t in glossary.TERMS if t.name in names]
    assert all(name in glossary.BY_NAME for page in glossary.PAGE_TERMS.values() for name in page)
