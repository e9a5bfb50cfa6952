"""The one writer: validated, atomic, idempotent loading of extracts into the warehouse.

For each file: hash it; if the same bytes were loaded before, say so and change nothing.
Otherwise validate it (`pipelines.load.validate`), and if it has no errors merge it in ONE
transaction: rows whose values changed are copied to `hist_<dataset>` (the revision history)
before being updated, new rows are inserted, and the upload is recorded in `raw_uploads` with
its warnings in `upload_issues`. If anything fails, the transaction rolls back and nothing is
written. A refused file is recorded in the audit log with its errors, and no data changes.

The dashboard's Upload page, the CLI and the tests all call these functions.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines import auth, config
from pipelines.contracts import CONTRACTS, LOAD_ORDER, Contract
from pipelines.load.readers import safe_display_name, sha256_of
from pipelines.load.validate import STAGE_TABLE, HasIssues, Issue, validate_file
from pipelines.store.materialise import (
    outcome_source_grains,
    refresh_outcome_coverage,
    refresh_outcome_periods,
)
from pipelines.store.warehouse import (
    Warehouse,
    next_upload_id,
    record_upload_row,
    warehouse_fault,
)


@dataclass
class IngestResult(HasIssues):
    file_name: str
    sha256: str
    dataset: str | None
    outcome: str  # loaded | no-op | refused | valid (dry run)
    n_rows: int = 0
    n_added: int = 0
    n_revised: int = 0
    n_unchanged: int = 0
    issues: list[Issue] = field(default_factory=list)
    upload_id: int | None = None
    notes: list[str] = field(default_factory=list)
    #: A dry run asked for `preview_rows`: the rows it would add or revise (`preview_changes`).
    preview: pd.DataFrame | None = None
    #: For a no-op: when the identical file was loaded (as upload `upload_id`).
    loaded_at: dt.datetime | None = None

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"

    def summary(self) -> str:
        if self.outcome == "refused":
            return (
                f"{self.file_name}: refused with {len(self.errors)} error(s); nothing was loaded."
            )
        if self.outcome == "no-op":
            when = "" if self.loaded_at is None else f" on {_when(self.loaded_at)}"
            upload = "" if self.upload_id is None else f" as upload {self.upload_id}{when}"
            return f"{self.file_name}: already loaded{upload} (identical file); nothing changed."
        verb = "would add" if self.outcome == "valid" else "added"
        revised = "would revise" if self.outcome == "valid" else "revised"
        text = (
            f"{self.file_name}: {self.dataset}, {self.n_rows} rows: {self.n_added} {verb}, "
            f"{self.n_revised} {revised}, {self.n_unchanged} unchanged"
        )
        if self.warnings:
            text += f"; {len(self.warnings)} warning(s)"
        return text + "."


def _when(moment: dt.datetime) -> str:
    return f"{moment.day} {moment:%B %Y at %H:%M}"


def not_ready_message(results: Sequence[IngestResult]) -> str | None:
    """What to say when checked files leave nothing to commit, or None when one is ready.

    A file that is already loaded is not an error to fix: it is named as loaded, with its
    upload, and only refused files are sent back to their errors.
    """
    if not results or any(r.outcome == "valid" for r in results):
        return None
    loaded = [r for r in results if r.outcome == "no-op"]
    refused = [r for r in results if r.outcome != "no-op"]
    said = []
    if loaded:
        said.append(" ".join(r.summary() for r in loaded))
    if refused:
        names = ", ".join(r.file_name for r in refused)
        said.append(f"Fix the errors shown above for {names}, or choose other files.")
    elif len(loaded) == len(results):
        said.append("There is nothing new to commit.")
    return " ".join(said)


#: The collections a source file may come from (`UploadSource.collection`).
SOURCE_COLLECTIONS = ("ssda903", "cin")


@dataclass(frozen=True)
class UploadSource:
    """A file the uploaded extract was computed from (an SSDA903 or CIN census return), as
    the audit records it in `upload_sources`: its name, hash, collection, collection year (the
    31 March it ends) and row count. Never a row of its content, never an identifier."""

    file_name: str
    sha256: str
    collection: str  # "ssda903" | "cin"
    collection_year: int | None = None
    n_rows: int = 0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", str(self.sha256)):
            raise ValueError("UploadSource.sha256 must be a file's SHA-256 (64 hex digits).")
        if self.collection not in SOURCE_COLLECTIONS:
            raise ValueError(
                f"UploadSource.collection must be one of {', '.join(SOURCE_COLLECTIONS)}."
            )
        try:  # numpy integers are accepted and stored as int
            year = None if self.collection_year is None else operator.index(self.collection_year)
            n_rows = operator.index(self.n_rows)
        except TypeError:
            raise ValueError("UploadSource.collection_year and n_rows are whole numbers.") from None
        if year is not None and not 1990 <= year <= 2100:
            raise ValueError("UploadSource.collection_year is the year its 31 March falls in.")
        if n_rows < 0 or isinstance(self.n_rows, bool):
            raise ValueError("UploadSource.n_rows is the file's row count, 0 or more.")
        object.__setattr__(self, "collection_year", year)
        object.__setattr__(self, "n_rows", n_rows)


def _record_sources(cur, upload_id: int, sources: Sequence[UploadSource]) -> None:
    if not sources:
        return
    cur.executemany(
        "INSERT INTO upload_sources (upload_id, file_name, sha256, collection, "
        "collection_year, n_rows) VALUES (?, ?, ?, ?, ?, ?)",
        [
            [
                upload_id,
                safe_display_name(s.file_name, default="return"),
                s.sha256,
                s.collection,
                s.collection_year,
                s.n_rows,
            ]
            for s in sources
        ],
    )


# Uploads of these datasets change the materialised outcome periods (counts, or populations).
OUTCOME_PERIOD_INPUTS = ("outcomes", "population")


def _reached(step: str) -> None:
    """A named point in a load: "history", "update" and "insert" in the merge, "refresh" after
    the materialised tables. It does nothing; tests replace it (`tests/faults.py`) to fail at
    that point and prove that the transaction leaves the warehouse unchanged."""


def _key_join(contract: Contract, left: str = "s", right: str = "f") -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in contract.key)


def _merged_columns(contract: Contract, cur: duckdb.DuckDBPyConnection) -> list[str]:
    staged = {r[0] for r in cur.execute(f"DESCRIBE {STAGE_TABLE}").fetchall()}
    columns = []
    for name in contract.value_columns:
        if name in staged:
            columns.append(name)
            if f"{name}_null_reason" in staged:
                columns.append(f"{name}_null_reason")
    return columns


def _diff_condition(columns: list[str]) -> str:
    return " OR ".join(f"s.{c} IS DISTINCT FROM f.{c}" for c in columns) or "false"


def _staged_range(cur, contract: Contract) -> tuple[str, list]:
    """A condition on facts `f` that holds for every fact a staged row can match: its period
    (or year) range. Each upload's rows are appended together and uploads arrive a period
    range at a time, so DuckDB's zone maps skip the row groups outside the range, and joining
    a quarter against the facts costs about the same however many years they hold."""
    for column in ("period_end", "year"):
        if column in contract.key:
            low, high = cur.execute(
                f"SELECT min({column}), max({column}) FROM {STAGE_TABLE}"
            ).fetchone()
            return f"f.{column} BETWEEN ? AND ?", [low, high]
    return "TRUE", []


def _preview_counts(cur, contract: Contract, columns: list[str]) -> tuple[int, int, int]:
    join = _key_join(contract)
    in_range, params = _staged_range(cur, contract)
    row = cur.execute(
        f"""SELECT count(*) FILTER (WHERE f.{contract.key[0]} IS NULL),
                   count(*) FILTER (WHERE f.{contract.key[0]} IS NOT NULL
                                    AND ({_diff_condition(columns)})),
                   count(*) FILTER (WHERE f.{contract.key[0]} IS NOT NULL
                                    AND NOT ({_diff_condition(columns)}))
            FROM {STAGE_TABLE} s
            LEFT JOIN (SELECT * FROM {contract.table} f WHERE {in_range}) f ON {join}""",
        params,
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def preview_changes(cur, contract: Contract, limit: int = 200):
    """Rows the staged file would add or revise, with old and new values, as a DataFrame."""
    columns = _merged_columns(contract, cur)
    join = _key_join(contract)
    in_range, params = _staged_range(cur, contract)
    keys = ", ".join(f"s.{k}" for k in contract.key)
    pairs = ", ".join(f"f.{c} AS {c}_before, s.{c} AS {c}_after" for c in columns)
    return cur.execute(
        f"""SELECT CASE WHEN f.{contract.key[0]} IS NULL THEN 'add' ELSE 'revise' END AS change,
                   s._row AS row, {keys}, {pairs}
            FROM {STAGE_TABLE} s
            LEFT JOIN (SELECT * FROM {contract.table} f WHERE {in_range}) f ON {join}
            WHERE f.{contract.key[0]} IS NULL OR ({_diff_condition(columns)})
            ORDER BY s._row LIMIT {int(limit)}""",
        params,
    ).df()


def _already_loaded(cur, sha: str) -> tuple[int, dt.datetime] | None:
    """The latest upload that loaded these exact bytes, and when, or None."""
    row = cur.execute(
        "SELECT upload_id, uploaded_at FROM raw_uploads WHERE sha256 = ? AND outcome = 'loaded' "
        # The same bytes imported as DfE statistics are not an extract loaded before.
        "AND source <> 'dfe' ORDER BY upload_id DESC LIMIT 1",
        [sha],
    ).fetchone()
    return None if row is None else (int(row[0]), row[1])


def _record_upload(
    cur,
    result: IngestResult,
    user: str,
    source: str,
    report_rows: int,
    sources: Sequence[UploadSource] = (),
) -> int:
    upload_id = next_upload_id(cur)
    record_upload_row(
        cur,
        upload_id,
        file_name=result.file_name,
        sha256=result.sha256,
        dataset=result.dataset,
        n_rows=report_rows,
        user=user,
        outcome=result.outcome,
        counts=(result.n_added, result.n_revised, result.n_unchanged),
        n_warnings=len(result.warnings),
        n_errors=len(result.errors),
        message=result.summary(),
        source=source,
    )
    if result.issues:
        # One statement for all of them: executemany runs one insert per issue (0.2 s for the
        # 343 warnings of a national quarterly extract).
        issues = result.issues
        cur.execute(
            """INSERT INTO upload_issues
               SELECT ?, unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]),
                      unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),
                      unnest(?::VARCHAR[])""",
            [
                upload_id,
                _texts(i.severity for i in issues),
                [None if i.row is None else int(i.row) for i in issues],
                _texts(i.column for i in issues),
                _texts(i.value for i in issues),
                _texts(i.rule for i in issues),
                _texts(i.message for i in issues),
                _texts(i.hint for i in issues),
            ],
        )
    _record_sources(cur, upload_id, sources)
    return upload_id


def _texts(values) -> list[str | None]:
    return [None if v is None else str(v) for v in values]


def _merge(
    cur,
    contract: Contract,
    columns: list[str],
    upload_id: int,
    counts: tuple[int, int, int],
):
    """Apply the staged rows, given their `_preview_counts` taken in the same transaction:
    with nothing revised the history and update joins are skipped, and when every row is new
    they are inserted without the join against the facts."""
    n_added, n_revised, n_unchanged = counts
    join = _key_join(contract)
    diff = _diff_condition(columns)
    in_range, range_params = _staged_range(cur, contract)
    now = dt.datetime.now().replace(microsecond=0)
    if n_revised:
        cur.execute(
            f"""INSERT INTO {contract.history_table}
                SELECT f.*, ?, ? FROM {contract.table} f
                WHERE {in_range}
                  AND EXISTS (SELECT 1 FROM {STAGE_TABLE} s WHERE {join} AND ({diff}))""",
            [upload_id, now, *range_params],
        )
    _reached("history")
    if n_revised:
        assignments = ", ".join(f"{c} = s.{c}" for c in columns)
        cur.execute(
            f"""UPDATE {contract.table} f SET {assignments}, upload_id = ?, loaded_at = ?
                FROM {STAGE_TABLE} s WHERE {join} AND ({diff}) AND {in_range}""",
            [upload_id, now, *range_params],
        )
    _reached("update")
    staged = _staged_names(cur)
    insert_columns = list(contract.key) + columns
    insert_columns += [
        name for name in contract.column_names if name not in insert_columns and name in staged
    ]
    names = ", ".join(insert_columns)
    if n_added:
        new_only, params = "", [upload_id, now]
        if n_revised or n_unchanged:
            new_only = (
                f"WHERE NOT EXISTS (SELECT 1 FROM {contract.table} f WHERE {in_range} AND {join})"
            )
            params += range_params
        cur.execute(
            f"""INSERT INTO {contract.table} ({names}, upload_id, loaded_at)
                SELECT {", ".join(f"s.{c}" for c in insert_columns)}, ?, ? FROM {STAGE_TABLE} s
                {new_only}""",
            params,
        )
    _reached("insert")


def _staged_names(cur) -> set[str]:
    return {r[0] for r in cur.execute(f"DESCRIBE {STAGE_TABLE}").fetchall()}


def ingest_file(
    warehouse: Warehouse,
    path: Path | str,
    *,
    user: str | None = None,
    dataset: str | None = None,
    display_name: str | None = None,
    source: str = "upload",
    dry_run: bool = False,
    role: str | None = None,
    allow_columns: Iterable[str] = (),
    demo: bool = False,
    backup: bool | None = None,
    preview_rows: int = 0,
    sources: Sequence[UploadSource] = (),
) -> IngestResult:
    """Validate and (unless `dry_run`) load one file. Never half-applies a file.

    `sources` are the files the extract was computed from (a returns import's SSDA903 or CIN
    census files): recorded in `upload_sources` in the transaction that records the upload,
    loaded or refused, so they are rolled back with a failed load.

    A dry run with `preview_rows` also lists up to that many rows it would add or revise
    (`IngestResult.preview`), from the same staging as the checks.

    `role` (viewer, analyst, admin), when given, is checked first: a role that may not upload
    (or validate, for a dry run) gets `PermissionError`. `allow_columns` lets named columns past
    the identifiable-data guard and needs the admin role; the override is audited. `demo`
    accepts only the sample's own files (recorded as source 'sample'), so a demo warehouse never
    holds other data. `backup` (default: for uploads from people, when backups are kept) takes
    a point-in-time copy of the warehouse just before the load commits (`pipelines.store.backup`);
    the sample build (source 'sample') takes none.

    The file is only ever read; its name is reduced to a safe base name for display and audit.
    Any failure to read or check the file is reported as a refusal, never raised.
    """
    allow_columns = tuple(a for a in allow_columns if str(a).strip())
    sources = tuple(sources)
    if not all(isinstance(s, UploadSource) for s in sources):
        raise TypeError("ingest_file(sources=...) takes UploadSource records.")
    if role is not None:
        auth.require(role, "validate" if dry_run else "upload")
    if allow_columns:
        auth.require(role, "allow_column")
    user = user or config.current_user()
    path = Path(path)
    name = safe_display_name(display_name or path.name)
    try:
        sha = sha256_of(path) if path.is_file() else ""
    except OSError:
        sha = ""
    if demo:
        if sha not in auth.sample_file_hashes():
            return IngestResult(
                name,
                sha,
                dataset,
                "refused",
                issues=[
                    Issue.refusal(
                        name,
                        "demo_mode",
                        "Demo mode accepts only the sample's own extract files (for example "
                        "data/sample/unloaded/); nothing was read or recorded.",
                        "Sign in to a configured rp-impact to load your own data.",
                    )
                ],
            )
        source = "sample"
    cur = warehouse.cursor()
    try:
        previous = _already_loaded(cur, sha) if sha else None
        if previous is not None:
            return IngestResult(
                name, sha, dataset, "no-op", upload_id=previous[0], loaded_at=previous[1]
            )
        try:
            report, _ = validate_file(
                path, cur, dataset=dataset, display_name=name, allow_columns=allow_columns
            )
        except Exception as exc:  # a file must be refused, never crash the caller
            # ...unless the warehouse failed (a damaged block, a full disk): not the file's fault.
            if (fault := warehouse_fault(exc, warehouse.path)) is not None:
                raise fault from exc
            report = _internal_failure(name, exc)
        result = IngestResult(
            name, sha, report.dataset, "refused", n_rows=report.n_rows, issues=report.issues
        )
        result.notes = list(report.notes)
        if not report.ok:
            if not dry_run and not warehouse.read_only:
                with warehouse.transaction() as tx:
                    result.upload_id = _record_upload(
                        tx, result, user, source, report.n_rows, sources
                    )
            return result
        contract = CONTRACTS[report.dataset]
        columns = _merged_columns(contract, cur)
        if dry_run:
            result.n_added, result.n_revised, result.n_unchanged = _preview_counts(
                cur, contract, columns
            )
            if preview_rows:  # from the same staging, so the file is validated only once
                result.preview = preview_changes(cur, contract, limit=preview_rows)
            result.outcome = "valid"
            return result
        if backup is None:
            from pipelines.store import backup as backups

            backup = source != "sample" and backups.keep_count() > 0
        if backup and str(warehouse.path) != ":memory:":
            from pipelines.store import backup as backups

            taken = backups.take_backup(warehouse, "before-upload")
            result.notes.append(f"Backup {taken.id} taken before loading.")
        result.outcome = "loaded"
        with warehouse.transaction(cur) as tx:
            # Counted under the write lock, so the merge acts on exactly the rows it reports.
            counts = _preview_counts(tx, contract, columns)
            result.n_added, result.n_revised, result.n_unchanged = counts
            result.upload_id = _record_upload(tx, result, user, source, report.n_rows, sources)
            areas = [
                r[0] for r in tx.execute(f"SELECT DISTINCT area_code FROM {STAGE_TABLE}").fetchall()
            ]
            outcomes = contract.dataset == "outcomes"
            grains_before = outcome_source_grains(tx, areas) if outcomes else {}
            _merge(tx, contract, columns, result.upload_id, counts)
            if outcomes:
                first, last = tx.execute(
                    f"SELECT min(period_end), max(period_end) FROM {STAGE_TABLE}"
                ).fetchone()
                refresh_outcome_coverage(tx, areas, first, last)
                grains_after = outcome_source_grains(tx, areas)
                # An area that switched between quarterly and monthly rows is rolled up anew.
                regrained = [
                    a
                    for a in areas
                    if grains_before.get(a, grains_after.get(a)) != grains_after.get(a)
                ]
                refresh_outcome_periods(tx, regrained)
                refresh_outcome_periods(tx, [a for a in areas if a not in regrained], first, last)
            elif contract.dataset == "population":  # a population changes every period's rate
                refresh_outcome_periods(tx, areas)
            if outcomes or contract.dataset == "rollout":
                # The verdicts rest on these figures: record the plan in force for each area
                # in the same transaction, so a plan changed after its fixed date is visible.
                from pipelines.load.plan_record import record_plan_in

                for area in sorted(areas):
                    record_plan_in(tx, area, user)
            _reached("refresh")
        return result
    finally:
        for table in (STAGE_TABLE, "raw_extract", "_area_lookup"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.close()


def _internal_failure(name: str, exc: BaseException):
    """A refusal for a file that broke the checker itself; never quotes the file's content."""
    from pipelines.load.validate import ValidationReport

    report = ValidationReport(name, None)
    report.issues.append(
        Issue.refusal(
            name,
            "unreadable",
            f"the file could not be checked ({type(exc).__name__}); nothing was loaded.",
            "Check that it is a CSV or XLSX extract made from the template. If it is, please "
            "report this.",
        )
    )
    return report


