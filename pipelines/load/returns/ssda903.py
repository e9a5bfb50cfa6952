"""Read SSDA903 CSV tables (header, episodes; several collection years at once) into memory.

The 903 is one CSV per table per collection year ([903] DfE, "Children looked after by local
authorities in England: guide to the SSDA903 collection", part 2: the header has CHILD, SEX,
DOB, ETHNIC, UPN, MOTHER, MC_DOB; the episodes CHILD, DECOM, RNE, LS, CIN, PLACE,
PLACE_PROVIDER, DEC, REC, REASON_PLACE_CHANGE, HOME_POST, PL_POST, URN). Dates are DD/MM/YYYY
(ISO is accepted too).

Each file is read by an in-memory DuckDB connection (no database file; its spill folder is a
private temporary folder removed when the read ends), two files at a time, each sniffed once
(`sniff_csv`) and then read with the dialect found, into pandas frames (kept in the order the
files were given, whichever read ends first) that hold only what the definitions need: an opaque integer key for each child (a hash of CHILD, never the id
itself), dates and codes. UPN, names of mothers, ethnicity and postcodes are never read,
except the HOME_POST sector when a unit map by postcode sector is used.

Optional tables (reviews, missing, UASC, OC2, OC3, AD1, placed for adoption, previous
permanence) are recognised by their columns and ignored with a note: no measure here needs
them (`codes.OPTIONAL_903_TABLES`).
"""

from __future__ import annotations

import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.load.readers import safe_display_name, sha256_of
from pipelines.load.returns import codes
from pipelines.load.returns.order import by_child_then, in_order
from pipelines.load.validate import Issue

HEADER_COLUMNS = ("CHILD", "SEX", "DOB")
#: Files read at once: while one file's read waits on DuckDB (which parses a small file, a
#: header, on one thread) or its rows are sorted, the next is hashed, sniffed and parsed.
READ_THREADS = 2
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


@dataclass(kw_only=True)
class ReturnsRead:
    """What a read of returns found besides their rows: the files, problems and notes."""

    files: list[SourceFile] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Read903(ReturnsRead):
    header: pd.DataFrame
    episodes: pd.DataFrame


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


#: Every code any year allows, per field: the categories of the code columns read (a DuckDB
#: ENUM, so pandas gets a categorical of one byte a row, the same categories in every file).
CODE_FIELDS = ("RNE", "LS", "PLACE", "REC", "SEX")


def _all_codes(field: str) -> list[str]:
    return sorted(set().union(*(y.allowed(field) for y in codes.CODES_BY_YEAR.values())))


def _year_sets(field: str) -> list[frozenset[str]]:
    """The distinct code lists of a field over the years held, in a fixed order."""
    return sorted({y.allowed(field) for y in codes.CODES_BY_YEAR.values()}, key=sorted)


def _enum_types(con) -> None:
    """One ENUM per field (every code of any year) and one per distinct list of a year."""
    for code_field in CODE_FIELDS:
        name = code_field.lower()
        listed = ", ".join(f"'{c}'" for c in _all_codes(code_field))
        con.execute(f"CREATE TYPE {name}_code AS ENUM ({listed})")
        for i, allowed in enumerate(_year_sets(code_field)):
            listed = ", ".join(f"'{c}'" for c in sorted(allowed))
            con.execute(f"CREATE TYPE {name}_code_{i} AS ENUM ({listed})")


def _code_sql(column: str | None, allowed: frozenset[str], name: str) -> str:
    """The code as a category, NULL outside the year's list; plus a flag for such a value.

    Used in the outer query of a read, over `{name}_raw` (the trimmed, upper-cased text). The
    year's list is tested by a cast to its ENUM, not by `IN (...)`: DuckDB turns a long IN
    list into a join, which would not keep the rows in the file's order."""
    if column is None:
        return f"NULL::{name}_code AS {name}, false AS {name}_unknown"
    year_type = f"{name}_code_{_year_sets(name.upper()).index(frozenset(allowed))}"
    return (
        f"try_cast({name}_raw AS {year_type})::{name}_code AS {name}, "
        f"({name}_raw IS NOT NULL AND try_cast({name}_raw AS {year_type}) IS NULL) "
        f"AS {name}_unknown"
    )


def _raw_code_sql(column: str | None, name: str) -> str:
    if column is None:
        return f"NULL::VARCHAR AS {name}_raw"
    return f"nullif(upper(trim({column})), '') AS {name}_raw"


