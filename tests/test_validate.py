"""Every contract rule, and every kind of bad input, gives an exact message and loads nothing.

Each test reads as: this file -> this message, naming the row (as Excel counts it) and column.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest

from pipelines.load.ingest import ingest_file, validate_only
from pipelines.store.warehouse import open_warehouse
from tests.conftest import AREAS_CSV, POPULATION_CSV

HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"


def check(wh, path, **kwargs):
    """Ingest `path` and assert the data tables are unchanged when it is refused."""
    before = wh.table_checksums()
    result = ingest_file(wh, path, user="test", **kwargs)
    if result.refused:
        assert wh.table_checksums() == before, "a refused file changed the warehouse"
    return result


def only_error(result, rule):
    assert result.refused, result.summary()
    matching = [i for i in result.errors if i.rule == rule]
    assert matching, [i.as_text() for i in result.errors]
    return matching[0]


@pytest.fixture(scope="session")
def reference_template(tmp_path_factory) -> tuple[Path, dict]:
    """The conftest's `reference_wh` (an empty warehouse with one area and its population
    loaded, the same files the same way), built once per process, and its data checksums.
    Session-scoped, not module-scoped, so xdist still spreads this module's tests."""
    folder = tmp_path_factory.mktemp("reference")
    with open_warehouse(folder / "empty.duckdb") as wh:
        for name, text in (("areas.csv", AREAS_CSV), ("population.csv", POPULATION_CSV)):
            (folder / name).write_bytes(text.encode("utf-8"))
            result = ingest_file(wh, folder / name, user="test")
            assert result.outcome == "loaded", result.issues
        sums = wh.table_checksums()
    return folder / "empty.duckdb", sums


@pytest.fixture
def reference_wh(reference_template, tmp_path):
    """This module's `reference_wh`: a private copy of `reference_template`, so a test may load."""
    template, _ = reference_template
    shutil.copy(template, tmp_path / "empty.duckdb")
    with open_warehouse(tmp_path / "empty.duckdb") as wh:
        yield wh


class SharedReference:
    """One open copy of `reference_template` for the tests that only see a file refused.

    A refusal changes no data table (`check` asserts it; only the audit tables grow, and
    validation never reads them), so the next such test may use the same copy. Before each
    test the copy's data checksums are compared with the template's: a copy that a failed
    test changed is replaced by a fresh one, so every test starts from the template's data."""

    def __init__(self, template: Path, sums: dict, folder: Path):
        self.template, self.sums, self.folder = template, sums, folder
        self.copies = 0
        self.wh = None

    def take(self):
        if self.wh is not None:
            try:
                same = self.wh.table_checksums() == self.sums
            except Exception:  # a connection a failed test broke
                same = False
            if not same:
                self.close()
        if self.wh is None:
            self.copies += 1
            path = self.folder / f"refusals-{self.copies}.duckdb"
            shutil.copy(self.template, path)
            self.wh = open_warehouse(path)
        assert self.wh.table_checksums() == self.sums
        return self.wh

    def close(self) -> None:
        if self.wh is not None:
            self.wh.close()
            self.wh = None


@pytest.fixture(scope="session")
def shared_reference(reference_template, tmp_path_factory):
    shared = SharedReference(*reference_template, tmp_path_factory.mktemp("refusals"))
    yield shared
    shared.close()


@pytest.fixture
def refusal_wh(shared_reference):
    """A warehouse holding exactly `reference_wh`'s data, for a test whose file must be
    refused: the one open copy `shared_reference` keeps (see `SharedReference`)."""
    return shared_reference.take()


@pytest.fixture
def refused(refusal_wh, write_file):
    """Write a file, check it, and return the one error it was refused with for ``rule``."""

    def check_refused(name, content, rule):
        return only_error(check(refusal_wh, write_file(name, content)), rule)

    return check_refused


def test_a_good_outcomes_file_loads(reference_wh, write_file):
    path = write_file("ok.csv", HEADER + "2023-04-30,E06999901,All,All,12,7\n")
    result = check(reference_wh, path)
    assert result.outcome == "loaded"
    assert (result.n_added, result.n_revised) == (1, 0)


def test_missing_required_column_is_named(refusal_wh, write_file):
    path = write_file("no_area.csv", "period_end,unit,cla_starts\n2023-04-30,All,3\n")
    result = check(refusal_wh, path, dataset="outcomes")
    issue = only_error(result, "missing_column")
    assert issue.column == "area_code"
    assert "required column 'area_code' is missing" in issue.message