@dataclass
class DeleteResult:
    upload_id: int
    dataset: str
    n_removed: int
    n_restored: int
    #: For a DfE import: how many removed figures an earlier release gives again.
    n_earlier_release: int = 0

    def summary(self) -> str:
        if self.dataset.startswith("dfe:"):
            removed = "1 figure was" if self.n_removed == 1 else f"{self.n_removed} figures were"
            restored = "1 figure" if self.n_restored == 1 else f"{self.n_restored} figures"
            earlier = ""
            if self.n_earlier_release:
                verb = "is" if self.n_earlier_release == 1 else "are"
                earlier = (
                    f" {self.n_earlier_release} of the removed figures {verb} given by an "
                    "earlier release again."
                )
            return (
                f"Upload {self.upload_id} ({self.dataset}) deleted: its {removed} removed and "
                f"{restored} it had replaced {'is' if self.n_restored == 1 else 'are'} current "
                f"again.{earlier} The audit log keeps the upload, marked deleted, and the file "
                "can be imported again."
            )
        return (
            f"Upload {self.upload_id} ({self.dataset}) deleted: {self.n_removed} rows it added "
            f"were removed and {self.n_restored} rows it had revised went back to their earlier "
            "values. The audit log keeps the upload, marked deleted."
        )


def describe_upload(warehouse: Warehouse, upload_id: int) -> str:
    """One line naming an upload (what `delete-upload` would take out), or why it cannot be."""
    found = warehouse.query(
        "SELECT file_name, dataset, outcome, uploaded_at, user_name FROM raw_uploads "
        "WHERE upload_id = ?",
        [int(upload_id)],
    )
    if found.empty:
        return f"There is no upload {upload_id}."
    row = found.iloc[0]
    return (
        f"Upload {upload_id}: {row.file_name} ({row.dataset}), {row.outcome} by {row.user_name} "
        f"on {_when(row.uploaded_at)}."
    )


