"""Statutory returns in, aggregates out: preview, then commit through the ordinary ingest.

`preview_903` / `preview_cin` read the returns into memory, check them, and aggregate them,
writing nothing anywhere. `commit` writes the aggregate rows (never a child-level row) to a
CSV in a private temporary folder, hands that one file to `pipelines.load.ingest.ingest_file`
(the same atomic, audited ingest as any extract, with source `returns`), and removes the
folder in `finally`, whether the load succeeded, was refused or failed.

What the audit records: the aggregate file's SHA-256 and row counts (raw_uploads), under a
display name that carries the collection, the collection years and a fingerprint of the input
files (`returns-ssda903_2024-2025_<12 hex>.csv`); the per-file hashes are in
`ReturnsPreview.files` for the caller to show. No identifier and no count of children reaches
a log: notes that mention a number of children use the suppression threshold.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines import auth, config
from pipelines.contracts import OUTCOMES
from pipelines.load.returns import aggregate as agg
from pipelines.load.returns.cin import read_cin
from pipelines.load.returns.ssda903 import SourceFile, read_903
from pipelines.load.returns.unit_map import UnitMap
from pipelines.load.returns.validate import check_903, check_cin
from pipelines.load.validate import Issue
from pipelines.measures import YEAR_END_MEASURES

SOURCE = "returns"
KEY = ("period_end", "area_code", "unit", "age_band")


@dataclass
class ReturnsPreview:
    """What importing some returns would write, found without writing anything."""

    collection: str  # "ssda903" | "cin"
    area_code: str | None
    outcomes: pd.DataFrame  # the outcomes contract's columns
    extra: pd.DataFrame  # the new measures (`new_measures.NEW_MEASURES`)
    files: list[SourceFile] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.outcomes.empty

    @property
    def years(self) -> list[int]:
        return sorted({f.year for f in self.files if f.year is not None})

    def digest(self) -> str:
        """The SHA-256 of the input files' names and hashes, in name order (64 hex digits)."""
        joined = "\n".join(sorted(f"{f.name}:{f.sha256}" for f in self.files))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()

    def fingerprint(self) -> str:
        """12 hex digits of `digest`: the input files' hashes, in name order."""
        return self.digest()[:12]

    def display_name(self) -> str:
        years = self.years
        span = f"{years[0]}-{years[-1]}" if years else "unknown"
        return f"returns-{self.collection}_{span}_{self.fingerprint()}.csv"

    def summary(self) -> str:
        if self.errors:
            return (
                f"{self.collection}: {len(self.errors)} problem(s) in the returns; nothing "
                "would be loaded."
            )
        months = self.outcomes["period_end"].nunique() if len(self.outcomes) else 0
        years = ", ".join(str(y) for y in self.years)
        return (
            f"{self.collection}: {len(self.files)} file(s), collection years ending March "
            f"{years}: {len(self.outcomes)} aggregate rows over {months} months."
        )


def _empty(collection: str, area_code, read_issues, notes, files) -> ReturnsPreview:
    return ReturnsPreview(
        collection,
        area_code,
        pd.DataFrame(columns=KEY),
        pd.DataFrame(columns=KEY),
        files,
        read_issues,
        notes,
    )


def _check_area(area_code: str | None, issues: list[Issue]) -> None:
    if not area_code or not str(area_code).strip():
        issues.append(
            Issue(
                None,
                None,
                "area_code",
                None,
                "area_missing",
                "error",
                "The returns do not name the council's area.",
                "Give the area's ONS code (e.g. --area E06000021).",
            )
        )


def _grid(years, unit_map: UnitMap | None, period_to) -> agg.Grid:
    units = tuple(unit_map.units) if unit_map is not None else ()
    return agg.Grid(agg.collection_months(years, period_to), units)


def _unplaced_note(frame: pd.DataFrame, measure: str, unit_map: UnitMap | None) -> list[str]:
    """Say whether the unit map left children out of the locality rows, without a small count."""
    if unit_map is None or frame.empty or not unit_map.units:
        return []
    rows = frame.loc[frame["age_band"] == agg.UNIT_ALL]
    whole = rows.loc[rows["unit"] == agg.UNIT_ALL, measure].sum()
    placed = rows.loc[rows["unit"] != agg.UNIT_ALL, measure].sum()
    if whole <= placed:
        return []
    return [
        "The unit map did not place every child: those it did not place are counted in the "
        "All rows only, so the localities add up to less than the whole area."
    ]


