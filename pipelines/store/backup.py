"""Point-in-time backups of the warehouse, and restoring one.

**How a backup is taken.** `ATTACH` a new DuckDB file and `COPY FROM DATABASE` the warehouse
into it, on a cursor of the process's own connection. The copy reads one MVCC snapshot, so it
is consistent even while other threads read or write, it needs no second process (DuckDB
allows one writer), and the result is a complete, ordinary DuckDB file that `duckdb` can open
by itself. It is written as `*.partial` and renamed only when complete, so a crash mid-backup
leaves no half-backup in the list (leftovers are removed by the next backup). We chose this over
`EXPORT DATABASE` (a folder of CSV/Parquet files plus SQL to re-run) because a single file is
simpler to keep, list, prune and protect, and restoring from it is one SQL transaction; and over
copying the file on disk because that needs the write lock of every process and a checkpoint,
and a copy taken at the wrong moment is silently inconsistent.

**When.** Before every committed upload from a person (any source but `sample`: the sample
build, refused files and dry runs take none), before every DfE import that changes the warehouse
(reason `before-dfe-import`; not the sample build's, nor a no-op's), and whenever `rp-impact
backup` runs (e.g. nightly from cron). The newest
`RP_IMPACT_BACKUP_KEEP` (default 10; 0 turns the automatic ones off) are kept in
`RP_IMPACT_BACKUP_DIR` (default `backups/` beside the warehouse), readable by the owner only:
a backup holds the same data as the warehouse and deserves the same protection.

**Restoring.** `restore()` first takes a backup of the current state (so a restore can itself be
undone), then, in ONE transaction on the open warehouse, replaces the contents of every table
with the backup's. Either every table is restored or none is. The backup must have the same
schema version as the warehouse.

**Restoring a damaged warehouse.** A warehouse DuckDB cannot read (`WarehouseCorruptError`) is
never opened: `restore_file()` checks the backup's own blocks, renames the damaged file (and its
write-ahead log) aside as `<name>.damaged-<time>` so nothing is deleted, and puts a copy of the
backup in its place with one `os.replace`. `find_backup(path, "latest")` is the newest backup
that passes that check.

**A full disk** during a backup removes the half-written copy and raises `WarehouseFullError`
before the upload is touched.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.store.warehouse import (
    Warehouse,
    WarehouseBusyError,
    WarehouseCorruptError,
    WarehouseError,
    check_storage,
    in_use_by_another_process,
    schema_version_target,
    warehouse_fault,
)

DEFAULT_KEEP = 10
_NAME_RE = re.compile(
    r"^backup-(?P<stamp>\d{8}T\d{6}\d{6})-u(?P<upload>\d+)-(?P<reason>[a-z0-9-]+)\.duckdb$"
)


# One backup at a time per process: threads share the connection and the backup folder. Another
# process cannot hold the warehouse at the same time (DuckDB's lock), so a partial file found
# while this lock is held is a leftover from a crash.
_BACKUP_LOCK = threading.Lock()


class BackupError(RuntimeError):
    """A backup could not be taken, found or restored; the message says why."""


@dataclass(frozen=True)
class Backup:
    id: str  # the file name without .duckdb
    path: Path
    created_at: dt.datetime
    max_upload_id: int  # the newest upload the backup holds
    reason: str
    size_bytes: int

    def describe(self) -> str:
        return (
            f"{self.id}: taken {self.created_at:%Y-%m-%d %H:%M:%S}, holds uploads up to "
            f"{self.max_upload_id} ({self.reason}, {self.size_bytes / 1e6:.1f} MB)"
        )


def keep_count() -> int:
    try:
        return max(0, int(os.environ.get("RP_IMPACT_BACKUP_KEEP", DEFAULT_KEEP)))
    except ValueError:
        return DEFAULT_KEEP


def backup_dir(warehouse_path: Path | str) -> Path:
    configured = os.environ.get("RP_IMPACT_BACKUP_DIR")
    if configured:
        return Path(configured).expanduser()
    path = Path(warehouse_path)
    return path.parent / "backups" / path.stem


def _parse(path: Path) -> Backup | None:
    match = _NAME_RE.match(path.name)
    if not match:
        return None
    return Backup(
        path.stem,
        path,
        dt.datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S%f"),
        int(match["upload"]),
        match["reason"],
        path.stat().st_size if path.exists() else 0,
    )


def list_backups(warehouse_path: Path | str) -> list[Backup]:
    """Complete backups, newest first."""
    folder = backup_dir(warehouse_path)
    if not folder.is_dir():
        return []
    found = [b for b in (_parse(p) for p in folder.glob("backup-*.duckdb")) if b]
    return sorted(found, key=lambda b: (b.created_at, b.max_upload_id), reverse=True)


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def take_backup(warehouse: Warehouse, reason: str = "manual", keep: int | None = None) -> Backup:
    """Copy the warehouse, as one consistent snapshot, into a new backup file."""
    with _BACKUP_LOCK:
        return _take_backup(warehouse, reason, keep)


def _copy_snapshot(cur, partial: Path, alias: str) -> int:
    """COPY the whole database into a new file; the caller holds the write lock."""
    database = cur.execute("SELECT current_database()").fetchone()[0]
    cur.execute(f"ATTACH {_quote_path(partial)} AS {alias}")
    try:
        cur.execute(f'COPY FROM DATABASE "{database}" TO {alias}')
        max_upload = cur.execute(
            f"SELECT coalesce(max(upload_id), 0) FROM {alias}.raw_uploads"
        ).fetchone()[0]
        # FORCE waits for statements running on other cursors (validation creates TEMP tables
        # outside the write lock) instead of failing; since DuckDB 1.4 it no longer aborts them.
        cur.execute(f"FORCE CHECKPOINT {alias}")
    finally:
        cur.execute(f"DETACH {alias}")
    return int(max_upload)


def _take_backup(warehouse: Warehouse, reason: str, keep: int | None) -> Backup:
    if str(warehouse.path) == ":memory:":
        raise BackupError("An in-memory warehouse cannot be backed up.")
    folder = backup_dir(warehouse.path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _remove_partials(folder)
    reason = re.sub(r"[^a-z0-9-]+", "-", reason.lower()).strip("-") or "manual"
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    alias = f"rp_backup_{secrets.token_hex(6)}"
    partial = folder / f"partial-{stamp}-{alias}.duckdb.partial"
    cur = warehouse.cursor()
    try:
        with warehouse.exclusive():
            max_upload = _copy_snapshot(cur, partial, alias)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        Path(str(partial) + ".wal").unlink(missing_ok=True)
        fault = warehouse_fault(exc, partial, "the backup taken before loading")
        if fault is None or fault is exc:
            raise
        raise fault from exc
    finally:
        cur.close()
    final = folder / f"backup-{stamp}-u{int(max_upload)}-{reason}.duckdb"
    os.chmod(partial, 0o600)
    os.replace(partial, final)
    Path(str(partial) + ".wal").unlink(missing_ok=True)
    prune(warehouse.path, keep_count() if keep is None else keep)
    backup = _parse(final)
    assert backup is not None
    return backup


def _remove_partials(folder: Path) -> None:
    for leftover in folder.glob("partial-*"):
        leftover.unlink(missing_ok=True)


def prune(warehouse_path: Path | str, keep: int) -> list[Backup]:
    """Delete all but the newest `keep` backups (keep <= 0 keeps them all); return the deleted."""
    if keep <= 0:
        return []
    removed = list_backups(warehouse_path)[keep:]
    for backup in removed:
        backup.path.unlink(missing_ok=True)
    return removed


def find_backup(warehouse_path: Path | str, target: str | int) -> Backup:
    """A backup by its id; for an upload id, the newest backup taken before that upload; for
    "latest", the newest backup whose blocks all read back intact (`backup_problem`)."""
    backups = list_backups(warehouse_path)
    text = str(target).strip()
    if text == "latest":
        for backup in backups:
            if backup_problem(backup) is None:
                return backup
        raise BackupError(
            f"No usable backup in {backup_dir(warehouse_path)}: "
            + ("there are none." if not backups else "every backup kept is damaged or too new.")
        )
    for backup in backups:
        if backup.id == text or backup.path.name == text:
            return backup
    if text.isdigit():
        upload_id = int(text)
        for backup in backups:
            if backup.max_upload_id < upload_id:
                return backup
        raise BackupError(
            f"No backup holds the warehouse as it was before upload {upload_id}: the oldest "
            "backup kept is newer. `rp-impact backups` lists the backups kept."
        )
    raise BackupError(f"No backup called '{text}'. `rp-impact backups` lists them.")


@dataclass(frozen=True)
class RestoreResult:
    restored: Backup
    safety_backup: Backup
    tables: int
    uploads_removed: int


def first_column(cur, sql: str, params: list) -> list:
    """The first column of every row ``sql`` returns, in order."""
    return [r[0] for r in cur.execute(sql, params).fetchall()]


def _tables(cur, database: str) -> list[str]:
    return first_column(
        cur,
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND NOT temporary ORDER BY table_name",
        [database],
    )


def table_columns(cur, table: str, database: str | None = None) -> list[str]:
    """The column names of a table or view in `database` (default: the current one), in order."""
    return first_column(
        cur,
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
        "AND database_name = coalesce(?, current_database()) ORDER BY column_index",
        [table, database],
    )


def restore(warehouse: Warehouse, backup: Backup) -> RestoreResult:
    """Put the warehouse back as it was in `backup`, in one transaction, after a safety backup."""
    if not backup.path.exists():
        raise BackupError(f"The backup file {backup.path} is missing.")
    alias = f"rp_restore_{secrets.token_hex(6)}"
    cur = warehouse.cursor()
    try:
        database = cur.execute("SELECT current_database()").fetchone()[0]
        cur.execute(f"ATTACH {_quote_path(backup.path)} AS {alias} (READ_ONLY)")
        try:
            theirs = cur.execute(f"SELECT max(version) FROM {alias}.meta_schema_version").fetchone()
            ours = warehouse.schema_version()
            if theirs[0] != ours:
                raise BackupError(
                    f"The backup has schema version {theirs[0]} and the warehouse {ours}; it "
                    "cannot be restored by this version of rp-impact."
                )
            tables = [t for t in _tables(cur, database) if t != "meta_schema_version"]
            missing = [t for t in tables if t not in _tables(cur, alias)]
            if missing:
                raise BackupError(f"The backup has no table(s) {', '.join(missing)}.")
            for table in tables:
                if table_columns(cur, table, database) != table_columns(cur, table, alias):
                    raise BackupError(f"The backup's table {table} has different columns.")
            before = cur.execute("SELECT count(*) FROM raw_uploads").fetchone()[0]
            safety = take_backup(warehouse, "before-restore", keep=0)
            with warehouse.transaction(cur) as tx:
                for table in tables:
                    tx.execute(f"DELETE FROM main.{table}")
                    tx.execute(f"INSERT INTO main.{table} SELECT * FROM {alias}.main.{table}")
            after = cur.execute("SELECT count(*) FROM raw_uploads").fetchone()[0]
        finally:
            cur.execute(f"DETACH {alias}")
    except WarehouseError:
        raise
    finally:
        cur.close()
    prune(warehouse.path, keep_count())
    return RestoreResult(backup, safety, len(tables), int(before) - int(after))


def backup_problem(backup: Backup) -> str | None:
    """Why the backup cannot be restored (damaged, or from a newer rp-impact), or None."""
    try:
        con = duckdb.connect(str(backup.path), read_only=True)
    except duckdb.Error:
        return f"The backup {backup.id} cannot be opened: it is damaged."
    try:
        check_storage(con, writable=False)
        version = con.execute("SELECT max(version) FROM meta_schema_version").fetchone()[0]
    except duckdb.Error:
        return f"The backup {backup.id} is damaged: DuckDB's checksums found a bad block."
    finally:
        con.close()
    if int(version or 0) > schema_version_target():
        return (
            f"The backup {backup.id} has schema version {version}, newer than this rp-impact "
            f"understands ({schema_version_target()})."
        )
    return None


@dataclass(frozen=True)
class FileRestoreResult:
    restored: Backup
    #: Where the damaged warehouse file was moved to (None when there was no file).
    damaged: Path | None


def restore_file(warehouse_path: Path | str, backup: Backup) -> FileRestoreResult:
    """Put a copy of `backup` in place of a warehouse that cannot be opened, without opening it.

    The damaged file and its write-ahead log are renamed aside, never deleted. Refused (with
    `BackupError`) when the backup is damaged itself, or while another process holds the file.
    """
    target = Path(warehouse_path)
    if not backup.path.exists():
        raise BackupError(f"The backup file {backup.path} is missing.")
    problem = backup_problem(backup)
    if problem:
        raise BackupError(f"{problem} Choose another with `rp-impact backups`.")
    if in_use_by_another_process(target):
        raise BackupError(
            f"Another process (the dashboard, or a command) has {target} open; stop it and run "
            "the restore again."
        )
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    incoming = target.with_name(f".{target.name}.restoring-{secrets.token_hex(4)}")
    try:
        with backup.path.open("rb") as source, incoming.open("wb") as copy:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
            copy.flush()
            os.fsync(copy.fileno())
    except OSError as exc:
        incoming.unlink(missing_ok=True)
        fault = warehouse_fault(exc, target, "the restored copy")
        raise (fault or BackupError(f"Could not copy the backup: {exc.strerror}.")) from exc
    damaged = None
    if target.exists():
        damaged = target.with_name(f"{target.name}.damaged-{stamp}")
        os.chmod(incoming, os.stat(target).st_mode & 0o777)
        os.replace(target, damaged)
    log = Path(f"{target}.wal")
    if log.exists():
        aside = Path(f"{damaged}.wal") if damaged else log.with_name(f"{log.name}.damaged-{stamp}")
        os.replace(log, aside)
    os.replace(incoming, target)
    return FileRestoreResult(backup, damaged)


def restore_at(
    warehouse_path: Path | str, backup: Backup, open_writer: Callable[[], Warehouse]
) -> str:
    """Restore `backup` into the warehouse at `warehouse_path` and say what was done.

    A warehouse that opens is restored in one transaction (`restore`, on `open_writer()`); one
    that DuckDB finds damaged, or a missing file, is replaced by the backup's copy without
    being opened (`restore_file`), and the damaged file is kept.
    """
    path = Path(warehouse_path)
    damaged = not path.exists()
    if not damaged:
        try:
            Warehouse(path, retries=0).close()
        except WarehouseCorruptError:
            damaged = True
        except WarehouseBusyError:
            pass  # `open_writer` waits for the other process, as every command does
    if damaged:
        moved = restore_file(path, backup).damaged
        kept = f" The damaged file is kept as {moved}." if moved else ""
        return f"Restored {backup.id} in place of a warehouse that could not be read.{kept}"
    with open_writer() as wh:
        result = restore(wh, backup)
    return (
        f"Restored {backup.id}: {result.tables} tables; {result.uploads_removed} audit rows "
        f"removed. The state before the restore is in {result.safety_backup.id}."
    )
