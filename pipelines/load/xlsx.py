"""Read an XLSX extract into the same DuckDB table of strings as a CSV (`pipelines.load.readers`).

openpyxl reads the workbook in read-only mode, but nothing it is told is trusted blindly:

- **The extent.** A sheet's declared `<dimension>` can be wrong (a sheet declaring `A1:C1` would
  be read as one row of three columns) and a sheet can end in millions of empty rows (a 55 KB
  file of six million empty rows took 16 s and 664 MB). `scan_sheet` streams the sheet's XML
  once, in blocks, and finds the last row that holds a value, so the rows are read up to it and
  no further, whatever the dimension says.
- **The sheet.** The visible sheets are read, never a hidden one (stale figures are often kept
  on a hidden first sheet); two visible sheets of data are refused rather than one dropped, and
  the notes say which sheet was read.
- **Formulas.** A formula saved without its value (by a program that does not calculate) would
  read as an empty cell: it is refused with its row and column.
- **Macros.** A macro-enabled workbook (`.xlsm`, or one whose parts carry a VBA project) is
  refused unopened.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.contracts import normalise_header
from pipelines.load.readers import (
    _KNOWN_HEADERS,
    HEADER_SEARCH_ROWS,
    MAX_XLSX_MEMBERS,
    RAW_ROWS,
    RAW_TABLE,
    RawExtract,
    ReadError,
    _check_headers,
    _too_many_rows,
    drop_raw,
    limits,
)

MACRO_SUFFIXES = {".xlsm", ".xltm", ".xlam"}
#: Blocks of inflated sheet XML scanned at a time, and what each keeps of the one before, so a
#: tag split across two blocks is still seen whole.
SCAN_BLOCK = 1 << 20
SCAN_OVERLAP = 4096
#: Formula cells without a saved value listed in a refusal.
FORMULAS_LISTED = 5
SAVE_AGAIN = "Open it in Excel and save it again, or save the extract as 'CSV UTF-8'."


@dataclass
class SheetScan:
    """What one pass over a sheet's XML found (rows and columns as Excel numbers them)."""

    last_row: int = 0
    last_column: int = 0
    #: Formula cells with no saved value: (row, column), None where the cell has no reference.
    unvalued_formulas: list[tuple[int | None, int | None]] = field(default_factory=list)
    #: False when the sheet's rows carry no `r` attributes: the extent is then unknown.
    numbered: bool = True


