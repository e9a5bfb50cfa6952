"""Hostile files built at test time (issue 16): the guard, counts, XLSX and silent misreads.

Each entry of `BUILT` is a manifest row (as in manifest.csv) plus `build`, a function returning
the file's bytes, so nothing binary is committed. Every name, date of birth and number here is
invented. `tests/test_bad_corpus.py` tries each one against a copy of its template warehouse.
"""

from __future__ import annotations

import io
import re
import zipfile

H = "period_end,area_code,unit,age_band,cla_starts,cpp_starts"
R = "2023-04-30,E06999901,All,All,12,7"
UPN = "D801200109001"
NHS = "9434765919"
XLSX_HEADER = H.split(",")
XLSX_ROW = ["2023-04-30", "E06999901", "All", "All", 12, 7]
SHEET = "xl/worksheets/sheet1.xml"

BUILT: list[dict] = []


def built(name: str, build, fragment: str, outcome: str = "refused", secret: str = "") -> None:
    BUILT.append(
        {
            "file": name,
            "build": build,
            "expected_fragment": fragment,
            "outcome": outcome,
            "display_name": "",
            "secret": secret,
        }
    )


def text(*rows: str, end: str = "\n", encoding: str = "utf-8"):
    return lambda: (end.join(rows) + end).encode(encoding)


# -- the guard: nothing of a refused record is echoed -------------------------------------------

built(
    "headerless_record.csv",
    text("Jayden Smith,14/02/2013,E06999901,3", "2023-04-30,E06999901,All,All"),
    "the first row is a record, not a header",
    secret="Jayden Smith",
)
built(
    "headerless_record_dob.csv",
    text("Aaliyah Brown,2013-02-14,E06999901,2", "Noah Patel,2012-11-03,E06999901,1"),
    "holds a date (a date of birth, perhaps)",
    secret="2013-02-14",
)
built(
    "headerless_record_upn.csv",
    text(f"{UPN},Ashby,2", f"{UPN[:-1]}2,Ashby,1"),
    "the first row is a record",
    secret=UPN,
)
built(
    "headerless_record_nhs.csv",
    text(f"Ellis Grey,{NHS},E06999901", "x,y,z"),
    "holds an NHS number",
    secret=NHS,
)
for number, dob in enumerate(
    [
        "14-Feb-2013",
        "14-feb-13",
        "14 Feb 2013",
        "14 February 2013",
        "14th February 2013",
        "February 14, 2013",
        "born 14 February 2013",
        "DOB 14.02.2013 (aged 10)",
        "b. 2013-02-14",
        "14/Feb/2013",
    ]
):
    built(
        f"date_of_birth_form_{number}.csv",
        text(H + ",notes", R + f',"{dob}"'),
        "looks like it holds dates (dates of birth, perhaps)",
        secret=dob,
    )
built(
    "date_of_birth_in_unit.csv",
    text(H, "2023-04-30,E06999901,14-Feb-2013,All,1,2"),
    "looks like it holds dates",
    secret="14-Feb-2013",
)
built(
    "surname_in_count.csv",
    text(H, "2023-04-30,E06999901,All,All,Okonkwo,7"),
    "is not a number",
    secret="Okonkwo",
)
built(
    "surname_in_second_count.csv",
    text(H, "2023-04-30,E06999901,All,All,3,Nowakowska"),
    "is not a number",
    secret="Nowakowska",
)
built(
    "surname_in_year.csv",
    text("year,area_code,unit,age_band,population_0_17", "Fairweather,E06999901,All,All,100"),
    "is not a four-digit year",
    secret="Fairweather",
)
built(
    "surname_in_wave.csv",
    text("area_code,unit,programme,wave,start_date", "E06999901,Ashby,RP,Lindqvist,2019-10-01"),
    "is not a wave number",
    secret="Lindqvist",
)
built(
    "name_in_period.csv",
    text(H, "Hargreaves,E06999901,All,All,1,2"),
    "is not a valid date",
    secret="Hargreaves",
)

# -- counts --------------------------------------------------------------------------------------

for number, cell in enumerate(["1,5", "4,0", "1,2,3", "12,34,567", "1234,567", ",123", "1,"]):
    built(
        f"misplaced_comma_{number}.csv",
        text(H, f'2023-04-30,E06999901,All,All,"{cell}",7'),
        "has a comma that is not a thousands separator",
    )
