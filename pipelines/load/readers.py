"""Read an extract file into a DuckDB table of strings, one column per header.

CSV: UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1252 (what Excel writes); comma,
semicolon or tab. XLSX: openpyxl in read-only mode; the header row may sit below a title block.
Nothing here interprets values: that is `pipelines.load.validate`'s job. Every failure is a
`ReadError` whose message names the file and says what to do.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.contracts import CONTRACTS, normalise_header

HEADER_SEARCH_ROWS = 30
RAW_TABLE = "raw_extract"  # a TEMP view: `_row` plus the file's cells as c0..cN
RAW_ROWS = "_raw_extract_rows"  # the TEMP table behind it
MAX_HEADER_LINE_BYTES = 1_048_576
MAX_LINE_BYTES = 1_000_000
MAX_XLSX_MEMBERS = 1_000


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class Limits:
    """What an upload may be; read from the environment each time so a deployment can tune it.

    RP_IMPACT_MAX_FILE_MB (500), RP_IMPACT_MAX_ROWS (5,000,000), RP_IMPACT_MAX_COLUMNS (200),
    RP_IMPACT_MAX_XLSX_CELLS (20,000,000 in the sheet's declared dimension) and
    RP_IMPACT_MAX_XLSX_INFLATED_MB (1,000: what the workbook's zip may expand to).
    """

    max_file_bytes: int
    max_rows: int
    max_columns: int
    max_xlsx_cells: int
    max_xlsx_inflated_bytes: int


def limits() -> Limits:
    return Limits(
        max_file_bytes=_env_int("RP_IMPACT_MAX_FILE_MB", 500) * 1024 * 1024,
        max_rows=_env_int("RP_IMPACT_MAX_ROWS", 5_000_000),
        max_columns=_env_int("RP_IMPACT_MAX_COLUMNS", 200),
        max_xlsx_cells=_env_int("RP_IMPACT_MAX_XLSX_CELLS", 20_000_000),
        max_xlsx_inflated_bytes=_env_int("RP_IMPACT_MAX_XLSX_INFLATED_MB", 1000) * 1024 * 1024,
    )


# Defaults, kept for callers that read them as constants.
MAX_FILE_BYTES = limits().max_file_bytes
MAX_COLUMNS = limits().max_columns
MAX_XLSX_CELLS = limits().max_xlsx_cells


def safe_display_name(file_name: str | None, default: str = "upload.csv") -> str:
    """The name to show and record for an uploaded file: its base name, printable, bounded.

    `../../etc/passwd.csv` becomes `passwd.csv`; `C:\\x\\q1.csv` becomes `q1.csv`; control
    and bidirectional-override characters are dropped; at most 120 characters.
    """
    text = str(file_name or "").replace("\\", "/").split("/")[-1]
    # Drops control, format (bidirectional overrides) and unassigned characters.
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\s+", " ", text).strip().lstrip(".").strip()
    if len(text) > 120:
        stem, dot, suffix = text.rpartition(".")
        text = stem[:110] + "." + suffix if dot and len(suffix) <= 8 else text[:120]
    return text or default


class ReadError(ValueError):
    """The file cannot be read as an extract. The message names the file and the fix."""

    def __init__(self, file_name: str, message: str, row: int | None = None):
        self.file_name = file_name
        self.row = row
        super().__init__(message)


@dataclass
class RawExtract:
    """The file as strings in DuckDB table `raw_extract`: columns c0..cN plus `_row`."""

    file_name: str
    headers: list[str]
    header_row: int
    n_rows: int
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)

    def column_for(self, index: int) -> str:
        return f"c{index}"


_KNOWN_HEADERS = {
    normalise_header(name)
    for contract in CONTRACTS.values()
    for column in contract.columns
    for name in (column.name, *column.aliases)
}


def drop_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the file's cells (the view and the table behind it)."""
    con.execute(f"DROP VIEW IF EXISTS {RAW_TABLE}")
    con.execute(f"DROP TABLE IF EXISTS {RAW_ROWS}")


def read_extract(path: Path | str, con: duckdb.DuckDBPyConnection, display_name: str | None = None):
    """Load `path` into `con` as table `raw_extract` (replacing it) and describe what was read."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise ReadError(name, f"{name}: file not found.")
    size = path.stat().st_size
    if size == 0:
        raise ReadError(
            name, f"{name}: the file is empty. Export the extract again with its header row."
        )
    limit = limits().max_file_bytes
    if size > limit:
        raise ReadError(
            name,
            f"{name}: the file is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit "
            "(RP_IMPACT_MAX_FILE_MB). Split it by quarter.",
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, con, name)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        raise ReadError(
            name, f"{name}: this is not a valid XLSX workbook. Save it again from Excel."
        )
    if path.suffix.lower() == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(
            name, f"{name}: old Excel .xls files are not supported. Save as .xlsx or CSV UTF-8."
        )
    return _read_csv(path, con, name)


# -- CSV -------------------------------------------------------------------------------------


def _detect_encoding(path: Path, name: str) -> tuple[str, bytes]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", raw
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", raw
    if b"\x00" in raw[:65536]:
        raise ReadError(
            name,
            f"{name}: this looks like a binary file, not a CSV extract. "
            "Upload a CSV (UTF-8) or XLSX file.",
        )
    try:
        raw.decode("utf-8")
        return "utf-8", raw
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252", raw
    except UnicodeDecodeError as exc:
        raise ReadError(
            name,
            f"{name}: the text encoding is not UTF-8 or Windows-1252 (byte {exc.start}). "
            "Save it from Excel as 'CSV UTF-8'.",
        ) from exc


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: len(next(csv.reader([header_line], delimiter=d))) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _first_line(text: str) -> str:
    end = len(text)
    for terminator in ("\r\n", "\n", "\r"):
        position = text.find(terminator)
        if position != -1:
            end = min(end, position)
    return text[:end]


def _read_csv(path: Path, con: duckdb.DuckDBPyConnection, name: str) -> RawExtract:
    encoding, raw = _detect_encoding(path, name)
    if encoding == "utf-8":
        text_head = raw[: MAX_HEADER_LINE_BYTES * 2].decode("utf-8", errors="replace")
    else:
        text_head = raw.decode(encoding)
    header_line = _first_line(text_head)
    if len(header_line.encode("utf-8", errors="replace")) > MAX_HEADER_LINE_BYTES:
        raise ReadError(
            name,
            f"{name}: the first line is longer than {MAX_HEADER_LINE_BYTES // 1_048_576} MB, so it "
            "cannot be a header row (is the file missing its line breaks, or not an extract?).",
            1,
        )
    if not header_line.strip():
        raise ReadError(name, f"{name}: the first line is empty. The header must be on row 1.", 1)
    delimiter = _sniff_delimiter(header_line)
    headers = next(csv.reader([header_line], delimiter=delimiter), [])
    _check_headers(headers, name)

    notes = []
    if encoding == "cp1252":
        notes.append("Read as Windows-1252 (Excel's default CSV encoding).")
    source = path
    temp: Path | None = None
    mixed_endings = _mixed_line_endings(raw) if encoding != "utf-16" else True
    more_than_header = encoding == "utf-16" or re.search(rb"[\r\n]\s*\S", raw) is not None
    if encoding != "utf-8" or mixed_endings:
        # DuckDB reads UTF-8 with one kind of line ending; rewrite once into a private temporary
        # file (mode 0600) rather than per row.
        text = raw.decode(encoding)
        if mixed_endings:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        with tempfile.NamedTemporaryFile(
            "w", suffix=".csv", delete=False, encoding="utf-8", newline=""
        ) as handle:
            handle.write(text)
        temp = source = Path(handle.name)
    max_rows = limits().max_rows
    # Every record but the last ends in a line break, so the breaks bound the rows. Below the
    # limit the read needs no LIMIT, which would make DuckDB keep rows in order on one thread
    # (it doubles the read of a national file).
    can_exceed = raw.count(b"\n") + raw.count(b"\r") + 1 > max_rows + 1
    del raw
    columns = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    try:
        drop_raw(con)
        # One row past the limit is read so that an over-long file is refused, not truncated.
        limit = f" LIMIT {max_rows + 1}" if can_exceed else ""
        con.execute(
            f"CREATE TEMP TABLE {RAW_ROWS} AS SELECT * FROM read_csv(?, delim = ?, quote = '\"', "
            "escape = '\"', header = false, skip = 1, columns = ?, auto_detect = false, "
            "strict_mode = true, null_padding = false, "
            f"max_line_size = {MAX_LINE_BYTES}){limit}",
            [str(source), delimiter, columns],
        )
    except duckdb.Error as exc:
        raise ReadError(name, f"{name}: {_explain_csv_error(str(exc))}") from exc
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)
    # Rows as Excel counts them: the header is row 1, so data starts at row 2. The table keeps
    # the file's order (DuckDB preserves insertion order), so a row's id is its place in the
    # file: numbering costs nothing, where `row_number() OVER ()` copies the table on one core.
    con.execute(f"CREATE TEMP VIEW {RAW_TABLE} AS SELECT rowid + 2 AS _row, * FROM {RAW_ROWS}")
    n_rows = con.execute(f"SELECT count(*) FROM {RAW_ROWS}").fetchone()[0]
    if n_rows > max_rows:
        drop_raw(con)
        raise ReadError(name, _too_many_rows(name, max_rows))
    if n_rows == 0 and more_than_header:
        # DuckDB drops an unterminated last record silently; a file with data lines but no
        # rows read has an unclosed quote.
        drop_raw(con)
        raise ReadError(
            name,
            f"{name}: a quoted value is not closed, so no row could be read. Check the quotes "
            "in the rows after the header.",
            2,
        )
    return RawExtract(name, headers, 1, n_rows, "csv", encoding, delimiter, notes)


def _mixed_line_endings(raw: bytes) -> bool:
    """True when lines end in more than one way (CRLF with LF, or lone CR)."""
    carriage_returns = raw.count(b"\r")
    if not carriage_returns:  # the usual case, and one pass instead of three
        return False
    crlf = raw.count(b"\r\n")
    lone_cr = carriage_returns - crlf
    lone_lf = raw.count(b"\n") - crlf
    return lone_cr > 0 or (crlf > 0 and lone_lf > 0)


def _too_many_rows(name: str, max_rows: int) -> str:
    return (
        f"{name}: the file has more than {max_rows:,} data rows, over the row limit "
        "(RP_IMPACT_MAX_ROWS). Split it by quarter or by area."
    )


def _explain_csv_error(message: str) -> str:
    # DuckDB's message quotes the offending line ("Original Line: ...") and then lists the
    # reader's options (which mention "quote" whatever went wrong): read only the diagnosis.
    diagnosis = []
    for text_line in message.splitlines():
        if text_line.strip().startswith(("Possible Solution", "file =")):
            break
        if not text_line.strip().startswith("Original Line"):
            diagnosis.append(text_line)
    message = "\n".join(diagnosis)
    lowered = message.lower()
    line = ""
    for token in ("line: ", "line "):
        if token in lowered:
            tail = lowered.split(token, 1)[1]
            digits = "".join(ch for ch in tail[:12] if ch.isdigit())
            if digits:
                line = f" at line {int(digits)}"
                break
    if "maximum line size" in lowered or "max_line_size" in lowered:
        return (
            f"a line is longer than {MAX_LINE_BYTES // 1_000_000} MB{line}; an extract's rows are "
            "short. Check that this is the right file."
        )
    if "expected number of columns" in lowered or "too many columns" in lowered:
        return (
            f"a row has a different number of columns from the header{line}. Check for an "
            "unquoted comma or semicolon in a value, or a missing column."
        )
    if "unterminated quote" in lowered or "quote" in lowered:
        return f"a quoted value is not closed{line}. Check the quotes in that row."
    if "unicode" in lowered or "utf" in lowered:
        return f"the file has characters that are not valid text{line}. Save it as CSV UTF-8."
    # DuckDB's own wording may quote the offending cell: never pass it on.
    first = re.sub(r"(['\"]).*?\1", "...", message.splitlines()[0])[:160] if message else ""
    return f"the file could not be read as CSV{line} ({first})."


def _check_headers(headers: list[str], name: str) -> None:
    max_columns = limits().max_columns
    if len(headers) > max_columns:
        raise ReadError(
            name,
            f"{name}: the header has {len(headers):,} columns, over the limit of {max_columns} "
            "(RP_IMPACT_MAX_COLUMNS). Check that this is the right file.",
            1,
        )
    if not any(str(h).strip() for h in headers):
        raise ReadError(name, f"{name}: the header row is empty. The header must be on row 1.", 1)
    seen: dict[str, str] = {}
    for header in headers:
        key = normalise_header(header)
        if not key:
            continue
        if key in seen:
            raise ReadError(
                name,
                f"{name}: the column '{header}' appears twice in the header (also as "
                f"'{seen[key]}'). Remove or rename one of them.",
                1,
            )
        seen[key] = header


# -- XLSX ------------------------------------------------------------------------------------


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


def _check_xlsx_size(path: Path, name: str) -> None:
    """Refuse zip bombs before openpyxl inflates them: bounded members and inflated size."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReadError(name, f"{name}: this is not a valid XLSX workbook.") from exc
    if len(members) > MAX_XLSX_MEMBERS:
        raise ReadError(
            name,
            f"{name}: the workbook holds {len(members):,} parts, more than a workbook needs "
            f"({MAX_XLSX_MEMBERS:,}). Save the extract as CSV instead.",
        )
    inflated = sum(info.file_size for info in members)
    limit = limits().max_xlsx_inflated_bytes
    if inflated > limit:
        raise ReadError(
            name,
            f"{name}: the workbook expands to {inflated / 1e6:,.0f} MB, over the "
            f"{limit / 1e6:,.0f} MB limit (RP_IMPACT_MAX_XLSX_INFLATED_MB). Save the extract as "
            "CSV instead.",
        )


def _read_xlsx(path: Path, con: duckdb.DuckDBPyConnection, name: str) -> RawExtract:
    import openpyxl
    import pandas as pd

    _check_xlsx_size(path, name)
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
        sheet = workbook.worksheets[0]
        try:
            max_row, max_column = sheet.max_row or 0, sheet.max_column or 0
        except Exception:  # a damaged dimension tag
            max_row = max_column = 0
        if max_row * max_column > limit.max_xlsx_cells:
            raise ReadError(
                name,
                f"{name}: the first sheet spans {max_row:,} rows by {max_column:,} columns, over "
                f"the limit of {limit.max_xlsx_cells:,} cells (RP_IMPACT_MAX_XLSX_CELLS). Delete "
                "unused rows and columns.",
            )
        rows = sheet.iter_rows(values_only=True)
        header_row, headers = _find_xlsx_header(rows, name)
        _check_headers(headers, name)
        width = len(headers)
        records = []
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
            f"{name}: the first sheet could not be read ({type(exc).__name__}). Save the "
            "workbook again from Excel, or save the extract as CSV.",
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
    notes = []
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


def _find_xlsx_header(rows, name: str) -> tuple[int, list[str]]:
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
    raise ReadError(
        name,
        f"{name}: no header row found in the first {HEADER_SEARCH_ROWS} rows of the first sheet. "
        "The header must name the contract's columns (e.g. period_end, area_code).",
    )


def sha256_of(path: Path | str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_bytes_as_file(data: bytes, file_name: str) -> Path:
    """Write uploaded bytes to a private temp file keeping only the base name's suffix."""
    suffix = Path(os.path.basename(file_name.replace("\\", "/"))).suffix.lower()[:6]
    with tempfile.NamedTemporaryFile(suffix=suffix or ".csv", delete=False) as handle:
        handle.write(data)
    return Path(handle.name)
