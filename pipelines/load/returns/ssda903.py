"""Read SSDA903 CSV tables (header, episodes; several collection years at once) into memory.

The 903 is one CSV per table per collection year ([903] DfE, "Children looked after by local
authorities in England: guide to the SSDA903 collection", part 2: the header has CHILD, SEX,
DOB, ETHNIC, UPN, MOTHER, MC_DOB; the episodes CHILD, DECOM, RNE, LS, CIN, PLACE,
PLACE_PROVIDER, DEC, REC, REASON_PLACE_CHANGE, HOME_POST, PL_POST, URN). Dates are DD/MM/YYYY
(ISO is accepted too).

Each file is read by an in-memory DuckDB connection (no database file; its spill folder is a
private temporary folder removed when the read ends) into pandas frames that hold only what
the definitions need: an opaque integer key for each child (a hash of CHILD, never the id
itself), dates and codes. UPN, names of mothers, ethnicity and postcodes are never read,
except the HOME_POST sector when a unit map by postcode sector is used.

Optional tables (reviews, missing, UASC, OC2, OC3, AD1, placed for adoption, previous
permanence) are recognised by their columns and ignored with a note: no measure here needs
them (`codes.OPTIONAL_903_TABLES`).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.load.readers import safe_display_name, sha256_of
from pipelines.load.returns import codes
from pipelines.load.validate import Issue

HEADER_COLUMNS = ("CHILD", "SEX", "DOB")
EPISODE_COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "PLACE", "DEC", "REC")
#: Columns that identify each optional table (any one of them is enough).
OPTIONAL_TABLE_MARKERS = {
    "reviews": ("REVIEW", "REVIEW_CODE"),
    "missing": ("MISSING", "MIS_START", "MIS_END"),
    "uasc": ("DUC",),
    "oc2": ("SDQ_SCORE", "CONVICTED", "HEALTH_CHECK"),
    "oc3": ("IN_TOUCH", "ACTIV", "ACCOM"),
    "ad1": ("DATE_INT", "DATE_MATCH", "FOSTER_CARE"),
    "placed_for_adoption": ("DATE_PLACED", "DATE_PLACED_CEASED"),
    "previous_permanence": ("PREV_PERM", "LA_PERM", "DATE_PERM"),
}


@dataclass
class SourceFile:
    """One file read, as the audit may record it: never a row of its content."""

    name: str
    sha256: str
    collection: str  # "ssda903" | "cin"
    table: str  # header | episodes | cin | an optional table | unknown
    year: int | None
    n_rows: int = 0


@dataclass
class Read903:
    header: pd.DataFrame
    episodes: pd.DataFrame
    files: list[SourceFile] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def collection_year_from_name(name: str) -> int | None:
    """The collection year (its 31 March) named in a file name: '2023-24', '2023_24', '202324'
    and '2024' all give 2024 (a single year is taken as the year the collection ends)."""
    pair = re.search(r"(20\d\d)[-_ ]?(\d\d)(?!\d)", name)
    if pair and (int(pair.group(1)) + 1) % 100 == int(pair.group(2)):
        return int(pair.group(1)) + 1
    single = re.search(r"(?<!\d)(20\d\d)(?!\d)", name)
    return int(single.group(1)) if single else None


def _date_sql(column: str) -> str:
    text = f"trim({column})"
    return f"coalesce(try_strptime({text}, '%d/%m/%Y'), try_strptime({text}, '%Y-%m-%d'))::DATE"


def _code_sql(column: str | None, allowed: frozenset[str], name: str) -> str:
    """The code, upper-cased, as a category; plus a flag for a value outside the year's list."""
    if column is None:
        return f"NULL::VARCHAR AS {name}, false AS {name}_unknown"
    value = f"nullif(upper(trim({column})), '')"
    listed = ", ".join(f"'{c}'" for c in sorted(allowed))
    return (
        f"CASE WHEN {value} IN ({listed}) THEN {value} END AS {name}, "
        f"({value} IS NOT NULL AND {value} NOT IN ({listed})) AS {name}_unknown"
    )