def _read_checked(role: str | None, area_code, read_returns, check) -> tuple:
    """What both previews open with: the role must be one that may validate; then the
    returns are read (`read_returns()`), and their area and structure checked (`check`).
    Returns the read and every issue found."""
    if role is not None:
        auth.require(role, "validate")
    read = read_returns()
    issues = list(read.issues)
    _check_area(area_code, issues)
    return read, issues + check(read)


def _has_errors(issues: list[Issue]) -> bool:
    return any(i.severity == "error" for i in issues)


def preview_903(
    paths,
    *,
    area_code: str | None,
    unit_map: UnitMap | None = None,
    names: list[str] | None = None,
    period_to=None,
    role: str | None = None,
) -> ReturnsPreview:
    """Read, check and aggregate SSDA903 tables (several years at once); write nothing."""
    sector = unit_map is not None and unit_map.kind == "sector"
    read, issues = _read_checked(
        role, area_code, lambda: read_903(paths, names, with_postcode=sector), check_903
    )
    if _has_errors(issues):
        return _empty("ssda903", area_code, issues, read.notes, read.files)
    years = sorted(set(read.episodes["year"].unique()))
    notes = list(read.notes) + _gap_notes(years)
    grid = _grid(years, unit_map, period_to)
    outcomes, extra = agg.aggregate_903(read.header, read.episodes, grid, area_code, unit_map)
    notes += _unplaced_note(outcomes, "cla_starts", unit_map)
    return ReturnsPreview("ssda903", area_code, outcomes, extra, read.files, issues, notes)


def preview_cin(
    paths,
    *,
    area_code: str | None,
    unit_map: UnitMap | None = None,
    names: list[str] | None = None,
    period_to=None,
    role: str | None = None,
) -> ReturnsPreview:
    """Read, check and aggregate CIN census files (several years at once); write nothing."""
    read, issues = _read_checked(role, area_code, lambda: read_cin(paths, names), check_cin)
    notes = list(read.notes)
    if unit_map is not None and unit_map.kind == "sector":
        notes.append(
            "The CIN census holds no postcode, so a unit map by postcode sector cannot place "
            "its children: the CIN counts are for the whole area (All)."
        )
        unit_map = None
    if _has_errors(issues):
        return _empty("cin", area_code, issues, notes, read.files)
    years = sorted({f.year for f in read.files if f.year is not None})
    cap = period_to
    if cap is None and read.reference_dates:  # a census covers its year up to its date
        cap = max(read.reference_dates).date()
    notes += _gap_notes(years)
    grid = _grid(years, unit_map, cap)
    outcomes, extra = agg.aggregate_cin(read.plans, read.episodes, grid, area_code, unit_map)
    notes += _unplaced_note(outcomes, "cpp_starts", unit_map)
    return ReturnsPreview("cin", area_code, outcomes, extra, read.files, issues, notes)


def _gap_notes(years) -> list[str]:
    years = sorted(int(y) for y in years)
    missing = [y for y in range(years[0], years[-1] + 1) if y not in years] if years else []
    if not missing:
        return []
    return [
        "No return was given for the year(s) ending March "
        + ", ".join(str(y) for y in missing)
        + ": those months are not written, and flows across the gap may be understated."
    ]


def aggregate_rows(preview: ReturnsPreview) -> pd.DataFrame:
    """The contract's measures and the returns-only measures side by side, one row per key.

    DfE's year-end measures exist on 31 March only; every other month says `z` (not
    applicable), because an empty cell would read as a suppressed one.
    """
    keys = ["period_end", "area_code", "unit", "age_band"]
    rows = preview.outcomes
    if not preview.extra.empty:
        rows = rows.merge(preview.extra, on=keys, how="outer", validate="one_to_one")
    rows = rows.sort_values(keys, kind="stable").reset_index(drop=True)
    march_31 = pd.to_datetime(rows["period_end"]).dt.strftime("%m-%d") == "03-31"
    for m in YEAR_END_MEASURES:
        if m in rows.columns:
            rows[m] = rows[m].astype("object").where(march_31, "z")
    return rows[[c for c in OUTCOMES.column_names if c in rows.columns]]


