"""The only module that opens the DuckDB warehouse: `Warehouse` owns the connection, the
transactions, the migrations and the integrity checks (as datasette's `Database` does).

**Two ways to hold the file.** DuckDB lets one process write, or any number of processes read
(read-only), never both at once. The command line keeps one read-write connection for the
length of a command (`keep_open=True`, the default), and threads take a `cursor()` each. The
dashboard must not keep the file locked while it sits idle, or `rp-impact ingest` could never
run beside it, so it opens its warehouse with `keep_open=False`: nothing is open between
requests; each batch of reads opens a short read-only connection (`session()`), and only a
commit opens the writer (`session(write=True)`, which `transaction()` takes by itself). Threads
of the process share whichever connection is open; a writer waits for the readers to finish.

**Faults are sentences.** A busy file (another process holds the lock), a damaged file, and a
full disk each raise a `WarehouseError` subclass whose message says what happened and what to
do, and whose `viewer_message` says it without paths or process ids (for the dashboard). The
file is checked with DuckDB's own block checksums whenever it is opened in a new state
(`check_storage`): every column of every table is read, and each primary-key index is probed,
so a flipped byte, a truncated file or a zeroed block is found before anything is written.
"""

from __future__ import annotations

import errno
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import config
from pipelines.contracts import CONTRACTS
from pipelines.store import materialise, models


class WarehouseError(RuntimeError):
    """The warehouse is missing, from a newer version, damaged, busy, or out of disk space."""

    #: What the dashboard shows a viewer: no paths, no process ids.
    viewer_message = (
        "The data warehouse cannot be read just now; an administrator can run "
        "`rp-impact uploads` on the server to see why."
    )


class WarehouseBusyError(WarehouseError):
    """Another process has the warehouse open for writing."""

    viewer_message = (
        "The data warehouse is busy with another upload; wait a minute and reload the page."
    )

    def __init__(self, path: Path | str, attempts: int):
        self.path, self.attempts = Path(path), attempts
        super().__init__(
            f"Another process has the warehouse at {self.path} open for writing (another "
            f"upload, or the dashboard committing one); tried {_times(attempts)}. Wait for it "
            "to finish and run the command again, or use the dashboard's Upload page."
        )


class WarehouseCorruptError(WarehouseError):
    """DuckDB found a damaged block (checksum mismatch, truncated file, bad header)."""

    viewer_message = (
        "The data warehouse file is damaged, so nothing can be shown; an administrator can "
        "put back the newest backup with `rp-impact --role admin restore latest --yes`."
    )

    def __init__(self, path: Path | str):
        self.path = Path(path)
        super().__init__(
            f"The warehouse at {self.path} is damaged (DuckDB's checksums found a block that "
            "does not match, or the file is cut short), so nothing was read or changed; put "
            "back the newest good backup with `rp-impact --role admin restore latest --yes`, "
            "which keeps the damaged file aside."
        )


class WarehouseFullError(WarehouseError):
    """The disk ran out of space while writing the warehouse, its log or a backup."""

    viewer_message = (
        "The server's disk is full, so nothing was loaded and the data are as they were; ask "
        "an administrator to free some space and then commit again."
    )

    def __init__(self, path: Path | str, what: str = "the warehouse"):
        self.path = Path(path)
        super().__init__(
            f"The disk holding {self.path.parent} is full (or over its quota), so writing "
            f"{what} failed and nothing was changed; free some space and run the command again."
        )


def _times(attempts: int) -> str:
    return "once" if attempts == 1 else f"{attempts} times"


#: Words in DuckDB's errors that mean the file itself is damaged.
_CORRUPTION_MARKS = (
    "corrupt database file",
    "could not read enough bytes",
    "metadatareader",
    "not a valid duckdb database",
    "checksum",
    "data corruption",
)


#: The file system refused to grow a file: no space, over quota, or over a size limit.
_NO_ROOM = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "quota exceeded"}
_NO_ROOM[errno.EFBIG] = "file too large"


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _NO_ROOM:
        return True
    return any(words in str(exc).lower() for words in _NO_ROOM.values())