def _columns(con, path: Path) -> dict[str, str]:
    described = con.execute(
        "DESCRIBE SELECT * FROM read_csv(?, all_varchar=true, header=true)", [str(path)]
    ).fetchall()
    return {re.sub(r"[\s\-]+", "_", r[0].strip().lstrip("\ufeff").upper()): r[0] for r in described}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def detect_table(columns) -> str:
    names = set(columns)
    if {"DECOM", "RNE", "LS"} <= names:
        return "episodes"
    if {"CHILD", "DOB", "SEX"} <= names and "DECOM" not in names:
        return "header"
    for table, markers in OPTIONAL_TABLE_MARKERS.items():
        if names & set(markers):
            return table
    return "unknown"


def _read_header(con, path: Path, cols: dict[str, str], year: int) -> pd.DataFrame:
    allowed = codes.codes_for(year).sex
    c = {k: _quote(v) for k, v in cols.items()}
    return con.execute(
        f"""SELECT row_number() OVER () + 1 AS row,
                   hash(trim({c["CHILD"]})) AS child,
                   nullif(trim({c["CHILD"]}), '') IS NULL AS child_missing,
                   {_date_sql(c["DOB"])} AS dob,
                   nullif(trim({c["DOB"]}), '') IS NOT NULL AND {_date_sql(c["DOB"])} IS NULL
                       AS dob_bad,
                   {_code_sql(c["SEX"], allowed, "sex")}
            FROM read_csv(?, all_varchar=true, header=true)""",
        [str(path)],
    ).df()


def _read_episodes(
    con, path: Path, cols: dict[str, str], year: int, with_postcode: bool
) -> pd.DataFrame:
    year_codes = codes.codes_for(year)
    c = {k: _quote(v) for k, v in cols.items()}
    sector = "NULL::VARCHAR"
    if with_postcode and "HOME_POST" in c:
        sector = f"postcode_sector_sql({c['HOME_POST']})"
    dates = []
    for name in ("DECOM", "DEC"):
        dates.append(f"{_date_sql(c[name])} AS {name.lower()}")
        dates.append(
            f"(nullif(trim({c[name]}), '') IS NOT NULL AND {_date_sql(c[name])} IS NULL) "
            f"AS {name.lower()}_bad"
        )
    code_fields = [
        _code_sql(c.get(name), year_codes.allowed(name), name.lower())
        for name in ("RNE", "LS", "PLACE", "REC")
    ]
    return con.execute(
        f"""SELECT row_number() OVER () + 1 AS row,
                   hash(trim({c["CHILD"]})) AS child,
                   nullif(trim({c["CHILD"]}), '') IS NULL AS child_missing,
                   {", ".join(dates)}, {", ".join(code_fields)},
                   {sector} AS home_sector
            FROM read_csv(?, all_varchar=true, header=true)""",
        [str(path)],
    ).df()


def _macro(con) -> None:
    # Postcode sector: the outward code and the first digit of the inward code ("AB1 2").
    con.execute(
        r"""CREATE OR REPLACE MACRO postcode_sector_sql(p) AS
            nullif(regexp_extract(upper(regexp_replace(trim(p), '\s+', '', 'g')),
                                  '^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9])', 1) || ' ' ||
                   regexp_extract(upper(regexp_replace(trim(p), '\s+', '', 'g')),
                                  '^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9])', 2), ' ')"""
    )


def read_903(paths, names: list[str] | None = None, *, with_postcode: bool = False) -> Read903:
    """Read every 903 file given (any mix of tables and years) into child-level frames.

    `names` are the names to show for each path (the uploaded names on the Upload page). A
    file that cannot be read, or whose table or collection year cannot be told, is reported
    as an error issue; nothing here raises for bad input.
    """
    paths = [Path(p) for p in paths]
    names = [safe_display_name(n) for n in (names or [p.name for p in paths])]
    result = Read903(pd.DataFrame(), pd.DataFrame())
    headers, episodes = [], []
    with tempfile.TemporaryDirectory(prefix="rp-impact-903-") as spill:
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET temp_directory = ?", [spill])
            _macro(con)
            for path, name in zip(paths, names, strict=True):
                frame = _read_one(con, path, name, result, with_postcode)
                if frame is None:
                    continue
                table, data = frame
                (headers if table == "header" else episodes).append(data)
        finally:
            con.close()
    result.header = pd.concat(headers, ignore_index=True) if headers else _empty_header()
    result.episodes = pd.concat(episodes, ignore_index=True) if episodes else _empty_episodes()
    return result


