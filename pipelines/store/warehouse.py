"""The only module that opens the DuckDB warehouse: `Warehouse` owns the connection, the
transactions, the migrations and the integrity checks (as datasette's `Database` does).

It follows the connection discipline DuckDB asks for: one read-write connection per process,
and a `cursor()` for each thread that uses it. Writes go through `pipelines.load.ingest` (and
`pipelines.load.dfe`) only, inside `Warehouse.transaction()`. What the schema holds is SQL
text from `pipelines.store.models` (tables from the contracts, views from `sql/*.sql`) and
`pipelines.store.materialise` (the `int_*` tables refreshed at ingest).

When another process holds the file (DuckDB allows one writer process), opening retries a few
times and then raises `WarehouseBusyError` with a message a person can act on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import config
from pipelines.contracts import CONTRACTS
from pipelines.store import materialise, models


class WarehouseBusyError(RuntimeError):
    """Another process has the warehouse open for writing."""


class WarehouseError(RuntimeError):
    """The warehouse is missing, from a newer version, or fails its integrity checks."""


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


class Warehouse:
    """One DuckDB connection for this process; threads take their own cursor."""

    def __init__(self, path: Path | str, *, read_only: bool = False, retries: int = 5):
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise WarehouseError(
                f"No warehouse at {self.path}. Build one with `rp-impact build` "
                "or load extracts with `rp-impact ingest`."
            )
        self._con = _connect_with_retry(self.path, read_only=read_only, retries=retries)
        if not read_only:
            self._migrate()

    # -- connection discipline -------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        with self._lock:
            return self._con.cursor()

    @contextmanager
    def transaction(
        self, cursor: duckdb.DuckDBPyConnection | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit if the block finishes, roll back if anything raises.

        Pass the cursor that holds TEMP staging tables to merge from them in the transaction.
        """
        if self.read_only:
            raise WarehouseError("This warehouse was opened read-only; writes are not allowed.")
        with self._write_lock:
            cur = cursor if cursor is not None else self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                if cursor is None:
                    cur.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the write lock without a transaction (backups: no write may run meanwhile)."""
        with self._write_lock:
            yield

    def query(self, sql: str, params: list | tuple | None = None):
        """Run a read query on a fresh cursor and return a pandas DataFrame."""
        cur = self.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        row = self.cursor().execute("SELECT max(version) FROM meta_schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self) -> None:
        cur = self.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS meta_schema_version ("
            "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
        )
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
        """Changes whenever an upload is committed: the cache key for everything read."""
        row = (
            self.cursor()
            .execute("SELECT count(*), coalesce(max(upload_id), 0) FROM raw_uploads")
            .fetchone()
        )
        return f"v{self.schema_version()}-u{row[1]}-n{row[0]}"

    def data_tables(self) -> list[str]:
        names = []
        for contract in CONTRACTS.values():
            names += [contract.table, contract.history_table]
        return names

    def table_checksums(self, tables: list[str] | None = None) -> dict[str, tuple[int, int]]:
        """(row count, order-independent hash of every row) per table: equal means unchanged."""
        cur = self.cursor()
        sums = {}
        for table in tables or self.data_tables():
            count, digest = cur.execute(
                f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} t"
            ).fetchone()
            sums[table] = (int(count), int(digest))
        return sums

    def integrity_problems(self) -> list[str]:
        """dbt-style data tests: every fact key is unique, every fact row has its upload, and
        every materialised table equals a recomputation from the facts."""
        problems: list[str] = []
        cur = self.cursor()
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


def _connect_with_retry(path: Path, *, read_only: bool, retries: int) -> duckdb.DuckDBPyConnection:
    delay = 0.2
    for attempt in range(retries + 1):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"Could not open the warehouse at {path}: {exc}") from exc
            if attempt == retries:
                raise WarehouseBusyError(
                    f"Another process has the warehouse at {path} open for writing (another "
                    "upload, or the dashboard). Tried {n} times. Wait for it to finish, or use "
                    "the dashboard's Upload page while it is running.".format(n=retries + 1)
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


_shared: dict[Path, Warehouse] = {}
_shared_lock = threading.Lock()


def open_warehouse(path: Path | str | None = None, *, read_only: bool = False) -> Warehouse:
    """Open (creating and migrating if needed) the warehouse at `path` or the configured one."""
    return Warehouse(Path(path) if path else config.warehouse_path(), read_only=read_only)


def shared_warehouse(path: Path | str | None = None) -> Warehouse:
    """The process-wide warehouse (one connection per process, as DuckDB asks)."""
    resolved = (Path(path) if path else config.warehouse_path()).resolve()
    with _shared_lock:
        if resolved not in _shared:
            _shared[resolved] = Warehouse(resolved)
        return _shared[resolved]
