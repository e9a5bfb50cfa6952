"""DfE published statistics: import real releases into the warehouse.

Reads the local-authority tables DfE publishes on explore-education-statistics (and the ONS
population and DfE statistical-neighbour files that DfE's own dashboard uses), as published:

* the file's table is recognised from its header (`recognise`), never from its name or column
  order; a file that is not one of `RECOGNISED_TABLES` is refused with the list of what is;
* suppression markers (`c`, `x`, `z`, `u`, `k`, `low`, ...) become NULL with the marker kept as
  the reason, never 0;
* every figure keeps its release, so overlapping releases sit side by side; the marts use the
  newest by default and `dfe_revisions` shows where a figure changed between releases;
* a local authority is keyed by DfE's three-digit `old_la_code` (stable when ONS re-codes a
  council, as North Yorkshire 815 went from E10000023 to E06000065); the ONS `new_la_code` maps
  both ways through `dfe_area_codes`. Reorganised councils (Cumbria 909 into Cumberland 942 and
  Westmorland and Furness 943; Northamptonshire 928 into North 940 and West 941) keep separate
  codes, so their series stop and start and are never joined by name.

`read_dfe_file` is pure (file in, tidy table out). `import_dfe_files` is the only writer: one
transaction per file, audited in `raw_uploads` (source 'dfe'), after a backup of the warehouse
(`pipelines.store.backup`, as `ingest_file` takes one). A file loaded before (same SHA-256) is
a no-op when its figures are still the ones in use, and is applied again when a later upload
(an edited copy) changed them; `pipelines.load.ingest.delete_upload` takes one import out. The reads of the imported figures (`benchmark_series`, `rank_among`,
`neighbours`, `dfe_revisions`, `council_options`, `synth_panel`, `resolve_council`) are in
`pipelines.benchmarks`.
"""

from __future__ import annotations

import re
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines import auth, config
from pipelines.load.readers import sha256_of
from pipelines.store import models
from pipelines.store.warehouse import Warehouse, next_upload_id, record_upload_row

SOURCE = "dfe"
#: The user the sample build imports as (`rp-impact build`): it takes no backup.
SAMPLE_BUILD_USER = "sample-build"
ENGLAND_CODE = "E92000001"
LONDON_CODE = "E12000007"
LONDON_SUB_REGIONS = {"E13000001", "E13000002"}

#: Markers DfE (and the GSS guidance) use for a value that is not published.
SUPPRESSION_MARKERS = {
    "c": "c",  # confidential: small number suppressed
    "x": "x",  # not available
    "z": "z",  # not applicable
    "u": "u",  # low reliability
    "k": "k",  # rounds to zero
    "low": "low",  # fewer than 0.5
    ":": ":",
    "*": "*",
    "..": "..",
    "-": "-",
}

#: The codes and names DfE gives each row (any it leaves out are read as "").
AREA_COLUMNS = (
    "country_code",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
)
#: Columns of the tidy table `read_dfe_file` returns (and of `dfe_figures`, less the audit).
FIGURE_COLUMNS = (
    "release",
    "table_kind",
    "time_period",
    "geographic_level",
    "area_code",
    *AREA_COLUMNS,
    "measure",
    "value",
    "null_reason",
    "published_rate_per_10k",
    "published_rate_null_reason",
    "population_estimate",
    "population_estimate_null_reason",
)
KEY_COLUMNS = ("release", "table_kind", "time_period", "geographic_level", "area_code", "measure")
NEIGHBOUR_COLUMNS = (
    "model",
    "old_la_code",
    "la_name",
    "region_name",
    "neighbour_rank",
    "neighbour_old_la_code",
    "closeness",
)


class DfeFormatError(ValueError):
    """The file is not a DfE table this importer recognises, or cannot be read as one."""


@dataclass(frozen=True)
class TableSpec:
    kind: str
    title: str
    #: every one of these (normalised) columns must be present
    required: tuple[str, ...]
    #: source column -> canonical measure, for tables with one column per measure
    measures: tuple[tuple[str, str], ...] = ()


_DFE_GEOGRAPHY = ("time_period", "geographic_level")

TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec(
        "cla_number_and_rate",
        "Children looked after on 31 March, starting and ceasing: number and rate per 10,000 "
        "(any release: `population_type` + `children_count`, or `population_count` + `number`)",
        (*_DFE_GEOGRAPHY, "rate_per_10000"),
    ),
    TableSpec(
        "cpp_at_31_march",
        "Child protection plans on 31 March by length of plan (d5, `CPP_At31`)",
        (*_DFE_GEOGRAPHY, "cpp_at31"),
        (("cpp_at31", "cpp_at_31_march"),),
    ),
    TableSpec(
        "cpp_subsequent",
        "Child protection plans starting, and second or subsequent plans (d3, `CPP_subsequent`)",
        (*_DFE_GEOGRAPHY, "cpp_start", "cpp_subsequent"),
        (
            ("cpp_start", "cpp_starts"),
            ("cpp_subsequent", "cpp_subsequent"),
            ("cpp_subsequent_percent", "cpp_subsequent_percent"),
        ),
    ),
    TableSpec(
        "children_in_need",
        "Children in need: at any point, starting, ending, on 31 March (b1, `At31_episodes`)",
        (*_DFE_GEOGRAPHY, "at31_episodes", "started_episodes"),
        (
            ("at31_episodes", "cin_at_31_march"),
            ("started_episodes", "cin_starts"),
            ("ended_episodes", "cin_ended"),
            ("anypoint_episodes", "cin_any_point"),
        ),
    ),
    TableSpec(
        "referrals",
        "Referrals and re-referrals to children's social care (c1, `referral_count`)",
        (*_DFE_GEOGRAPHY, "referral_count", "rereferral_count"),
        (
            ("referral_count", "referrals"),
            ("rereferral_count", "rereferrals"),
            ("rereferral_percent", "rereferral_percent"),
        ),
    ),
    TableSpec(
        "population",
        "ONS mid-year population estimates, children aged 0 to 17 (`age_group`, "
        "`population_estimate`)",
        (*_DFE_GEOGRAPHY, "age_group", "population_estimate"),
        (("population_estimate", "population_0_17"),),
    ),
    TableSpec(
        "statistical_neighbours",
        "DfE statistical neighbours, wide (`old_la_code`, `SN_1`, `SN_1P` ... `SN_10`, `SN_10P`)",
        ("old_la_code", "sn_1", "sn_1p"),
    ),
)
RECOGNISED_TABLES: dict[str, str] = {spec.kind: spec.title for spec in TABLE_SPECS}
_SPECS = {spec.kind: spec for spec in TABLE_SPECS}

_CLA_CATEGORY_COLUMNS = ("population_type", "population_count")
_CLA_COUNT_COLUMNS = ("children_count", "number")


@dataclass(frozen=True)
class DfeTable:
    """One DfE file read into a tidy table (`figures`) or a neighbour list (`neighbours`)."""

    kind: str
    release: str
    source: str
    n_rows: int
    figures: pd.DataFrame
    neighbours: pd.DataFrame | None = None
    warnings: tuple[str, ...] = ()

    @property
    def n_suppressed(self) -> int:
        return int(self.figures["value"].isna().sum()) if len(self.figures) else 0


