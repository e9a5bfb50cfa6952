"""One cell of an extract: the SQL that types it, the reason it is missing, how to quote it.

Every per-cell rule of `pipelines.load.validate` is a function of one raw value, so these
expressions run once per distinct value of a column (`build_value_tables`: a national file has
about 15,000 distinct values across 18M cells) and go back to the rows only for a value that
breaks a rule. `typed_expr` and `null_reason_expr` are the contract's reading of a cell
(`pipelines.contracts`: counts, dates, area codes, suppression markers); `fast_expr` is the
plain cast that gives the same value for a well-formed one.
"""

from __future__ import annotations

import datetime as dt
import re

from pipelines.contracts import SUPPRESSION_MARKERS, Column
from pipelines.load.readers import RAW_TABLE

#: The typed rows of the file being checked (a TEMP table on the caller's cursor).
STAGE_TABLE = "stg_extract"

COUNT_RE = r"^[0-9]+(\.0+)?$"
#: Thousands separators in their one proper pattern: `1,234`, `12,345,678`, `-1,234`, `1,234.0`.
#: Any other comma (`1,5`, `4,0`, `1,2,3`, `12,34,567`) is refused, never dropped: `1,5` could
#: be one and a half, or 15.
THOUSANDS_RE = r"^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"
#: Number-shaped text with a comma that is not a thousands separator.
MISPLACED_COMMA_RE = r"^-?[0-9,]+(\.[0-9]+)?$"
#: The largest count the warehouse holds (counts are BIGINT): beyond it a cast would give NULL.
MAX_COUNT = 2**63 - 1
#: A midnight time after a date is what Excel writes for a date cell; any other time is not.
MIDNIGHT = "([ T]00:00(:00(\\.0+)?)?)?"
ISO_DATE_RE = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{MIDNIGHT}$"
UK_DATE_RE = rf"^[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}{MIDNIGHT}$"
ONS_RE = r"^[EWSN][0-9]{8}$"


def marker_list() -> str:
    return ", ".join("'" + m.replace("'", "''") + "'" for m in SUPPRESSION_MARKERS)


def clean(src: str) -> str:
    return f"trim({src})"


def is_marker(src: str) -> str:
    return f"(coalesce(lower({clean(src)}), '') IN ({marker_list()}))"


def count_text(src: str) -> str:
    """The cell without its thousands separators, when they are in their proper places."""
    text = clean(src)
    return f"CASE WHEN regexp_matches({text}, '{THOUSANDS_RE}') THEN replace({text}, ',', '') ELSE {text} END"


def count_value(text: str) -> str:
    """The BIGINT a count's text (`count_text`) holds; NULL when it is beyond `MAX_COUNT`. Cast
    from the digits, never through DOUBLE, which rounds counts above 2**53."""
    return f"TRY_CAST(regexp_replace({text}, '\\.0+$', '') AS BIGINT)"


def count_overflows(src: str) -> str:
    """True for a well-formed count too large for the warehouse's BIGINT."""
    text = count_text(src)
    return f"(regexp_matches({text}, '{COUNT_RE}') AND {count_value(text)} IS NULL)"


def count_expr(src: str) -> str:
    text = count_text(src)
    return (
        f"CASE WHEN {is_marker(src)} THEN NULL "
        f"WHEN regexp_matches({text}, '{COUNT_RE}') THEN {count_value(text)} END"
    )


def date_expr(src: str) -> str:
    text = clean(src)
    return (
        f"CASE WHEN regexp_matches({text}, '{ISO_DATE_RE}') "
        f"THEN TRY_CAST(try_strptime(left({text}, 10), '%Y-%m-%d') AS DATE) "
        f"WHEN regexp_matches({text}, '{UK_DATE_RE}') "
        f"THEN TRY_CAST(try_strptime(split_part({text}, ' ', 1), '%d/%m/%Y') AS DATE) END"
    )


def area_expr(src: str) -> str:
    text = f"upper({clean(src)})"
    return (
        f"CASE WHEN regexp_matches({text}, '{ONS_RE}') THEN {text} "
        f"ELSE (SELECT a.area_code FROM _area_lookup a WHERE a.old_la_code = {clean(src)}) END"
    )