def delete_upload(
    warehouse: Warehouse, upload_id: int, *, role: str | None, user: str | None = None
) -> DeleteResult:
    """Take an upload's figures out of the warehouse (admin only), in one transaction.

    Rows it added are removed; rows it revised get back the values it superseded (from the
    history); its own superseded values leave the history, and what they superseded now points
    at the later revision. The audit row stays, with outcome 'deleted' and who deleted it, so
    the same file can be loaded again later. A DfE import is taken out the same way
    (`pipelines.load.dfe.delete_figures`): where an earlier release publishes the same
    figure, it is current again.
    """
    auth.require(role, "delete_upload")
    user = user or config.current_user()
    with warehouse.transaction() as tx:
        row = tx.execute(
            "SELECT outcome, dataset FROM raw_uploads WHERE upload_id = ?", [int(upload_id)]
        ).fetchone()
        if row is None:
            raise ValueError(f"There is no upload {upload_id}.")
        outcome, dataset = row
        if outcome != "loaded":
            raise ValueError(f"Upload {upload_id} is '{outcome}', not loaded: nothing to delete.")
        if str(dataset).startswith("dfe:"):
            counts = _delete_dfe(tx, int(upload_id))
            _mark_deleted(tx, int(upload_id), user)
            return DeleteResult(int(upload_id), dataset, *counts)
        if dataset not in CONTRACTS:
            raise ValueError(
                f"Upload {upload_id} is {dataset}; only extracts and DfE imports can be deleted "
                "here. Restore a backup to undo it."
            )
        contract = CONTRACTS[dataset]
        fact, hist = contract.table, contract.history_table
        touched = [
            r[0]
            for r in tx.execute(
                f"SELECT DISTINCT area_code FROM {fact} WHERE upload_id = ?", [upload_id]
            ).fetchall()
        ]
        join = _key_join(contract, "h", "x")
        tx.execute(
            f"""UPDATE {hist} h SET superseded_by = x.superseded_by,
                    superseded_at = x.superseded_at
                FROM {hist} x WHERE h.superseded_by = ? AND x.upload_id = ? AND {join}""",
            [upload_id, upload_id],
        )
        tx.execute(f"DELETE FROM {hist} WHERE upload_id = ?", [upload_id])
        fact_columns = [
            r[0] for r in tx.execute(f"DESCRIBE {fact}").fetchall() if r[0] not in contract.key
        ]
        assignments = ", ".join(f"{c} = h.{c}" for c in fact_columns)
        restored = tx.execute(
            f"""UPDATE {fact} x SET {assignments} FROM {hist} h
                WHERE x.upload_id = ? AND h.superseded_by = ? AND {join}""",
            [upload_id, upload_id],
        ).fetchone()[0]
        tx.execute(f"DELETE FROM {hist} WHERE superseded_by = ?", [upload_id])
        removed = tx.execute(f"DELETE FROM {fact} WHERE upload_id = ?", [upload_id]).fetchone()[0]
        if dataset == "outcomes":  # rows went away, so whole areas are counted again
            refresh_outcome_coverage(tx, touched)
        if dataset in OUTCOME_PERIOD_INPUTS:
            refresh_outcome_periods(tx, touched)
        _mark_deleted(tx, int(upload_id), user)
    return DeleteResult(int(upload_id), dataset, int(removed), int(restored))


