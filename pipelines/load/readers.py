"""Read an extract file into a DuckDB table of strings, one column per header.

CSV: UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1252 (what Excel writes); comma,
semicolon or tab. XLSX: openpyxl in read-only mode; the header row may sit below a title block.
Nothing here interprets values: that is `pipelines.load.validate`'s job. Every failure is a
`ReadError` whose message names the file and says what to do.
"""

from __future__ import annotations

import csv
import functools
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
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

    def __init__(
        self, file_name: str, message: str, row: int | None = None, column: str | None = None
    ):
        self.file_name = file_name
        self.row = row
        self.column = column
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
        from pipelines.load.xlsx import read_xlsx  # it reads this module's limits and checks

        return read_xlsx(path, con, name)
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


SAVE_AS_UTF8 = "Open it in Excel and save it again as 'CSV UTF-8 (Comma delimited)'."


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes in the header line, or more than 1 in 100 of the first 64 KB: not text. (A
    stray NUL further on is reported with its row and column by `_refuse_nul`.)"""
    head = raw[:65536]
    nuls = head.count(b"\x00")
    if not nuls:
        return False
    line_end = min((i for i in (head.find(b"\n"), head.find(b"\r")) if i != -1), default=len(head))
    return b"\x00" in head[:line_end] or nuls > max(2, len(head) // 100)


def _detect_encoding(path: Path, name: str) -> tuple[str, bytes]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReadError(
                name,
                f"{name}: the file starts as UTF-8 but byte {exc.start:,} is not UTF-8, so parts "
                f"of it were saved in another encoding (Windows-1252, perhaps). {SAVE_AS_UTF8}",
                _line_of(raw, exc.start),
            ) from exc
        return "utf-8-sig", raw
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadError(
                name,
                f"{name}: the file is UTF-16 text that is cut short or damaged (byte {exc.start:,} "
                f"does not complete a character). {SAVE_AS_UTF8}",
            ) from exc
        return "utf-16", raw
    if _looks_binary(raw):
        raise ReadError(
            name,
            f"{name}: this looks like a binary file (or UTF-16 text without its byte-order "
            "mark), not a CSV extract; save it from Excel as 'CSV UTF-8', or upload the XLSX.",
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


def _fields(line: str, delimiter: str) -> list[str] | None:
    """The fields of one line, or None when a field is longer than the csv module allows (a
    header of a million columns read with the wrong delimiter is one huge field)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return None


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: len(_fields(header_line, d) or [None]) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _line_of(raw: bytes, position: int) -> int:
    """The line (as Excel numbers rows) holding byte `position`."""
    before = raw[:position]
    return (before.count(b"\n") if b"\n" in raw else before.count(b"\r")) + 1


def _refuse_nul(raw: bytes, position: int, encoding: str, delimiter: str, headers, name: str):
    """A NUL byte inside the data: named by row and column, never stored inside a value."""
    row = _line_of(raw, position)
    start = max(raw.rfind(b"\n", 0, position), raw.rfind(b"\r", 0, position)) + 1
    prefix = raw[start:position].decode(encoding, errors="replace")
    index = len(_fields(prefix, delimiter) or [""]) - 1 if prefix else 0
    column = headers[index] if 0 <= index < len(headers) else None
    where = f"column '{column}'" if column else "a column"
    raise ReadError(
        name,
        f"{name}: row {row}, {where} holds a NUL (zero) byte, which no text holds: the file is "
        f"damaged or was not exported as text. {SAVE_AS_UTF8}",
        row,
        column,
    )


def _empty_line_pattern(delimiter: str) -> re.Pattern:
    """A line after the first that is blank or holds only delimiters (Excel's `,,,,`)."""
    d = re.escape(delimiter.encode())
    breaks = rb"(?:\r\n|\n|\r(?!\n))"
    return re.compile(breaks + rb"[ \t" + d + rb"]*" + breaks)


@functools.lru_cache(maxsize=8)
def _empty_line_hints(delimiter: str) -> re.Pattern:
    """Any of the byte pairs an empty line must contain, as one pattern: one pass over the
    file instead of one `in` per hint (0.50 s -> 0.26 s for a 79 MB extract)."""
    d = delimiter.encode()
    hints = (b"\n\n", b"\r\r", b"\n\r\n", b"\n" + d, b"\r" + d, b"\n ", b"\n\t")
    return re.compile(b"|".join(re.escape(hint) for hint in hints))


def _has_empty_lines(raw: bytes, delimiter: str) -> bool:
    # Cheap finds first: a normal extract has none of these, and the pattern is then not run.
    if _empty_line_hints(delimiter).search(raw) is None:
        return False
    return _empty_line_pattern(delimiter).search(raw) is not None