def typed_expr(column: Column, src: str | None) -> str:
    if src is None:
        if column.default is not None:
            return f"'{column.default}'"
        return f"CAST(NULL AS {column.sql_type})"
    if column.kind == "count":
        return count_expr(src)
    if column.kind == "date":
        return date_expr(src)
    if column.kind == "area":
        return area_expr(src)
    if column.kind in ("year", "wave"):
        return f"TRY_CAST(nullif({clean(src)}, '') AS INTEGER)"
    if column.default is not None:
        return f"coalesce(nullif({clean(src)}, ''), '{column.default}')"
    return f"nullif({clean(src)}, '')"


def null_reason_expr(src: str | None) -> str:
    if src is None:
        return "CAST(NULL AS VARCHAR)"
    return (
        f"CASE WHEN {is_marker(src)} THEN CASE WHEN coalesce({clean(src)}, '') = '' "
        f"THEN 'empty' ELSE lower({clean(src)}) END END"
    )


VALUES_TABLE = "_raw_values"


def value_table(index: int) -> str:
    """The TEMP view of raw column c{index}'s distinct values (`c{index}`) and row counts (`n`)."""
    return f"_values_c{index}"


def build_value_tables(con, n_columns: int) -> None:
    """Distinct values per raw column. Every per-cell rule is a function of one value, so it
    runs once per distinct value (a national file has ~15,000 across ~18M cells) and goes back
    to the rows only for a value that breaks it. One table holds every column's values; each
    column reads them through its own view, under its own name."""
    counted = " UNION ALL ".join(
        f"SELECT {index} AS col, c{index} AS value, count(*) AS n FROM {RAW_TABLE} "
        f"GROUP BY c{index}"
        for index in range(n_columns)
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {VALUES_TABLE} AS {counted}")
    for index in range(n_columns):
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {value_table(index)} AS "
            f"SELECT value AS c{index}, n FROM {VALUES_TABLE} WHERE col = {index}"
        )


def drop_value_tables(con, n_columns: int) -> None:
    for index in range(n_columns):
        con.execute(f"DROP VIEW IF EXISTS {value_table(index)}")
        con.execute(f"DROP TABLE IF EXISTS _typed_c{index}")
    con.execute(f"DROP TABLE IF EXISTS {VALUES_TABLE}")


def fast_expr(column: Column, src: str) -> str:
    """A plain cast that gives the same typed value as `_typed_expr` for well-formed values."""
    casts = {"count": "BIGINT", "date": "DATE", "year": "INTEGER", "wave": "INTEGER"}
    return f"TRY_CAST({src} AS {casts[column.kind]})" if column.kind in casts else src


#: What an issue may keep of a cell in a column of each kind: a count, year or wave keeps only
#: number-shaped text, a date only date-shaped text. A surname typed into a count column is
#: therefore never kept.
_SAFE_BY_KIND = {
    "count": re.compile(r"^[0-9\s.,+\-]*$"),
    "year": re.compile(r"^[0-9\s.,+\-]*$"),
    "wave": re.compile(r"^[0-9\s.,+\-]*$"),
    "date": re.compile(r"^[0-9\s/.:\-T]*$"),
}


def safe_value(value: str | None, kind: str | None = None) -> str | None:
    """The offending value as an issue may keep it, or None when it could be identifying.

    In a column of kind count, year, wave or date only text of that shape is kept
    (`_SAFE_BY_KIND`). Otherwise numbers, codes and single words are kept (so a message can say
    which unit is new); free text (two or more words), long values, anything with an '@' and
    control characters (a NUL byte) are not, so a name or a note typed into the wrong column
    never reaches the audit tables.
    """
    if value is None:
        return None
    text = str(value)
    if len(text) > 40 or "@" in text or re.search(r"[\x00-\x1f\x7f]", text):
        return None
    if kind in _SAFE_BY_KIND:
        return text if _SAFE_BY_KIND[kind].match(text) else None
    if re.search(r"[^\W\d_]{2,}\W+[^\W\d_]{2,}", text):
        return None
    return text


def uk_reading(text: str) -> str:
    try:
        day, month, year = (int(p) for p in str(text).strip().split("/"))
        return dt.date(year, month, day).strftime("%-d %B %Y")
    except ValueError:
        return "a day/month/year date"


def date_message(value) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        return "is empty; a date is required."
    parts = text.split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        first, second = int(parts[0]), int(parts[1])
        if first <= 12 < second <= 31:
            return (
                "is not a valid DD/MM/YYYY date; it looks like US month/day order (MM/DD/YYYY), "
                "which is not accepted."
            )
    return "is not a valid date."
