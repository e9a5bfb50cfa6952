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
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.contracts import CONTRACTS, Column, Contract, Rule, normalise_header
from pipelines.load import cells, guard, row_rules
from pipelines.load.cells import STAGE_TABLE, safe_value, value_table
from pipelines.load.readers import (
    RAW_TABLE,
    RawExtract,
    ReadError,
    drop_raw,
    read_extract,
    safe_display_name,
)

MAX_ISSUES_PER_RULE = 50

#: Every rule any contract lists, by code: a rule checked on a file whose own contract does not
#: list it (a misspelt column in a training file) takes its severity from the contract that
#: does, so each rule is written once, in `pipelines.contracts` (and `docs/data-contracts.md`).
RULES_BY_CODE: dict[str, Rule] = {
    rule.code: rule for contract in CONTRACTS.values() for rule in contract.rules
}

#: How close (difflib's ratio, 0-1) a header must be to a contract column to be called a
#: misspelling of it: `cla_at_period_ending` is 0.90 from `cla_at_period_end`, an unrelated
#: `notes` or `unit name` column is far below.
MISSPELT_CUTOFF = 0.85


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

    @classmethod
    def refusal(
        cls, file: str, rule: str, message: str, hint: str = "", *, row: int | None = None
    ) -> Issue:
        """An error about the file as a whole (no column or value to name): it is refused."""
        return cls(file, row, None, None, rule, "error", message, hint)

    def as_text(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.message}"
        return f"{text} {self.hint}".strip()


class HasIssues:
    """The errors and warnings among a result's ``issues`` (validation and ingest results)."""

    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


@dataclass
class ValidationReport(HasIssues):
    file_name: str
    dataset: str | None
    n_rows: int = 0
    issues: list[Issue] = field(default_factory=list)
    present_value_columns: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    staged: bool = False

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


def _repeated_columns(headers: list[str], contract: Contract) -> list[tuple[int, int, str]]:
    """(used header, other header, column) for each header naming a column another header
    already names (`cla` beside `cla_at_period_end`): one would be ignored, silently."""
    normalised = [normalise_header(h) for h in headers]
    mapping = _match_columns(headers, contract)
    repeated = []
    for column in contract.columns:
        used = mapping.get(column.name)
        if used is None:
            continue
        names = {normalise_header(n) for n in (column.name, *column.aliases)}
        repeated += [
            (used, index, column.name)
            for index, key in enumerate(normalised)
            if index != used and key in names
        ]
    return repeated


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


def _candidates(contracts: Iterable[Contract]) -> dict[str, str]:
    """Normalised column names and aliases -> the canonical column they name."""
    found: dict[str, str] = {}
    for contract in contracts:
        for column in contract.columns:
            for name in (column.name, *column.aliases):
                found.setdefault(normalise_header(name), column.name)
    return found


def close_column(header: str, contracts: Iterable[Contract], taken=()) -> str | None:
    """The contract column `header` is probably a misspelling of, or None.

    A header that is already a column name or alias is not a misspelling, and neither is one
    whose closest column is already in the file (`taken`): it is then another column.
    """
    candidates = _candidates(contracts)
    key = normalise_header(header)
    if not key or key in candidates:
        return None
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=MISSPELT_CUTOFF)
    if not matches or candidates[matches[0]] in taken:
        return None
    return candidates[matches[0]]


def _detect_with_spelling(headers: list[str]) -> str | None:
    """The dataset a file would be if its misspelt headers were spelt right (a file whose only
    count column is misspelt is still told what it is, and how to fix it)."""
    corrected = [close_column(h, CONTRACTS.values()) or h for h in headers]
    return detect_dataset(corrected) if corrected != headers else None


def _dfe_table(headers: list[str]) -> str | None:
    """The DfE table a header is (`pipelines.load.dfe.recognise`), or None for an extract.

    A published file read as an extract would be taken for the areas contract (it has
    new_la_code and la_name) and refused with an error on every row; it is one mistake."""
    from pipelines.load.dfe import DfeFormatError, recognise

    try:
        return recognise(headers)
    except DfeFormatError:
        return None