def _fill_empty_lines(text: str, delimiter: str, width: int) -> tuple[str, int]:
    """Blank lines (outside quotes) become rows of empty cells, so DuckDB keeps their place and
    every later row keeps its line number; the rows of empty cells are then skipped."""
    pieces = text.split("\n")
    quoted, filled = False, 0
    empty = re.compile(rf"[ \t{re.escape(delimiter)}]*")
    for number, piece in enumerate(pieces):
        if number and not quoted and number < len(pieces) - 1 and empty.fullmatch(piece):
            pieces[number] = delimiter * (width - 1)
            filled += 1
        if piece.count('"') % 2:
            quoted = not quoted
    return "\n".join(pieces), filled


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
    headers = _fields(header_line, delimiter)
    if headers is None:
        raise ReadError(
            name,
            f"{name}: the header row has a name longer than any column name, so it cannot be "
            f"read as a header (is this the right file?). {SAVE_AS_UTF8}",
            1,
        )
    _check_headers(headers, name)
    nul_text = text_head if encoding == "utf-16" else None
    nul_at = raw.find(b"\x00") if nul_text is None else nul_text.find("\x00")
    if nul_at != -1:
        if nul_text is not None:  # UTF-16: find the row in the decoded text
            _refuse_nul(
                nul_text.encode("utf-8"),
                len(nul_text[:nul_at].encode("utf-8")),
                "utf-8",
                delimiter,
                headers,
                name,
            )
        _refuse_nul(
            raw, nul_at, "cp1252" if encoding == "cp1252" else "utf-8", delimiter, headers, name
        )

    notes = []
    if encoding == "cp1252":
        notes.append("Read as Windows-1252 (Excel's default CSV encoding).")
    source = path
    temp: Path | None = None
    n_filled = 0  # empty lines, read as rows of empty cells and skipped
    mixed_endings = _mixed_line_endings(raw) if encoding != "utf-16" else True
    empty_lines = encoding == "utf-16" or _has_empty_lines(raw, delimiter)
    more_than_header = encoding == "utf-16" or re.search(rb"[\r\n]\s*\S", raw) is not None
    if encoding != "utf-8" or mixed_endings or empty_lines:
        # DuckDB reads UTF-8 with one kind of line ending and skips blank lines (shifting every
        # later row's number); rewrite once into a private temporary file (mode 0600).
        text = raw.decode(encoding)
        if mixed_endings or empty_lines:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if empty_lines:
            text, n_filled = _fill_empty_lines(text, delimiter, len(headers))
        with tempfile.NamedTemporaryFile(
            "w", suffix=".csv", delete=False, encoding="utf-8", newline=""
        ) as handle:
            handle.write(text)
        temp = source = Path(handle.name)
    max_rows = limits().max_rows
    # Every record but the last ends in a line break, so the breaks bound the rows. Below the
    # limit the read needs no LIMIT, which would make DuckDB keep rows in order on one thread
    # (it doubles the read of a national file).
    can_exceed = raw.count(b"\n") + raw.count(b"\r") + 1 > max_rows + 1 + n_filled
    del raw
    columns = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    try:
        drop_raw(con)
        # One row past the limit is read so that an over-long file is refused, not truncated.
        limit = f" LIMIT {max_rows + 1 + n_filled}" if can_exceed else ""
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
    all_empty = " AND ".join(f"coalesce(trim(c{i}), '') = ''" for i in range(len(headers)))
    n_read, n_empty = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {all_empty}) FROM {RAW_ROWS}"
    ).fetchone()
    # Rows of empty cells (Excel's `,,,,` below a table, or a blank line) are skipped; the
    # rows after them keep their own numbers.
    skip_empty = f" WHERE NOT ({all_empty})" if n_empty else ""
    con.execute(
        f"CREATE TEMP VIEW {RAW_TABLE} AS SELECT rowid + 2 AS _row, * FROM {RAW_ROWS}{skip_empty}"
    )
    n_rows = n_read - n_empty
    if n_empty:
        empty_rows = [
            r[0]
            for r in con.execute(
                f"SELECT rowid + 2 FROM {RAW_ROWS} WHERE {all_empty} ORDER BY 1 LIMIT 5"
            ).fetchall()
        ]
        notes.append(_empty_rows_note(empty_rows, n_empty))
    if n_rows > max_rows:
        drop_raw(con)
        raise ReadError(name, _too_many_rows(name, max_rows))
    if n_read == 0 and more_than_header:
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


def _empty_rows_note(first_rows: list[int], count: int) -> str:
    listed = ", ".join(str(r) for r in first_rows)
    more = f" and {count - len(first_rows)} more" if count > len(first_rows) else ""
    if count == 1:
        return f"Row {listed} is empty and was skipped."
    return f"{count} empty rows (row {listed}{more}) were skipped."


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
