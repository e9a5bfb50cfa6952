"""Test-only fault injection: a load failing mid-merge, damaged warehouse files, a full disk.

`pipelines.load.ingest` calls `_reached(step)` at each named point of a load ("history",
"update", "insert" in the merge; "refresh" after the materialised tables). `fail_after(step)`
replaces that hook for the duration of a `with` block so the load raises `InjectedFault` at
that point, inside its transaction: the tests then check that nothing was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from pipelines.load import ingest

STEPS = ("history", "update", "insert", "refresh")


class InjectedFault(RuntimeError):
    """Raised by tests to prove that a failure mid-merge leaves the warehouse unchanged."""


@contextmanager
def fail_after(step: str) -> Iterator[None]:
    """Make every load in the block fail straight after `step`."""
    if step not in STEPS:
        raise ValueError(f"Unknown step '{step}'; the load reaches: {', '.join(STEPS)}.")

    def fail(reached: str) -> None:
        if reached == step:
            raise InjectedFault(f"injected failure after {step}")

    with mock.patch.object(ingest, "_reached", fail):
        yield


# -- damaged files ---------------------------------------------------------------------------
# DuckDB's single-file layout: a 4 KB main header and two 4 KB database headers, then blocks of
# `block_size` bytes (256 KB), each starting with the 8-byte checksum of the rest of the block.
HEADER_BYTES = 3 * 4096


def block_size(path: Path) -> int:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0])
    finally:
        con.close()


def block_count(path: Path) -> int:
    return (path.stat().st_size - HEADER_BYTES) // block_size(path)


def data_block(path: Path, table: str) -> int:
    """A block holding column data of `table`."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(
            con.execute(
                "SELECT min(block_id) FROM pragma_storage_info(?) WHERE block_id >= 0", [table]
            ).fetchone()[0]
        )
    finally:
        con.close()


def truncate(path: Path, fraction: float = 0.6) -> None:
    """Cut the file short, as a copy interrupted part way would."""
    with path.open("r+b") as handle:
        handle.truncate(int(path.stat().st_size * fraction))


def flip_bytes(path: Path, offset: int, count: int = 16) -> None:
    """Invert `count` bytes at `offset`, as a failing disk or a stray write would."""
    with path.open("r+b") as handle:
        handle.seek(offset)
        original = handle.read(count)
        handle.seek(offset)
        handle.write(bytes(b ^ 0xFF for b in original))


def zero_block(path: Path, block: int) -> None:
    """Overwrite one whole block with zeros, as a lost write would leave it."""
    size = block_size(path)
    with path.open("r+b") as handle:
        handle.seek(HEADER_BYTES + block * size)
        handle.write(b"\0" * size)


def damage(path: Path, kind: str) -> None:
    """One of DAMAGE's kinds of damage to a warehouse file."""
    if kind == "truncated":
        truncate(path)
    elif kind == "flipped bytes":
        flip_bytes(path, HEADER_BYTES + data_block(path, "fct_outcomes") * block_size(path) + 999)
    elif kind == "zeroed block":
        zero_block(path, data_block(path, "fct_outcomes"))
    elif kind == "damaged header":
        flip_bytes(path, 100)
    else:
        raise ValueError(f"Unknown damage '{kind}'.")


DAMAGE = ("truncated", "flipped bytes", "zeroed block", "damaged header")


# -- a disk that fills up --------------------------------------------------------------------
#: Runs `rp-impact ARGS...` in a child process whose file writes start failing at one point:
#: "backup" (as the pre-load backup starts copying) or "commit" (inside the upload's transaction,
#: just before COMMIT writes the log). RLIMIT_FSIZE makes the kernel refuse every write past
#: offset 0 with EFBIG, which DuckDB reports as a failed write exactly as it does ENOSPC.
DISK_FILLS_AT = """
import resource, signal, sys
from unittest import mock

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
step, *argv = sys.argv[1:]

def no_more_room():
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

from pipelines.cli import main
from pipelines.load import ingest
from pipelines.store import backup

if step == "backup":
    copy = backup._copy_snapshot
    def filling(*args):
        no_more_room()
        return copy(*args)
    patch = mock.patch.object(backup, "_copy_snapshot", filling)
else:
    def filling(reached):
        if reached == "refresh":
            no_more_room()
    patch = mock.patch.object(ingest, "_reached", filling)
with patch:
    code = main(argv)
sys.exit(code)
"""


def first_quarter_loaded(tmp_path: Path, *, n_units: int, n_bands: int) -> tuple[Path, list[Path]]:
    """A closed warehouse holding areas, population and the first quarter; every quarter's file.

    The fault tests start from a warehouse that already holds data, so a fault has something
    to lose; it is closed again so each test opens it the way its own process would.
    """
    from pipelines.store.warehouse import Warehouse
    from tests.conftest import AREAS_CSV, POPULATION_CSV
    from tests.kill_fixtures import write_files

    path = tmp_path / "wh.duckdb"
    (tmp_path / "areas.csv").write_text(AREAS_CSV)
    (tmp_path / "population.csv").write_text(POPULATION_CSV)
    files = write_files(tmp_path, n_units=n_units, n_bands=n_bands)
    with Warehouse(path) as wh:
        for file in (tmp_path / "areas.csv", tmp_path / "population.csv", files[0]):
            assert ingest.ingest_file(wh, file, backup=False).outcome == "loaded"
    return path, files


def writer_is_free(path: Path) -> bool:
    """Whether another process can take the warehouse's write lock at once."""
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", "import sys, duckdb; duckdb.connect(sys.argv[1]).close()", path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return probe.returncode == 0