@dataclass(frozen=True)
class DfeImportResult:
    """What happened to one file: outcome is 'loaded', 'no-op' or 'refused'."""

    file_name: str
    outcome: str
    message: str
    sha256: str | None = None
    upload_id: int | None = None
    table_kind: str | None = None
    release: str | None = None
    n_rows: int = 0
    n_added: int = 0
    n_revised: int = 0
    n_unchanged: int = 0
    n_suppressed: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One line for the command line, then one indented line per warning."""
        lines = [f"{self.outcome}: {self.message}"]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# -- reading ------------------------------------------------------------------------------------


def _normalise(name: str) -> str:
    return str(name).replace("\ufeff", "").strip().lower()


def recognised_tables_text() -> str:
    return "\n".join(f"  - {kind}: {title}" for kind, title in RECOGNISED_TABLES.items())


def recognise(header_columns: Iterable[str]) -> str:
    """The kind of DfE table a header belongs to, judged on column names in any order.

    Raises DfeFormatError listing the recognised tables when the header matches none of them.
    """
    columns = {_normalise(c) for c in header_columns}
    for spec in TABLE_SPECS:
        if not set(spec.required) <= columns:
            continue
        if spec.kind == "cla_number_and_rate" and not (
            any(c in columns for c in _CLA_CATEGORY_COLUMNS)
            and any(c in columns for c in _CLA_COUNT_COLUMNS)
        ):
            continue
        return spec.kind
    shown = ", ".join(sorted(columns)[:12]) + (" ..." if len(columns) > 12 else "")
    raise DfeFormatError(
        "This file is not a DfE table rp-impact recognises (its columns: "
        f"{shown or 'none'}). Recognised tables:\n{recognised_tables_text()}"
    )


def parse_value(raw: object) -> tuple[float | None, str | None]:
    """A published cell as (value, null_reason): suppression markers and blanks become NULL."""
    if raw is None or (isinstance(raw, float) and pd.isna(raw)):
        return None, "empty"
    text = str(raw).strip()
    if text == "":
        return None, "empty"
    marker = text.strip("[]").strip().lower()
    if marker in SUPPRESSION_MARKERS:
        return None, SUPPRESSION_MARKERS[marker]
    try:
        return float(text.replace(",", "")), None
    except ValueError:
        return None, f"unreadable: {text}"


def _parse_series(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    parsed = [parse_value(v) for v in raw.tolist()]
    values = pd.Series([p[0] for p in parsed], index=raw.index, dtype="Float64")
    reasons = pd.Series([p[1] for p in parsed], index=raw.index, dtype="object")
    return values, reasons


def _time_period(raw: str) -> int:
    """DfE's time_period: `2025` (reporting year), or `202425` (financial year, ends 2025)."""
    text = str(raw).strip()
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    if re.fullmatch(r"\d{6}", text):
        return int(text[:2] + text[4:])
    raise DfeFormatError(f"time_period '{text}' is not a year (2025) or a span (202425).")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path, dtype=str, encoding="utf-8-sig", keep_default_na=False, na_filter=False
        )
    except UnicodeDecodeError:
        frame = pd.read_csv(
            path, dtype=str, encoding="cp1252", keep_default_na=False, na_filter=False
        )
    except pd.errors.EmptyDataError as exc:
        raise DfeFormatError(
            f"{path.name} is empty. Recognised tables:\n{recognised_tables_text()}"
        ) from exc
    frame.columns = [_normalise(c) for c in frame.columns]
    for column in frame.columns:
        frame[column] = frame[column].astype(str).str.strip()
    return frame


def _release_from_name(name: str) -> str | None:
    found = re.findall(r"(?<!\d)(20\d{2})(?!\d)", name)
    return found[-1] if found else None


