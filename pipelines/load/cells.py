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
ISO_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]00:00(:00)?)?$"
UK_DATE_RE = r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$"
ONS_RE = r"^[EWSN][0-9]{8}$"


def marker_list() -> str:
    return ", ".join("'" + m.replace("'", "''") + "'" for m in SUPPRESSION_MARKERS)


def clean(src: str) -> str:
    return f"trim({src})"


def is_marker(src: str) -> str:
    return f"(coalesce(lower({clean(src)}), '') IN ({marker_list()}))"


def count_text(src: str) -> str:
    return f"replace({clean(src)}, ',', '')"


def count_expr(src: str) -> str:
    text = count_text(src)
    return (
        f"CASE WHEN {is_marker(src)} THEN NULL "
        f"WHEN regexp_matches({text}, '{COUNT_RE}') THEN TRY_CAST(TRY_CAST({text} AS DOUBLE) "
        "AS BIGINT) END"
    )


def date_expr(src: str) -> str:
    text = clean(src)
    return (
        f"CASE WHEN regexp_matches({text}, '{ISO_DATE_RE}') "
        f"THEN TRY_CAST(try_strptime(left({text}, 10), '%Y-%m-%d') AS DATE) "
        f"WHEN regexp_matches({text}, '{UK_DATE_RE}') "
        f"THEN TRY_CAST(try_strptime({text}, '%d/%m/%Y') AS DATE) END"
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


def safe_value(value: str | None) -> str | None:
    """The offending value as an issue may keep it, or None when it could be identifying.

    Numbers, dates, codes and single words are kept (so a message can say which area code is
    unknown); free text (two or more words), long values and anything with an '@' are not
    kept, so a name or a note typed into the wrong column never reaches the audit tables.
    """
    if value is None:
        return None
    text = str(value)
    if len(text) > 40 or "@" in text or re.search(r"[^\W\d_]{2,}\W+[^\W\d_]{2,}", text):
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