def dataset_help() -> str:
    parts = []
    for contract in CONTRACTS.values():
        required = ", ".join(c.name for c in contract.columns if c.required)
        parts.append(f"{contract.dataset} (needs {required})")
    return "; ".join(parts)


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

    def kind_of(self, header: str | None) -> str | None:
        """The contract kind of the column the file calls `header` (None when unmapped)."""
        for name, index in self.mapping.items():
            if self.headers[index] == header:
                return self.contract.column(name).kind
        return None

    def add(self, rule: str, message: str, hint: str = "", row=None, column=None, value=None):
        listed = next((r for r in self.contract.rules if r.code == rule), None)
        severity = (listed or RULES_BY_CODE[rule]).severity
        kept = safe_value(value, self.kind_of(column))
        self.report.issues.append(
            Issue(self.report.file_name, row, column, kept, rule, severity, message, hint)
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

    def add_many(self, rule: str, found, hint: str, column: str | None) -> None:
        """Add one issue per (message, row, value) in `found`, capped as `add_rows` caps."""
        for message, row, value in found[:MAX_ISSUES_PER_RULE]:
            self.add(rule, message, hint, row=row, column=column, value=value)
        if len(found) > MAX_ISSUES_PER_RULE:
            self.add(
                rule,
                f"{len(found) - MAX_ISSUES_PER_RULE} more rows break the same rule (first "
                f"{MAX_ISSUES_PER_RULE} listed).",
                hint,
                column=column,
            )

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
            f"(SELECT count(*) FROM {value_table(int(src[1:]))} WHERE NOT {cells.is_marker(src)} AND "
            f"(NOT coalesce(regexp_matches({cells.count_text(src)}, '{cells.COUNT_RE}'), false) "
            f"OR {cells.count_overflows(src)})"
            + (f" OR {cells.is_marker(src)}" if self.contract.column(name).required else "")
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
                    f"NOT coalesce(regexp_matches({cells.clean(src)}, '^[0-9]{{4}}$'), false) "
                    f"OR TRY_CAST({cells.clean(src)} AS INTEGER) NOT BETWEEN 1990 AND ?",
                    [dt.date.today().year],
                    name,
                    "is not a four-digit year between 1990 and this year.",
                    "Give the mid-year of the estimate, e.g. 2023.",
                )
            elif column.kind == "wave":
                self.add_value_rows(
                    "wave_invalid",
                    src,
                    f"coalesce({cells.clean(src)}, '') <> '' "
                    f"AND NOT coalesce(TRY_CAST({cells.clean(src)} AS INTEGER) >= 1, false)",
                    [],
                    name,
                    "is not a wave number.",
                    "Use 1 for the first wave, 2 for the second, and so on.",
                )
            elif column.name in self.contract.key and column.default is None:
                self.add_value_rows(
                    "missing_column",
                    src,
                    f"coalesce({cells.clean(src)}, '') = ''",
                    [],
                    name,
                    "is empty but is part of the row's key.",
                    "Fill it in.",
                )

    def _check_count(self, column: Column, src: str, name: str) -> None:
        text = cells.count_text(src)
        bad = f"NOT {cells.is_marker(src)} AND NOT coalesce(regexp_matches({text}, '{cells.COUNT_RE}'), false)"
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
        misplaced = (
            f"regexp_matches({text}, '{cells.MISPLACED_COMMA_RE}') AND contains({text}, ',')"
        )
        self.add_value_rows(
            "count_not_integer",
            src,
            f"{base} AND {misplaced}",
            [],
            name,
            "has a comma that is not a thousands separator, so it cannot be read as a count "
            "(1,234 and 12,345,678 are read; 1,5 and 12,34,567 are not).",
            "Write the count without commas (1234), or with a comma before every three digits.",
        )
        self.add_value_rows(
            "count_not_integer",
            src,
            f"{base} AND NOT ({misplaced}) AND NOT regexp_matches({text}, '^-?[0-9]*\\.?[0-9]+$')",
            [],
            name,
            "is not a number.",
            "Use a whole number, or a suppression marker such as c or x.",
        )
        self.add_value_rows(
            "count_not_integer",
            src,
            f"NOT {cells.is_marker(src)} AND {cells.count_overflows(src)}",
            [],
            name,
            f"is too large to be a count (the most the warehouse holds is {cells.MAX_COUNT:,}).",
            "Check that the column holds counts of children, not a reference number.",
        )
        if column.required:
            self.add_value_rows(
                "population_not_positive",
                src,
                cells.is_marker(src),
                [],
                name,
                "is missing or suppressed; a population is needed to compute rates.",
                "Give the mid-year estimate for this row.",
            )

    def _check_date(self, column: Column, src: str, name: str) -> None:
        text = cells.clean(src)
        required = column.required
        empty_ok = "" if required else f"coalesce({text}, '') <> '' AND "
        self.add_value_rows(
            "date_invalid",
            src,
            f"{empty_ok}({cells.date_expr(src)}) IS NULL",
            [],
            name,
            lambda row: cells.date_message(row[1]),
            "Use YYYY-MM-DD (2024-06-30) or DD/MM/YYYY (30/06/2024).",
        )
        if "date_ambiguous" in {r.code for r in self.contract.rules}:
            self.add_value_rows(
                "date_ambiguous",
                src,
                f"regexp_matches({text}, '{cells.UK_DATE_RE}') "
                f"AND TRY_CAST(split_part({text}, '/', 1) AS INTEGER) <= 12 "
                f"AND TRY_CAST(split_part({text}, '/', 2) AS INTEGER) <= 12 "
                # Compared as numbers: DuckDB 2.0 fails to bind `split_part(..) <> split_part(..)`
                # on a column that is entirely NULL.
                f"AND TRY_CAST(split_part({text}, '/', 1) AS INTEGER) "
                f"<> TRY_CAST(split_part({text}, '/', 2) AS INTEGER)",
                [],
                name,
                lambda row: f"was read as {cells.uk_reading(row[1])} (day/month, UK order).",
                "If the file uses US month/day order, correct it or use YYYY-MM-DD.",
            )

    def _check_area(self, src: str, name: str) -> None:
        self.add_value_rows(
            "area_invalid",
            src,
            f"({cells.area_expr(src)}) IS NULL",
            [],
            name,
            "is not an ONS area code (a letter and eight digits, e.g. E06000021) or a known "
            "three-digit DfE LA code.",
            "Use the ONS code, or load the areas file (or DfE releases) so old codes can be mapped.",
        )


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
    from pipelines.store.models import fact_table_ddl

    for contract in CONTRACTS.values():
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [contract.table]
        ).fetchone()[0]
        if not exists:
            con.execute(fact_table_ddl(contract, contract.table).replace("TABLE", "TEMP TABLE", 1))


