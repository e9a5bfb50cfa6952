"""The bad-input corpus: malformed and hostile extracts, each with the message it must give.

`python tests/data/bad/make_corpus.py` rewrites the small files committed beside this script and
`manifest.csv`. Large hostile files (a 100 MB single line, a 10,000-column header, a zip bomb,
row and size limits) are never committed: `generate_large(folder)` writes them at test time.

Manifest columns: file; expected_fragment (must appear in the result's messages); outcome
(refused | loaded-with-warning | loaded); display_name (the name the upload claims, if not the
file's); secret (a value that must appear in no message, issue or audit row); env (limits set
for this case, NAME=VALUE;...); generated (yes: made by generate_large at test time).
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
H = "period_end,area_code,unit,age_band,cla_starts,cpp_starts"
R = "2023-04-30,E06999901,All,All,12,7"
R2 = "2023-05-31,E06999901,All,All,10,6"
UPN = "D801200109001"
NHS = "9434765919"

# name -> (content, fragment, outcome, extra manifest fields)
SMALL: dict[str, tuple[bytes, str, str, dict]] = {}


def case(name, content, fragment, outcome="refused", **extra):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    SMALL[name] = (data, fragment, outcome, extra)


def lines(*rows: str, end: str = "\n") -> str:
    return end.join(rows) + end


# -- encodings, delimiters, line endings --------------------------------------------------------
case(
    "wrong_delimiter_pipe.csv",
    lines(H.replace(",", "|"), R.replace(",", "|")),
    "Could not tell which dataset",
)
case("bom_utf8.csv", b"\xef\xbb\xbf" + lines(H, R).encode(), "added", "loaded")
case(
    "windows_1252.csv",
    lines(H, "2023-04-30,E06999901,Ashby \u2013 C\u00f4te,All,12,7").encode("cp1252"),
    "Windows-1252",
    "loaded",
)
case("utf16_with_bom.csv", lines(H, R).encode("utf-16"), "added", "loaded")
case("utf16_without_bom.csv", lines(H, R).encode("utf-16-le"), "binary file")
case("mixed_line_endings.csv", H + "\r\n" + R + "\n" + R2 + "\r\n", "added", "loaded")
case("old_mac_line_endings.csv", lines(H, R, end="\r"), "added", "loaded")
case(
    "latin1_not_utf8_or_1252.csv",
    lines(H).encode() + b"2023-04-30,E06999901,Team \x81\x8d,All,1,2\n",
    "not UTF-8 or Windows-1252",
)
case("semicolon.csv", lines(H.replace(",", ";"), R.replace(",", ";")), "added", "loaded")
case("tab.tsv", lines(H.replace(",", "\t"), R.replace(",", "\t")), "added", "loaded")

# -- structure ----------------------------------------------------------------------------------
case("empty.csv", b"", "the file is empty")
case("header_only.csv", lines(H), "no data rows")
case("blank_first_line.csv", "\n" + lines(H, R), "first line is empty")
case("duplicate_headers.csv", lines(H + ",CLA Starts", R + ",3"), "appears twice")
case("ragged_row.csv", lines(H, R + ",99"), "different number of columns")
case("unclosed_quote.csv", lines(H, '2023-04-30,E06999901,"Ashby,All,12,7'), "not closed")
case("binary_png.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file")
case("csv_named_xlsx.xlsx", lines(H, R), "not a valid XLSX")
case(
    "old_excel.xls",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
    ".xls files are not supported",
)
case("not_a_zip.xlsx", b"PK\x03\x04" + b"\x00" * 64, "not a valid XLSX")
case("unknown_dataset.csv", lines("foo,bar,baz", "1,2,3"), "Could not tell which dataset")
case(
    "missing_area.csv",
    lines("period_end,unit,cla_starts", "2023-04-30,All,1"),
    "Could not tell which dataset",
)

# -- values -------------------------------------------------------------------------------------
case("us_dates.csv", lines(H, "06/30/2023,E06999901,All,All,12,7"), "US month/day order")
case(
    "ambiguous_rollout_dates.csv",
    lines("area_code,unit,programme,wave,start_date", "E06999901,Ashby,RP,1,03/04/2023"),
    "day/month",
    "loaded-with-warning",
)
case("negative_count.csv", lines(H, "2023-04-30,E06999901,All,All,-3,7"), "is negative")
case("future_period.csv", lines(H, "2099-03-31,E06999901,All,All,1,7"), "in the future")
case("not_period_end.csv", lines(H, "2023-04-15,E06999901,All,All,1,7"), "not the last day")
case(
    "free_text_in_count.csv",
    lines(H, "2023-04-30,E06999901,All,All,Jane Smith,7"),
    "is not a number",
    secret="Jane Smith",
)
case(
    "sql_injection_text.csv",
    lines(
        H,
        '2023-04-30,E06999901,"Robert\'); DROP TABLE fct_outcomes;--",All,1,2',
        "2023-04-30,E06999901,\"x' OR '1'='1\",\"1; DELETE FROM raw_uploads\",3,4",
    ),
    "added",
    "loaded",
)
case(
    "sql_injection_header.csv",
    lines(H + ',"x); DROP TABLE raw_uploads;--"', R + ",1"),
    "not part of the outcomes contract",
    "loaded-with-warning",
)
case(
    "formula_unit.csv",
    lines(
        H,
        '2023-04-30,E06999901,"=HYPERLINK(""http://evil.example"",""Ashby"")",All,1,2',
        "2023-04-30,E06999901,+cmd|' /C calc'!A0,All,1,2",
        "2023-04-30,E06999901,@SUM(1+1),All,1,2",
    ),
    "added",
    "loaded",
)
case(
    "emoji_units.csv",
    lines(
        H,
        "2023-04-30,E06999901,Team \U0001f308 Rainbow,All,1,2",
        "2023-04-30,E06999901,\u0425\u0430\u0431,All,1,2",
    ),
    "added",
    "loaded",
)
case("path_traversal_name.csv", lines(H, R), "added", "loaded", display_name="../../etc/passwd.csv")
case(
    "windows_path_name.csv",
    lines(H, R),
    "added",
    "loaded",
    display_name="C:\\Users\\x\\..\\..\\evil\u202egpj.csv",
)
case(
    "long_text_cell.csv",
    lines(H, f"2023-04-30,E06999901,{'Lorem ipsum dolor ' * 10},All,1,2"),
    "free text",
    secret="Lorem ipsum dolor Lorem",
)
case(
    "control_chars_in_unit.csv",
    lines(H, "2023-04-30,E06999901,Ash\x07by\x1b[31m,All,1,2"),
    "added",
    "loaded",
)

# -- identifiable data: columns ------------------------------------------------------------------
for header in (
    "child_name",
    "First Name",
    "Surname",
    "DOB",
    "Date of Birth",
    "Post Code",
    "Address",
    "UPN",
    "ULN",
    "NHS Number",
    "ChildID",
    "Case ID",
    "person_id",
    "E-mail",
    "Mobile",
):
    slug = "".join(ch if ch.isalnum() else "_" for ch in header.lower())
    case(f"column_{slug}.csv", lines(H + f",{header}", R + ",x"), "suggests it holds")

# -- identifiable data: values -------------------------------------------------------------------


def secret_in_unit(name, unit, fragment, secret):
    """A case whose ``unit`` cell holds identifiable data (``secret`` must not be echoed)."""
    case(name, lines(H, f"2023-04-30,E06999901,{unit},All,1,2"), fragment, secret=secret)


def secret_in_column(name, column, value, fragment, secret):
    """A case with an extra column ``column`` holding identifiable data."""
    case(name, lines(H + f",{column}", R + f",{value}"), fragment, secret=secret)


secret_in_unit("value_upn_in_unit.csv", UPN, "UPNs", UPN)
secret_in_column(
    "value_nhs_in_extra_column.csv",
    "ref",
    f"{NHS[:3]} {NHS[3:6]} {NHS[6:]}",
    "NHS numbers",
    NHS[:3] + " " + NHS[3:6],
)
secret_in_unit("value_postcode_in_unit.csv", "Flat 2 LS1 4AP", "postcodes", "LS1 4AP")
secret_in_unit(
    "value_email_in_unit.csv", "jo.bloggs@example.org", "e-mail", "jo.bloggs@example.org"
)
secret_in_column(
    "value_phone_in_extra_column.csv", "contact", "07700 900123", "phone numbers", "07700 900123"
)
secret_in_unit("value_date_of_birth_in_unit.csv", "14/02/2013", "dates", "14/02/2013")
secret_in_column(
    "value_date_in_extra_column.csv", "referral_date", "2013-02-14", "dates", "2013-02-14"
)
case(
    "invalid_upn_is_not_flagged.csv",
    lines(H, f"2023-04-30,E06999901,A{UPN[1:]},All,1,2"),
    "added",
    "loaded",
)
case(
    "invalid_nhs_is_not_flagged.csv",
    lines(H + ",ref", R + ",9434765918"),
    "not part of the outcomes contract",
    "loaded-with-warning",
)
case(
    "area_name_is_fine.csv",
    lines("area_code,area_name,la_name", "E06999902,Southmoor,Southmoor Council"),
    "not part of the areas contract",
    "loaded-with-warning",
)
case(
    "unit_name_header_is_fine.csv",
    lines(H + ",unit name", R + ",Ashby"),
    "not part of the outcomes contract",
    "loaded-with-warning",
)


def _xlsx_bytes(build) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    build(book.active)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _merged_title(sheet):
    sheet["A1"] = "Northmoor children's services - quarterly extract"
    sheet.merge_cells("A1:F2")
    sheet["A3"] = "Produced 2023-07-05; OFFICIAL-SENSITIVE"
    sheet.append([])
    sheet.append(H.split(","))
    sheet.append(["2023-04-30", "E06999901", "All", "All", 12, 7])


def _formula_text(sheet):
    sheet.append(H.split(","))
    sheet.append(["2023-04-30", "E06999901", None, "All", 1, 2])
    cell = sheet["C2"]
    cell.value = '=HYPERLINK("http://evil.example","Ashby")'
    cell.data_type = "s"  # stored as a text cell that looks like a formula


def _xlsx_dob(sheet):
    sheet.append([*H.split(","), "Date of Birth"])
    sheet.append(["2023-04-30", "E06999901", "All", "All", 1, 2, "2013-02-14"])


def _xlsx_no_header(sheet):
    sheet.append(["just", "some", "notes"])
    sheet.append(["nothing", "here"])


def write_small(folder: Path = HERE) -> list[dict]:
    rows = []
    for name, (data, fragment, outcome, extra) in SMALL.items():
        (folder / name).write_bytes(data)
        rows.append({"file": name, "expected_fragment": fragment, "outcome": outcome, **extra})
    for name, build, fragment, outcome in (
        ("merged_title_block.xlsx", _merged_title, "below a title block", "loaded"),
        ("formula_text_unit.xlsx", _formula_text, "added", "loaded"),
        ("identifying_column.xlsx", _xlsx_dob, "suggests it holds dates of birth", "refused"),
        ("no_header_row.xlsx", _xlsx_no_header, "no header row found", "refused"),
    ):
        (folder / name).write_bytes(_xlsx_bytes(build))
        rows.append({"file": name, "expected_fragment": fragment, "outcome": outcome})
    return rows


# -- large files, generated at test time ---------------------------------------------------------

LARGE = [
    {
        "file": "single_line_100mb.csv",
        "expected_fragment": "first line is longer",
        "outcome": "refused",
    },
    {
        "file": "header_10000_columns.csv",
        "expected_fragment": "10,000 columns",
        "outcome": "refused",
    },
    {
        "file": "long_data_line.csv",
        "expected_fragment": "a line is longer than",
        "outcome": "refused",
    },
    {
        "file": "zip_bomb.xlsx",
        "expected_fragment": "expands to",
        "outcome": "refused",
        "env": "RP_IMPACT_MAX_XLSX_INFLATED_MB=50",
    },
    {"file": "huge_dimension.xlsx", "expected_fragment": "over the limit of", "outcome": "refused"},
    {
        "file": "too_many_rows.csv",
        "expected_fragment": "row limit",
        "outcome": "refused",
        "env": "RP_IMPACT_MAX_ROWS=1000",
    },
    {
        "file": "too_many_rows.xlsx",
        "expected_fragment": "row limit",
        "outcome": "refused",
        "env": "RP_IMPACT_MAX_ROWS=100",
    },
    {
        "file": "too_big.csv",
        "expected_fragment": "over the 1 MB limit",
        "outcome": "refused",
        "env": "RP_IMPACT_MAX_FILE_MB=1",
    },
]


def generate_large(folder: Path, name: str) -> Path:
    """Write one large hostile file into `folder` (a temporary directory) and return it."""
    path = folder / name
    if name == "single_line_100mb.csv":
        with path.open("wb") as handle:
            block = b"period_end,area_code," * 50_000
            for _ in range(100 * 1024 * 1024 // len(block) + 1):
                handle.write(block)
    elif name == "header_10000_columns.csv":
        path.write_text(
            ",".join(f"col{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n"
        )
    elif name == "long_data_line.csv":
        path.write_text(H + "\n" + "2023-04-30,E06999901," + "A" * 1_500_000 + ",All,1,2\n")
    elif name == "zip_bomb.xlsx":
        # A workbook whose sheet XML inflates to ~200 MB from well under 1 MB.
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                chunk = b"<c><v>0</v></c>" * 65_536
                for _ in range(200 * 1024 * 1024 // len(chunk)):
                    member.write(chunk)
    elif name == "huge_dimension.xlsx":

        def build(sheet):
            sheet.append(H.split(","))
            sheet.append(["2023-04-30", "E06999901", "All", "All", 1, 2])
            sheet["XFD1048576"] = "x"  # the declared dimension becomes the whole grid

        path.write_bytes(_xlsx_bytes(build))
    elif name == "too_many_rows.csv":
        rows = [f"2023-04-30,E06999901,unit{i},All,1,2" for i in range(1001)]
        path.write_text(lines(H, *rows))
    elif name == "too_many_rows.xlsx":

        def build(sheet):
            sheet.append(H.split(","))
            for i in range(101):
                sheet.append(["2023-04-30", "E06999901", f"unit{i}", "All", 1, 2])

        path.write_bytes(_xlsx_bytes(build))
    elif name == "too_big.csv":
        rows = [f"2023-04-30,E06999901,unit{i:06d},All,1,2" for i in range(40_000)]
        path.write_text(lines(H, *rows))
    else:
        raise ValueError(name)
    return path


FIELDS = ["file", "expected_fragment", "outcome", "display_name", "secret", "env", "generated"]


def main() -> int:
    rows = write_small(HERE)
    rows += [{**r, "generated": "yes"} for r in LARGE]
    with (HERE / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in FIELDS})
    print(f"{len(rows)} cases ({len(rows) - len(LARGE)} committed, {len(LARGE)} generated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
