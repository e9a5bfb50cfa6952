"""SIGKILL an ingest at random points: the warehouse always opens, whole uploads or nothing.

A child process runs `rp-impact ingest` on six generated files (2,400 rows a quarter, two of
them revisions, so history is written too) and is killed with SIGKILL at a random moment, at
least 12 times (one in each twelfth of a run). After every kill: the warehouse opens, `integrity_problems()` is empty, each file is
loaded at most once, and each committed upload is wholly present (its rows in `fct_outcomes`
plus its superseded rows in `hist_outcomes` equal its `n_added + n_revised`), while an upload
that did not commit left nothing. Finally a re-run completes and gives exactly the same tables
as loading the files without interruption.
"""

from __future__ import annotations

import multiprocessing
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pipelines.load.ingest import ingest_file
from pipelines.store.warehouse import Warehouse
from tests.conftest import AREAS_CSV, REPO
from tests.kill_fixtures import write_files

KILLS = 12
SEED = 20240607


def _keys(path: Path) -> set[tuple[str, str, str]]:
    lines = path.read_text().splitlines()[1:]
    return {(p[0], p[2], p[3]) for p in (line.split(",") for line in lines)}


def _content(wh: Warehouse):
    fact = wh.query(
        "SELECT CAST(period_end AS VARCHAR) AS p, unit, age_band, cla_starts, cpp_starts "
        "FROM fct_outcomes ORDER BY ALL"
    )
    hist = wh.query(
        "SELECT CAST(period_end AS VARCHAR) AS p, unit, age_band, cla_starts, cpp_starts "
        "FROM hist_outcomes ORDER BY ALL"
    )
    return fact.to_dict("records"), hist.to_dict("records")


def _check_consistent(path: Path, keys_by_sha: dict[str, set]) -> int:
    """Assert every invariant; return how many of the files are loaded."""
    with Warehouse(path, retries=20) as wh:
        assert wh.integrity_problems() == []
        uploads = wh.query(
            "SELECT u.upload_id, u.sha256, u.outcome, u.n_added, u.n_revised, "
            "(SELECT count(*) FROM fct_outcomes f WHERE f.upload_id = u.upload_id) AS in_fact, "
            "(SELECT count(*) FROM hist_outcomes h WHERE h.upload_id = u.upload_id) AS in_hist "
            "FROM raw_uploads u WHERE u.dataset = 'outcomes'"
        )
        loaded = uploads[uploads.outcome == "loaded"]
        assert loaded.sha256.is_unique, "a file was loaded twice"
        assert (loaded.in_fact + loaded.in_hist == loaded.n_added + loaded.n_revised).all()
        others = uploads[uploads.outcome != "loaded"]
        assert (others.in_fact + others.in_hist == 0).all()
        expected_keys = (
            set().union(*(keys_by_sha[s] for s in loaded.sha256)) if len(loaded) else set()
        )
        present = wh.query(
            "SELECT CAST(period_end AS VARCHAR) AS p, unit, age_band FROM fct_outcomes"
        )
        assert set(map(tuple, present.to_numpy().tolist())) == expected_keys
        return len(loaded)


def _run_cli(argv: list[str]) -> None:
    import os

    from pipelines.cli import main

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the child ends in _exit)
    os._exit(main(argv))


def _fork_ingest(argv: list[str]):
    """`rp-impact ingest` in a forked child (no open warehouse in this process at the fork)."""
    process = multiprocessing.get_context("fork").Process(target=_run_cli, args=(argv,))
    process.start()
    return process


def test_sigkill_at_random_points_never_corrupts_or_half_loads(tmp_path):
    from pipelines.load.readers import sha256_of

    files = write_files(tmp_path, n_units=40)
    keys_by_sha = {sha256_of(f): _keys(f) for f in files}
    base = tmp_path / "base.duckdb"
    areas = tmp_path / "areas.csv"
    areas.write_text(AREAS_CSV)
    with Warehouse(base) as wh:
        assert ingest_file(wh, areas, backup=False).outcome == "loaded"
    reference = tmp_path / "reference.duckdb"
    shutil.copy(base, reference)
    with Warehouse(reference) as wh:
        for f in files:
            assert ingest_file(wh, f, backup=False).outcome == "loaded"
        expected = _content(wh)

    target = tmp_path / "target.duckdb"
    argv = ["--warehouse", str(target), "ingest", *map(str, files)]
    command = [sys.executable, "-m", "pipelines.cli", *argv]
    # Each killed run is `pipelines.cli.main(argv)` in a child forked from this process, which
    # has already imported everything: the child starts ingesting at once, so every kill lands
    # in the ingest itself rather than in the 1-3 s of interpreter start-up and imports that a
    # fresh `python -m pipelines.cli` spends before it opens the warehouse (kills there tested
    # nothing). Kill times scale with how long one whole forked run takes on this machine now.
    # The real command line is still run uninterrupted at the end, on the killed warehouse.
    shutil.copy(base, target)
    timing_started = time.monotonic()
    timed = _fork_ingest(argv)
    timed.join()
    assert timed.exitcode == 0
    whole_run = time.monotonic() - timing_started
    Path(str(target) + ".wal").unlink(missing_ok=True)
    shutil.copy(base, target)
    rng = random.Random(SEED)
    kills = completed_runs = 0
    loaded_counts = []
    started = time.monotonic()
    while kills < KILLS:
        process = _fork_ingest(argv)
        # Stratified: the k-th kill lands at a random moment in the k-th twelfth of the span
        # 15%-100% of a run, so a dozen kills cover every stage that twenty at random did.
        stratum = (kills + rng.random()) / KILLS
        process.join(timeout=(0.15 + 0.85 * stratum) * whole_run)
        if process.exitcode is None:
            process.kill()  # SIGKILL: no cleanup, no atexit, no rollback by Python
            process.join()
            kills += 1
        else:
            assert process.exitcode == 0
            completed_runs += 1
        loaded_counts.append(_check_consistent(target, keys_by_sha))
        if loaded_counts[-1] == len(files):
            # Everything is in: start again from the base so later kills land mid-load.
            Path(str(target) + ".wal").unlink(missing_ok=True)
            shutil.copy(base, target)
    # The survivors: a final uninterrupted run completes and matches the reference exactly.
    final = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert _check_consistent(target, keys_by_sha) == len(files)
    with Warehouse(target) as wh:
        assert _content(wh) == expected
    elapsed = time.monotonic() - started
    # Kills landed at different stages (some files loaded, some not), not all at start-up.
    assert len(set(loaded_counts)) >= 3, loaded_counts
    print(
        f"\n{kills} SIGKILLs survived ({completed_runs} runs finished) in {elapsed:.0f} s "
        f"(one whole run {whole_run:.1f} s); "
        f"files loaded after each: {loaded_counts}"
    )
