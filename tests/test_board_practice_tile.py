"""The Board summary's "Working with families" tile (issue 18): after the three numbers, one
bordered tile per figure, each saying what `practice_summary` says, in the same words."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.present.practice_summary import practice_summary
from pipelines.store.warehouse import shared_warehouse
from tests.test_board_page import _walk

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
AREA = "E06999901"


@pytest.fixture(scope="module")
def board_tile(sample_warehouse_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("board-practice")
    path = folder / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RP_IMPACT_WAREHOUSE", str(path))
        patch.setenv("RP_IMPACT_DEMO", "1")
        patch.setenv("RP_IMPACT_USERS", str(folder / "no-users.toml"))
        at = AppTest.from_file(APP, default_timeout=240)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        summary = practice_summary(shared_warehouse(path), AREA)
    return at, list(_walk(at.main)), summary


# -- the tile ------------------------------------------------------------------------------------


def test_the_tile_comes_after_the_three_numbers(board_tile):
    _, elements, _ = board_tile
    headers = [e[1] for e in elements if e[0] == "header"]
    assert "Working with families" in headers
    at = headers.index("Working with families")
    assert headers[at - 1] == "The three numbers"


def test_each_figure_shows_the_same_sentence_as_practice_summary(board_tile):
    at, elements, summary = board_tile
    assert summary is not None and len(summary.figures) == 2
    metrics = {m.label: m for m in at.main.get("metric")}
    texts = [e[1] for e in elements]
    for figure in summary.figures:
        metric = metrics[figure.label]
        assert metric.value == figure.value_text and figure.value_text.endswith("%")
        # the whole finding, word for word, with its grade, as the page and the report print it
        assert any(figure.sentence in t for t in texts), figure.key
        assert figure.change_text in figure.sentence and f"{figure.n:,} " in figure.sentence
        assert "Low confidence: in simulation" in figure.sentence
    assert "18 points higher" in summary.figures[0].sentence  # the sample's planted rise
    assert " ".join(summary.shared_caveats) in texts


def test_the_survey_caveat_is_under_its_tile(board_tile):
    _, elements, summary = board_tile
    texts = [e[1] for e in elements]
    for figure in summary.figures:
        for caveat in figure.own_caveats:
            assert caveat in texts
