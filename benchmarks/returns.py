"""Benchmark: a national-scale SSDA903 (about 100,000 children and 300,000 episodes a year, 10
collection years), aggregated by `pipelines.load.returns.preview_903`.

Prints the aggregation time (read + checks + counts, everything the import does before the
ingest of its ~10,000 aggregate rows) divided by the time DuckDB takes for a bare read of the
same CSV files, and the peak memory of the measuring process. The target (issue 15) is ≤ 3×
and ≤ 2 GB. Not a timed test:

    .venv/bin/python -m benchmarks.returns [--children 100000] [--years 10] [--keep]

The synthetic files are fictional and generated in a child process into a temporary folder
(`var/bench-returns/` with --keep), so their generation does not count towards the peak.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

LAST_YEAR = 2025
PLACES = np.array(["U1", "U3", "U4", "U6", "K2", "R1", "H5", "P1", "A5"])
LEGAL = np.array(["C1", "C2", "V2", "E1", "L2", "J1"])


def generate(folder: Path, children_per_year: int, years: int, seed: int = 15) -> None:
    """Periods of care (each 1–6 episodes joined by X1) spread over the years, written as one
    header and one episodes CSV per collection year, dates as DD/MM/YYYY."""
    rng = np.random.default_rng(seed)
    first = np.datetime64(f"{LAST_YEAR - years}-04-01")
    span = int((np.datetime64(f"{LAST_YEAR}-03-31") - first).astype(int))
    # 0.4 gave 1.69M episodes over 10 years; 0.7 aims at ~300,000 a year (not yet re-run).
    n_periods = int(children_per_year * years * 0.7)
    start = first - 900 + rng.integers(0, span + 900, n_periods).astype("timedelta64[D]")
    length = rng.exponential(700, n_periods).astype(int) + 1
    n_eps = rng.integers(1, 7, n_periods)
    child = np.arange(n_periods)
    dob = start - rng.integers(0, 17 * 365, n_periods).astype("timedelta64[D]")
    rows = np.repeat(np.arange(n_periods), n_eps)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(n_eps) - n_eps, n_eps)
    cut = (length[rows] * position // n_eps[rows]).astype("timedelta64[D]")
    next_cut = (length[rows] * (position + 1) // n_eps[rows]).astype("timedelta64[D]")
    decom = start[rows] + cut
    dec = start[rows] + next_cut
    last_episode = position == n_eps[rows] - 1
    episodes = pd.DataFrame(
        {
            "CHILD": np.char.add("C", child[rows].astype(str)),
            "DECOM": decom,
            "RNE": np.where(position == 0, "S", np.where(position % 2, "P", "L")),
            "LS": LEGAL[rng.integers(0, len(LEGAL), len(rows))],
            "CIN": "N1",
            "PLACE": PLACES[rng.integers(0, len(PLACES), len(rows))],
            "PLACE_PROVIDER": "PR1",
            "DEC": dec,
            "REC": np.where(last_episode, "E13", "X1"),
            "REASON_PLACE_CHANGE": "",
            "HOME_POST": "AB1 2CD",
            "PL_POST": "",
            "URN": "XXXXXXX",
        }
    )
    header_all = pd.DataFrame({"CHILD": np.char.add("C", child.astype(str)), "DOB": dob})
    for year in range(LAST_YEAR - years + 1, LAST_YEAR + 1):
        y0, y1 = np.datetime64(f"{year - 1}-04-01"), np.datetime64(f"{year}-03-31")
        part = episodes.loc[(episodes["DECOM"] <= y1) & (episodes["DEC"] >= y0)].copy()
        still_open = part["DEC"] > y1
        part["DEC"] = pd.to_datetime(part["DEC"]).dt.strftime("%d/%m/%Y").where(~still_open, "")
        part["REC"] = part["REC"].where(~still_open, "")
        part["DECOM"] = pd.to_datetime(part["DECOM"]).dt.strftime("%d/%m/%Y")
        label = f"{year - 1}-{year % 100:02d}"
        part.to_csv(folder / f"episodes_{label}.csv", index=False)
        header = header_all.loc[header_all["CHILD"].isin(part["CHILD"].unique())].copy()
        header["SEX"] = "M" if year >= 2025 else "1"
        header["DOB"] = pd.to_datetime(header["DOB"]).dt.strftime("%d/%m/%Y")
        header[["CHILD", "SEX", "DOB"]].to_csv(folder / f"header_{label}.csv", index=False)


def bare_read_seconds(files: list[Path]) -> float:
    con = duckdb.connect(":memory:")
    try:
        began = time.perf_counter()
        for path in files:
            con.execute(
                "CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(?, all_varchar=true)",
                [str(path)],
            )
        return time.perf_counter() - began
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the files in var/")
    args = parser.parse_args(argv)
    folder = Path("var/bench-returns") if args.keep else Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if not list(folder.glob("episodes_*.csv")):
            began = time.perf_counter()
            child = multiprocessing.get_context("spawn").Process(
                target=generate, args=(folder, args.children, args.years)
            )
            child.start()
            child.join()
            print(f"generated in {time.perf_counter() - began:.1f} s")
        files = sorted(folder.glob("*.csv"))
        n_eps = sum(1 for p in files if p.name.startswith("episodes")) and sum(
            len(duckdb.sql(f"SELECT 1 FROM read_csv('{p}')").fetchall())
            for p in files
            if p.name.startswith("episodes")
        )
        bare = min(bare_read_seconds(files) for _ in range(2))
        from pipelines.load.returns import preview_903

        began = time.perf_counter()
        preview = preview_903(files, area_code="E92000001")
        aggregate = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"files: {len(files)}; episode rows: {n_eps:,}; problems: {len(preview.errors)}")
        print(f"DuckDB bare read: {bare:.2f} s")
        print(f"aggregation (read, checks, counts): {aggregate:.2f} s")
        print(f"ratio: {aggregate / bare:.2f}x (target <= 3x)")
        print(f"peak memory: {peak_mb:,.0f} MB (target <= 2,048 MB)")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
