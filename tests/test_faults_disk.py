"""A full disk during the pre-load backup, or at commit: one sentence, and nothing is lost.

The command line runs in a child process whose writes start failing at the named point
(`tests.faults.DISK_FILLS_AT`: the kernel's file-size limit, which DuckDB reports as a failed
write as it does a full disk). The dashboard's data door is driven in this process, with
DuckDB's own error for a full disk raised at the same two points.
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.load import ingest
from pipelines.store import backup
from pipelines.store.warehouse import Warehouse, WarehouseFullError
from tests.conftest import REPO
from tests.faults import DISK_FILLS_AT, first_quarter_loaded

TABLES = ["fct_outcomes", "hist_outcomes", "raw_uploads", "upload_issues", "int_outcome_periods"]


@pytest.fixture
def loaded(tmp_path):
    """A warehouse with areas, population and one quarter; the next quarter's file."""
    path, files = first_quarter_loaded(tmp_path, n_units=6, n_bands=4)
    return path, files[1]


def _state(path):
    with Warehouse(path, read_only=True) as wh:
        return wh.table_checksums(TABLES)


def _full_message(folder, what):
    return (
        f"The disk holding {folder} is full (or over its quota), so writing {what} failed and "
        "nothing was changed; free some space and run the command again."
    )


@pytest.mark.parametrize("step", ["backup", "commit"])
def test_the_command_line_says_the_disk_is_full_and_keeps_everything(loaded, step):
    path, next_file = loaded
    before = _state(path)
    env = {**os.environ, "RP_IMPACT_BACKUP_KEEP": "10" if step == "backup" else "0"}
    result = subprocess.run(
        [sys.executable, "-c", DISK_FILLS_AT, step, "--warehouse", str(path), "ingest"]
        + [str(next_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if step == "backup":
        expected = _full_message(backup.backup_dir(path), "the backup taken before loading")
    else:
        expected = _full_message(path.parent, "the warehouse")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"error: {expected}\n")
    assert _state(path) == before
    assert backup.list_backups(path) == []
    assert not list(backup.backup_dir(path).glob("partial-*"))
    # Once there is room again, the same file loads.
    with Warehouse(path) as wh:
        assert ingest.ingest_file(wh, next_file, backup=False).outcome == "loaded"


def _no_space(target: str) -> duckdb.TransactionException:
    """DuckDB's own error for a full disk (as seen on a full tmpfs)."""
    return duckdb.TransactionException(
        f'TransactionContext Error: Failed to commit: Could not write file "{target}": '
        "No space left on device"
    )


def test_the_upload_door_says_the_disk_is_full_during_the_backup(loaded, monkeypatch):
    from dashboard import data

    path, next_file = loaded
    before = _state(path)

    def full(cur, partial, alias):
        raise _no_space(f"{partial}.wal")

    monkeypatch.setattr(backup, "_copy_snapshot", full)
    wh = Warehouse(path, keep_open=False)
    with pytest.raises(WarehouseFullError) as caught:
        data.commit_upload(wh, next_file.name, next_file.read_bytes())
    assert str(caught.value) == _full_message(
        backup.backup_dir(path), "the backup taken before loading"
    )
    assert caught.value.viewer_message == (
        "The server's disk is full, so nothing was loaded and the data are as they were; ask "
        "an administrator to free some space and then commit again."
    )
    assert _state(path) == before and backup.list_backups(path) == []


def test_the_upload_door_says_the_disk_is_full_at_commit(loaded, monkeypatch):
    from dashboard import data

    path, next_file = loaded
    before = _state(path)

    def full(reached):
        if reached == "refresh":
            raise _no_space(f"{path}.wal")

    monkeypatch.setattr(ingest, "_reached", full)
    monkeypatch.setenv("RP_IMPACT_BACKUP_KEEP", "0")
    wh = Warehouse(path, keep_open=False)
    with pytest.raises(WarehouseFullError) as caught:
        data.commit_upload(wh, next_file.name, next_file.read_bytes())
    assert str(caught.value) == _full_message(path.parent, "the warehouse")
    assert _state(path) == before


def test_the_upload_page_shows_one_sentence_when_the_disk_is_full(loaded, monkeypatch, sign_in):
    from streamlit.testing.v1 import AppTest

    from dashboard import data

    path, next_file = loaded
    before = _state(path)
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))

    def full(cur, partial, alias):
        raise _no_space(f"{partial}.wal")

    monkeypatch.setattr(backup, "_copy_snapshot", full)
    data.clear_caches()
    at = sign_in(AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120))
    at.run()
    at.switch_page("views/upload.py").run()
    at.get("file_uploader")[0].set_value((next_file.name, next_file.read_bytes(), "text/csv"))
    at.run()
    at.button(key="commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [WarehouseFullError.viewer_message]
    assert _state(path) == before