def _area_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Codes and names for every row, and the key `area_code` (see the module docstring)."""
    out = pd.DataFrame(index=frame.index)
    for column in AREA_COLUMNS:
        out[column] = frame.get(column, "")
    out["geographic_level"] = frame["geographic_level"]
    level = out["geographic_level"].str.lower()
    la_key = out["old_la_code"].where(out["old_la_code"] != "", out["new_la_code"])
    out["area_code"] = la_key.where(
        level == "local authority",
        out["region_code"].where(level == "regional", out["country_code"]),
    )
    national = level == "national"
    out.loc[national & (out["area_code"] == ""), "area_code"] = ENGLAND_CODE
    missing = out["area_code"] == ""
    warnings = []
    if missing.any():
        warnings.append(
            f"{int(missing.sum())} rows have no area code for their geographic level and were "
            "left out (rows are joined on codes, never on names)."
        )
    out = out.replace({"": None})
    return out.loc[~missing], warnings


def read_dfe_file(path: Path | str, release: str | None = None) -> DfeTable:
    """Read one DfE file into a tidy long table, one row per year, area and measure.

    `release` labels where the figures came from; by default the latest time_period in the file
    (the neighbour model year from the file name for a statistical-neighbour file).
    Raises DfeFormatError for a file it does not recognise.
    """
    path = Path(path)
    frame = _read_csv(path)
    kind = recognise(frame.columns)
    if kind == "statistical_neighbours":
        return _read_neighbours(path, frame, release)

    warnings: list[str] = []
    level_ok = (
        frame["geographic_level"].str.lower().isin(["national", "regional", "local authority"])
    )
    if (~level_ok).any():
        levels = sorted(frame.loc[~level_ok, "geographic_level"].unique())
        warnings.append(
            f"{int((~level_ok).sum())} rows at other geographic levels ({', '.join(levels)}) "
            "were left out."
        )
        frame = frame.loc[level_ok]
    frame = frame.copy()
    frame["time_period"] = [_time_period(v) for v in frame["time_period"]]
    areas, area_warnings = _area_columns(frame)
    warnings += area_warnings
    frame = frame.loc[areas.index]
    label = release or (str(int(frame["time_period"].max())) if len(frame) else None)
    if label is None:
        raise DfeFormatError(f"{path.name} has a recognised header but no rows.")

    pieces: list[pd.DataFrame] = []
    if kind == "cla_number_and_rate":
        pieces.append(_cla_figures(frame, areas, warnings))
    else:
        spec = _SPECS[kind]
        rows = frame
        if kind == "population":
            is_children = rows["age_group"].str.contains("0 to 17", case=False, regex=False)
            if (~is_children).any():
                warnings.append(
                    f"{int((~is_children).sum())} rows for other age groups were left out."
                )
            rows = rows.loc[is_children]
        for column, measure in spec.measures:
            if column not in rows:
                continue
            values, reasons = _parse_series(rows[column])
            piece = areas.loc[rows.index].copy()
            piece["time_period"] = rows["time_period"]
            piece["measure"] = measure
            piece["value"] = values
            piece["null_reason"] = reasons
            pieces.append(piece)
    figures = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()
    figures["release"] = label
    figures["table_kind"] = kind
    for column in FIGURE_COLUMNS:
        if column not in figures:
            figures[column] = None
    figures = figures[list(FIGURE_COLUMNS)]
    for column in ("value", "published_rate_per_10k", "population_estimate"):
        figures[column] = figures[column].astype("Float64")
    figures["time_period"] = figures["time_period"].astype("int64")

    duplicated = figures.duplicated(list(KEY_COLUMNS), keep=False)
    if duplicated.any():
        example = figures.loc[duplicated].iloc[0]
        raise DfeFormatError(
            f"{path.name} has {int(duplicated.sum())} rows that repeat the same year, area and "
            f"measure (e.g. {example['time_period']} {example['area_code']} "
            f"{example['measure']}); each should appear once."
        )
    unreadable = figures["null_reason"].fillna("").str.startswith("unreadable")
    if unreadable.any():
        warnings.append(
            f"{int(unreadable.sum())} cells were neither numbers nor suppression markers and "
            "were loaded as NULL (reason 'unreadable: ...')."
        )
    return DfeTable(
        kind=kind,
        release=label,
        source=path.name,
        n_rows=len(frame),
        figures=figures.reset_index(drop=True),
        warnings=tuple(warnings),
    )


def _cla_measure(category: str) -> str | None:
    text = category.lower()
    if "31 march" in text:
        return "cla_at_31_march"
    if "starting" in text:
        return "cla_starts"
    if "ceasing" in text:
        return "cla_ceased"
    return None


def _cla_figures(frame: pd.DataFrame, areas: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    category_column = next(c for c in _CLA_CATEGORY_COLUMNS if c in frame)
    count_column = next(c for c in _CLA_COUNT_COLUMNS if c in frame)
    measures = frame[category_column].map(_cla_measure)
    unknown = measures.isna()
    if unknown.any():
        names = sorted(frame.loc[unknown, category_column].unique())
        warnings.append(
            f"{int(unknown.sum())} rows with other categories ({'; '.join(names)}) were left out."
        )
    rows = frame.loc[~unknown]
    out = areas.loc[rows.index].copy()
    out["time_period"] = rows["time_period"]
    out["measure"] = measures.loc[rows.index]
    out["value"], out["null_reason"] = _parse_series(rows[count_column])
    out["published_rate_per_10k"], out["published_rate_null_reason"] = _parse_series(
        rows["rate_per_10000"]
    )
    if "population_estimate" in rows:
        out["population_estimate"], out["population_estimate_null_reason"] = _parse_series(
            rows["population_estimate"]
        )
    return out


def _read_neighbours(path: Path, frame: pd.DataFrame, release: str | None) -> DfeTable:
    model = release or _release_from_name(path.name)
    if model is None:
        raise DfeFormatError(
            f"{path.name}: cannot tell which year's statistical-neighbour model this is; give "
            "the release label (e.g. release='2025')."
        )
    rows = []
    rank = 1
    while f"sn_{rank}" in frame:
        closeness = frame.get(f"sn_{rank}p", pd.Series("", index=frame.index))
        for old, name, region, neighbour, close in zip(
            frame["old_la_code"],
            frame.get("la_name", pd.Series(None, index=frame.index)),
            frame.get("region_name", pd.Series(None, index=frame.index)),
            frame[f"sn_{rank}"],
            closeness,
            strict=True,
        ):
            if old and neighbour:
                rows.append((model, old, name, region, rank, neighbour, (close or "").strip()))
        rank += 1
    neighbours = pd.DataFrame(rows, columns=list(NEIGHBOUR_COLUMNS))
    neighbours["neighbour_rank"] = neighbours["neighbour_rank"].astype("int64")
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in FIGURE_COLUMNS})
    return DfeTable(
        kind="statistical_neighbours",
        release=model,
        source=path.name,
        n_rows=len(frame),
        figures=empty,
        neighbours=neighbours,
    )


# -- importing ----------------------------------------------------------------------------------


def _is_url(value: str) -> bool:
    return urllib.parse.urlparse(value).scheme in ("http", "https")


def _fetch(url: str, folder: Path) -> Path:
    name = Path(urllib.parse.urlparse(url).path).name or "download.csv"
    target = folder / name
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (http/https only)
        target.write_bytes(response.read())
    return target


def _audit(cur, upload_id: int, result: DfeImportResult, user: str) -> None:
    record_upload_row(
        cur,
        upload_id,
        file_name=result.file_name,
        sha256=result.sha256 or "",
        dataset=f"dfe:{result.table_kind or 'unrecognised'}",
        n_rows=result.n_rows,
        user=user,
        outcome=result.outcome,
        counts=(result.n_added, result.n_revised, result.n_unchanged),
        n_warnings=len(result.warnings),
        n_errors=1 if result.outcome == "refused" else 0,
        message=result.message,
        source=SOURCE,
    )


_FIGURE_LIST = ", ".join(FIGURE_COLUMNS)
_KEY_MATCH = " AND ".join(f"f.{k} = s.{k}" for k in KEY_COLUMNS)
_CHANGED = (
    "f.value IS DISTINCT FROM s.value OR f.null_reason IS DISTINCT FROM s.null_reason "
    "OR f.published_rate_per_10k IS DISTINCT FROM s.published_rate_per_10k "
    "OR f.population_estimate IS DISTINCT FROM s.population_estimate"
)
# The SQL below interpolates only the constant column lists above, never data.
_SQL_COUNT_STATUS = (
    "SELECT "  # noqa: S608
    f"count(*) FILTER (WHERE f.release IS NULL) AS added, "
    f"count(*) FILTER (WHERE f.release IS NOT NULL AND ({_CHANGED})) AS revised, "
    f"count(*) FILTER (WHERE f.release IS NOT NULL AND NOT ({_CHANGED})) AS unchanged "
    f"FROM staged_dfe s LEFT JOIN dfe_figures f ON {_KEY_MATCH}"
)
_SQL_MARK_REVISED = (
    "CREATE TEMP TABLE dfe_revised AS SELECT f.rowid AS figure_rowid "  # noqa: S608
    f"FROM dfe_figures f JOIN staged_dfe s ON {_KEY_MATCH} WHERE {_CHANGED}"
)
_SQL_HISTORY = (
    "INSERT INTO dfe_figures_history SELECT *, ? AS superseded_by, now() "  # noqa: S608
    "FROM dfe_figures WHERE rowid IN (SELECT figure_rowid FROM dfe_revised)"
)
_SQL_INSERT_NEW = (
    f"INSERT INTO dfe_figures ({_FIGURE_LIST}, upload_id, loaded_at) "  # noqa: S608
    f"SELECT s.*, ?, now() FROM (SELECT {_FIGURE_LIST} FROM staged_dfe) s "
    f"WHERE NOT EXISTS (SELECT 1 FROM dfe_figures f WHERE {_KEY_MATCH})"
)


def rebuild_areas(cur) -> None:
    """Recompute the code map and the area list from every figure (`sql/dfe_areas.sql`)."""
    for statement in models.statements("dfe_areas.sql"):
        cur.execute(statement)


def _load_figures(cur, table: DfeTable, upload_id: int) -> tuple[int, int, int]:
    staged = table.figures
    cur.register("staged_dfe", staged)
    try:
        added, revised, unchanged = cur.execute(_SQL_COUNT_STATUS).fetchone()
        cur.execute(_SQL_MARK_REVISED)
        cur.execute(_SQL_HISTORY, [upload_id])
        cur.execute("DELETE FROM dfe_figures WHERE rowid IN (SELECT figure_rowid FROM dfe_revised)")
        cur.execute("DROP TABLE dfe_revised")
        cur.execute(_SQL_INSERT_NEW, [upload_id])
    finally:
        cur.unregister("staged_dfe")
    return int(added), int(revised), int(unchanged)


def _neighbour_counts(cur, table: DfeTable) -> tuple[int, int, int, int]:
    """(added, revised, unchanged, dropped) links if the file's model replaced the stored one."""
    staged = table.neighbours
    before = cur.execute(
        "SELECT old_la_code, neighbour_rank, neighbour_old_la_code, closeness "
        "FROM dfe_neighbours WHERE model = ?",
        [table.release],
    ).df()
    merged = staged.merge(
        before, on=["old_la_code", "neighbour_rank"], how="left", suffixes=("", "_before")
    )
    added = int(merged["neighbour_old_la_code_before"].isna().sum())
    same = (merged["neighbour_old_la_code"] == merged["neighbour_old_la_code_before"]) & (
        merged["closeness"] == merged["closeness_before"]
    )
    unchanged = int(same.sum())
    revised = len(merged) - added - unchanged
    return added, revised, unchanged, len(before) - (len(merged) - added)