def _unknown_dataset_issue(name: str, raw: RawExtract) -> Issue:
    if guard.header_is_record(raw.headers):
        # Its cells are a record's values (a name, a date of birth): never listed.
        said = ": its first row holds values, not column names, so the header row is missing"
    else:
        listed = [guard.header_label(i, h) for i, h in enumerate(raw.headers[:12]) if h.strip()]
        said = " (" + ", ".join(listed) + ")"
    return Issue.refusal(
        name,
        "unknown_dataset",
        f"Could not tell which dataset this file is from its header{said}.",
        f"Each extract needs the columns of one dataset: {dataset_help()}.",
        row=raw.header_row,
    )


def _guard(con, report, raw: RawExtract, contract, mapping, allow_columns) -> bool:
    """Run the identifiable-data guard; add its findings; True when the file must be refused."""
    allowed = [a for a in allow_columns if str(a).strip()]
    mapped_indexes = set(mapping.values())
    findings = guard.scan_headers(raw.headers, mapped_indexes, allowed)
    if guard.header_is_record(raw.headers):
        findings += guard.scan_record_header(raw.headers, raw.header_row)
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
        typed, reason = (
            cells.typed_expr(column, src),
            cells.null_reason_expr(src) if nullable else None,
        )
        if src is not None:
            index = int(src[1:])
            fast = cells.fast_expr(column, src)
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
        report.issues.append(
            Issue(name, exc.row, exc.column, None, "unreadable", "error", str(exc))
        )
        return report, con
    report.notes.extend(raw.notes)
    report.n_rows = raw.n_rows
    cells.build_value_tables(con, len(raw.headers))
    try:
        _check_and_stage(con, report, raw, dataset, allow_columns)
    finally:
        cells.drop_value_tables(con, len(raw.headers))
        drop_raw(con)
    return report, con


