"""XLSX extracts: the workbook's own claims (dimension, first sheet, formulas) are not trusted.

Each case builds its workbook here (openpyxl, then a patched part where a real program would
write something openpyxl does not) and asserts the exact message and an unchanged warehouse.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook

from pipelines.load.ingest import ingest_file

HEADER = ["period_end", "area_code", "unit", "age_band", "cla_starts", "cpp_starts"]
ROWS = [
    ["2023-04-30", "E06999901", "All", "All", 12, 7],
    ["2023-05-31", "E06999901", "All", "All", 10, 6],
    ["2023-06-30", "E06999901", "All", "All", 11, 5],
]
SHEET = "xl/worksheets/sheet1.xml"


def book_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def data_book(rows=ROWS, title: str = "Sheet") -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    return book


def patched(data: bytes, member: str, change) -> bytes:
    """The workbook with one part rewritten by `change(bytes) -> bytes`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info, change(body) if info.filename == member else body)
    return out.getvalue()


def with_dimension(data: bytes, ref: str) -> bytes:
    return patched(
        data,
        SHEET,
        lambda xml: re.sub(
            rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), xml
        ),
    )


def with_empty_rows(data: bytes, count: int) -> bytes:
    """Six million `<row/>` elements deflate to about 55 KB."""
    return patched(
        data, SHEET, lambda xml: xml.replace(b"</sheetData>", b"<row/>" * count + b"</sheetData>")
    )


def load(wh, tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    before = wh.table_checksums()
    result = ingest_file(wh, path, user="test")
    if result.refused:
        assert wh.table_checksums() == before, "a refused file changed the warehouse"
    return result


def only_error(result):
    assert result.refused, result.summary()
    (issue,) = result.errors
    return issue


def test_a_wrong_declared_dimension_is_ignored(reference_wh, tmp_path):
    data = with_dimension(book_bytes(data_book()), "A1:C1")
    assert b'<dimension ref="A1:C1"/>' in zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    result = load(reference_wh, tmp_path, "dimension.xlsx", data)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert (result.n_rows, result.n_added) == (3, 3)
    stored = reference_wh.query("SELECT cla_starts, cpp_starts FROM fct_outcomes ORDER BY 1")
    assert stored.values.tolist() == [[10, 6], [11, 5], [12, 7]]


def test_six_million_empty_rows_are_not_read(reference_wh, tmp_path):
    data = with_dimension(
        with_empty_rows(book_bytes(data_book(ROWS[:1])), 6_000_000), "A1:F6000002"
    )
    assert len(data) < 120_000
    result = load(reference_wh, tmp_path, "empty_rows.xlsx", data)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert (result.n_rows, result.n_added) == (1, 1)


def test_the_visible_sheet_is_read_not_a_hidden_first_sheet(reference_wh, tmp_path):
    book = data_book([["2023-04-30", "E06999901", "All", "All", 99, 99]], title="Old figures")
    book.active.sheet_state = "hidden"
    current = book.create_sheet("Current")
    current.append(HEADER)
    current.append(ROWS[0])
    book.active = 1
    result = load(reference_wh, tmp_path, "hidden.xlsx", book_bytes(book))
    assert result.outcome == "loaded"
    assert result.notes[0] == "Read sheet 'Current'; hidden 'Old figures' was not read."
    assert reference_wh.query("SELECT cla_starts FROM fct_outcomes").cla_starts.tolist() == [12]


def test_two_visible_data_sheets_are_refused_not_one_dropped(reference_wh, tmp_path):
    book = data_book(ROWS[:1], title="Q1")
    second = book.create_sheet("Q2")
    second.append(HEADER)
    second.append(ROWS[1])
    issue = only_error(load(reference_wh, tmp_path, "two.xlsx", book_bytes(book)))
    assert issue.rule == "unreadable"
    assert issue.message == (
        "two.xlsx: the workbook has 2 sheets of data ('Q1' and 'Q2') and rp-impact reads one "
        "sheet per file; save each sheet as its own file, or delete the sheets that should not "
        "be loaded."
    )


def test_a_sheet_of_notes_beside_the_data_is_named(reference_wh, tmp_path):
    book = data_book(ROWS[:1], title="Data")
    book.create_sheet("Notes").append(["Produced by the data team"])
    result = load(reference_wh, tmp_path, "notes.xlsx", book_bytes(book))
    assert result.outcome == "loaded"
    assert result.notes[0] == "Read sheet 'Data'; 'Notes' holds no table."


def test_only_a_hidden_sheet_of_data_is_refused(reference_wh, tmp_path):
    book = data_book(ROWS[:1], title="Old")
    book.active.sheet_state = "hidden"
    book.create_sheet("Cover").append(["Quarterly extract"])
    book.active = 1
    issue = only_error(load(reference_wh, tmp_path, "only_hidden.xlsx", book_bytes(book)))
    assert issue.message == (
        "only_hidden.xlsx: no header row found in the first 30 rows of any visible sheet "
        "(hidden sheets are not read: 'Old'). The header must name the contract's columns "
        "(e.g. period_end, area_code)."
    )


def test_a_formula_without_a_saved_value_is_refused_with_row_and_column(reference_wh, tmp_path):
    book = data_book()
    book.active["E3"] = "=E2+1"  # openpyxl saves formulas without their values
    issue = only_error(load(reference_wh, tmp_path, "formula.xlsx", book_bytes(book)))
    assert (issue.rule, issue.row, issue.column) == ("unreadable", 3, "cla_starts")
    assert issue.message == (
        "formula.xlsx: row 3, column 'cla_starts' holds a formula saved without its value (the "
        "workbook was saved by a program that does not calculate formulas), so the figure is "
        "unknown. Open it in Excel and save it again, or save the extract as 'CSV UTF-8'."
    )


def test_a_formula_with_its_saved_value_loads_the_value(reference_wh, tmp_path):
    book = data_book(ROWS[:1])
    book.active["E2"] = "=5+7"
    data = patched(book_bytes(book), SHEET, lambda xml: re.sub(rb"<v\s*/>", b"<v>12</v>", xml))
    result = load(reference_wh, tmp_path, "cached.xlsx", data)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert reference_wh.query("SELECT cla_starts FROM fct_outcomes").cla_starts.tolist() == [12]


MACRO = (
    "{name}: this is a macro-enabled workbook, and rp-impact does not open files that carry "
    "macros; save the extract from Excel as 'Excel Workbook (.xlsx)' or 'CSV UTF-8'."
)


def _macro_by_content_type(data: bytes) -> bytes:
    return patched(
        data,
        "[Content_Types].xml",
        lambda xml: xml.replace(
            b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
        ),
    )


def _with_vba_project(data: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really a VBA project")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("macros.xlsm", lambda data: data),
        ("macros.xltm", lambda data: data),
        ("content_type.xlsx", _macro_by_content_type),
        ("vba_project.xlsx", _with_vba_project),
    ],
)
def test_macro_enabled_workbooks_are_refused(reference_wh, tmp_path, name, change):
    issue = only_error(load(reference_wh, tmp_path, name, change(book_bytes(data_book()))))
    assert (issue.rule, issue.message) == ("unreadable", MACRO.format(name=name))


def test_a_midnight_date_cell_is_that_date(reference_wh, tmp_path):
    import datetime as dt

    book = data_book([[dt.datetime(2023, 4, 30), "E06999901", "All", "All", 3, 2]])
    result = load(reference_wh, tmp_path, "datetime.xlsx", book_bytes(book))
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert reference_wh.query("SELECT period_end FROM fct_outcomes").period_end.astype(
        str
    ).tolist() == ["2023-04-30"]
