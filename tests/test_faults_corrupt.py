"""A damaged warehouse (cut short, flipped bytes, a zeroed block, a bad header) gives one
sentence everywhere, never a traceback and never a blame on the uploaded file, and is left
exactly as it was; `restore latest --yes` puts back the newest good backup without opening it.
"""

from __future__ import annotations

import hashlib

import pytest

from pipelines.cli import main
from pipelines.load.ingest import ingest_file
from pipelines.store import backup
from pipelines.store.warehouse import Warehouse, WarehouseCorruptError
from tests.conftest import AREAS_CSV, POPULATION_CSV, REPO
from tests.faults import DAMAGE, block_count, damage, zero_block
from tests.kill_fixtures import write_files

TABLES = ["fct_outcomes", "fct_population", "raw_uploads", "upload_issues"]


@pytest.fixture
def damaged_setup(tmp_path, monkeypatch):
    """A warehouse of four uploads, a backup taken before the last, and the state it holds."""
    monkeypatch.setenv("RP_IMPACT_USERS", str(tmp_path / "users.toml"))
    path = tmp_path / "wh.duckdb"
    (tmp_path / "areas.csv").write_text(AREAS_CSV)
    (tmp_path / "population.csv").write_text(POPULATION_CSV)
    files = write_files(tmp_path, n_units=10, n_bands=5)
    with Warehouse(path) as wh:
        for file in (tmp_path / "areas.csv", tmp_path / "population.csv", files[0]):
            assert ingest_file(wh, file, backup=False).outcome == "loaded"
        before_last = wh.table_checksums(TABLES)
        assert ingest_file(wh, files[1]).outcome == "loaded"  # with its backup
    return path, files[2], before_last


def _cli(*argv: str) -> int:
    """`rp-impact ARGV` in this process: its exit code (commands exit through SystemExit too)."""
    try:
        return main(list(argv))
    except SystemExit as exc:
        return int(exc.code)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _corrupt_message(path):
    return (
        f"The warehouse at {path} is damaged (DuckDB's checksums found a block that does not "
        "match, or the file is cut short), so nothing was read or changed; put back the newest "
        "good backup with `rp-impact --role admin restore latest --yes`, which keeps the "
        "damaged file aside."
    )


@pytest.mark.parametrize("kind", DAMAGE)
def test_every_command_says_the_warehouse_is_damaged_and_leaves_it(damaged_setup, kind, capsys):
    path, new_file, _ = damaged_setup
    damage(path, kind)
    sha = _sha(path)
    for read_only in (False, True):
        with pytest.raises(WarehouseCorruptError) as caught:
            Warehouse(path, read_only=read_only)
        assert str(caught.value) == _corrupt_message(path)
    for command in (["uploads"], ["ingest", str(new_file)], ["validate", str(new_file)]):
        assert _cli("--warehouse", str(path), *command) == 1, command
        out, err = capsys.readouterr()
        # `validate` says nothing about the file: the fault is the warehouse's.
        assert (out, err) == ("", f"error: {_corrupt_message(path)}\n"), command
    assert _sha(path) == sha and not path.with_name(path.name + ".wal").exists()


def test_every_zeroed_block_is_noticed_on_open(damaged_setup):
    path, _, _ = damaged_setup
    pristine = path.read_bytes()
    blocks = block_count(path)
    unnoticed_read_only = []
    for block in range(blocks):
        path.write_bytes(pristine)
        zero_block(path, block)
        with pytest.raises(WarehouseCorruptError):
            Warehouse(path)  # the writer's check reads every block, key indexes included
        try:
            Warehouse(path, read_only=True).close()
        except WarehouseCorruptError:
            pass
        else:
            unnoticed_read_only.append(block)
    # A read-only connection cannot probe a key of several columns (DuckDB looks those up
    # only on insert); at most that one index block waits for the writer's check.
    assert blocks >= 10 and len(unnoticed_read_only) <= 1, unnoticed_read_only


@pytest.mark.parametrize("kind", DAMAGE)
def test_restore_latest_puts_back_the_newest_good_backup_and_keeps_the_damaged_file(
    damaged_setup, kind, capsys
):
    path, _, before_last = damaged_setup
    newest = backup.list_backups(path)[0]
    damage(path, kind)
    sha = _sha(path)
    assert _cli("--warehouse", str(path), "--role", "admin", "restore", "latest", "--yes") == 0
    out, err = capsys.readouterr()
    kept = [p for p in path.parent.iterdir() if p.name.startswith("wh.duckdb.damaged-")]
    assert len(kept) == 1 and _sha(kept[0]) == sha
    assert (out, err) == (
        f"Restored {newest.id} in place of a warehouse that could not be read. The damaged "
        f"file is kept as {kept[0]}.\n",
        "",
    )
    with Warehouse(path) as wh:
        assert wh.table_checksums(TABLES) == before_last
        assert wh.integrity_problems() == []


def test_latest_skips_a_damaged_backup(damaged_setup, capsys):
    path, _, _ = damaged_setup
    with Warehouse(path) as wh:
        older = backup.take_backup(wh, "manual")
        newer = backup.take_backup(wh, "manual")
    zero_block(newer.path, 1)
    assert backup.find_backup(path, "latest") == older
    damage(path, "zeroed block")
    assert _cli("--warehouse", str(path), "--role", "admin", "restore", newer.id, "--yes") == 1
    assert capsys.readouterr().err == (
        f"error: The backup {newer.id} is damaged: DuckDB's checksums found a bad block. "
        "Choose another with `rp-impact backups`.\n"
    )


def test_the_dashboard_shows_one_sentence_for_a_damaged_warehouse(damaged_setup, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from dashboard import data

    path, _, _ = damaged_setup
    damage(path, "zeroed block")
    sha = _sha(path)
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    data.clear_caches()
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [WarehouseCorruptError.viewer_message]
    assert _sha(path) == sha


def test_restore_says_busy_while_another_process_holds_the_damaged_file(
    damaged_setup, capsys, monkeypatch
):
    import subprocess
    import sys

    path, _, _ = damaged_setup
    monkeypatch.setenv("RP_IMPACT_BUSY_WAIT", "0")
    damage(path, "zeroed block")  # DuckDB opens it (it reads blocks lazily) and holds the lock
    sha = _sha(path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); sys.stdin.readline()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert _cli("--warehouse", str(path), "--role", "admin", "restore", "latest", "--yes") == 1
        with pytest.raises(backup.BackupError) as caught:  # nor is the file swapped under it
            backup.restore_file(path, backup.find_backup(path, "latest"))
        assert str(caught.value) == (
            f"Another process (the dashboard, or a command) has {path} open; stop it and run "
            "the restore again."
        )
    finally:
        holder.communicate("\n", timeout=30)
    assert capsys.readouterr().err == (
        f"error: Another process has the warehouse at {path} open for writing (another upload, "
        "or the dashboard committing one); tried once. Wait for it to finish and run the "
        "command again, or use the dashboard's Upload page.\n"
    )
    assert _sha(path) == sha