def _raw_date_sql(column: str, name: str) -> str:
    return f"nullif(trim({column}), '') AS {name}_raw, {_date_sql(column)} AS {name}"


#: A read that sniffs the file itself (the fallback when `sniff_csv` cannot).
_AUTO_SOURCE = "read_csv(?, all_varchar=true, header=true)"


@dataclass(frozen=True)
class _Csv:
    """A file's columns (normalised name → name as written) and the `read_csv(?, ...)` that
    reads it as DuckDB sniffed it."""

    columns: dict[str, str]
    source: str


def _literal(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _sniff(con, path: Path) -> _Csv:
    """Sniff the file once (`sniff_csv`) and give the read the dialect found, with
    `auto_detect=false`, so the read does not sniff it again (a sniff costs about a sixth of
    the read of an episodes file). A file `sniff_csv` refuses (an empty one, say) falls back
    to `DESCRIBE` and a read that sniffs for itself, as every read did before."""
    try:
        row = con.execute(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, Columns "
            "FROM sniff_csv(?, all_varchar=true, header=true)",
            [str(path)],
        ).fetchone()
    except duckdb.Error:
        row = None
    if row is None or not row[6]:
        names = [
            r[0]
            for r in con.execute(f"DESCRIBE SELECT * FROM {_AUTO_SOURCE}", [str(path)]).fetchall()
        ]
        return _Csv(_normalised(names), _AUTO_SOURCE)
    delim, quote, escape, new_line, comment, skip, columns = row
    names = [c["name"] for c in columns]

    def option(value) -> str:
        return _literal("" if value == "(empty)" else value)

    spec = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
    source = (
        f"read_csv(?, auto_detect=false, delim={option(delim)}, quote={option(quote)}, "
        f"escape={option(escape)}, new_line={option(new_line)}, skip={int(skip)}, "
        f"comment={option(comment)}, header=true, columns={{{spec}}}, all_varchar=true)"
    )
    return _Csv(_normalised(names), source)


def _normalised(names: list[str]) -> dict[str, str]:
    return {re.sub(r"[\s\-]+", "_", n.strip().lstrip("\ufeff").upper()): n for n in names}


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


def _read_header(con, path: Path, csv: _Csv, year: int) -> pd.DataFrame:
    allowed = codes.codes_for(year).sex
    c = {k: _quote(v) for k, v in csv.columns.items()}
    sql = f"""SELECT {_ROW_OUTER} child, child_missing, dob,
                   dob_raw IS NOT NULL AND dob IS NULL AS dob_bad,
                   {_code_sql(c["SEX"], allowed, "sex")}
            FROM (SELECT {_ROW_INNER} hash(trim({c["CHILD"]})) AS child,
                         nullif(trim({c["CHILD"]}), '') IS NULL AS child_missing,
                         {_raw_date_sql(c["DOB"], "dob")},
                         {_raw_code_sql(c["SEX"], "sex")}
                  FROM {csv.source})"""
    frame = _read_in_order(con, sql, path)
    # In child order (a child's rows in file order), so the checks find each episode's
    # header row by a binary search over a sorted run rather than sort every year's header.
    return frame.take(np.argsort(frame["child"].to_numpy(), kind="stable")).reset_index(drop=True)


def _with_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Number the rows as a spreadsheet shows them (the heading is row 1). DuckDB returns the
    rows of a plain projection in the file's order (it preserves insertion order); numbering
    them here rather than with `row_number() OVER ()` leaves DuckDB free to parse the file on
    every thread. `_in_file_order` checks the query is such a projection."""
    frame.insert(0, "row", np.arange(2, len(frame) + 2, dtype="int32"))
    return frame


_ORDER_BREAKERS = ("JOIN", "WINDOW", "ORDER", "AGGREGATE", "GROUP", "UNION", "DISTINCT")


_PLANS_IN_ORDER: dict[str, bool] = {}  # by query text: files of one shape share a plan


def _in_file_order(con, sql: str, path: Path) -> bool:
    """Whether DuckDB's plan for a read is a scan and projections only (so its rows come in
    the file's order): no join, window, sort or aggregate. Asked once per query text (an
    EXPLAIN sniffs the file, which costs as much as a small read)."""
    known = _PLANS_IN_ORDER.get(sql)
    if known is None:  # files are read on two threads: either may ask first
        rows = con.execute("EXPLAIN " + sql, [str(path)]).fetchall()
        plan = " ".join(str(r[-1]) for r in rows).upper()
        if len(_PLANS_IN_ORDER) > 256:
            _PLANS_IN_ORDER.clear()
        known = _PLANS_IN_ORDER[sql] = not any(word in plan for word in _ORDER_BREAKERS)
    return known


def _read_in_order(con, sql: str, path: Path) -> pd.DataFrame:
    """Run a read (`sql` over `read_csv(?)`, with the `/*row*/` slots) and number its rows.

    When the plan is not a plain projection (never expected), the rows are numbered by
    `row_number() OVER ()` over the scan, before anything else, and put back in that order."""
    fast = sql.replace(_ROW_INNER, "").replace(_ROW_OUTER, "")
    if _in_file_order(con, fast, path):
        return _with_rows(con.execute(fast, [str(path)]).df())
    numbered = sql.replace(_ROW_INNER, "row_number() OVER () + 1 AS row,").replace(
        _ROW_OUTER, "row::INTEGER AS row,"
    )
    frame = con.execute(numbered, [str(path)]).df()
    return frame.sort_values("row", kind="mergesort").reset_index(drop=True)


_ROW_INNER, _ROW_OUTER = "/*row*/", "/*outer row*/"


def _read_episodes(con, path: Path, csv: _Csv, year: int, with_postcode: bool) -> pd.DataFrame:
    """The episodes of one file, each date and code parsed once, with the flags the checks
    need (`validate`), sorted by child, DECOM (empty last) and row: the order the checks and
    the definitions take them in (one small sort per file rather than one of every year's
    episodes later)."""
    year_codes = codes.codes_for(year)
    c = {k: _quote(v) for k, v in csv.columns.items()}
    sector = "NULL::VARCHAR"  # no postcode is read unless a unit map by sector needs it
    if with_postcode and "HOME_POST" in c:
        sector = f"postcode_sector_sql({c['HOME_POST']})"
    fields = ("RNE", "LS", "PLACE", "REC")
    raw = [_raw_date_sql(c[name], name.lower()) for name in ("DECOM", "DEC")]
    raw += [_raw_code_sql(c.get(name), name.lower()) for name in fields]
    code_fields = [
        _code_sql(c.get(name), year_codes.allowed(name), name.lower()) for name in fields
    ]
    sql = f"""SELECT {_ROW_OUTER} child, child_missing,
                   decom, decom_raw IS NOT NULL AND decom IS NULL AS decom_bad,
                   dec, dec_raw IS NOT NULL AND dec IS NULL AS dec_bad,
                   {", ".join(code_fields)}, home_sector
            FROM (SELECT {_ROW_INNER} hash(trim({c["CHILD"]})) AS child,
                         nullif(trim({c["CHILD"]}), '') IS NULL AS child_missing,
                         {", ".join(raw)},
                         {sector} AS home_sector
                  FROM {csv.source})"""
    frame = _read_in_order(con, sql, path)
    decom = frame["decom"].to_numpy()
    last = np.iinfo("int64").max  # an empty DECOM sorts after every date
    days = np.where(np.isnat(decom), last, decom.view("int64"))
    return frame.take(by_child_then(frame["child"].to_numpy(), days)).reset_index(drop=True)


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
            _enum_types(con)

            # A cursor per file (made here, used by one thread only) on the one database.
            cursors = [con.cursor() for _ in paths]

            def read(cursor, path: Path, name: str):
                part = Read903(pd.DataFrame(), pd.DataFrame())
                try:
                    return part, _read_one(cursor, path, name, part, with_postcode)
                finally:
                    cursor.close()

            with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="rp-impact-903") as pool:
                reads = list(pool.map(read, cursors, paths, names))
        finally:
            con.close()
    for name, (part, frame) in zip(names, reads, strict=True):  # in the order given
        result.files += part.files
        result.issues += part.issues
        result.notes += part.notes
        if frame is not None:
            table, year, data = frame
            (headers if table == "header" else episodes).append((name, year, data))
    result.header = _concat(headers) if headers else _empty_header()
    result.episodes = _concat(episodes) if episodes else _empty_episodes()
    return result


def _concat(parts: list[tuple[str, int, pd.DataFrame]]) -> pd.DataFrame:
    """The files' frames as one, with `file` a categorical of the file names (in name order,
    one byte a row rather than a string) and `year` a small integer."""
    names = sorted({name for name, _, _ in parts})
    frame = pd.concat([data for _, _, data in parts], ignore_index=True)
    lengths = [len(data) for _, _, data in parts]
    file_codes = np.repeat([names.index(name) for name, _, _ in parts], lengths)
    frame["file"] = pd.Categorical.from_codes(file_codes, categories=names)
    frame["year"] = np.repeat([year for _, year, _ in parts], lengths).astype("int16")
    return frame


def _read_one(con, path: Path, name: str, result: Read903, with_postcode: bool):
    try:
        sha = sha256_of(path)
        csv = _sniff(con, path)
    except (OSError, duckdb.Error):
        result.issues.append(
            _file_issue(name, "unreadable", "could not be read as a CSV table of the SSDA903.")
        )
        return None
    table = detect_table(csv.columns)
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
    missing = [c for c in needed if c not in csv.columns]
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
            data = _read_header(con, path, csv, year)
        else:
            data = _read_episodes(con, path, csv, year, with_postcode)
    except duckdb.Error:
        result.issues.append(
            _file_issue(name, "unreadable", "could not be read as a CSV table of the SSDA903.")
        )
        return None
    source.n_rows = len(data)
    return table, year, data


def _file_issue(name: str, rule: str, message: str, hint: str = "") -> Issue:
    return Issue.refusal(name, rule, message, hint)


def _empty_frame(dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})


_KEY_DTYPES = {"row": "int64", "child": "uint64"}
_FILE_DTYPES = {"year": "int64", "file": "object"}


def _empty_header() -> pd.DataFrame:
    return _empty_frame({**_KEY_DTYPES, "dob": "datetime64[ns]", "sex": "object", **_FILE_DTYPES})


def _empty_episodes() -> pd.DataFrame:
    dates = {"decom": "datetime64[ns]", "dec": "datetime64[ns]"}
    texts = dict.fromkeys(("rne", "ls", "place", "rec", "home_sector"), "object")
    return _empty_frame({**_KEY_DTYPES, **dates, **_FILE_DTYPES, **texts})


def child_keys(identifiers: list[str]):
    """Opaque 64-bit keys for child ids, the same function the CSV reads use (DuckDB's hash of
    the trimmed id): equal ids get equal keys within a process, and no id can be read back."""
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
    year's return (with its DEC once it ends), so the latest collection year's row wins.

    The rows come back in the order a stable sort by child, DECOM and year gives (ties in
    their order), found without a sort of several keys: a stable sort by child (fast when
    each file is already in child order, as `read_903` gives them), each child's rank, then
    a stable sort of one integer made of rank, DECOM and year."""
    order = _child_decom_year_order(episodes)
    child = episodes["child"].to_numpy()[order]
    decom = episodes["decom"].to_numpy()[order]
    last = np.r_[(child[1:] != child[:-1]) | (decom[1:] != decom[:-1]), True]
    return episodes.iloc[order[last]]


