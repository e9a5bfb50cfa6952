"""Two processes and four threads load different files at once: all data arrives, no corruption.

Process 1 opens the warehouse once and runs four threads that each ingest two files through the
one shared `Warehouse` (its `transaction()` lock serialises the merges). Process 2 is the CLI,
started while process 1 holds DuckDB's single-writer lock: it must say "another upload is in
progress, retrying" on stderr (bounded), never print a traceback, and load its files as soon as
process 1 is done.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from pipelines.load.ingest import ingest_file
from pipelines.store.warehouse import Warehouse
from tests.conftest import AREAS_CSV, REPO
from tests.kill_fixtures import HEADER, outcome_rows

THREAD_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from pipelines.cli import open_with_retry
    from pipelines.load.ingest import ingest_file

    warehouse_path, *files = sys.argv[1:]
    wh = open_with_retry(warehouse_path)
    print("opened", flush=True)
    results, errors = [], []
    barrier = threading.Barrier(4)

    def work(paths):
        try:
            barrier.wait()
            for path in paths:
                results.append(ingest_file(wh, path, user="thread"))
        except BaseException as exc:  # reported below; the test fails on it
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(files[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wh.close()
    print("outcomes", sorted(r.outcome for r in results), flush=True)
    print("errors", errors, flush=True)
    sys.exit(1 if errors or any(r.outcome != "loaded" for r in results) else 0)
    """
)


def _write(folder, name, prefix, months, n_units=15, n_bands=10):
    units = [f"{prefix}{u:02d}" for u in range(n_units)]
    bands = [f"band{b:02d}" for b in range(n_bands)]
    path = folder / f"{name}.csv"
    path.write_text(HEADER + "".join(outcome_rows(2022, months, units, bands, seed=len(name))))
    return path, len(units) * len(bands) * len(months)


def test_two_processes_and_four_threads(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    areas = tmp_path / "areas.csv"
    areas.write_text(AREAS_CSV)
    with Warehouse(warehouse) as wh:
        ingest_file(wh, areas, backup=False)

    thread_files, cli_files, expected = [], [], {}
    for n in range(8):  # four threads, two files each, each file its own units
        path, rows = _write(tmp_path, f"thread{n}", f"t{n}u", [1, 2, 3] if n < 4 else [4, 5, 6])
        thread_files.append(path)
        expected[f"t{n}u"] = rows
    for n in range(2):
        path, rows = _write(tmp_path, f"cli{n}", f"p{n}u", [7, 8, 9])
        cli_files.append(path)
        expected[f"p{n}u"] = rows

    started = time.monotonic()
    first = subprocess.Popen(
        [sys.executable, "-c", THREAD_SCRIPT, str(warehouse), *map(str, thread_files)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stdout.readline().strip() == "opened"
    second = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "--warehouse", str(warehouse), "ingest"]
        + [str(p) for p in cli_files],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "RP_IMPACT_BUSY_WAIT": "60"},
    )
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    elapsed = time.monotonic() - started

    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    assert "errors []" in out1
    for text in (out1, err1, out2, err2):
        assert "Traceback" not in text
    assert "another upload is in progress" in err2 and "retrying" in err2

    with Warehouse(warehouse) as wh:
        assert wh.integrity_problems() == []
        counts = wh.query(
            "SELECT regexp_extract(unit, '^([tp][0-9]u)', 1) AS prefix, count(*) AS n "
            "FROM fct_outcomes GROUP BY 1"
        )
        assert dict(zip(counts.prefix, counts.n, strict=True)) == expected
        uploads = wh.query(
            "SELECT count(*) AS n, count(DISTINCT upload_id) AS ids FROM raw_uploads "
            "WHERE outcome = 'loaded' AND dataset = 'outcomes'"
        ).iloc[0]
        assert uploads.n == uploads.ids == 10
    print(f"\n10 files from 2 processes (one with 4 threads) loaded in {elapsed:.1f} s")
