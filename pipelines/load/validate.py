"""Check an extract against its contract, in SQL, and stage it as typed rows.

`validate_file` reads a file (`pipelines.load.readers`), works out which dataset it is, and runs every
rule of that dataset's contract (`pipelines.contracts`). It returns a `ValidationReport` holding
a list of `Issue`s, each naming the file, the row as Excel counts it, the column, the value, the
rule and how to fix it. Errors refuse the file; warnings load it and are reported.

The checks run in DuckDB on the caller's cursor, in TEMP tables, so that a national-scale file
is checked without per-row Python and the staged rows can be merged without another copy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.contracts import (
    CONTRACTS,
    STOCK_MEASURES,
    SUPPRESSION_MARKERS,
    UNIT_ALL,
    Column,
    Contract,
    normalise_header,
)
from pipelines.load import guard
from pipelines.load.readers import (
    RAW_TABLE,
    RawExtract,
    ReadError,
    drop_raw,
    read_extract,
    safe_display_name,
)

STAGE_TABLE = "stg_extract"
MAX_ISSUES_PER_RULE = 50
# A quarter-on-quarter jump is only worth a warning when the earlier quarter is not tiny.
JUMP_MIN_BASE = 20

_COUNT_RE = r"^[0-9]+(\.0+)?$"
_ISO_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]00:00(:00)?)?$"
_UK_DATE_RE = r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$"
_ONS_RE = r"^[EWSN][0-9]{8}$"


@dataclass(frozen=True)
class Issue:
    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    severity: str
    message: str
    hint: str = ""

    def as_text(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.message}"
        return f"{text} {self.hint}".strip()


@dataclass
class ValidationReport:
    file_name: str
    dataset: str | None
    n_rows: int = 0
    issues: list[Issue] = field(default_factory=list)
    present_value_columns: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    staged: bool = False

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def contract(self) -> Contract | None:
        return CONTRACTS.get(self.dataset) if self.dataset else None


# -- header mapping and dataset detection ------------------------------------------------------


def _match_columns(headers: list[str], contract: Contract) -> dict[str, int]:
    """Canonical column name -> header index. Exact names win over aliases."""
    normalised = [normalise_header(h) for h in headers]
    mapping: dict[str, int] = {}
    for column in contract.columns:
        exact = normalise_header(column.name)
        if exact in normalised:
            mapping[column.name] = normalised.index(exact)
    taken = set(mapping.values())
    for column in contract.columns:
        if column.name in mapping:
            continue
        for alias in column.aliases:
            key = normalise_header(alias)
            if key in normalised and normalised.index(key) not in taken:
                mapping[column.name] = normalised.index(key)
                taken.add(mapping[column.name])
                break
    return mapping


def detect_dataset(headers: list[str]) -> str | None:
    """The contract whose required columns are all present and which matches most columns."""
    best, best_score = None, 0
    for contract in CONTRACTS.values():
        mapping = _match_columns(headers, contract)
        required = [c.name for c in contract.columns if c.required]
        if not all(name in mapping for name in required):
            continue
        values = [c for c in contract.value_columns if c in mapping]
        if contract.min_value_columns and len(values) < 1:
            continue
        score = len(mapping) + len(values)
        if score > best_score:
            best, best_score = contract.dataset, score
    return best


def dataset_help() -> str:
    parts = []
    for contract in CONTRACTS.values():
        required = ", ".join(c.name for c in contract.columns if c.required)
        parts.append(f"{contract.dataset} (needs {required})")
    return "; ".join(parts)


# -- SQL fragments -----------------------------------------------------------------------------


def _marker_list() -> str:
    return ", ".join("'" + m.replace("'", "''") + "'" for m in SUPPRESSION_MARKERS)


def _clean(src: str) -> str:
    return f"trim({src})"


def _is_marker(src: str) -> str:
    return f"(coalesce(lower({_clean(src)}), '') IN ({_marker_list()}))"


def _count_text(src: str) -> str:
    return f"replace({_clean(src)}, ',', '')"


def _count_expr(src: str) -> str:
    text = _count_text(src)
    return (
        f"CASE WHEN {_is_marker(src)} THEN NULL "
        f"WHEN regexp_matches({text}, '{_COUNT_RE}') THEN TRY_CAST(TRY_CAST({text} AS DOUBLE) "
        "AS BIGINT) END"
    )


def _date_expr(src: str) -> str:
    text = _clean(src)
    return (
        f"CASE WHEN regexp_matches({text}, '{_ISO_DATE_RE}') "
        f"THEN TRY_CAST(try_strptime(left({text}, 10), '%Y-%m-%d') AS DATE) "
        f"WHEN regexp_matches({text}, '{_UK_DATE_RE}') "
        f"THEN TRY_CAST(try_strptime({text}, '%d/%m/%Y') AS DATE) END"
    )


def _area_expr(src: str) -> str:
    text = f"upper({_clean(src)})"
    return (
        f"CASE WHEN regexp_matches({text}, '{_ONS_RE}') THEN {text} "
        f"ELSE (SELECT a.area_code FROM _area_lookup a WHERE a.old_la_code = {_clean(src)}) END"
    )


def _typed_expr(column: Column, src: str | None) -> str:
    if src is None:
        if column.default is not None:
            return f"'{column.default}'"
        return f"CAST(NULL AS {column.sql_type})"
    if column.kind == "count":
        return _count_expr(src)
    if column.kind == "date":
        return _date_expr(src)
    if column.kind == "area":
        return _area_expr(src)
    if column.kind in ("year", "wave"):
        return f"TRY_CAST(nullif({_clean(src)}, '') AS INTEGER)"
    if column.default is not None:
        return f"coalesce(nullif({_clean(src)}, ''), '{column.default}')"
    return f"nullif({_clean(src)}, '')"


def _null_reason_expr(src: str | None) -> str:
    if src is None:
        return "CAST(NULL AS VARCHAR)"
    return (
        f"CASE WHEN {_is_marker(src)} THEN CASE WHEN coalesce({_clean(src)}, '') = '' "
        f"THEN 'empty' ELSE lower({_clean(src)}) END END"
    )


VALUES_TABLE = "_raw_values"


def value_table(index: int) -> str:
    """The TEMP view of raw column c{index}'s distinct values (`c{index}`) and row counts (`n`)."""
    return f"_values_c{index}"