def test_unknown_dataset_lists_the_datasets(refused):
    issue = refused("mystery.csv", "foo,bar\n1,2\n", "unknown_dataset")
    assert "Could not tell which dataset" in issue.message
    for dataset in ("outcomes", "training", "rollout", "population", "areas"):
        assert dataset in issue.hint


def test_duplicate_key_points_at_the_first_row(refused):
    issue = refused(
        "dupe.csv",
        HEADER + "2023-04-30,E06999901,All,All,12,7\n2023-04-30,E06999901,All,All,13,7\n",
        "duplicate_key",
    )
    assert issue.row == 3
    assert "repeats the key of row 2" in issue.message


@pytest.mark.parametrize(
    ("value", "rule", "fragment"),
    [
        ("-3", "count_negative", "is negative"),
        ("2.5", "count_not_integer", "is not a whole number"),
        ("abc", "count_not_integer", "is not a number"),
    ],
)
def test_bad_counts(refused, value, rule, fragment):
    issue = refused("bad_count.csv", HEADER + f"2023-04-30,E06999901,All,All,{value},7\n", rule)
    # Words in a count column are never kept (they could be a surname); numbers are.
    kept = None if value.isalpha() else value
    assert (issue.row, issue.column, issue.value) == (2, "cla_starts", kept)
    assert fragment in issue.message


def test_whole_numbers_written_by_excel_are_accepted(reference_wh, write_file):
    path = write_file("excel.csv", HEADER + '2023-04-30,E06999901,All,All,"1,204",7.0\n')
    assert check(reference_wh, path).outcome == "loaded"
    row = reference_wh.query("SELECT cla_starts, cpp_starts FROM fct_outcomes").iloc[0]
    assert (row.cla_starts, row.cpp_starts) == (1204, 7)


def _a_month_end_next_year() -> str:
    future = dt.date.today().replace(day=1) + dt.timedelta(days=400)
    end = (future.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return end.isoformat()


TRAINING_HEADER = "period_end,area_code,unit,agency,course,staff_in_scope,staff_trained\n"
ROLLOUT_HEADER = "area_code,unit,programme,wave,start_date,complete_date\n"


@pytest.mark.parametrize(
    ("name", "content", "rule", "row", "column"),
    [
        (
            "mid_month.csv",
            HEADER + "2023-04-15,E06999901,All,All,1,1\n",
            "period_not_end",
            2,
            "period_end",
        ),
        (
            "training.csv",
            TRAINING_HEADER + "2023-06-30,E06999901,Ashby,Police,Awareness,10,12\n",
            "trained_above_scope",
            2,
            "staff_trained",
        ),
        (
            "rollout.csv",
            ROLLOUT_HEADER + "E06999901,Ashby,Restorative Practice,1,2020-04-01,2019-04-01\n",
            "complete_before_start",
            2,
            "complete_date",
        ),
    ],
    ids=["date_not_at_period_end", "trained_above_in_scope", "rollout_completes_before_it_starts"],
)
def test_a_broken_rule_names_its_row_and_column(refused, name, content, rule, row, column):
    issue = refused(name, content, rule)
    assert (issue.row, issue.column) == (row, column)


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        (
            "future.csv",
            HEADER + f"{_a_month_end_next_year()},E06999901,All,All,1,1\n",
            "period_in_future",
        ),
        (
            "rollout.csv",
            "area_code,unit,wave,start_date\nE06999901,Ashby,1,2020-04-01\n"
            "E06999901,Ashby,2,2021-04-01\n",
            "duplicate_key",
        ),
        (
            "pop.csv",
            "year,area_code,unit,age_band,population_0_17\n2024,E06999901,All,All,0\n",
            "population_not_positive",
        ),
    ],
    ids=["date_in_future", "one_start_per_unit_and_programme", "population_must_be_positive"],
)
def test_a_broken_rule_refuses_the_file(refused, name, content, rule):
    refused(name, content, rule)


def test_uk_dates_are_accepted(reference_wh, write_file):
    path = write_file("uk.csv", HEADER + "30/04/2023,E06999901,All,All,1,1\n")
    assert check(reference_wh, path).outcome == "loaded"
    assert str(reference_wh.query("SELECT period_end FROM fct_outcomes").iloc[0, 0])[:10] == (
        "2023-04-30"
    )