def _delete_dfe(cur, upload_id: int) -> tuple[int, int, int]:
    """Take one DfE import out: (figures or links removed, figures restored, removed figures
    an earlier release gives again).

    As for an extract: figures it replaced (a corrected file of the same release) come back
    from `dfe_figures_history`; its own figures that a later upload replaced leave the history,
    and what they had replaced now points at that later upload. The marts use the newest
    release present, so an earlier release's figure for the same year is current again.
    Neighbour links keep no history, so an upload that replaced others' links is refused.
    """
    from pipelines.load.dfe import FIGURE_COLUMNS, KEY_COLUMNS, SOURCE, rebuild_areas

    links = cur.execute(
        "SELECT count(*) FROM dfe_neighbours WHERE upload_id = ?", [upload_id]
    ).fetchone()[0]
    if links:
        replaced = cur.execute(
            "SELECT list(upload_id ORDER BY upload_id) FROM raw_uploads u WHERE source = ? "
            "AND dataset = 'dfe:statistical_neighbours' AND outcome = 'loaded' AND upload_id < ? "
            "AND NOT EXISTS (SELECT 1 FROM dfe_neighbours n WHERE n.upload_id = u.upload_id)",
            [SOURCE, upload_id],
        ).fetchone()[0]
        if replaced:
            raise ValueError(
                f"Upload {upload_id} replaced the statistical neighbours of upload(s) "
                f"{', '.join(map(str, replaced))}, and replaced links are not kept: restore the "
                f"backup taken before it (`rp-impact restore {upload_id}`) instead."
            )
        cur.execute("DELETE FROM dfe_neighbours WHERE upload_id = ?", [upload_id])
        rebuild_areas(cur)
        return int(links), 0, 0
    key = " AND ".join(f"h.{k} = x.{k}" for k in KEY_COLUMNS)
    stored = ", ".join([*FIGURE_COLUMNS, "upload_id", "loaded_at"])
    cur.execute(
        f"""UPDATE dfe_figures_history h SET superseded_by = x.superseded_by,
                superseded_at = x.superseded_at FROM dfe_figures_history x
            WHERE h.superseded_by = ? AND x.upload_id = ? AND {key}""",
        [upload_id, upload_id],
    )
    cur.execute("DELETE FROM dfe_figures_history WHERE upload_id = ?", [upload_id])
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _dfe_removed AS SELECT release, time_period, "
        "geographic_level, area_code, measure FROM dfe_figures WHERE upload_id = ?",
        [upload_id],
    )
    removed = cur.execute("DELETE FROM dfe_figures WHERE upload_id = ?", [upload_id]).fetchone()[0]
    restored = cur.execute(
        f"INSERT INTO dfe_figures ({stored}) SELECT {stored} FROM dfe_figures_history "
        "WHERE superseded_by = ?",
        [upload_id],
    ).fetchone()[0]
    cur.execute("DELETE FROM dfe_figures_history WHERE superseded_by = ?", [upload_id])
    # Releases ordered as `mart_dfe_current` orders them (sql/dfe_marts.sql).
    earlier = cur.execute(
        "SELECT count(*) FROM _dfe_removed r JOIN mart_dfe_current c "
        "USING (time_period, geographic_level, area_code, measure) "
        "WHERE coalesce(TRY_CAST(c.release AS INTEGER), 0) "
        "< coalesce(TRY_CAST(r.release AS INTEGER), 0)"
    ).fetchone()[0]
    cur.execute("DROP TABLE _dfe_removed")
    rebuild_areas(cur)
    return int(removed), int(restored), int(earlier)


