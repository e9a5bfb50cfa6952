"""Flow decisions kept on disk (`pipelines.present.decision_store`, issue 19).

A flow's decision costs seconds; it is kept under a digest of its cells, the threshold and
the deciding code, and read back only when it fits the cells and hides every small count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import disclosure
from pipelines.present import cube, decision_store, practice_gate
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
FLOW = "cla_starts"


# -- folder_for ---------------------------------------------------------------------------------


def test_decisions_are_kept_beside_the_warehouse_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv(decision_store.ENV, raising=False)
    assert decision_store.folder_for(tmp_path / "w.duckdb") == tmp_path.resolve() / "decisions"
    monkeypatch.setenv(decision_store.ENV, str(tmp_path / "elsewhere"))
    assert decision_store.folder_for(tmp_path / "w.duckdb") == tmp_path / "elsewhere"
    monkeypatch.setenv(decision_store.ENV, "")
    assert decision_store.folder_for(tmp_path / "w.duckdb") is None


# -- key_for ------------------------------------------------------------------------------------


def test_the_key_changes_with_the_cells_the_threshold_and_the_code(monkeypatch):
    key = decision_store.key_for("cells", 4)
    assert key == decision_store.key_for("cells", 4)
    assert key != decision_store.key_for("other cells", 4)
    assert key != decision_store.key_for("cells", 5)
    monkeypatch.setattr(decision_store, "CODE_DIGEST", "new rules")
    assert key != decision_store.key_for("cells", 4)


# -- load and save ------------------------------------------------------------------------------

VALUES = np.array([0.0, 3.0, 12.0, 40.0, np.nan])
MASK = np.array([False, True, True, False, False])


def test_a_kept_mask_is_read_back(tmp_path):
    assert decision_store.save(tmp_path, "k", MASK)
    np.testing.assert_array_equal(decision_store.load(tmp_path, "k", VALUES, 4), MASK)
    assert not list(tmp_path.glob("*.part")), "no half-written file is left"


def test_nothing_kept_reads_as_none(tmp_path):
    assert decision_store.load(tmp_path, "absent", VALUES, 4) is None
    assert decision_store.load(None, "k", VALUES, 4) is None
    assert decision_store.save(None, "k", MASK) is False


def test_a_mask_of_another_shape_is_not_used(tmp_path):
    decision_store.save(tmp_path, "k", MASK[:3])
    assert decision_store.load(tmp_path, "k", VALUES, 4) is None


def test_a_mask_that_shows_a_small_count_is_not_used(tmp_path):
    decision_store.save(tmp_path, "k", np.zeros(len(VALUES), bool))  # shows the 3
    assert decision_store.load(tmp_path, "k", VALUES, 4) is None


def test_a_damaged_file_is_not_used(tmp_path):
    (tmp_path / "k.npy").write_bytes(b"\x93NUMPY garbage")
    assert decision_store.load(tmp_path, "k", VALUES, 4) is None
    np.save(tmp_path / "j.npy", np.arange(len(VALUES)))  # numbers, not a mask
    assert decision_store.load(tmp_path, "j", VALUES, 4) is None


def test_a_folder_that_cannot_be_written_keeps_nothing_and_raises_nothing(tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    assert decision_store.save(blocked, "k", MASK) is False


# -- the cube reads and keeps decisions ----------------------------------------------------------


@pytest.fixture
def fresh_memory(monkeypatch):
    """The cube's in-process memos emptied, so the next decision is read or taken again."""
    monkeypatch.setattr(cube, "_DECIDED", {})
    monkeypatch.setattr(cube, "_BY_CONTENT", {})


def _decide(path):
    with open_warehouse(path) as wh:
        return cube.decided_cells(wh, AREA, FLOW, cube.decision_grains(FLOW, "month"))


def test_a_second_process_takes_the_decision_from_disk(
    sample_copy, tmp_path, monkeypatch, fresh_memory
):
    monkeypatch.setenv(decision_store.ENV, str(tmp_path / "kept"))
    first = _decide(sample_copy)
    assert len(list((tmp_path / "kept").glob("*.npy"))) == 1
    monkeypatch.setattr(cube, "_DECIDED", {})
    monkeypatch.setattr(cube, "_BY_CONTENT", {})

    def refuse(*args, **kwargs):
        raise AssertionError("the kept decision should have been read")

    monkeypatch.setattr(disclosure, "grain_masks", refuse)
    again = _decide(sample_copy)
    np.testing.assert_array_equal(again["hidden"].to_numpy(), first["hidden"].to_numpy())
    assert first["hidden"].sum() > 1000


def test_a_tampered_decision_is_decided_again(sample_copy, tmp_path, monkeypatch, fresh_memory):
    monkeypatch.setenv(decision_store.ENV, str(tmp_path / "kept"))
    first = _decide(sample_copy)
    (kept,) = (tmp_path / "kept").glob("*.npy")
    np.save(kept, np.zeros(len(first), bool))  # hides nothing: shows every small count
    monkeypatch.setattr(cube, "_DECIDED", {})
    monkeypatch.setattr(cube, "_BY_CONTENT", {})
    calls = []
    original = disclosure.grain_masks

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(disclosure, "grain_masks", counted)
    again = _decide(sample_copy)
    assert calls == [1]
    np.testing.assert_array_equal(again["hidden"].to_numpy(), first["hidden"].to_numpy())