def test_ambiguous_rollout_dates_are_flagged(reference_wh, write_file):
    path = write_file(
        "rollout.csv", "area_code,unit,wave,start_date\nE06999901,Ashby,1,03/04/2023\n"
    )
    result = check(reference_wh, path)
    assert result.outcome == "loaded"
    warning = next(i for i in result.warnings if i.rule == "date_ambiguous")
    assert "3 April 2023" in warning.message


@pytest.mark.parametrize(
    ("name", "content", "rule", "fragment"),
    [
        (
            "us.csv",
            HEADER + "04/30/2023,E06999901,All,All,1,1\n",
            "date_invalid",
            "US month/day order",
        ),
        ("empty.csv", "", "unreadable", "the file is empty"),
        ("header_only.csv", HEADER, "no_rows", "header but no data rows"),
        (
            "photo.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
            "unreadable",
            "binary file",
        ),
        (
            "dupe_header.csv",
            "period_end,area_code,cla_starts,CLA Starts\n2023-04-30,E06999901,1,2\n",
            "unreadable",
            "appears twice",
        ),
        (
            "ragged.csv",
            HEADER + "2023-04-30,E06999901,All,All,1,1,9,9\n",
            "unreadable",
            "different number of columns",
        ),
    ],
    ids=[
        "us_dates_are_refused_not_guessed",
        "empty_file",
        "header_with_no_rows",
        "binary_file_renamed_csv",
        "duplicate_headers",
        "a_row_with_too_many_fields",
    ],
)
def test_a_refused_file_is_told_why(refused, name, content, rule, fragment):
    assert fragment in str(refused(name, content, rule).message)