def _figure_counts(cur, table: DfeTable) -> tuple[int, int, int]:
    cur.register("staged_dfe", table.figures)
    try:
        [(added, revised, unchanged)] = cur.execute(_SQL_COUNT_STATUS).fetchall()
    finally:
        cur.unregister("staged_dfe")
    return int(added), int(revised), int(unchanged)


def _would_change(cur, table: DfeTable) -> bool:
    """Whether importing the file now would change any stored figure or link."""
    if table.kind == "statistical_neighbours":
        added, revised, _, dropped = _neighbour_counts(cur, table)
        return bool(added or revised or dropped)
    added, revised, _ = _figure_counts(cur, table)
    return bool(added or revised)


def _load_neighbours(cur, table: DfeTable, upload_id: int) -> tuple[int, int, int]:
    staged = table.neighbours
    cur.register("staged_sn", staged)
    try:
        added, revised, unchanged, _ = _neighbour_counts(cur, table)
        cur.execute("DELETE FROM dfe_neighbours WHERE model = ?", [table.release])
        cur.execute(
            "INSERT INTO dfe_neighbours SELECT model, old_la_code, la_name, region_name, "
            "neighbour_rank, neighbour_old_la_code, closeness, ?, now() FROM staged_sn",
            [upload_id],
        )
    finally:
        cur.unregister("staged_sn")
    return added, revised, unchanged