def _read_one(con, path: Path, name: str, result: Read903, with_postcode: bool):
    try:
        sha = sha256_of(path)
        cols = _columns(con, path)
    except (OSError, duckdb.Error):
        result.issues.append(
            _file_issue(name, "unreadable", "could not be read as a CSV table of the SSDA903.")
        )
        return None
    table = detect_table(cols)
    year = collection_year_from_name(name)
    source = SourceFile(name, sha, "ssda903", table, year)
    result.files.append(source)
    if table not in ("header", "episodes"):
        what = codes.OPTIONAL_903_TABLES.get(table, "not a table of the SSDA903 read here")
        result.notes.append(f"{name}: {table.replace('_', ' ')} table, {what}.")
        return None
    if year is None or year not in codes.CODES_BY_YEAR:
        result.issues.append(
            _file_issue(
                name,
                "collection_year",
                "does not say its collection year in its name (or the year is not one whose "
                "code lists are held).",
                "Name the file with the year it covers, e.g. episodes_2023-24.csv.",
            )
        )
        return None
    needed = HEADER_COLUMNS if table == "header" else EPISODE_COLUMNS
    missing = [c for c in needed if c not in cols]
    if missing:
        result.issues.append(
            _file_issue(
                name,
                "missing_column",
                f"has no {', '.join(missing)} column (the SSDA903 {table} table needs it).",
            )
        )
        return None
    try:
        if table == "header":
            data = _read_header(con, path, cols, year)
        else:
            data = _read_episodes(con, path, cols, year, with_postcode)
    except duckdb.Error:
        result.issues.append(
            _file_issue(name, "unreadable", "could not be read as a CSV table of the SSDA903.")
        )
        return None
    data["year"] = year
    data["file"] = name
    source.n_rows = len(data)
    return table, data


def _file_issue(name: str, rule: str, message: str, hint: str = "") -> Issue:
    return Issue(name, None, None, None, rule, "error", message, hint)


def _empty_header() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "child": pd.Series(dtype="uint64"),
            "dob": pd.Series(dtype="datetime64[ns]"),
            "sex": pd.Series(dtype="object"),
            "year": pd.Series(dtype="int64"),
            "file": pd.Series(dtype="object"),
        }
    )


def _empty_episodes() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "child": pd.Series(dtype="uint64"),
            "decom": pd.Series(dtype="datetime64[ns]"),
            "dec": pd.Series(dtype="datetime64[ns]"),
            "year": pd.Series(dtype="int64"),
            "file": pd.Series(dtype="object"),
        }
    )
    for name in ("rne", "ls", "place", "rec", "home_sector"):
        frame[name] = pd.Series(dtype="object")
    return frame


def child_keys(identifiers: list[str]):
    """Opaque 64-bit keys for child ids, the same function the CSV reads use (DuckDB's hash of
    the trimmed id): equal ids get equal keys within a process, and no id can be read back."""
    import numpy as np

    if not identifiers:
        return np.zeros(0, dtype="uint64")
    con = duckdb.connect(":memory:")
    try:
        frame = con.execute(
            "SELECT hash(trim(x)) AS k FROM (SELECT unnest(?::VARCHAR[]) AS x)",
            [[str(i) for i in identifiers]],
        ).df()
    finally:
        con.close()
    return frame["k"].to_numpy(dtype="uint64")


def latest_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per episode across years: an episode open at 31 March appears again in the next
    year's return (with its DEC once it ends), so the latest collection year's row wins."""
    ordered = episodes.sort_values(["child", "decom", "year"], kind="mergesort")
    return ordered.drop_duplicates(["child", "decom"], keep="last")


def latest_dob(header: pd.DataFrame) -> pd.Series:
    """Each child's DOB from the latest header that gives one, indexed by child."""
    known = header.loc[header["dob"].notna()].sort_values("year", kind="mergesort")
    return known.drop_duplicates("child", keep="last").set_index("child")["dob"]