def test_xlsx_with_header_on_row_4_is_accepted(reference_wh, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Northmoor children's services extract"])
    sheet.append(["Produced 2023-05-02 by the performance team"])
    sheet.append([])
    sheet.append(["Period end", "Area code", "Unit", "Age band", "CLA starts", "CPP starts"])
    sheet.append([dt.datetime(2023, 4, 30), "E06999901", "All", "All", 12, "c"])
    sheet.append([dt.datetime(2023, 5, 31), "E06999901", "All", "All", 9, 4])
    path = tmp_path / "titled.xlsx"
    book.save(path)
    result = check(reference_wh, path)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert result.n_added == 2
    assert any("row 4" in note for note in result.notes)


def test_xlsx_errors_use_sheet_row_numbers(refusal_wh, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Title"])
    sheet.append(["period_end", "area_code", "cla_starts"])
    sheet.append(["2023-04-30", "E06999901", -1])
    path = tmp_path / "neg.xlsx"
    book.save(path)
    issue = only_error(check(refusal_wh, path), "count_negative")
    assert issue.row == 3


def test_mixed_suppression_markers_are_null_with_reason(reference_wh, write_file):
    rows = [
        f"2023-0{m}-{d},E06999901,All,All,{v},1\n"
        for m, d, v in [(4, 30, "c"), (5, 31, "[x]"), (6, 30, "<5"), (7, 31, "")]
    ]
    path = write_file("markers.csv", HEADER + "".join(rows))
    assert check(reference_wh, path).outcome == "loaded"
    frame = reference_wh.query(
        "SELECT cla_starts, cla_starts_null_reason FROM fct_outcomes ORDER BY period_end"
    )
    assert frame.cla_starts.isna().all(), "suppressed values must never become 0"
    assert list(frame.cla_starts_null_reason) == ["c", "[x]", "<5", "empty"]


def test_cumulative_training_that_falls_is_a_warning(reference_wh, write_file):
    header = "period_end,area_code,unit,agency,course,staff_in_scope,staff_trained\n"
    first = write_file("t1.csv", header + "2023-06-30,E06999901,Ashby,Police,Awareness,10,8\n")
    second = write_file("t2.csv", header + "2023-09-30,E06999901,Ashby,Police,Awareness,10,6\n")
    assert check(reference_wh, first).outcome == "loaded"
    result = check(reference_wh, second)
    assert result.outcome == "loaded"
    assert [i.rule for i in result.warnings] == ["trained_fell"]
    # The warning names its place (issue 14), not only the row.
    assert [i.as_text() for i in result.warnings] == [
        "t2.csv, row 2, column 'staff_trained': is lower than the previous period's cumulative "
        "figure (8) (E06999901, unit Ashby, Police, Awareness, 30 September 2023). "
        "staff_trained is cumulative; check whether leavers were removed or a row is wrong."
    ]


def test_old_la_code_is_mapped_to_the_ons_code(reference_wh, write_file):
    path = write_file("old_code.csv", HEADER + "2023-04-30,991,All,All,3,2\n")
    assert check(reference_wh, path).outcome == "loaded"
    assert reference_wh.query("SELECT area_code FROM fct_outcomes").iloc[0, 0] == "E06999901"


def test_unknown_area_code(refused):
    issue = refused("bad_area.csv", HEADER + "2023-04-30,Northmoor,All,All,3,2\n", "area_invalid")
    assert issue.value == "Northmoor"


def test_headers_match_loosely_and_by_alias(reference_wh, write_file):
    path = write_file(
        "aliases.csv",
        "Period End,LA Code,Locality,Age Group,CLA Starts\n2023-04-30,E06999901,,,4\n",
    )
    result = check(reference_wh, path)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    row = reference_wh.query("SELECT unit, age_band, cla_starts FROM fct_outcomes").iloc[0]
    assert (row.unit, row.age_band, row.cla_starts) == ("All", "All", 4)


def test_unknown_columns_are_a_warning(reference_wh, write_file):
    path = write_file("extra.csv", HEADER.strip() + ",notes\n2023-04-30,E06999901,All,All,1,1,ok\n")
    result = check(reference_wh, path)
    assert result.outcome == "loaded"
    assert [i.rule for i in result.warnings] == ["unknown_column"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters(reference_wh, write_file, delimiter):
    text = (HEADER + "2023-04-30,E06999901,All,All,12,7\n").replace(",", delimiter)
    assert check(reference_wh, write_file("delim.csv", text)).outcome == "loaded"


def test_windows_1252_file(reference_wh, write_file):
    text = HEADER + "2023-04-30,E06999901,Café Hub,All,12,7\n"
    path = write_file("cp1252.csv", text, encoding="cp1252")
    result = check(reference_wh, path)
    assert result.outcome == "loaded"
    assert reference_wh.query("SELECT unit FROM fct_outcomes").iloc[0, 0] == "Café Hub"


def test_utf8_bom_file(reference_wh, write_file):
    path = write_file("bom.csv", "\ufeff" + HEADER + "2023-04-30,E06999901,All,All,12,7\n")
    result = check(reference_wh, path)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]


@pytest.mark.parametrize(
    ("name", "parts", "rule"),
    [
        ("sums.csv", ["Ashby,All,8,2", "Brookfield,All,7,2"], "unit_sum_above_all"),
        ("ages.csv", ["All,0-9,4,2", "All,10-17,4,3"], "age_bands_not_all"),
    ],
    ids=["units_adding_up_to_more_than_all", "age_bands_not_adding_to_all"],
)
def test_parts_that_do_not_add_up_to_all_are_a_warning(reference_wh, write_file, name, parts, rule):
    # The whole area is 10 CLA starts and 5 CPP starts: the parts' CLA starts do not match it,
    # their CPP starts do.
    rows = [f"2023-04-30,E06999901,{part}\n" for part in ["All,All,10,5", *parts]]
    result = check(reference_wh, write_file(name, HEADER + "".join(rows)))
    assert result.outcome == "loaded"
    flagged = {(i.rule, i.column) for i in result.warnings}
    assert (rule, "cla_starts") in flagged
    assert (rule, "cpp_starts") not in flagged
    warning = next(i for i in result.warnings if i.rule == rule)
    assert warning.row == 2 and warning.column == "cla_starts"


def test_quarter_on_quarter_jump_is_a_warning(reference_wh, write_file):
    first = "".join(
        f"2023-0{m}-{d},E06999901,All,All,20,20\n" for m, d in [(4, 30), (5, 31), (6, 30)]
    )
    second = "".join(
        f"2023-0{m}-{d},E06999901,All,All,40,21\n" for m, d in [(7, 31), (8, 31), (9, 30)]
    )
    assert check(reference_wh, write_file("q1.csv", HEADER + first)).outcome == "loaded"
    result = check(reference_wh, write_file("q2.csv", HEADER + second))
    jumps = [i for i in result.warnings if i.rule == "jump_over_50pct"]
    assert [(i.column, i.row) for i in jumps] == [("cla_starts", 2)]
    assert "+100%" in jumps[0].message


def test_validate_only_writes_nothing(reference_wh, write_file):
    before = reference_wh.table_checksums(["fct_outcomes", "raw_uploads"])
    path = write_file("dry.csv", HEADER + "2023-04-30,E06999901,All,All,12,7\n")
    result = validate_only(path, reference_wh)
    assert result.outcome == "valid" and result.n_added == 1
    assert reference_wh.table_checksums(["fct_outcomes", "raw_uploads"]) == before


def test_validate_only_without_a_warehouse(write_file):
    path = write_file("dry.csv", HEADER + "2023-04-30,E06999901,All,All,-1,7\n")
    result = validate_only(path)
    assert result.refused and result.errors[0].rule == "count_negative"


def test_rows_are_numbered_as_excel_counts_them_in_a_large_file(refusal_wh, tmp_path):
    """DuckDB reads big files in parallel; the row reported must still be the line in Excel."""
    path = tmp_path / "large.csv"
    with path.open("w") as handle:
        handle.write("period_end,area_code,unit,cla_starts\n")
        for i in range(300_000):
            value = -1 if i == 249_998 else 1
            handle.write(f"2023-04-30,E06999901,u{i},{value}\n")
    issue = only_error(check(refusal_wh, path), "count_negative")
    assert issue.row == 250_000


def test_staged_values_are_the_contract_typing_of_every_cell(reference_wh, write_file):
    """Typing runs once per distinct value (a plain cast when it agrees, a lookup otherwise);
    the staged rows must equal the contract's expressions applied cell by cell."""
    import duckdb

    from pipelines.contracts import CONTRACTS
    from pipelines.load.cells import null_reason_expr as _null_reason_expr
    from pipelines.load.cells import typed_expr as _typed_expr
    from pipelines.load.readers import read_extract
    from pipelines.load.validate import STAGE_TABLE, _match_columns, validate_file

    rows = [
        "2023-04-30,E06999901,All,All,12,7",
        '30/04/2023, e06999901 ,Locality A,0-4,"1,234",c',
        "2023-05-31,E06999901,Locality A,All,12.0,",
        "31/05/2023,E06999901, All ,5-9,[c],0",
        "2023-06-30 00:00:00,E06999901,All,10-15, 7 ,x",
        "2023-07-31,991,All,All,3,4",
    ]
    path = write_file("mixed_forms.csv", HEADER + "\n".join(rows) + "\n")
    cur = reference_wh.cursor()
    report, _ = validate_file(path, cur)
    assert report.ok, [i.as_text() for i in report.errors]
    staged = cur.execute(f"SELECT * FROM {STAGE_TABLE} ORDER BY _row").fetchall()
    names = [d[0] for d in cur.description]

    scratch = duckdb.connect(":memory:")
    raw = read_extract(path, scratch)
    contract = CONTRACTS["outcomes"]
    mapping = _match_columns(raw.headers, contract)
    scratch.execute(
        "CREATE TEMP TABLE _area_lookup AS SELECT '991' AS old_la_code, 'E06999901' AS area_code"
    )
    selects = ["_row"]
    for column in contract.columns:
        src = f"c{mapping[column.name]}" if column.name in mapping else None
        if column.name in contract.value_columns and src is None:
            continue
        selects.append(f"{_typed_expr(column, src)} AS {column.name}")
        if column.name in contract.nullable_value_columns:
            selects.append(f"{_null_reason_expr(src)} AS {column.name}_null_reason")
    expected = scratch.execute(
        f"SELECT {', '.join(selects)} FROM raw_extract ORDER BY _row"
    ).fetchall()
    assert names == [d[0] for d in scratch.description]
    assert staged == expected
    # The odd forms really were typed: thousands separator, '12.0', markers, UK dates, padding.
    by_row = {row[0]: dict(zip(names, row, strict=True)) for row in staged}
    assert by_row[3]["cla_starts"] == 1234 and by_row[3]["cpp_starts_null_reason"] == "c"
    assert by_row[3]["period_end"] == dt.date(2023, 4, 30)
    assert by_row[3]["area_code"] == "E06999901" and by_row[5]["unit"] == "All"
    assert by_row[4]["cla_starts"] == 12 and by_row[4]["cpp_starts_null_reason"] == "empty"
    assert by_row[6]["cla_starts"] == 7
    assert by_row[7]["area_code"] == "E06999901"
    cur.close()


def test_row_limit_is_exact_with_or_without_a_bounded_read(reference_wh, write_file, monkeypatch):
    """At the limit a file loads; one row over, it is refused, whichever way it is read."""
    monkeypatch.setenv("RP_IMPACT_MAX_ROWS", "3")
    rows = [f"2023-0{m}-{d},E06999901,All,All,1,1" for m, d in ((4, 30), (5, 31), (6, 30))]
    at_limit = write_file("three.csv", HEADER + "\n".join(rows) + "\n")
    assert check(reference_wh, at_limit).outcome == "loaded"
    # Blank lines push the line-break count past the limit, so the read is bounded by LIMIT.
    padded = write_file("three_padded.csv", HEADER + "\n".join(rows) + "\n\n\n\n")
    assert validate_only(padded).outcome == "valid"
    over = write_file("four.csv", HEADER + "\n".join([*rows, "2023-07-31,E06999901,All,All,1,1"]))
    issue = only_error(check(reference_wh, over), "unreadable")
    assert "more than 3 data rows" in issue.message


# -- silent misreads and unreadable encodings (issue 16) -----------------------------------------

SAVE_AS = "Open it in Excel and save it again as 'CSV UTF-8 (Comma delimited)'."


def test_a_nul_byte_after_64_kb_is_refused_with_row_and_column(refusal_wh, write_file):
    rows = "".join(f"2023-04-30,E06999901,unit{i:05d},All,1,2\n" for i in range(2_000))
    content = (HEADER + rows + "2023-04-30,E06999901,Ash\x00by,All,1,2\n").encode()
    assert content.index(b"\x00") > 65_536
    issue = only_error(check(refusal_wh, write_file("nul.csv", content)), "unreadable")
    assert (issue.row, issue.column) == (2_002, "unit")
    assert issue.message == (
        "nul.csv: row 2002, column 'unit' holds a NUL (zero) byte, which no text holds: the file "
        f"is damaged or was not exported as text. {SAVE_AS}"
    )
    assert refusal_wh.query("SELECT count(*) AS n FROM fct_outcomes").n.tolist() == [0]


def test_a_stray_nul_byte_early_on_is_named_too(refusal_wh, write_file):
    rows = "".join(f"2023-04-30,E06999901,unit{i},All,1,2\n" for i in range(40))
    content = (HEADER + "2023-04-30,E06999901,All,All,1\x00,2\n" + rows).encode()
    issue = only_error(check(refusal_wh, write_file("nul_early.csv", content)), "unreadable")
    assert (issue.row, issue.column) == (2, "cla_starts")


def test_an_alias_beside_its_canonical_count_column_names_both(refusal_wh, write_file):
    text = "period_end,area_code,unit,age_band,cla_at_period_end,cla\n"
    text += "2023-04-30,E06999901,All,All,40,41\n"
    issue = only_error(check(refusal_wh, write_file("alias.csv", text)), "column_repeated")
    assert (issue.row, issue.column) == (1, "cla")
    assert issue.message == (
        "the columns 'cla_at_period_end' and 'cla' both give cla_at_period_end ('cla' is another "
        "name for it), so one of the two counts would be ignored."
    )


def test_two_aliases_of_one_count_column_are_refused_too(refusal_wh, write_file):
    text = "period_end,area_code,unit,age_band,looked_after,cla_count\n"
    text += "2023-04-30,E06999901,All,All,40,41\n"
    issue = only_error(check(refusal_wh, write_file("aliases.csv", text)), "column_repeated")
    assert issue.column == "cla_count" and "'looked_after' and 'cla_count'" in issue.message


def test_row_numbers_do_not_shift_after_blank_lines(refusal_wh, write_file):
    text = HEADER + "2023-04-30,E06999901,All,All,1,7\n\n\n2023-05-31,E06999901,All,All,-1,7\n"
    issue = only_error(check(refusal_wh, write_file("blank.csv", text)), "count_negative")
    assert (issue.row, issue.column) == (5, "cla_starts")


def test_row_numbers_do_not_shift_after_blank_lines_with_crlf(refusal_wh, write_file):
    text = HEADER + "2023-04-30,E06999901,All,All,1,7\n\n2023-05-31,E06999901,All,All,x1,7\n"
    content = text.replace("\n", "\r\n").encode()
    issue = only_error(
        check(refusal_wh, write_file("blank_crlf.csv", content)), "count_not_integer"
    )
    assert (issue.row, issue.column) == (4, "cla_starts")


def test_rows_of_empty_cells_are_skipped_and_said(reference_wh, write_file):
    text = (
        HEADER
        + "2023-04-30,E06999901,All,All,1,7\n,,,,,\n"
        + "2023-05-31,E06999901,All,All,2,7\n,,,,,\n,,,\n \n"
    )
    result = check(reference_wh, write_file("excel_rows.csv", text))
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert (result.n_rows, result.n_added) == (2, 2)
    assert "4 empty rows (row 3, 5, 6, 7) were skipped." in result.notes


def test_a_blank_line_inside_a_quoted_value_is_kept(reference_wh, write_file):
    text = HEADER + '2023-04-30,E06999901,"Ashby\n\nNorth",All,1,7\n'
    result = check(reference_wh, write_file("quoted.csv", text))
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert reference_wh.query("SELECT unit FROM fct_outcomes").unit.tolist() == ["Ashby\n\nNorth"]


@pytest.mark.parametrize(
    "cell",
    ["2023-04-30 00:00:00", "2023-04-30T00:00:00", "2023-04-30 00:00", "30/04/2023 00:00:00"],
)
def test_a_date_with_a_midnight_time_is_that_date(reference_wh, write_file, cell):
    text = HEADER + f"{cell},E06999901,All,All,1,7\n"
    result = check(reference_wh, write_file("midnight.csv", text))
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    stored = reference_wh.query("SELECT period_end FROM fct_outcomes").period_end.tolist()
    assert [d.date() if hasattr(d, "date") else d for d in stored] == [dt.date(2023, 4, 30)]


def test_a_date_with_another_time_is_not_a_date(refusal_wh, write_file):
    text = HEADER + "2023-04-30 13:45:00,E06999901,All,All,1,7\n"
    issue = only_error(check(refusal_wh, write_file("time.csv", text)), "date_invalid")
    assert (issue.row, issue.column, issue.message) == (2, "period_end", "is not a valid date.")


def test_odd_length_utf16_is_refused_in_one_sentence(refusal_wh, write_file):
    content = (HEADER + "2023-04-30,E06999901,All,All,1,7\n").encode("utf-16") + b"\x32"
    issue = only_error(check(refusal_wh, write_file("odd.csv", content)), "unreadable")
    assert issue.message == (
        f"odd.csv: the file is UTF-16 text that is cut short or damaged (byte {len(content) - 1:,} "
        f"does not complete a character). {SAVE_AS}"
    )


def test_a_utf8_bom_with_windows_1252_bytes_is_refused_in_one_sentence(refusal_wh, write_file):
    content = (
        b"\xef\xbb\xbf" + HEADER.encode() + "2023-04-30,E06999901,Côte,All,1,7\n".encode("cp1252")
    )
    issue = only_error(check(refusal_wh, write_file("mixed.csv", content)), "unreadable")
    position = content.index(b"\xf4") - 3  # counted after the byte-order mark
    assert issue.row == 2
    assert issue.message == (
        f"mixed.csv: the file starts as UTF-8 but byte {position:,} is not UTF-8, so parts of it "
        f"were saved in another encoding (Windows-1252, perhaps). {SAVE_AS}"
    )


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (",".join(["c"] * 1_000_000), "wide.csv: the first line is longer than 1 MB"),
        (
            ";".join(["c"] * 400_000),
            "wide.csv: the header has 400,000 columns, over the limit of 200",
        ),
        (
            "\t".join(["c"] * 400_000),
            "wide.csv: the header has 400,000 columns, over the limit of 200",
        ),
        ('"' + "x" * 200_000 + '",b', "the header row has a name longer than any column name"),
    ],
)
def test_a_huge_header_is_refused_in_one_sentence(refusal_wh, write_file, header, fragment):
    issue = only_error(check(refusal_wh, write_file("wide.csv", header + "\n1\n")), "unreadable")
    assert fragment in issue.message
    assert "could not be checked" not in issue.message