def import_dfe_files(
    warehouse: Warehouse,
    paths: Sequence[Path | str],
    *,
    user: str | None = None,
    release: str | None = None,
    role: str | None = None,
    backup: bool | None = None,
) -> list[DfeImportResult]:
    """Import DfE files (local paths or http(s) URLs), one transaction per file.

    `backup` (default: when backups are kept and the importer is not the sample build) takes
    a point-in-time copy of the warehouse before each file that will change it, as
    `ingest_file` does before an upload, so `rp-impact restore UPLOAD_ID` can undo it.

    `role` (viewer, analyst, admin), when given, is checked first, as `ingest_file` checks
    it: a role that may not import DfE figures gets `PermissionError` and nothing is read or
    recorded. None (the CLI and the sample build, which run as the local user) checks nothing.

    Each file is recorded in `raw_uploads` (source 'dfe', dataset 'dfe:<table kind>') as
    'loaded', 'no-op' (the same bytes were loaded before: nothing changes) or 'refused'
    (not a recognised table; the message lists those that are). A refused file does not stop
    the others. `release` overrides the release label for every file.
    """
    if role is not None:
        auth.require(role, "import_dfe")
    user = user or config.current_user()
    if backup is None:
        from pipelines.store import backup as backups

        backup = user != SAMPLE_BUILD_USER and backups.keep_count() > 0
    backup = bool(backup) and str(warehouse.path) != ":memory:"
    results = []
    with tempfile.TemporaryDirectory(prefix="rp-impact-dfe-") as tmp:
        for given in paths:
            name = str(given)
            try:
                local = _fetch(name, Path(tmp)) if _is_url(name) else Path(given)
            except OSError as exc:
                results.append(
                    _refuse(warehouse, name, None, f"Could not download {name}: {exc}", user)
                )
                continue
            results.append(_import_one(warehouse, local, name, release, user, backup))
    return results