def _check_and_stage(con, report: ValidationReport, raw: RawExtract, dataset, allow_columns):
    """Every rule of the file's contract, in order; stages the typed rows when none refuses it."""
    name = report.file_name

    if dataset is not None and dataset not in CONTRACTS:
        report.dataset = None
        report.issues.append(
            Issue.refusal(
                name,
                "unknown_dataset",
                f"'{dataset}' is not a dataset rp-impact knows.",
                f"Use one of: {', '.join(CONTRACTS)}.",
            )
        )
        return
    published = _dfe_table(raw.headers)
    if published is not None:
        report.issues.append(
            Issue.refusal(
                name,
                "dfe_published_file",
                f"this is DfE's published table '{published}', not an extract.",
                "Import it with `rp-impact import-dfe FILE`, or on the Upload page's DfE "
                "published statistics tab.",
                row=raw.header_row,
            )
        )
        return
    detected = dataset or detect_dataset(raw.headers) or _detect_with_spelling(raw.headers)
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
    repeated = _repeated_columns(raw.headers, contract)
    for used_index, other_index, column_name in repeated:
        used_header, other = raw.headers[used_index], raw.headers[other_index]
        if contract.column(column_name).kind == "count":
            # Two figures for one count: which is right cannot be guessed, and neither may be
            # dropped silently.
            report.issues.append(
                Issue(
                    name,
                    raw.header_row,
                    other,
                    None,
                    "column_repeated",
                    "error",
                    f"the columns '{used_header}' and '{other}' both give {column_name} "
                    f"('{other}' is another name for it), so one of the two counts would be "
                    "ignored.",
                    "Keep one of the two columns and upload the file again.",
                )
            )
        else:
            checker.add(
                "unknown_column",
                f"the column '{other}' is another name for {column_name}, which '{used_header}' "
                f"already gives, so it is not part of the {detected} contract here and was ignored.",
                "Remove one of the two columns.",
                row=raw.header_row,
                column=other,
            )
    used = set(mapping.values()) | {other for _, other, _ in repeated}
    misspelt = []
    for index, header in enumerate(raw.headers):
        meant = close_column(header, [contract], mapping) if index not in used else None
        if meant is not None:
            misspelt.append(meant)
            checker.add(
                "column_misspelt",
                f"the column '{header}' is not part of the {detected} contract: did you mean "
                f"{meant}?",
                f"Rename the column to {meant} and upload the file again.",
                row=raw.header_row,
                column=header,
            )
        elif index not in used and header.strip():
            checker.add(
                "unknown_column",
                f"the column '{header}' is not part of the {detected} contract and was ignored.",
                "Remove it, or rename it to a contract column if it is one.",
                row=raw.header_row,
                column=header,
            )
    report.present_value_columns = tuple(c for c in contract.value_columns if c in mapping)
    # A file whose only count column is misspelt is told the spelling, not that it has none.
    spelt_values = [m for m in misspelt if m in contract.value_columns]
    if contract.min_value_columns and not report.present_value_columns and not spelt_values:
        checker.add(
            "no_value_columns",
            "the file has no count columns.",
            "Add at least one of: " + ", ".join(contract.value_columns) + ".",
            row=raw.header_row,
        )
    if raw.n_rows == 0:
        report.issues.append(
            Issue.refusal(
                name,
                "no_rows",
                "the file has a header but no data rows.",
                "Export the extract again with its data.",
                row=raw.header_row,
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
    row_rules.check_rows(checker)
    report.staged = report.ok
