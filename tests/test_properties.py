"""Property-based tests: no input makes the readers or validators raise.

Whatever bytes, CSV-ish text, headers or cell values a file holds, `ingest_file` and
`validate_only` return an `IngestResult` (refused or not) and never raise; the checker's own
last-resort catch ("could not be checked") is never needed; the guard's issues never carry a
value; and the warehouse stays consistent.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.contracts import CONTRACTS, SUPPRESSION_MARKERS
from pipelines.load import guard
from pipelines.load.ingest import IngestResult, ingest_file, validate_only
from pipelines.store.warehouse import Warehouse
from tests.conftest import AREAS_CSV, POPULATION_CSV

EXAMPLES = {"count": 0}
COUNTER = itertools.count()
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
KNOWN_HEADERS = sorted(
    {name for c in CONTRACTS.values() for col in c.columns for name in (col.name, *col.aliases)}
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    folder = tmp_path_factory.mktemp("properties")
    with Warehouse(folder / "wh.duckdb") as warehouse:
        for name, text in (("areas.csv", AREAS_CSV), ("population.csv", POPULATION_CSV)):
            (folder / name).write_text(text)
            ingest_file(warehouse, folder / name, backup=False)
        warehouse.folder = folder
        yield warehouse
        assert warehouse.integrity_problems() == []
    print(f"\ningest/validate calls checked in test_properties.py: {EXAMPLES['count']}")


def _check(result) -> None:
    EXAMPLES["count"] += 1
    assert isinstance(result, IngestResult)
    assert result.outcome in {"loaded", "refused", "no-op", "valid"}
    assert not any("could not be checked" in i.message for i in result.issues), [
        i.as_text() for i in result.issues
    ]
    assert all(i.value is None for i in result.issues if i.rule in guard.GUARD_RULES)
    if result.outcome == "refused":
        assert result.errors


def _write(wh, data: bytes, suffix: str) -> Path:
    path = wh.folder / f"case{next(COUNTER)}{suffix}"
    path.write_bytes(data)
    return path


@SETTINGS
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".xlsx", ".tsv", ".xls", ""]))
def test_random_bytes(wh, data, suffix):
    path = _write(wh, data, suffix)
    _check(validate_only(path, wh))
    _check(ingest_file(wh, path, user="prop", backup=False))


CELL = st.one_of(
    st.integers(-5, 10**12).map(str),
    st.sampled_from(SUPPRESSION_MARKERS),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.sampled_from(["2023-04-30", "2023-03-31", "E06999901", "991", "All", "1-4", "1,234", "2.0"]),
    st.text(max_size=30),
    st.text(alphabet=",;\t\"'\r\n =+-@\\", max_size=10),
)


@st.composite
def csv_text(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    headers = draw(
        st.lists(
            st.one_of(st.sampled_from(KNOWN_HEADERS), st.text(max_size=15)), min_size=1, max_size=9
        )
    )
    n_rows = draw(st.integers(0, 6))
    rows = [
        [draw(CELL) for _ in range(draw(st.integers(max(0, len(headers) - 1), len(headers) + 1)))]
        for _ in range(n_rows)
    ]
    quote = draw(st.booleans())

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if quote else text

    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [delimiter.join(cell(h) for h in headers)]
    lines += [delimiter.join(cell(c) for c in row) for row in rows]
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


@SETTINGS
@given(data=csv_text())
def test_random_csv_text(wh, data):
    path = _write(wh, data, ".csv")
    _check(ingest_file(wh, path, user="prop", backup=False))


@st.composite
def contract_file(draw):
    """A file with a real contract's header and random cell values: reaches the row rules."""
    contract = draw(st.sampled_from(list(CONTRACTS.values())))
    columns = [c.name for c in contract.columns]
    chosen = draw(st.lists(st.sampled_from(columns), min_size=1, unique=True))
    required = [c.name for c in contract.columns if c.required]
    headers = list(dict.fromkeys(required + chosen))
    rows = draw(st.lists(st.lists(CELL, min_size=len(headers), max_size=len(headers)), max_size=8))

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    lines = [",".join(headers)] + [",".join(cell(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


@SETTINGS
@given(data=contract_file(), dry=st.booleans())
def test_random_values_under_real_headers(wh, data, dry):
    path = _write(wh, data, ".csv")
    _check(ingest_file(wh, path, user="prop", backup=False, dry_run=dry))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    rows=st.lists(
        st.lists(st.one_of(st.none(), CELL, st.floats(allow_nan=True), st.integers()), max_size=8),
        max_size=6,
    )
)
def test_random_xlsx_cells(wh, rows):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["period_end", "area_code", "unit", "age_band", "cla_starts", "cpp_starts"])
    for row in rows:
        clean = []
        for value in row:
            if isinstance(value, str):
                value = "".join(ch for ch in value if ch.isprintable())
            clean.append(value)
        sheet.append(clean)
    path = wh.folder / f"case{next(COUNTER)}.xlsx"
    book.save(path)
    _check(ingest_file(wh, path, user="prop", backup=False))
