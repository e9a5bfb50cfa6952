"""Backups before every upload; restoring puts the warehouse back exactly, in one transaction."""

from __future__ import annotations

import os
import stat

import pytest

from pipelines.load.ingest import ingest_file
from pipelines.store import backup

HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"


def _quarter(month: int, value: int) -> str:
    return HEADER + f"2023-{month:02d}-28,E06999901,All,All,{value},7\n".replace("-28,", "-30,")


def _state(wh):
    tables = [*wh.data_tables(), "raw_uploads", "upload_issues"]
    return wh.table_checksums(tables)


def test_a_backup_is_taken_before_each_upload_and_restores_exactly(reference_wh, write_file):
    already = len(backup.list_backups(reference_wh.path))  # the fixture's own two uploads
    states, uploads = [], []
    for n, month in enumerate((4, 6, 9)):
        states.append(_state(reference_wh))
        uploads.append(ingest_file(reference_wh, write_file(f"q{n}.csv", _quarter(month, 10 + n))))
        assert any("Backup" in note for note in uploads[-1].notes)
    backups = backup.list_backups(reference_wh.path)
    assert len(backups) == already + 3 and all(b.reason == "before-upload" for b in backups)
    assert stat.S_IMODE(os.stat(backups[0].path).st_mode) == 0o600

    target = backup.find_backup(reference_wh.path, uploads[1].upload_id)
    assert target.max_upload_id < uploads[1].upload_id
    result = backup.restore(reference_wh, target)
    assert _state(reference_wh) == states[1]
    assert result.uploads_removed == 2
    assert reference_wh.integrity_problems() == []

    # The restore itself can be undone from the safety backup it took.
    backup.restore(reference_wh, result.safety_backup)
    assert reference_wh.query("SELECT count(*) AS n FROM fct_outcomes").n.iloc[0] == 3


def test_refused_files_and_dry_runs_take_no_backup(reference_wh, write_file):
    before = backup.list_backups(reference_wh.path)
    ingest_file(reference_wh, write_file("bad.csv", HEADER + "x,y,z\n"))
    ingest_file(reference_wh, write_file("q.csv", _quarter(4, 1)), dry_run=True)
    assert backup.list_backups(reference_wh.path) == before


def test_only_the_newest_are_kept(reference_wh, write_file, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_BACKUP_KEEP", "2")
    for n in range(4):
        ingest_file(reference_wh, write_file(f"q{n}.csv", _quarter(4, n + 1)))
    kept = backup.list_backups(reference_wh.path)
    assert len(kept) == 2 and kept[0].created_at > kept[1].created_at
    with pytest.raises(backup.BackupError, match="oldest backup kept is newer"):
        backup.find_backup(reference_wh.path, 1)


def test_backups_can_be_turned_off(reference_wh, write_file, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_BACKUP_KEEP", "0")
    before = backup.list_backups(reference_wh.path)
    ingest_file(reference_wh, write_file("q.csv", _quarter(4, 1)))
    assert backup.list_backups(reference_wh.path) == before


def test_a_half_written_backup_is_never_listed_and_is_cleaned_up(empty_wh):
    folder = backup.backup_dir(empty_wh.path)
    folder.mkdir(parents=True)
    (folder / "partial-20240101T000000000000-rp_backup_x.duckdb.partial").write_bytes(b"half")
    assert backup.list_backups(empty_wh.path) == []
    backup.take_backup(empty_wh)
    assert [p.name.startswith("backup-") for p in folder.iterdir()] == [True]


def test_a_backup_is_an_ordinary_duckdb_file(reference_wh):
    import duckdb

    taken = backup.take_backup(reference_wh, "manual")
    con = duckdb.connect(str(taken.path), read_only=True)
    assert con.execute("SELECT count(*) FROM fct_population").fetchone()[0] == 2
    con.close()


def test_unknown_backup(reference_wh):
    with pytest.raises(backup.BackupError, match="No backup called"):
        backup.find_backup(reference_wh.path, "nope")