def _refuse(
    warehouse: Warehouse, name: str, sha: str | None, message: str, user: str
) -> DfeImportResult:
    result = DfeImportResult(file_name=name, outcome="refused", message=message, sha256=sha)
    with warehouse.transaction() as cur:
        upload_id = next_upload_id(cur)
        _audit(cur, upload_id, result, user)
    return DfeImportResult(**{**result.__dict__, "upload_id": upload_id})


def _import_one(
    warehouse: Warehouse, path: Path, name: str, release: str | None, user: str, backup: bool
) -> DfeImportResult:
    display = Path(name).name if not _is_url(name) else name
    if not path.is_file():
        return _refuse(warehouse, display, None, f"No file at {path}.", user)
    sha = sha256_of(path)
    try:
        table = read_dfe_file(path, release=release)
    except DfeFormatError as exc:
        return _refuse(warehouse, display, sha, f"{display}: {exc}", user)

    cur = warehouse.cursor()
    try:
        earlier = _earlier_import(cur, sha)
        backup_note = ""
        if backup and (earlier is None or _would_change(cur, table)):
            from pipelines.store import backup as backups

            taken = backups.take_backup(warehouse, "before-dfe-import")
            backup_note = f" Backup {taken.id} taken before importing."
        with warehouse.transaction(cur) as tx:
            return _apply(tx, table, display, sha, user, backup_note)
    finally:
        cur.close()


def _earlier_import(cur, sha: str):
    """(upload id, file name, time) of the first loaded import of these bytes, or None."""
    # fetchall, not fetchone: an unfinished result would block the next statement on `cur`.
    found = cur.execute(
        "SELECT upload_id, file_name, uploaded_at FROM raw_uploads "
        "WHERE source = ? AND sha256 = ? AND outcome = 'loaded' ORDER BY upload_id LIMIT 1",
        [SOURCE, sha],
    ).fetchall()
    return found[0] if found else None


def _apply(cur, table: DfeTable, display: str, sha: str, user: str, backup_note: str):
    """Load one read file in the caller's transaction, or record a no-op: the same bytes were
    loaded before and every figure is still theirs. Decided under the write lock, so an edited
    copy imported meanwhile is seen."""
    upload_id = next_upload_id(cur)
    earlier = _earlier_import(cur, sha)
    common = dict(
        file_name=display,
        sha256=sha,
        table_kind=table.kind,
        release=table.release,
        n_rows=table.n_rows,
        upload_id=upload_id,
        n_suppressed=table.n_suppressed,
    )
    if earlier is not None and not _would_change(cur, table):
        result = DfeImportResult(
            outcome="no-op",
            message=(
                f"{display} was already imported (upload {earlier[0]}, {earlier[1]}, "
                f"{earlier[2]:%Y-%m-%d %H:%M}): same SHA-256, nothing changed."
            ),
            **common,
        )
        _audit(cur, upload_id, result, user)
        return result
    if table.kind == "statistical_neighbours":
        added, revised, unchanged = _load_neighbours(cur, table, upload_id)
        what = f"{len(table.neighbours)} neighbour links (model {table.release})"
    else:
        added, revised, unchanged = _load_figures(cur, table, upload_id)
        what = f"{len(table.figures)} figures ({table.n_suppressed} suppressed)"
    rebuild_areas(cur)
    again = ""
    if earlier is not None:
        again = (
            f" The same file was imported as upload {earlier[0]}; a later upload had changed "
            "its figures, so they are applied again."
        )
    result = DfeImportResult(
        outcome="loaded",
        message=(
            f"{display}: {RECOGNISED_TABLES[table.kind].split(' (')[0]}, release "
            f"{table.release}: {what}; {added} new, {revised} revised, {unchanged} unchanged."
            + again
            + backup_note
        ),
        n_added=added,
        n_revised=revised,
        n_unchanged=unchanged,
        warnings=table.warnings,
        **common,
    )
    _audit(cur, upload_id, result, user)
    return result