def column_number(letters: str) -> int:
    """`A` -> 1, `Z` -> 26, `AA` -> 27, `XFD` -> 16384."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


_PREFIX = re.compile(rb"<(\w+:)?sheetData\b")
_ROW_NUMBER = re.compile(rb'\sr="([0-9]+)"')
_CELL_REF = re.compile(rb'\sr="([A-Za-z]{1,3})([0-9]+)"')


def scan_sheet(archive: zipfile.ZipFile, member: str, name: str, max_inflated: int) -> SheetScan:
    """Stream `member` of `archive` once: the last row and column holding a value (`<v>`, an
    inline string or a formula) and the formulas saved without a value. Only the last value of
    each block is located, with byte searches, so a sheet of six million empty rows costs one
    inflation and no Python per row."""
    scan = SheetScan()
    prefix: bytes | None = None
    content_tags: tuple[bytes, ...] = ()
    row_tag = cell_tag = bare_cell_tag = b""
    unvalued = None
    last_row_seen = 0
    tail = b""
    inflated = 0
    with archive.open(member) as stream:
        while True:
            block = stream.read(SCAN_BLOCK)
            if not block:
                break
            inflated += len(block)
            if inflated > max_inflated:
                raise ReadError(
                    name,
                    f"{name}: a sheet expands to more than {max_inflated / 1e6:,.0f} MB, over the "
                    "limit (RP_IMPACT_MAX_XLSX_INFLATED_MB). Save the extract as CSV instead.",
                )
            buffer = tail + block
            if prefix is None:
                found = _PREFIX.search(buffer)
                if found is None:
                    tail = buffer[-SCAN_OVERLAP:]
                    continue
                prefix = found.group(1) or b""
                # `<v` covers `<v>` and `<v ...>`; `<f` a formula; `<is` an inline string.
                content_tags = tuple(b"<" + prefix + t for t in (b"v", b"is>", b"f"))
                row_tag, cell_tag = b"<" + prefix + b"row", b"<" + prefix + b"c "
                bare_cell_tag = b"<" + prefix + b"c>"
                p = re.escape(prefix)
                # A formula followed by no value, or by an empty one (`<v/>`, `<v></v>`).
                unvalued = re.compile(
                    rb"<"
                    + p
                    + rb"c\b([^>]*)>\s*<"
                    + p
                    + rb"f\b[^>]*(?:/>|>[^<]*</"
                    + p
                    + rb"f>)\s*(?:<"
                    + p
                    + rb"v\s*/>|<"
                    + p
                    + rb"v>\s*</"
                    + p
                    + rb"v>)?\s*</"
                    + p
                    + rb"c>"
                )
            # Only empty rows (`<row/>` holds no "c"): a memchr, nothing else.
            if b"c" not in block or (cell_tag not in buffer and bare_cell_tag not in buffer):
                tail = buffer[-SCAN_OVERLAP:]
                continue
            found_at = [buffer.rfind(tag) for tag in content_tags]
            last = max(found_at)
            if last != -1:
                row_at = buffer.rfind(row_tag, 0, last)
                row = last_row_seen
                if row_at != -1:
                    number = _ROW_NUMBER.search(buffer, row_at, buffer.find(b">", row_at) + 1)
                    if number is None:
                        scan.numbered = False
                    else:
                        row = int(number.group(1))
                scan.last_row = max(scan.last_row, row)
                cell_at = buffer.rfind(cell_tag, 0, last)
                if cell_at != -1:
                    ref = _CELL_REF.search(buffer, cell_at, buffer.find(b">", cell_at) + 1)
                    if ref is not None:
                        scan.last_column = max(
                            scan.last_column, column_number(ref.group(1).decode())
                        )
            latest_row = buffer.rfind(row_tag)
            if latest_row != -1:
                number = _ROW_NUMBER.search(buffer, latest_row, buffer.find(b">", latest_row) + 1)
                last_row_seen = int(number.group(1)) if number else last_row_seen
            if found_at[2] != -1 and len(scan.unvalued_formulas) < FORMULAS_LISTED:
                for match in unvalued.finditer(buffer):
                    ref = _CELL_REF.search(match.group(1))
                    where = (
                        (int(ref.group(2)), column_number(ref.group(1).decode()))
                        if ref
                        else (None, None)
                    )
                    if where not in scan.unvalued_formulas:
                        scan.unvalued_formulas.append(where)
            tail = buffer[-SCAN_OVERLAP:]
    return scan


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_workbook_parts(path: Path, name: str) -> None:
    """Refuse zip bombs before openpyxl inflates them (bounded parts and inflated size), and
    macro-enabled workbooks by name or by content."""
    if Path(name).suffix.lower() in MACRO_SUFFIXES or path.suffix.lower() in MACRO_SUFFIXES:
        raise _macro_refusal(name)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            types = (
                archive.read("[Content_Types].xml")[:1_000_000]
                if "[Content_Types].xml" in archive.namelist()
                else b""
            )
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise ReadError(name, f"{name}: this is not a valid XLSX workbook.") from exc
    if len(members) > MAX_XLSX_MEMBERS:
        raise ReadError(
            name,
            f"{name}: the workbook holds {len(members):,} parts, more than a workbook needs "
            f"({MAX_XLSX_MEMBERS:,}). Save the extract as CSV instead.",
        )
    if b"macroEnabled" in types or any(
        m.filename.lower().endswith("vbaproject.bin") for m in members
    ):
        raise _macro_refusal(name)
    inflated = sum(info.file_size for info in members)
    limit = limits().max_xlsx_inflated_bytes
    if inflated > limit:
        raise ReadError(
            name,
            f"{name}: the workbook expands to {inflated / 1e6:,.0f} MB, over the "
            f"{limit / 1e6:,.0f} MB limit (RP_IMPACT_MAX_XLSX_INFLATED_MB). Save the extract as "
            "CSV instead.",
        )


def _macro_refusal(name: str) -> ReadError:
    return ReadError(
        name,
        f"{name}: this is a macro-enabled workbook, and rp-impact does not open files that carry "
        "macros; save the extract from Excel as 'Excel Workbook (.xlsx)' or 'CSV UTF-8'.",
    )


def _quoted(titles: list[str]) -> str:
    shown = [f"'{t[:40]}'" for t in titles]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


@dataclass
class _Candidate:
    sheet: object
    scan: SheetScan | None
    header_row: int | None = None
    headers: list[str] = field(default_factory=list)

    @property
    def has_rows(self) -> bool:
        if self.header_row is None:
            return False
        scan = self.scan
        return scan is None or not scan.numbered or scan.last_row > self.header_row


def _scan(workbook, sheet, name: str, max_inflated: int) -> SheetScan | None:
    member = getattr(sheet, "_worksheet_path", None)
    if member is None:  # openpyxl changed its internals: read without the bound
        return None
    return scan_sheet(workbook._archive, member, name, max_inflated)


def _choose_sheet(workbook, name: str, max_inflated: int) -> tuple[_Candidate, list[str]]:
    """The one visible sheet of data, and the notes saying what else the workbook holds."""
    visible = [s for s in workbook.worksheets if s.sheet_state == "visible"]
    hidden = [s.title for s in workbook.worksheets if s.sheet_state != "visible"]
    candidates = []
    for sheet in visible:
        candidate = _Candidate(sheet, _scan(workbook, sheet, name, max_inflated))
        sheet.reset_dimensions()  # the declared <dimension> may be wrong: never read by it
        if candidate.scan is None or candidate.scan.last_row > 0:
            top = HEADER_SEARCH_ROWS
            if candidate.scan is not None and candidate.scan.numbered:
                top = min(top, candidate.scan.last_row)
            found = _find_header(sheet.iter_rows(max_row=top, values_only=True))
            if found is not None:
                candidate.header_row, candidate.headers = found
        candidates.append(candidate)
    with_data = [c for c in candidates if c.has_rows]
    if len(with_data) > 1:
        raise ReadError(
            name,
            f"{name}: the workbook has {len(with_data)} sheets of data "
            f"({_quoted([c.sheet.title for c in with_data])}) and rp-impact reads one sheet per "
            "file; save each sheet as its own file, or delete the sheets that should not be loaded.",
        )
    chosen = with_data or [c for c in candidates if c.header_row is not None]
    if not chosen:
        where = "the first sheet" if len(workbook.worksheets) == 1 else "any visible sheet"
        unread = f" (hidden sheets are not read: {_quoted(hidden)})" if hidden else ""
        raise ReadError(
            name,
            f"{name}: no header row found in the first {HEADER_SEARCH_ROWS} rows of {where}"
            f"{unread}. The header must name the contract's columns (e.g. period_end, area_code).",
        )
    candidate = chosen[0]
    notes = []
    if len(workbook.worksheets) > 1:
        others = [c.sheet.title for c in candidates if c is not candidate]
        note = f"Read sheet '{candidate.sheet.title[:40]}'"
        if others:
            note += f"; {_quoted(others)} {'holds' if len(others) == 1 else 'hold'} no table"
        if hidden:
            note += f"; hidden {_quoted(hidden)} {'was' if len(hidden) == 1 else 'were'} not read"
        notes.append(note + ".")
    return candidate, notes


def _refuse_unvalued_formulas(scan: SheetScan, candidate: _Candidate, name: str) -> None:
    width = len(candidate.headers)
    for row, column in scan.unvalued_formulas:
        if row is not None and (row <= candidate.header_row or column > width):
            continue  # a title-block or margin formula is not data
        header = candidate.headers[column - 1] if column else None
        where = f"row {row}, column '{header}'" if row is not None else "a cell"
        raise ReadError(
            name,
            f"{name}: {where} holds a formula saved without its value (the workbook was saved by "
            f"a program that does not calculate formulas), so the figure is unknown. {SAVE_AGAIN}",
            row,
            header,
        )


def read_xlsx(path: Path, con: duckdb.DuckDBPyConnection, name: str) -> RawExtract:
    import openpyxl
    import pandas as pd

    check_workbook_parts(path, name)
    limit = limits()
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise ReadError(
            name, f"{name}: this is not a readable XLSX workbook ({type(exc).__name__})."
        ) from exc
    try:
        if not workbook.worksheets:
            raise ReadError(name, f"{name}: the workbook has no worksheets.")
        candidate, notes = _choose_sheet(workbook, name, limit.max_xlsx_inflated_bytes)
        sheet, scan, header_row = candidate.sheet, candidate.scan, candidate.header_row
        last_row = scan.last_row if scan is not None and scan.numbered else None
        if scan is not None and scan.last_row * scan.last_column > limit.max_xlsx_cells:
            raise ReadError(
                name,
                f"{name}: sheet '{sheet.title[:40]}' spans {scan.last_row:,} rows by "
                f"{scan.last_column:,} columns, over the limit of {limit.max_xlsx_cells:,} cells "
                "(RP_IMPACT_MAX_XLSX_CELLS). Delete unused rows and columns.",
            )
        if last_row is not None and last_row > limit.max_rows + HEADER_SEARCH_ROWS:
            raise ReadError(name, _too_many_rows(name, limit.max_rows))
        headers = candidate.headers
        _check_headers(headers, name)
        if scan is not None:
            _refuse_unvalued_formulas(scan, candidate, name)
        width = len(headers)
        records = []
        if last_row is None or last_row > header_row:
            rows = sheet.iter_rows(min_row=header_row + 1, max_row=last_row, values_only=True)
            for offset, values in enumerate(rows, start=header_row + 1):
                cells = [_cell_text(v) for v in values[:width]]
                if all(c is None or str(c).strip() == "" for c in cells):
                    continue
                cells += [None] * (width - len(cells))
                records.append([offset, *cells])
                if len(records) > limit.max_rows:
                    raise ReadError(name, _too_many_rows(name, limit.max_rows))
    except ReadError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged sheet XML
        raise ReadError(
            name,
            f"{name}: the sheet could not be read ({type(exc).__name__}). Save the workbook "
            "again from Excel, or save the extract as CSV.",
        ) from exc
    finally:
        workbook.close()
    records, footer = _split_footer(records)
    frame = pd.DataFrame(records, columns=["_row", *[f"c{i}" for i in range(width)]])
    frame = frame.astype({"_row": "int64", **{f"c{i}": "object" for i in range(width)}})
    drop_raw(con)
    con.register("_xlsx_frame", frame)
    try:
        casts = ", ".join(f"CAST(c{i} AS VARCHAR) AS c{i}" for i in range(width))
        con.execute(f"CREATE TEMP TABLE {RAW_ROWS} AS SELECT _row, {casts} FROM _xlsx_frame")
        con.execute(f"CREATE TEMP VIEW {RAW_TABLE} AS SELECT * FROM {RAW_ROWS}")
    finally:
        con.unregister("_xlsx_frame")
    if header_row > 1:
        notes.append(f"Header found on row {header_row}, below a title block.")
    if footer:
        notes.append(_footer_note(footer))
    return RawExtract(name, headers, header_row, len(records), "xlsx", notes=notes)


# A cell that reads as a number or a date is data, never a note (a row with only its period
# filled in is a broken data row, to be reported, not skipped).
_DATA_LIKE = re.compile(r"^[\d\s/.:,+\-T]*$")


def _is_note(record: list) -> bool:
    """A row with text in its first cell only: a footnote such as "Source: ..." below a table."""
    first, *rest = record[1:]
    text = "" if first is None else str(first).strip()
    # Words, not a code: "Source: DfE" is a note, a lone "E06999901" is a broken data row.
    if not text or _DATA_LIKE.match(text) or not re.search(r"[\s:]", text):
        return False
    return all(c is None or not str(c).strip() for c in rest)


def _split_footer(records: list[list]) -> tuple[list[list], list[int]]:
    """The data rows, and the sheet rows of the notes below them (blank rows between the
    notes are already dropped). Only trailing notes are taken: a note between data rows is
    left for validation to report."""
    end = len(records)
    while end > 1 and _is_note(records[end - 1]):
        end -= 1
    if end == len(records) or all(_is_note(r) for r in records[:end]):
        return records, []
    return records[:end], [r[0] for r in records[end:]]


def _footer_note(rows: list[int]) -> str:
    if len(rows) == 1:
        return (
            f"Row {rows[0]} below the table is a note (text in the first column only), not "
            "data, and was skipped."
        )
    listed = ", ".join(str(r) for r in rows[:-1]) + f" and {rows[-1]}"
    return (
        f"Rows {listed} below the table are notes (text in the first column only), not data, "
        "and were skipped."
    )


def _find_header(rows) -> tuple[int, list[str]] | None:
    """The header is the first row (within the first 30) naming two or more known columns."""
    for number, values in enumerate(rows, start=1):
        if number > HEADER_SEARCH_ROWS:
            break
        texts = [str(v).strip() if v is not None else "" for v in values]
        while texts and not texts[-1]:
            texts.pop()
        known = sum(1 for t in texts if normalise_header(t) in _KNOWN_HEADERS)
        if known >= 2:
            return number, texts
    return None