def _child_decom_year_order(episodes: pd.DataFrame) -> np.ndarray:
    child = episodes["child"].to_numpy()
    decom = episodes["decom"].to_numpy()
    year = episodes["year"].to_numpy().astype("int64")
    if not len(child) or child.dtype.kind not in "iu" or np.isnat(decom).any():
        ordered = episodes.reset_index(drop=True)
        return ordered.sort_values(["child", "decom", "year"], kind="mergesort").index.to_numpy()
    by_child = np.argsort(child, kind="stable")
    sorted_child = child[by_child]
    if in_order([sorted_child, decom[by_child], year[by_child]]):
        return by_child  # the usual case: each file in child order, and the years in order
    days = decom.astype("datetime64[D]").view("int64")
    days, year = days - days.min(), year - year.min()
    rank = np.cumsum(np.r_[True, sorted_child[1:] != sorted_child[:-1]]) - 1
    bits = [int(rank[-1]).bit_length(), int(days.max()).bit_length(), int(year.max()).bit_length()]
    if sum(bits) > 62 or (decom != decom.astype("datetime64[D]")).any():
        return np.lexsort((year, decom, child))
    key = (rank << (bits[1] + bits[2])) | (days[by_child] << bits[2]) | year[by_child]
    return by_child[np.argsort(key, kind="stable")]


def latest_dob(header: pd.DataFrame) -> pd.Series:
    """Each child's DOB from the latest header that gives one, indexed by child."""
    known = header["dob"].notna().to_numpy()
    child, dob, year = (header[c].to_numpy()[known] for c in ("child", "dob", "year"))
    if len(year) > 1 and (year[1:] < year[:-1]).any():
        by_year = np.argsort(year, kind="stable")
        child, dob = child[by_year], dob[by_year]
    last = ~pd.Series(child).duplicated(keep="last").to_numpy()  # one hash of the keys
    return pd.Series(dob[last], index=pd.Index(child[last], name="child"), name="dob")