def warehouse_fault(
    exc: BaseException, path: Path | str, what: str = "the warehouse"
) -> WarehouseError | None:
    """The sentence for a storage fault behind `exc` (damaged file, full disk), else None."""
    if isinstance(exc, WarehouseError):
        return exc
    if is_disk_full(exc):
        return WarehouseFullError(path, what)
    if isinstance(exc, duckdb.Error) and any(m in str(exc).lower() for m in _CORRUPTION_MARKS):
        return WarehouseCorruptError(path)
    return None


def check_storage(cur: duckdb.DuckDBPyConnection, *, writable: bool) -> None:
    """Make DuckDB verify the checksum of every block the database uses; raise on a bad one.

    DuckDB checks a block's checksum whenever it reads it, and reads lazily, so opening a
    damaged file usually succeeds. This reads every column of every table (the data blocks)
    and probes each primary-key index (its blocks are read only when a key is looked up): by
    value for a one-column key, and, on a writable connection, by inserting an existing row in
    a transaction that is rolled back, which makes DuckDB look the whole key up.
    """
    database = cur.execute("SELECT current_database()").fetchone()[0]
    tables = [
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
            "AND schema_name = 'main' AND NOT temporary ORDER BY table_name",
            [database],
        ).fetchall()
    ]
    for table in tables:
        cur.execute(f'SELECT count(*), sum(hash(t)) FROM "{table}" t').fetchall()
    keys = cur.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = ? AND schema_name = 'main' AND constraint_type = 'PRIMARY KEY'",
        [database],
    ).fetchall()
    for table, columns in keys:
        if len(columns) == 1:
            column = f'"{columns[0]}"'
            cur.execute(
                f'SELECT count(*) FROM "{table}" WHERE {column} = '
                f'(SELECT min({column}) FROM "{table}")'
            ).fetchall()
        if writable:
            cur.execute("BEGIN TRANSACTION")
            try:
                cur.execute(f'INSERT INTO "{table}" SELECT * FROM "{table}" LIMIT 1')
            except duckdb.ConstraintException:
                pass  # the key was found in the index: its blocks read back intact
            finally:
                _rollback_quietly(cur)


def _rollback_quietly(cur: duckdb.DuckDBPyConnection) -> None:
    """Roll back, keeping the error that made us roll back (a failed commit has ended the
    transaction already, and a damaged file can refuse the rollback too)."""
    with suppress(duckdb.Error):
        cur.execute("ROLLBACK")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Callable[[], list[str]]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "uploads audit, facts and history", models.schema_v1),
    Migration(2, "DfE published statistics", models.dfe_tables),
    Migration(3, "materialised outcome coverage and series", materialise.coverage_tables),
    Migration(4, "outcome measures from the statutory returns", models.outcome_return_measures),
    Migration(5, "source files behind each upload", models.upload_sources_table),
    Migration(6, "recorded versions of the analysis plan", models.analysis_plan_table),
    Migration(7, "practice audits, family feedback and FGC outcomes", models.practice_tables),
)


def next_upload_id(cur: duckdb.DuckDBPyConnection) -> int:
    """The next audit id; call inside the write transaction that records the upload."""
    return int(cur.execute("SELECT coalesce(max(upload_id), 0) + 1 FROM raw_uploads").fetchone()[0])


def record_upload_row(
    cur: duckdb.DuckDBPyConnection,
    upload_id: int,
    *,
    file_name: str,
    sha256: str,
    dataset: str | None,
    n_rows: int,
    user: str,
    outcome: str,
    counts: tuple[int, int, int],
    n_warnings: int,
    n_errors: int,
    message: str,
    source: str,
) -> None:
    """Write one upload's audit row in `raw_uploads` (extracts and DfE imports alike).

    `counts` is (added, revised, unchanged). Call inside the write transaction of the load.
    """
    cur.execute(
        """INSERT INTO raw_uploads (upload_id, file_name, sha256, dataset, n_rows, user_name,
               uploaded_at, outcome, n_added, n_revised, n_unchanged, n_warnings, n_errors,
               message, source)
           VALUES (?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?)""",
        [upload_id, file_name, sha256, dataset, n_rows, user, outcome, *counts]
        + [n_warnings, n_errors, message, source],
    )


def schema_version_target() -> int:
    return MIGRATIONS[-1].version