# -- rp-impact decide ----------------------------------------------------------------------------


def _flows(path) -> list[str]:
    """The flow measures the sample holds counts of."""
    from pipelines import marts
    from pipelines.measures import GRAINS, MEASURES

    with open_warehouse(path) as wh:
        return [
            name
            for name, info in MEASURES.items()
            if not info.is_stock
            and marts.outcome_cells(wh, AREA, name, tuple(GRAINS))["value"].notna().any()
        ]


def test_decide_keeps_every_flow_with_the_warehouse_closed(
    sample_copy, tmp_path, monkeypatch, fresh_memory, capsys
):
    from pipelines import cli

    monkeypatch.setenv(decision_store.ENV, str(tmp_path / "kept"))
    writable = []

    def hide_everything(cells, **kwargs):
        # A writer can open the warehouse only once `decide` has closed it.
        with open_warehouse(sample_copy) as wh:
            writable.append(wh.data_version() is not None)
        return np.ones(len(cells), bool)

    monkeypatch.setattr(disclosure, "grain_masks", hide_everything)
    assert cli.main(["--warehouse", str(sample_copy), "decide"]) == 0
    flows = _flows(sample_copy)
    assert {"cla_starts", "cpp_starts", "fgc_held"} <= set(flows)
    assert len(writable) == len(flows) and all(writable)
    assert len(list((tmp_path / "kept").glob("*.npy"))) == len(flows) + 1  # + the audit grades
    printed = capsys.readouterr().out
    assert f"{AREA}: {len(flows)} flow measure(s) decided" in printed
    assert f"{AREA}: 1 practice family decided or already kept" in printed

    monkeypatch.setattr(cube, "_DECIDED", {})
    monkeypatch.setattr(cube, "_BY_CONTENT", {})

    def refuse(*args, **kwargs):
        raise AssertionError("the kept decision should have been read")

    monkeypatch.setattr(disclosure, "grain_masks", refuse)
    with open_warehouse(sample_copy) as wh:
        for flow in flows:
            cells = cube.decided_cells(wh, AREA, flow, cube.decision_grains(flow, "quarter"))
            assert cells["hidden"].all(), flow


def test_decide_names_an_area_without_outcomes(sample_copy, tmp_path, monkeypatch, capsys):
    from pipelines import cli

    monkeypatch.setenv(decision_store.ENV, str(tmp_path / "kept"))
    assert cli.main(["--warehouse", str(sample_copy), "decide", "--area", "E09000033"]) == 2
    assert capsys.readouterr().err.strip() == "error: no outcomes are loaded for area E09000033."
    assert not (tmp_path / "kept").exists() or not list((tmp_path / "kept").iterdir())


# -- the Practice page's grade family is kept too ----------------------------------------------


def _family(path):
    with open_warehouse(path) as wh:
        return practice_gate.family_decision(wh, AREA, ("grade",), 4)


def _same(first: dict, again: dict) -> None:
    assert first.keys() == again.keys()
    for measure, (frame, changes) in first.items():
        pd.testing.assert_frame_equal(frame, again[measure][0])
        assert changes.keys() == again[measure][1].keys()
        for respondent, rows in changes.items():
            np.testing.assert_array_equal(rows, again[measure][1][respondent])


def test_a_family_decision_is_kept_and_read_back_as_it_was_taken(
    sample_copy, tmp_path, monkeypatch
):
    monkeypatch.setenv(decision_store.ENV, str(tmp_path / "kept"))
    monkeypatch.setattr(practice_gate, "_SHARED", {})
    first = _family(sample_copy)
    assert len(first) == 5 and any(frame["hidden"].any() for frame, _ in first.values())
    assert len(list((tmp_path / "kept").glob("*.npy"))) == 1
    monkeypatch.setattr(practice_gate, "_SHARED", {})

    def refuse(*args, **kwargs):
        raise AssertionError("the kept decision should have been read")

    monkeypatch.setattr(practice_gate, "_decide_family", refuse)
    _same(first, _family(sample_copy))


def test_a_kept_family_decision_showing_a_small_count_is_decided_again(
    sample_copy, tmp_path, monkeypatch
):
    monkeypatch.setenv(decision_store.ENV, str(tmp_path / "kept"))
    monkeypatch.setattr(practice_gate, "_SHARED", {})
    first = _family(sample_copy)
    (kept,) = (tmp_path / "kept").glob("*.npy")
    np.save(kept, np.zeros(len(np.load(kept)), bool))  # shows every count
    monkeypatch.setattr(practice_gate, "_SHARED", {})
    _same(first, _family(sample_copy))


def test_the_family_key_changes_with_the_counts_and_the_rollout(sample_copy):
    with open_warehouse(sample_copy) as wh:
        pending = practice_gate.read_family(wh, AREA, ("grade",))
    key = practice_gate._family_content_key(pending.cells, pending.rollout)
    cells = {m: frame.copy() for m, frame in pending.cells.items()}
    first = next(iter(cells))
    cells[first].loc[0, "successes"] += 1
    assert practice_gate._family_content_key(cells, pending.rollout) != key
    later = pending.rollout.assign(
        start_date=pd.to_datetime(pending.rollout["start_date"]) + pd.Timedelta(days=91)
    )
    assert practice_gate._family_content_key(pending.cells, later) != key