for number, cell in enumerate(["12345678901234567890", str(2**63), "99,999,999,999,999,999,999"]):
    built(
        f"count_overflow_{number}.csv",
        text(H, f'2023-04-30,E06999901,All,All,"{cell}",7'),
        "is too large to be a count",
    )
built(
    "thousands_separator.csv", text(H, '2023-04-30,E06999901,All,All,"1,234",7'), "added", "loaded"
)
built(
    "thousands_separators.csv",
    text(H, '2023-04-30,E06999901,All,All,"12,345,678","1,000.0"'),
    "added",
    "loaded",
)
built("full_stop_thousands.csv", text(H, "2023-04-30,E06999901,All,All,1.234,7"), "not a whole")


# -- XLSX ----------------------------------------------------------------------------------------


def _book(*sheets, hidden: tuple[int, ...] = (), active: int = 0, rows=(XLSX_ROW,)):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for index, title in enumerate(sheets):
        sheet = book.create_sheet(title)
        sheet.append(XLSX_HEADER)
        for row in rows:
            sheet.append(row)
        if index in hidden:
            sheet.sheet_state = "hidden"
    book.active = active
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _patched(data: bytes, member: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info, change(body) if info.filename == member else body)
    return out.getvalue()


def _dimension(data: bytes, ref: str) -> bytes:
    new = f'<dimension ref="{ref}"/>'.encode()
    return _patched(data, SHEET, lambda xml: re.sub(rb'<dimension ref="[^"]*"\s*/>', new, xml))


def _cell(data: bytes, old: bytes, new: bytes) -> bytes:
    return _patched(data, SHEET, lambda xml: xml.replace(old, new, 1))


def _empty_rows(data: bytes, count: int) -> bytes:
    return _patched(
        data, SHEET, lambda xml: xml.replace(b"</sheetData>", b"<row/>" * count + b"</sheetData>")
    )


_TWO_ROWS = (XLSX_ROW, ["2023-05-31", "E06999901", "All", "All", 10, 6])
built(
    "wrong_dimension.xlsx",
    lambda: _dimension(_book("Data", rows=_TWO_ROWS), "A1:C1"),
    "2 added",
    "loaded",
)
built(
    "six_million_empty_rows.xlsx",
    lambda: _dimension(_empty_rows(_book("Data"), 6_000_000), "A1:F6000002"),
    "1 added",
    "loaded",
)
built(
    "hidden_first_sheet.xlsx",
    lambda: _book("Old figures", "Current", hidden=(0,), active=1),
    "hidden 'Old figures' was not read",
    "loaded",
)
built("two_data_sheets.xlsx", lambda: _book("Q1", "Q2"), "the workbook has 2 sheets of data")
built("three_data_sheets.xlsx", lambda: _book("A", "B", "C"), "the workbook has 3 sheets of data")