def file_state(path: Path | str) -> tuple | None:
    """(inode, size, mtime) of the file and of its write-ahead log: any commit by any process
    changes it, and reading it opens nothing. None for an in-memory warehouse."""
    if str(path) == ":memory:":
        return None
    state = []
    for candidate in (Path(path), Path(f"{path}.wal")):
        try:
            info = candidate.stat()
        except FileNotFoundError:
            state.append(None)
        else:
            state.append((info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(state)


class Warehouse:
    """The warehouse file: held open by this process (`keep_open`), or opened per session."""

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        retries: int = 5,
        keep_open: bool = True,
        on_fault: Callable[[WarehouseError], None] | None = None,
    ):
        self.path = Path(path)
        self.read_only = read_only
        self.keep_open = keep_open
        self.retries = retries
        #: Called with the fault before it is raised from opening (the dashboard shows it).
        self.on_fault = on_fault
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._sessions = threading.Condition(threading.Lock())
        self._users = 0
        self._writers_waiting = 0
        self._mode: str | None = None  # "read" or "write" while a connection is open
        self._local = threading.local()
        self._checked_state: tuple | None = None
        self._version: tuple[tuple | None, str] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise WarehouseError(
                f"No warehouse at {self.path}. Build one with `rp-impact build` "
                "or load extracts with `rp-impact ingest`."
            )
        if keep_open:
            self._con = self._connect(write=not read_only)
            self._mode = "read" if read_only else "write"
            if not read_only:
                self._migrate()
        elif not read_only:
            self._prepare()

    # -- opening -----------------------------------------------------------------------------
    def _connect(
        self, *, write: bool, retries: int | None = None, report: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """Open the file, check its blocks if it changed since the last check, or raise a
        `WarehouseError` with the sentence for what went wrong (after telling `on_fault`)."""
        try:
            con = _connect_with_retry(
                self.path, read_only=not write, retries=self.retries if retries is None else retries
            )
            try:
                state = file_state(self.path)
                if state is not None and state != self._checked_state:
                    check_storage(con, writable=write)
                    self._checked_state = state
            except BaseException as exc:
                con.close()
                fault = warehouse_fault(exc, self.path)
                if fault is None:
                    raise
                raise fault from exc
            return con
        except WarehouseError as fault:
            if report and self.on_fault is not None:
                self.on_fault(fault)
            raise

    def _prepare(self) -> None:
        """On-demand mode: create or migrate the file once, with a short write connection.

        A fault here is not raised: busy means the command line is loading (and its own open
        has brought the views up to date), and a damaged file is reported, as one sentence,
        by the first read that opens it."""
        try:
            con = self._connect(write=True, retries=0, report=False)
        except WarehouseError:
            return
        with self._sessions:
            self._con, self._mode, self._users = con, "write", 1
        try:
            self._migrate()
        finally:
            self._release()

    # -- sessions (on-demand mode) -----------------------------------------------------------
    @contextmanager
    def session(self, write: bool = False) -> Iterator[Warehouse]:
        """Hold a connection for a batch of work: read-only, or the writer for `write`.

        With `keep_open` the connection is always open and this does nothing. Otherwise the
        first session opens the file and the last one to end closes it, so an idle process
        holds no lock. A session nested in one on the same thread shares it.
        """
        if self.keep_open:
            if write and self.read_only:
                raise WarehouseError("This warehouse was opened read-only; writes are not allowed.")
            yield self
            return
        depth = getattr(self._local, "depth", 0)
        if depth:
            if write and self._mode != "write":
                raise WarehouseError(
                    "A write cannot start inside a read of the warehouse on the same thread; "
                    "open the write session first."
                )
            self._local.depth = depth + 1
            try:
                yield self
            finally:
                self._local.depth = depth
            return
        self._acquire(write)
        self._local.depth = 1
        try:
            yield self
        finally:
            self._local.depth = 0
            self._release()

    def _acquire(self, write: bool) -> None:
        if write and self.read_only:
            raise WarehouseError("This warehouse was opened read-only; writes are not allowed.")
        with self._sessions:
            if write:
                self._writers_waiting += 1
                try:
                    while self._users and self._mode != "write":
                        self._sessions.wait()
                finally:
                    self._writers_waiting -= 1
            else:
                # A waiting writer goes first, so a stream of readers cannot starve a commit.
                while self._writers_waiting and self._mode != "write":
                    self._sessions.wait()
            if self._users == 0:
                try:
                    self._con = self._connect(write=write)
                finally:
                    # Readers held back for this writer may go on (or fail in their turn).
                    self._sessions.notify_all()
                self._mode = "write" if write else "read"
            self._users += 1

    def _release(self) -> None:
        with self._sessions:
            self._users -= 1
            if self._users == 0 and self._con is not None:
                con, self._con, self._mode = self._con, None, None
                try:
                    con.close()
                finally:
                    self._sessions.notify_all()

    # -- connection discipline -------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads).

        In on-demand mode a cursor taken outside a session opens one (the writer, unless the
        warehouse is read-only) that ends when the cursor is closed or dropped.
        """
        if self.keep_open or getattr(self._local, "depth", 0):
            with self._lock:
                return self._con.cursor()
        self._acquire(write=not self.read_only)
        try:
            with self._lock:
                cur = self._con.cursor()
        except BaseException:
            self._release()
            raise
        weakref.finalize(cur, self._release)
        return cur

    @contextmanager
    def transaction(
        self, cursor: duckdb.DuckDBPyConnection | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit if the block finishes, roll back if anything raises.

        Pass the cursor that holds TEMP staging tables to merge from them in the transaction.
        A commit that fails (a full disk, a damaged file) raises the `WarehouseError` that
        says so; DuckDB has rolled it back, so nothing of it is kept.
        """
        if self.read_only:
            raise WarehouseError("This warehouse was opened read-only; writes are not allowed.")
        with self.session(write=True), self._write_lock:
            if not self.keep_open and self._mode != "write":
                raise WarehouseError("A write needs the warehouse's write session.")
            cur = cursor if cursor is not None else self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException as exc:
                _rollback_quietly(cur)
                fault = warehouse_fault(exc, self.path)
                if fault is None or fault is exc:
                    raise
                raise fault from exc
            else:
                try:
                    cur.execute("COMMIT")
                except duckdb.Error as exc:
                    _rollback_quietly(cur)
                    fault = warehouse_fault(exc, self.path)
                    if fault is None:
                        raise
                    raise fault from exc
            finally:
                if cursor is None:
                    cur.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the write lock without a transaction (backups: no write may run meanwhile)."""
        with self.session(write=not self.read_only), self._write_lock:
            yield

    def query(self, sql: str, params: list | tuple | None = None):
        """Run a read query on a fresh cursor and return a pandas DataFrame."""
        with self.session():
            cur = self.cursor()
            try:
                return cur.execute(sql, params or []).df()
            finally:
                cur.close()

    def scalar(self, sql: str, params: list | tuple | None = None):
        """The first column of the first row of a read query (None when there is no row)."""
        with self.session():
            cur = self.cursor()
            try:
                row = cur.execute(sql, params or []).fetchone()
            finally:
                cur.close()
        return None if row is None else row[0]

    def close(self) -> None:
        with self._lock:
            if self.keep_open and self._con is not None:
                self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self.scalar("SELECT max(version) FROM meta_schema_version") or 0)

    def _migrate(self) -> None:
        cur = self.cursor()
        try:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS meta_schema_version ("
                "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
            )
        finally:
            cur.close()
        current = self.schema_version()
        if current > schema_version_target():
            raise WarehouseError(
                f"The warehouse at {self.path} has schema version {current}, newer than this "
                f"software understands ({schema_version_target()}). Upgrade rp-impact."
            )
        with self.transaction() as tx:
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.statements():
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO meta_schema_version VALUES (?, ?, now())",
                    [migration.version, migration.description],
                )
            # Views are recreated on every open, so a code change to a mart needs no
            # migration. The materialised tables (and `mart_outcome_rates` over them) are
            # built after the staging views they read and before the marts that read them.
            for statement in models.staging_views():
                tx.execute(statement)
            materialise.ensure_materialised(tx)
            for statement in models.marts() + models.dfe_marts():
                tx.execute(statement)

    # -- state -------------------------------------------------------------------------------
    def data_version(self) -> str:
        """Changes whenever an upload is committed: the cache key for everything read.

        In on-demand mode it is read again only when the file changed on disk, so asking
        (every page asks) opens nothing while the data stay the same.
        """
        state = None if self.keep_open else file_state(self.path)
        if state is not None and self._version is not None and self._version[0] == state:
            return self._version[1]
        with self.session():
            state = None if self.keep_open else file_state(self.path)
            cur = self.cursor()
            try:
                row = cur.execute(
                    "SELECT count(*), coalesce(max(upload_id), 0) FROM raw_uploads"
                ).fetchone()
            finally:
                cur.close()
            version = f"v{self.schema_version()}-u{row[1]}-n{row[0]}"
        if state is not None:
            self._version = (state, version)
        return version

    def data_tables(self) -> list[str]:
        names = []
        for contract in CONTRACTS.values():
            names += [contract.table, contract.history_table]
        return names

    def table_checksums(self, tables: list[str] | None = None) -> dict[str, tuple[int, int]]:
        """(row count, order-independent hash of every row) per table: equal means unchanged."""
        sums = {}
        with self.session():
            cur = self.cursor()
            try:
                for table in tables or self.data_tables():
                    count, digest = cur.execute(
                        f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} t"
                    ).fetchone()
                    sums[table] = (int(count), int(digest))
            finally:
                cur.close()
        return sums

    def integrity_problems(self) -> list[str]:
        """dbt-style data tests: every fact key is unique, every fact row has its upload, and
        every materialised table equals a recomputation from the facts."""
        with self.session():
            cur = self.cursor()
            try:
                return _integrity_problems(cur)
            finally:
                cur.close()


def _integrity_problems(cur: duckdb.DuckDBPyConnection) -> list[str]:
    problems: list[str] = []
    for contract in CONTRACTS.values():
        key = ", ".join(contract.key)
        dupes = cur.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM {contract.table} "
            f"GROUP BY {key} HAVING count(*) > 1)"
        ).fetchone()[0]
        if dupes:
            problems.append(f"{contract.table}: {dupes} duplicated keys")
        orphans = cur.execute(
            f"SELECT count(*) FROM {contract.table} f "
            "LEFT JOIN raw_uploads u USING (upload_id) WHERE u.upload_id IS NULL"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{contract.table}: {orphans} rows without a recorded upload")
    for table, definition in materialise.DEFINITIONS:
        stale = cur.execute(
            f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL "
            f"SELECT * FROM {definition}) UNION ALL (SELECT * FROM {definition} "
            f"EXCEPT ALL SELECT * FROM {table}))"
        ).fetchone()[0]
        if stale:
            problems.append(f"{table}: {stale} rows differ from the facts")
    return problems


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set lock" in text)


def _connect_with_retry(path: Path, *, read_only: bool, retries: int) -> duckdb.DuckDBPyConnection:
    delay = 0.2
    for attempt in range(1, retries + 2):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                fault = warehouse_fault(exc, path) or WarehouseError(
                    f"Could not open the warehouse at {path}: {str(exc).splitlines()[0]}"
                )
                raise fault from exc
            if attempt == retries + 1:
                raise WarehouseBusyError(path, attempt) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


_shared: dict[Path, Warehouse] = {}
_shared_lock = threading.Lock()


def open_warehouse(path: Path | str | None = None, *, read_only: bool = False) -> Warehouse:
    """Open (creating and migrating if needed) the warehouse at `path` or the configured one."""
    return Warehouse(Path(path) if path else config.warehouse_path(), read_only=read_only)


#: How long a dashboard read waits for a command-line load to finish before saying it is busy.
DASHBOARD_RETRIES = 4


def shared_warehouse(
    path: Path | str | None = None, on_fault: Callable[[WarehouseError], None] | None = None
) -> Warehouse:
    """The process-wide warehouse of a long-running process (the dashboard): opened per
    session, so it holds no lock while idle (`keep_open=False`)."""
    resolved = (Path(path) if path else config.warehouse_path()).resolve()
    with _shared_lock:
        if resolved not in _shared:
            _shared[resolved] = Warehouse(
                resolved, keep_open=False, retries=DASHBOARD_RETRIES, on_fault=on_fault
            )
        return _shared[resolved]


def in_use_by_another_process(path: Path | str) -> bool:
    """True while another process holds DuckDB's lock on the file (without opening it).

    Call it only while this process has no connection to the file: closing a descriptor drops
    every POSIX lock the process holds on that file, DuckDB's included."""
    import fcntl

    try:
        handle = os.open(str(path), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(handle, fcntl.LOCK_UN)
        return False
    finally:
        os.close(handle)
