"""Counts: thousands separators only in their proper pattern, and nothing too large to hold.

`1,5` once loaded as 15, `4,0` as 40 and `1,2,3` as 123; a 20-digit count became NULL with no
reason. Each refusal names the row and the column, and leaves the warehouse unchanged.
"""

from __future__ import annotations

import pytest

from pipelines.load.cells import MAX_COUNT
from pipelines.load.ingest import ingest_file

HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"
MISPLACED = (
    "has a comma that is not a thousands separator, so it cannot be read as a count "
    "(1,234 and 12,345,678 are read; 1,5 and 12,34,567 are not)."
)
TOO_LARGE = (
    "is too large to be a count (the most the warehouse holds is 9,223,372,036,854,775,807)."
)


def _load(wh, write_file, cell: str, name: str = "counts.csv"):
    text = HEADER + f'2023-04-30,E06999901,All,All,"{cell}",7\n'
    before = wh.table_checksums()
    result = ingest_file(wh, write_file(name, text), user="test")
    if result.refused:
        assert wh.table_checksums() == before, "a refused file changed the warehouse"
    return result


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1,234", 1234),
        ("12,345,678", 12_345_678),
        ("1,234.0", 1234),
        ("999", 999),
        (" 1,000 ", 1000),
        ("007", 7),
        ("12.00", 12),
        # Cast from the digits, never through a double (which gives 9007199254740992).
        ("9007199254740993", 9_007_199_254_740_993),
        (str(MAX_COUNT), MAX_COUNT),
    ],
)
def test_proper_counts_load_as_their_value(reference_wh, write_file, cell, expected):
    result = _load(reference_wh, write_file, cell)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    stored = reference_wh.query("SELECT cla_starts FROM fct_outcomes").cla_starts.tolist()
    assert stored == [expected]


@pytest.mark.parametrize(
    "cell", ["1,5", "4,0", "1,2,3", "12,34,567", "1234,567", "1,2345", "12,345,67", ",123", "1,"]
)
def test_a_comma_out_of_place_is_refused_with_row_and_column(reference_wh, write_file, cell):
    result = _load(reference_wh, write_file, cell)
    assert result.refused
    (issue,) = result.errors
    assert (issue.rule, issue.row, issue.column, issue.value) == (
        "count_not_integer",
        2,
        "cla_starts",
        cell,
    )
    assert issue.message == MISPLACED
    assert issue.as_text().startswith(f"counts.csv, row 2, column 'cla_starts': {MISPLACED}")


def test_a_negative_count_with_separators_is_negative_not_misplaced(reference_wh, write_file):
    (issue,) = _load(reference_wh, write_file, "-1,234").errors
    assert (issue.rule, issue.message) == (
        "count_negative",
        "is negative; counts cannot be below 0.",
    )


def test_a_full_stop_as_thousands_separator_is_not_a_whole_number(reference_wh, write_file):
    (issue,) = _load(reference_wh, write_file, "1.234").errors
    assert (issue.rule, issue.row, issue.column, issue.message) == (
        "count_not_integer",
        2,
        "cla_starts",
        "is not a whole number.",
    )


@pytest.mark.parametrize(
    "cell", ["12345678901234567890", str(MAX_COUNT + 1), "99,999,999,999,999,999,999"]
)
def test_a_count_beyond_bigint_is_refused_not_stored_as_null(reference_wh, write_file, cell):
    result = _load(reference_wh, write_file, cell)
    assert result.refused
    (issue,) = result.errors
    assert (issue.rule, issue.row, issue.column, issue.message) == (
        "count_not_integer",
        2,
        "cla_starts",
        TOO_LARGE,
    )
    assert reference_wh.query("SELECT count(*) AS n FROM fct_outcomes").n.tolist() == [0]


def test_overflow_and_separators_are_checked_in_every_count_column(reference_wh, write_file):
    text = (
        HEADER
        + "2023-04-30,E06999901,All,All,1,7\n"
        + '2023-05-31,E06999901,All,All,2,"4,0"\n'
        + "2023-06-30,E06999901,All,All,3,12345678901234567890\n"
    )
    result = ingest_file(reference_wh, write_file("two_columns.csv", text), user="test")
    found = sorted((i.row, i.column, i.message) for i in result.errors)
    assert found == [(3, "cpp_starts", MISPLACED), (4, "cpp_starts", TOO_LARGE)]


def test_a_surname_in_a_count_column_is_never_kept(reference_wh, write_file):
    result = _load(reference_wh, write_file, "Smith")
    (issue,) = result.errors
    assert (issue.rule, issue.row, issue.column, issue.value, issue.message) == (
        "count_not_integer",
        2,
        "cla_starts",
        None,
        "is not a number.",
    )
    stored = reference_wh.query(
        "SELECT value FROM upload_issues WHERE upload_id = ?", [result.upload_id]
    )
    assert stored.value.isna().all()