def write_aggregate_csv(preview: ReturnsPreview, folder: Path) -> Path:
    """The aggregate rows as an outcomes extract CSV (deterministic bytes for the same input)."""
    path = Path(folder) / preview.display_name()
    aggregate_rows(preview).to_csv(path, index=False, lineterminator="\n")
    return path


def commit(
    warehouse,
    preview: ReturnsPreview,
    *,
    user: str | None = None,
    role: str | None = None,
    dry_run: bool = False,
    demo: bool = False,
    backup: bool | None = None,
):
    """Load a preview's aggregates through `ingest_file`; never a child-level row.

    Returns the `IngestResult`. A preview with errors is refused here, before anything is
    written (its problems are in `preview.issues`).
    """
    from pipelines.load.ingest import UploadSource, ingest_file

    if role is not None:
        auth.require(role, "validate" if dry_run else "upload")
    if not preview.ok:
        return _refused(preview, sha256="")
    with tempfile.TemporaryDirectory(prefix="rp-impact-returns-") as folder:
        path = write_aggregate_csv(preview, Path(folder))
        try:
            result = ingest_file(
                warehouse,
                path,
                user=user or config.current_user(),
                dataset="outcomes",
                display_name=path.name,
                source=SOURCE,
                dry_run=dry_run,
                role=role,
                demo=demo,
                backup=backup,
                sources=[
                    UploadSource(f.name, f.sha256, f.collection, f.year, f.n_rows)
                    for f in preview.files
                ],
            )
        finally:
            path.unlink(missing_ok=True)
    result.notes = list(preview.notes) + list(result.notes)
    return result


def _refused(preview: ReturnsPreview, sha256: str):
    """The refused `IngestResult` of a preview that may not be loaded, with its errors."""
    from pipelines.load.ingest import IngestResult

    result = IngestResult(preview.display_name(), sha256, "outcomes", "refused")
    result.issues = list(preview.errors) or [
        Issue.refusal(None, "no_rows", "The returns gave no months to load.")
    ]
    return result


def refusal_reason(preview: ReturnsPreview) -> str:
    """One sentence on why the returns were refused, for the audit: how many problems, and
    the first one's file and message (the checks' messages never quote a value, so no
    identifier, date or count of children is in it)."""
    first = _refused(preview, "").issues[0]
    where = f" in {first.file}" if first.file else ""
    return (
        f"{preview.collection} returns refused with {len(preview.errors) or 1} problem(s), "
        f"the first{where}: {first.message.rstrip('.')}; nothing was loaded."
    )


def record_refusal(
    warehouse, preview: ReturnsPreview, *, user: str | None = None, role: str | None = None
):
    """Record a refused returns import in the audit (`raw_uploads`), as a refused extract is.

    The row holds the preview's display name (collection, years, fingerprint of the input
    files), the SHA-256 of the input files' names and hashes (`ReturnsPreview.digest`), the
    outcome `refused`, the number of problems and `refusal_reason`: never a row, value or
    identifier from the returns, and no `upload_issues` or `upload_sources` rows. Nothing is
    written to a read-only warehouse; a preview that may be loaded is not a refusal
    (`ValueError`: commit it). Returns the refused `IngestResult`, with its `upload_id` when a
    row was written.
    """
    from pipelines.store.warehouse import next_upload_id, record_upload_row

    if role is not None:
        auth.require(role, "upload")
    if preview.ok:
        raise ValueError("record_refusal is for a preview with problems; commit this one.")
    result = _refused(preview, preview.digest())
    if warehouse.read_only:
        return result
    with warehouse.transaction() as tx:
        result.upload_id = next_upload_id(tx)
        record_upload_row(
            tx,
            result.upload_id,
            file_name=result.file_name,
            sha256=result.sha256,
            dataset=result.dataset,
            n_rows=0,
            user=user or config.current_user(),
            outcome="refused",
            counts=(0, 0, 0),
            n_warnings=0,
            n_errors=len(result.errors),
            message=refusal_reason(preview),
            source=SOURCE,
        )
    return result