def _only_hidden_data() -> bytes:
    """The data on a hidden sheet, a cover note on the visible one."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(_book("Old")))
    book.create_sheet("Cover").append(["Quarterly extract"])
    book["Old"].sheet_state = "hidden"
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


built("only_hidden_data.xlsx", _only_hidden_data, "hidden sheets are not read: 'Old'")
built(
    "formula_without_value.xlsx",
    lambda: _cell(_book("Data"), b'<c r="E2" t="n"><v>12</v></c>', b'<c r="E2"><f>E1+1</f></c>'),
    "row 2, column 'cla_starts' holds a formula saved without its value",
)
built(
    "formula_empty_value.xlsx",
    lambda: _cell(_book("Data"), b'<c r="F2" t="n"><v>7</v></c>', b'<c r="F2"><f>1+1</f><v/></c>'),
    "row 2, column 'cpp_starts' holds a formula saved without its value",
)
built(
    "shared_formula_without_value.xlsx",
    lambda: _cell(
        _book("Data"), b'<c r="E2" t="n"><v>12</v></c>', b'<c r="E2"><f t="shared" si="0"/></c>'
    ),
    "holds a formula saved without its value",
)
built(
    "formula_with_value.xlsx",
    lambda: _cell(
        _book("Data"), b'<c r="E2" t="n"><v>12</v></c>', b'<c r="E2"><f>6*2</f><v>12</v></c>'
    ),
    "1 added",
    "loaded",
)
built("macro_suffix.xlsm", lambda: _book("Data"), "macro-enabled workbook")
built("macro_template.xltm", lambda: _book("Data"), "macro-enabled workbook")
built(
    "macro_content_type.xlsx",
    lambda: _patched(
        _book("Data"),
        "[Content_Types].xml",
        lambda xml: xml.replace(
            b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
        ),
    ),
    "macro-enabled workbook",
)


def _with_vba() -> bytes:
    out = io.BytesIO(_book("Data"))
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 invented, not a VBA project")
    return out.getvalue()


built("vba_project_part.xlsx", _with_vba, "macro-enabled workbook")

# -- silent misreads -----------------------------------------------------------------------------

_MANY = [f"2023-04-30,E06999901,unit{i:05d},All,1,2" for i in range(2_000)]
built(
    "nul_after_64kb.csv",
    text(H, *_MANY, "2023-04-30,E06999901,Ash\x00by,All,1,2"),
    "row 2002, column 'unit' holds a NUL (zero) byte",
)
built(
    "nul_early.csv",
    text(H, "2023-04-30,E06999901,Ash\x00by,All,1,2", *_MANY[:40]),
    "row 2, column 'unit' holds a NUL (zero) byte",
)
built(
    "alias_beside_canonical.csv",
    text(
        "period_end,area_code,unit,age_band,cla_at_period_end,cla",
        "2023-04-30,E06999901,All,All,4,5",
    ),
    "the columns 'cla_at_period_end' and 'cla' both give cla_at_period_end",
)
built(
    "two_aliases.csv",
    text(
        "period_end,area_code,unit,age_band,looked_after,cla_count",
        "2023-04-30,E06999901,All,All,4,5",
    ),
    "both give cla_at_period_end",
)
built(
    "blank_line_shift.csv",
    text(H, R, "", "", "2023-05-31,E06999901,All,All,-1,7"),
    "blank_line_shift.csv, row 5, column 'cla_starts': is negative",
)
built(
    "blank_line_shift_crlf.csv",
    text(H, R, "", "2023-05-31,E06999901,All,All,x1,7", end="\r\n"),
    "blank_line_shift_crlf.csv, row 4, column 'cla_starts'",
)
built(
    "blank_line_shift_tab.tsv",
    text(H.replace(",", "\t"), R.replace(",", "\t"), "", "2023-05-31\tE06999901\tAll\tAll\t-2\t7"),
    "blank_line_shift_tab.tsv, row 4, column 'cla_starts'",
)
built(
    "excel_empty_rows.csv",
    text(H, R, ",,,,,", "2023-05-31,E06999901,All,All,1,2", ",,,,,", ",,,"),
    "3 empty rows (row 3, 5, 6) were skipped.",
    "loaded",
)
built(
    "whitespace_line.csv",
    text(H, R, "   ", "2023-05-31,E06999901,All,All,1,2"),
    "Row 3 is empty",
    "loaded",
)
built("iso_midnight.csv", text(H, "2023-04-30 00:00:00,E06999901,All,All,1,2"), "1 added", "loaded")
built(
    "iso_t_midnight.csv", text(H, "2023-04-30T00:00:00,E06999901,All,All,1,2"), "1 added", "loaded"
)
built("uk_midnight.csv", text(H, "30/04/2023 00:00,E06999901,All,All,1,2"), "1 added", "loaded")
built(
    "iso_afternoon.csv", text(H, "2023-04-30 13:45:00,E06999901,All,All,1,2"), "is not a valid date"
)

# -- unreadable encodings: one sentence, never "could not be checked" ----------------------------

built(
    "utf16_odd_length.csv",
    lambda: (H + "\n" + R + "\n").encode("utf-16") + b"\x32",
    "the file is UTF-16 text that is cut short or damaged",
)
built(
    "utf16_be_odd_length.csv",
    lambda: b"\xfe\xff" + (H + "\n" + R + "\n").encode("utf-16-be") + b"\x00",
    "the file is UTF-16 text that is cut short or damaged",
)
built(
    "bom_then_windows_1252.csv",
    lambda: (
        b"\xef\xbb\xbf"
        + (H + "\n").encode()
        + "2023-04-30,E06999901,Côte,All,1,2\n".encode("cp1252")
    ),
    "the file starts as UTF-8 but byte",
)
built(
    "million_column_header.csv",
    lambda: (",".join(["c"] * 1_000_000) + "\n1\n").encode(),
    "the first line is longer than 1 MB",
)
built(
    "semicolon_400k_columns.csv",
    lambda: (";".join(["c"] * 400_000) + "\n1\n").encode(),
    "the header has 400,000 columns",
)
built(
    "huge_quoted_header_field.csv",
    lambda: ('"' + "x" * 200_000 + '",b\n1,2\n').encode(),
    "the header row has a name longer than any column name",
)