def _mark_deleted(tx, upload_id: int, user: str) -> None:
    """The audit keeps a deleted upload: outcome 'deleted', and who deleted it and when."""
    now = dt.datetime.now().replace(microsecond=0)
    tx.execute(
        "UPDATE raw_uploads SET outcome = 'deleted', message = coalesce(message, '') || ? "
        "WHERE upload_id = ?",
        [f" Deleted by {user} at {now:%Y-%m-%d %H:%M}.", upload_id],
    )
    tx.execute(
        "INSERT INTO upload_issues VALUES (?, 'warning', NULL, NULL, NULL, 'upload_deleted', "
        "?, '')",
        [upload_id, f"Upload deleted by {user} (admin) at {now:%Y-%m-%d %H:%M}."],
    )


def validate_only(path: Path | str, warehouse: Warehouse | None = None, **kwargs) -> IngestResult:
    """A dry run: what loading the file would do, without writing anything."""
    if warehouse is None:
        from pipelines.store.warehouse import Warehouse as _Warehouse

        with _Warehouse(":memory:") as scratch:
            return ingest_file(scratch, path, dry_run=True, **kwargs)
    return ingest_file(warehouse, path, dry_run=True, **kwargs)


def ingest_files(
    warehouse: Warehouse,
    paths: Iterable[Path | str],
    *,
    progress: Callable[[int, int, IngestResult], None] | None = None,
    **kwargs,
) -> list[IngestResult]:
    """Load several files, each in its own transaction, reporting progress after each."""
    paths = list(paths)
    results = []
    for number, path in enumerate(paths, start=1):
        result = ingest_file(warehouse, path, **kwargs)
        results.append(result)
        if progress:
            progress(number, len(paths), result)
    return results


def sample_files(folder: Path | str) -> list[Path]:
    """The extract files of a sample folder in load order (reference data first).

    Files under `unloaded/` (kept back so a new user can try the upload) and `dfe/` (DfE
    published formats, loaded by `pipelines.load.dfe`) are not extracts.
    """
    folder = Path(folder)
    found = []
    for dataset in LOAD_ORDER:
        found += sorted(folder.glob(f"{dataset}.csv"))
        found += sorted((folder / dataset).glob("*.csv")) if (folder / dataset).is_dir() else []
    return found


def build_from_folder(
    warehouse: Warehouse,
    folder: Path | str = config.SAMPLE_DIR,
    *,
    progress: Callable[[int, int, IngestResult], None] | None = None,
    source: str = "sample",
) -> list[IngestResult]:
    """Load every extract of a folder (the sample by default) into the warehouse."""
    return ingest_files(
        warehouse, sample_files(folder), progress=progress, user="sample-build", source=source
    )