def _build_value_tables(con, n_columns: int) -> None:
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


def _drop_value_tables(con, n_columns: int) -> None:
    for index in range(n_columns):
        con.execute(f"DROP VIEW IF EXISTS {value_table(index)}")
        con.execute(f"DROP TABLE IF EXISTS _typed_c{index}")
    con.execute(f"DROP TABLE IF EXISTS {VALUES_TABLE}")


def _fast_expr(column: Column, src: str) -> str:
    """A plain cast that gives the same typed value as `_typed_expr` for well-formed values."""
    casts = {"count": "BIGINT", "date": "DATE", "year": "INTEGER", "wave": "INTEGER"}
    return f"TRY_CAST({src} AS {casts[column.kind]})" if column.kind in casts else src


# -- the validator ----------------------------------------------------------------------------


class _Checker:
    def __init__(self, con, report: ValidationReport, contract: Contract, mapping, headers):
        self.con = con
        self.report = report
        self.contract = contract
        self.mapping = mapping
        self.headers = headers

    def src(self, name: str) -> str | None:
        index = self.mapping.get(name)
        return None if index is None else f"c{index}"

    def header(self, name: str) -> str:
        index = self.mapping.get(name)
        return name if index is None else self.headers[index]

    def add(self, rule: str, message: str, hint: str = "", row=None, column=None, value=None):
        severity = self.contract.rule(rule).severity
        self.report.issues.append(
            Issue(
                self.report.file_name, row, column, safe_value(value), rule, severity, message, hint
            )
        )

    def add_rows(self, rule: str, sql: str, params, column: str | None, message, hint: str = ""):
        """Run a query returning (_row, value) for offending rows; add one issue per row."""
        # One pass: the window count gives the total while LIMIT keeps the first rows.
        found = self.con.execute(
            f"SELECT *, count(*) OVER () AS _total FROM ({sql}) ORDER BY 1 "
            f"LIMIT {MAX_ISSUES_PER_RULE}",
            params,
        ).fetchall()
        if not found:
            return 0
        total = int(found[0][-1])
        rows = [row[:-1] for row in found]
        for row in rows:
            value = None if row[1] is None else str(row[1])
            text = message(row) if callable(message) else message
            self.add(rule, text, hint, row=int(row[0]), column=column, value=value)
        if total > len(rows):
            self.add(
                rule,
                f"{total - len(rows)} more rows break the same rule (first {len(rows)} listed).",
                hint,
                column=column,
            )
        return total

    def add_value_rows(
        self, rule: str, src: str, condition: str, params, column: str | None, message, hint=""
    ):
        """`add_rows` for a rule on single cells of raw column `src`: the rule is first tried
        on the column's distinct values, and the rows are read only when a value breaks it."""
        index = int(src[1:])
        broken = self.con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {value_table(index)} WHERE ({condition}))", params
        ).fetchone()[0]
        if not broken:
            return 0
        return self.add_rows(
            rule,
            f"SELECT _row, {src} FROM {RAW_TABLE} WHERE ({condition})",
            params,
            column,
            message,
            hint,
        )

    # type checks on the raw strings
    def _columns_with_bad_counts(self) -> set[str]:
        """One scan over the raw rows finds the count columns that need the detailed checks."""
        counted = [
            (c.name, self.src(c.name))
            for c in self.contract.columns
            if c.kind == "count" and self.src(c.name)
        ]
        if not counted:
            return set()
        filters = ", ".join(
            f"(SELECT count(*) FROM {value_table(int(src[1:]))} WHERE NOT {_is_marker(src)} AND "
            f"NOT coalesce(regexp_matches({_count_text(src)}, '{_COUNT_RE}'), false)"
            + (f" OR {_is_marker(src)}" if self.contract.column(name).required else "")
            + ")"
            for name, src in counted
        )
        row = self.con.execute(f"SELECT {filters}").fetchone()
        return {name for (name, _), bad in zip(counted, row, strict=True) if bad}

    def check_types(self) -> None:
        needs_count_checks = self._columns_with_bad_counts()
        for column in self.contract.columns:
            src = self.src(column.name)
            if src is None:
                continue
            name = self.header(column.name)
            if column.kind == "count":
                if column.name in needs_count_checks:
                    self._check_count(column, src, name)
            elif column.kind == "date":
                self._check_date(column, src, name)
            elif column.kind == "area":
                self._check_area(src, name)
            elif column.kind == "year":
                self.add_value_rows(
                    "year_invalid",
                    src,
                    f"NOT coalesce(regexp_matches({_clean(src)}, '^[0-9]{{4}}$'), false) "
                    f"OR TRY_CAST({_clean(src)} AS INTEGER) NOT BETWEEN 1990 AND ?",
                    [dt.date.today().year],
                    name,
                    "is not a four-digit year between 1990 and this year.",
                    "Give the mid-year of the estimate, e.g. 2023.",
                )
            elif column.kind == "wave":
                self.add_value_rows(
                    "wave_invalid",
                    src,
                    f"coalesce({_clean(src)}, '') <> '' "
                    f"AND NOT coalesce(TRY_CAST({_clean(src)} AS INTEGER) >= 1, false)",
                    [],
                    name,
                    "is not a wave number.",
                    "Use 1 for the first wave, 2 for the second, and so on.",
                )
            elif column.name in self.contract.key and column.default is None:
                self.add_value_rows(
                    "missing_column",
                    src,
                    f"coalesce({_clean(src)}, '') = ''",
                    [],
                    name,
                    "is empty but is part of the row's key.",
                    "Fill it in.",
                )

    def _check_count(self, column: Column, src: str, name: str) -> None:
        text = _count_text(src)
        bad = (
            f"NOT {_is_marker(src)} AND NOT coalesce(regexp_matches({text}, '{_COUNT_RE}'), false)"
        )
        base = bad
        self.add_value_rows(
            "count_negative",
            src,
            f"{base} AND regexp_matches({text}, '^-[0-9]+(\\.[0-9]+)?$')",
            [],
            name,
            "is negative; counts cannot be below 0.",
            "Correct the count, or mark it suppressed (c) if it is withheld.",
        )
        self.add_value_rows(
            "count_not_integer",
            src,
            f"{base} AND regexp_matches({text}, '^[0-9]*\\.[0-9]+$')",
            [],
            name,
            "is not a whole number.",
            "Counts of children are whole numbers; check the column holds counts, not rates.",
        )
        self.add_value_rows(
            "count_not_integer",
            src,
            f"{base} AND NOT regexp_matches({text}, '^-?[0-9]*\\.?[0-9]+$')",
            [],
            name,
            "is not a number.",
            "Use a whole number, or a suppression marker such as c or x.",
        )
        if column.required:
            self.add_value_rows(
                "population_not_positive",
                src,
                _is_marker(src),
                [],
                name,
                "is missing or suppressed; a population is needed to compute rates.",
                "Give the mid-year estimate for this row.",
            )

    def _check_date(self, column: Column, src: str, name: str) -> None:
        text = _clean(src)
        required = column.required
        empty_ok = "" if required else f"coalesce({text}, '') <> '' AND "
        self.add_value_rows(
            "date_invalid",
            src,
            f"{empty_ok}({_date_expr(src)}) IS NULL",
            [],
            name,
            lambda row: _date_message(row[1]),
            "Use YYYY-MM-DD (2024-06-30) or DD/MM/YYYY (30/06/2024).",
        )
        if "date_ambiguous" in {r.code for r in self.contract.rules}:
            self.add_value_rows(
                "date_ambiguous",
                src,
                f"regexp_matches({text}, '{_UK_DATE_RE}') "
                f"AND TRY_CAST(split_part({text}, '/', 1) AS INTEGER) <= 12 "
                f"AND TRY_CAST(split_part({text}, '/', 2) AS INTEGER) <= 12 "
                # Compared as numbers: DuckDB 2.0 fails to bind `split_part(..) <> split_part(..)`
                # on a column that is entirely NULL.
                f"AND TRY_CAST(split_part({text}, '/', 1) AS INTEGER) "
                f"<> TRY_CAST(split_part({text}, '/', 2) AS INTEGER)",
                [],
                name,
                lambda row: f"was read as {_uk_reading(row[1])} (day/month, UK order).",
                "If the file uses US month/day order, correct it or use YYYY-MM-DD.",
            )

    def _check_area(self, src: str, name: str) -> None:
        self.add_value_rows(
            "area_invalid",
            src,
            f"({_area_expr(src)}) IS NULL",
            [],
            name,
            "is not an ONS area code (a letter and eight digits, e.g. E06000021) or a known "
            "three-digit DfE LA code.",
            "Use the ONS code, or load the areas file (or DfE releases) so old codes can be mapped.",
        )

    # rules on the typed rows
    def check_rows(self) -> None:
        key = ", ".join(self.contract.key)
        first_key_column = self.header(self.contract.key[0])
        # A grouped count finds out cheaply whether any key repeats; the window that names the
        # first row of each repeat runs only then.
        repeated = self.con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {STAGE_TABLE} GROUP BY {key} HAVING count(*) > 1)"
        ).fetchone()[0]
        if repeated:
            self.add_rows(
                "duplicate_key",
                f"SELECT _row, first_row FROM (SELECT _row, min(_row) OVER (PARTITION BY {key}) "
                f"AS first_row FROM {STAGE_TABLE}) WHERE _row <> first_row",
                [],
                first_key_column,
                lambda row: f"repeats the key of row {row[1]} ({', '.join(self.contract.key)}).",
                "Each key may appear once; remove the duplicate or correct its key.",
            )
        if "period_end" in self.mapping:
            name = self.header("period_end")
            self.add_rows(
                "period_not_end",
                f"SELECT _row, period_end FROM {STAGE_TABLE} WHERE period_end IS NOT NULL "
                "AND period_end <> last_day(period_end)",
                [],
                name,
                "is not the last day of a month or quarter.",
                "Use the period's last day, e.g. 2024-06-30 for April-June 2024.",
            )
            self.add_rows(
                "period_in_future",
                f"SELECT _row, period_end FROM {STAGE_TABLE} WHERE period_end > ?",
                [dt.date.today()],
                name,
                "is in the future.",
                "Only periods that have ended can be reported.",
            )
        if self.contract.dataset == "training":
            self.add_rows(
                "trained_above_scope",
                f"SELECT _row, staff_trained FROM {STAGE_TABLE} WHERE staff_trained > staff_in_scope",
                [],
                self.header("staff_trained"),
                lambda row: f"is more than staff_in_scope ({row[1]} trained).",
                "Staff trained cannot exceed staff in scope; check both columns for this row.",
            )
            self._check_training_falls()
        if self.contract.dataset == "rollout" and "complete_date" in self.mapping:
            self.add_rows(
                "complete_before_start",
                f"SELECT _row, complete_date FROM {STAGE_TABLE} WHERE complete_date < start_date",
                [],
                self.header("complete_date"),
                "is before start_date.",
                "A rollout completes on or after the day it starts; swap or correct the dates.",
            )
        if self.contract.dataset == "population":
            self.add_rows(
                "population_not_positive",
                f"SELECT _row, population_0_17 FROM {STAGE_TABLE} WHERE population_0_17 <= 0",
                [],
                self.header("population_0_17"),
                "is 0; a population must be more than 0.",
                "Give the mid-year estimate for this row.",
            )
        if self.contract.dataset == "outcomes":
            self._check_outcome_sums()
            self._check_jumps()

    def _check_training_falls(self) -> None:
        self.add_rows(
            "trained_fell",
            f"""SELECT _row, staff_trained FROM (
                SELECT s._row, s.staff_trained, s.period_end,
                       lag(s.staff_trained) OVER w AS previous
                FROM (SELECT _row, period_end, area_code, unit, agency, course, staff_trained
                      FROM {STAGE_TABLE}
                      UNION ALL
                      SELECT NULL, period_end, area_code, unit, agency, course, staff_trained
                      FROM fct_training f WHERE NOT EXISTS (
                          SELECT 1 FROM {STAGE_TABLE} t WHERE t.period_end = f.period_end
                          AND t.area_code = f.area_code AND t.unit = f.unit
                          AND t.agency = f.agency AND t.course = f.course)) s
                WINDOW w AS (PARTITION BY area_code, unit, agency, course ORDER BY period_end))
              WHERE _row IS NOT NULL AND staff_trained < previous""",
            [],
            self.header("staff_trained"),
            "is lower than the previous period's cumulative figure.",
            "staff_trained is cumulative; check whether leavers were removed or a row is wrong.",
        )

    def _value_columns(self) -> list[str]:
        return [c for c in self.report.present_value_columns]

    def _check_outcome_sums(self) -> None:
        """Both sum rules for every measure from two small aggregate tables (one scan each)."""
        measures = self._value_columns()
        if not measures:
            return
        unit_sums = ", ".join(f"sum({m}) AS {m}__total" for m in measures)
        band_sums = ", ".join(
            f"sum({m}) AS {m}__total, count({m}) = count(*) AS {m}__complete" for m in measures
        )
        all_values = ", ".join(f"a.{m}" for m in measures)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _unit_sums AS
                SELECT a._row, {all_values}, {", ".join(f"s.{m}__total" for m in measures)}
                FROM {STAGE_TABLE} a JOIN (
                    SELECT period_end, area_code, age_band, {unit_sums}
                    FROM {STAGE_TABLE} WHERE unit <> '{UNIT_ALL}'
                    GROUP BY period_end, area_code, age_band) s
                  USING (period_end, area_code, age_band)
                WHERE a.unit = '{UNIT_ALL}'"""
        )
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _band_sums AS
                SELECT a._row, {all_values},
                       {", ".join(f"s.{m}__total, s.{m}__complete" for m in measures)}
                FROM {STAGE_TABLE} a JOIN (
                    SELECT period_end, area_code, unit, {band_sums}
                    FROM {STAGE_TABLE} WHERE age_band <> '{UNIT_ALL}'
                    GROUP BY period_end, area_code, unit) s
                  USING (period_end, area_code, unit)
                WHERE a.age_band = '{UNIT_ALL}'"""
        )
        try:
            for measure in measures:
                self.add_rows(
                    "unit_sum_above_all",
                    f"SELECT _row, {measure}__total FROM _unit_sums "
                    f"WHERE {measure}__total > {measure}",
                    [],
                    measure,
                    lambda row: f"the localities add up to {row[1]}, more than this All row.",
                    "Check for a locality counted twice, or an All row that is out of date.",
                )
                self.add_rows(
                    "age_bands_not_all",
                    f"SELECT _row, {measure}__total FROM _band_sums "
                    f"WHERE {measure}__complete AND {measure}__total <> {measure}",
                    [],
                    measure,
                    lambda row: f"the age bands add up to {row[1]}, not to this All row.",
                    "Check that every age band is present and that the All row is the total.",
                )
        finally:
            self.con.execute("DROP TABLE IF EXISTS _unit_sums")
            self.con.execute("DROP TABLE IF EXISTS _band_sums")

    def _check_jumps(self) -> None:
        """All measures in one pass: quarter values and their lags per series, then per measure."""
        measures = self._value_columns()
        if not measures:
            return
        values = ", ".join(measures)
        quarter_values = ", ".join(
            (
                f"arg_max_null({m}, period_end)"
                if m in STOCK_MEASURES
                else f"CASE WHEN count({m}) = count(*) THEN sum({m}) END"
            )
            + f" AS {m}"
            for m in measures
        )
        previous = ", ".join(f"p.{m} AS {m}__previous" for m in measures)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _jump_quarters AS
                WITH combined AS (
                    SELECT _row, period_end, area_code, unit, age_band, {values}
                    FROM {STAGE_TABLE}
                    UNION ALL
                    SELECT NULL, period_end, area_code, unit, age_band, {values}
                    FROM fct_outcomes f
                    WHERE period_end >= (SELECT min(period_end) - INTERVAL 6 MONTH
                                         FROM {STAGE_TABLE})
                      AND period_end <= (SELECT max(period_end) FROM {STAGE_TABLE})
                      AND NOT EXISTS (SELECT 1 FROM {STAGE_TABLE} t
                          WHERE t.period_end = f.period_end AND t.area_code = f.area_code
                          AND t.unit = f.unit AND t.age_band = f.age_band)),
                quarters AS MATERIALIZED (
                    SELECT area_code, unit, age_band,
                           last_day(date_trunc('quarter', period_end) + INTERVAL 2 MONTH) AS q,
                           min(_row) AS first_row, {quarter_values}
                    FROM combined GROUP BY area_code, unit, age_band, q)
                -- Each quarter meets the one before it by a hash join (cheaper than a window
                -- sorting every series); a quarter with no quarter just before it has no jump.
                SELECT c.* EXCLUDE (area_code, unit, age_band, q), {previous}
                FROM quarters c JOIN quarters p
                  ON c.area_code = p.area_code AND c.unit = p.unit AND c.age_band = p.age_band
                 AND p.q = last_day(c.q - INTERVAL 3 MONTH)
                WHERE c.first_row IS NOT NULL"""
        )
        try:
            for measure in measures:
                previous = f"{measure}__previous"
                self.add_rows(
                    "jump_over_50pct",
                    f"""SELECT first_row, round(100.0 * ({measure} - {previous}) / {previous})
                            AS pct FROM _jump_quarters
                        WHERE {previous} >= {JUMP_MIN_BASE}
                          AND abs({measure} - {previous}) > 0.5 * {previous}""",
                    [],
                    measure,
                    lambda row: (
                        f"the quarter's figure changed by {int(row[1]):+d}% on the quarter before."
                    ),
                    "Check the figure; if it is right, no action is needed.",
                )
        finally:
            self.con.execute("DROP TABLE IF EXISTS _jump_quarters")


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


def _uk_reading(text: str) -> str:
    try:
        day, month, year = (int(p) for p in str(text).strip().split("/"))
        return dt.date(year, month, day).strftime("%-d %B %Y")
    except ValueError:
        return "a day/month/year date"


def _date_message(value) -> str:
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


def _create_area_lookup(con) -> None:
    con.execute("DROP TABLE IF EXISTS _area_lookup")
    try:
        con.execute(
            "CREATE TEMP TABLE _area_lookup AS SELECT DISTINCT old_la_code, area_code FROM "
            "fct_areas WHERE old_la_code IS NOT NULL"
        )
        has_dfe = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dfe_areas'"
        ).fetchone()[0]
        if has_dfe:
            con.execute(
                "INSERT INTO _area_lookup SELECT DISTINCT old_la_code, new_la_code FROM dfe_areas "
                "WHERE old_la_code IS NOT NULL AND new_la_code IS NOT NULL AND old_la_code NOT IN "
                "(SELECT old_la_code FROM _area_lookup)"
            )
    except duckdb.CatalogException:
        con.execute("CREATE TEMP TABLE _area_lookup (old_la_code VARCHAR, area_code VARCHAR)")


def _ensure_reference_tables(con) -> None:
    """Without a warehouse (a pure dry run) the cross-file checks see empty fact tables."""
    from pipelines.store.warehouse import _fact_table_ddl

    for contract in CONTRACTS.values():
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [contract.table]
        ).fetchone()[0]
        if not exists:
            con.execute(_fact_table_ddl(contract, contract.table).replace("TABLE", "TEMP TABLE", 1))


def _unknown_dataset_issue(name: str, raw: RawExtract) -> Issue:
    return Issue(
        name,
        raw.header_row,
        None,
        None,
        "unknown_dataset",
        "error",
        "Could not tell which dataset this file is from its header ("
        + ", ".join(guard.header_label(i, h) for i, h in enumerate(raw.headers[:12]) if h.strip())
        + ").",
        f"Each extract needs the columns of one dataset: {dataset_help()}.",
    )


def _guard(con, report, raw: RawExtract, contract, mapping, allow_columns) -> bool:
    """Run the identifiable-data guard; add its findings; True when the file must be refused."""
    allowed = [a for a in allow_columns if str(a).strip()]
    mapped_indexes = set(mapping.values())
    findings = guard.scan_headers(raw.headers, mapped_indexes, allowed)
    kinds = {}
    if contract is not None:
        kinds = {index: contract.column(column).kind for column, index in mapping.items()}
    findings += guard.scan_values(
        con, RAW_TABLE, raw.headers, kinds, allowed, value_tables=value_table
    )
    for finding in findings:
        report.issues.append(
            Issue(
                report.file_name,
                raw.header_row if finding.row is None else finding.row,
                finding.column,
                None,
                finding.rule,
                "error",
                finding.message,
                guard.HINT,
            )
        )
    for header in guard.overrides_present(raw.headers, allowed):
        report.issues.append(
            Issue(
                report.file_name,
                raw.header_row,
                header,
                None,
                guard.RULE_OVERRIDE,
                "warning",
                "an admin allowed this column past the identifiable-data guard for this upload; "
                "its name and values were not checked for identifiers.",
                "Recorded in the audit log.",
            )
        )
    return bool(findings)


def _stage(con, checker: _Checker, contract: Contract) -> None:
    """Create `stg_extract`: the typed rows, with the reason behind each missing count.

    Each column's typed value and null reason are worked out once per distinct raw value. A
    column whose values a plain cast types exactly as the contract's rules do (the usual
    case: plain numbers, ISO dates, codes as written) is cast in place; any other column is
    typed by joining its distinct values' results.
    """
    selects, joins = ["_row"], []
    for column in contract.columns:
        src = checker.src(column.name)
        nullable = column.name in contract.nullable_value_columns
        if column.name in contract.value_columns and src is None and column.kind == "count":
            continue
        typed, reason = _typed_expr(column, src), _null_reason_expr(src) if nullable else None
        if src is not None:
            index = int(src[1:])
            fast = _fast_expr(column, src)
            plain, no_reasons = con.execute(
                f"SELECT coalesce(bool_and(({fast}) IS NOT DISTINCT FROM ({typed})), true), "
                f"coalesce(bool_and(({reason or 'NULL'}) IS NULL), true) "
                f"FROM {value_table(index)}"
            ).fetchone()
            if plain and no_reasons:
                typed, reason = fast, "CAST(NULL AS VARCHAR)" if nullable else None
            else:
                mapped = f"_typed_c{index}"
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {mapped} AS SELECT {src} AS raw_value, "
                    f"{typed} AS typed, {reason or 'NULL'} AS reason FROM {value_table(index)}"
                )
                joins.append(f"LEFT JOIN {mapped} ON {src} IS NOT DISTINCT FROM {mapped}.raw_value")
                typed, reason = f"{mapped}.typed", f"{mapped}.reason" if nullable else None
        selects.append(f"{typed} AS {column.name}")
        if nullable:
            selects.append(f"{reason} AS {column.name}_null_reason")
    con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
    con.execute(
        f"CREATE TEMP TABLE {STAGE_TABLE} AS SELECT {', '.join(selects)} FROM {RAW_TABLE} "
        + " ".join(joins)
    )


def validate_file(
    path: Path | str,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    dataset: str | None = None,
    display_name: str | None = None,
    allow_columns: Iterable[str] = (),
) -> tuple[ValidationReport, duckdb.DuckDBPyConnection]:
    """Validate one extract; on success its typed rows are in TEMP table `stg_extract` on `con`.

    `con` is a warehouse cursor (so checks can compare with loaded data) or None for a
    stand-alone dry run in an in-memory database. The identifiable-data guard
    (`pipelines.load.guard`) runs straight after reading, before anything is typed or staged;
    `allow_columns` names columns an admin has allowed past it (the caller checks the role).
    """
    con = con if con is not None else duckdb.connect(":memory:")
    name = safe_display_name(display_name or Path(path).name)
    report = ValidationReport(name, dataset)
    try:
        raw: RawExtract = read_extract(path, con, name)
    except ReadError as exc:
        report.issues.append(Issue(name, exc.row, None, None, "unreadable", "error", str(exc)))
        return report, con
    report.notes.extend(raw.notes)
    report.n_rows = raw.n_rows
    _build_value_tables(con, len(raw.headers))
    try:
        _check_and_stage(con, report, raw, dataset, allow_columns)
    finally:
        _drop_value_tables(con, len(raw.headers))
        drop_raw(con)
    return report, con


def _check_and_stage(con, report: ValidationReport, raw: RawExtract, dataset, allow_columns):
    """Every rule of the file's contract, in order; stages the typed rows when none refuses it."""
    name = report.file_name

    if dataset is not None and dataset not in CONTRACTS:
        report.dataset = None
        report.issues.append(
            Issue(
                name,
                None,
                None,
                None,
                "unknown_dataset",
                "error",
                f"'{dataset}' is not a dataset rp-impact knows.",
                f"Use one of: {', '.join(CONTRACTS)}.",
            )
        )
        return
    detected = dataset or detect_dataset(raw.headers)
    mapping = _match_columns(raw.headers, CONTRACTS[detected]) if detected else {}
    report.dataset = detected
    refused = _guard(con, report, raw, CONTRACTS.get(detected), mapping, allow_columns)
    if detected is None:
        report.issues.append(_unknown_dataset_issue(name, raw))
    if refused or detected is None:
        return
    contract = CONTRACTS[detected]
    checker = _Checker(con, report, contract, mapping, raw.headers)

    for column in contract.columns:
        if column.required and column.name not in mapping:
            aliases = ", ".join(column.aliases)
            checker.add(
                "missing_column",
                f"the required column '{column.name}' is missing.",
                f"Add it (accepted names: {column.name}{', ' + aliases if aliases else ''}).",
                row=raw.header_row,
                column=column.name,
            )
    used = set(mapping.values())
    for index, header in enumerate(raw.headers):
        if index not in used and header.strip():
            checker.add(
                "unknown_column",
                f"the column '{header}' is not part of the {detected} contract and was ignored.",
                "Remove it, or rename it to a contract column if it is one.",
                row=raw.header_row,
                column=header,
            )
    report.present_value_columns = tuple(c for c in contract.value_columns if c in mapping)
    if contract.min_value_columns and not report.present_value_columns:
        checker.add(
            "no_value_columns",
            "the file has no count columns.",
            "Add at least one of: " + ", ".join(contract.value_columns) + ".",
            row=raw.header_row,
        )
    if raw.n_rows == 0:
        report.issues.append(
            Issue(
                name,
                raw.header_row,
                None,
                None,
                "no_rows",
                "error",
                "the file has a header but no data rows.",
                "Export the extract again with its data.",
            )
        )
    if report.errors:
        return

    _create_area_lookup(con)
    _ensure_reference_tables(con)
    checker.check_types()
    if report.errors:
        return

    _stage(con, checker, contract)
    # The typed rows are all the later rules and the merge need: free the strings before the
    # row rules run (the caller's `finally` drops the distinct values).
    drop_raw(con)
    checker.check_rows()
    report.staged = report.ok
