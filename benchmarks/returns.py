"""Benchmark: a national-scale SSDA903 (about 100,000 children and 300,000 episodes a year, 10
collection years), aggregated by `pipelines.load.returns.preview_903`.

Prints the episodes, children and years, the bare read and aggregation times (read + checks
+ counts, everything the import does before the ingest of its aggregate rows), their ratio
and the peak memory of the measuring process, each with PASS or FAIL against issue 15's
targets (≤ 3× and ≤ 2 GB), and the machine's load average (a shared machine slows both sides,
not always alike), and appends them as a dated section ("Statutory returns at
national scale") to docs/performance.md (not with --no-docs). Not a timed test:

    .venv/bin/python -m benchmarks.returns [--children 100000] [--years 10] [--rounds 2]
        [--keep] [--no-docs]

The synthetic files are fictional and generated in a child process into a temporary folder
(`var/bench-returns/` with --keep), so their generation does not count towards the peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
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
    # 0.7 gives ~2.95M episodes over 10 years (~300,000 a year); 0.4 gave 1.69M.
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


def count_rows(files: list[Path], table: str) -> int:
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    try:
        return sum(
            con.execute("SELECT count(*) FROM read_csv(?, all_varchar=true)", [str(p)]).fetchone()[
                0
            ]
            for p in files
            if p.name.startswith(table)
        )
    finally:
        con.close()


def count_children(files: list[Path]) -> int:
    """Distinct children over every header (the measuring process's peak is taken later, in a
    fresh process, so this count does not add to it)."""
    con = duckdb.connect(":memory:")
    try:
        headers = [str(p) for p in files if p.name.startswith("header")]
        return con.execute(
            "SELECT count(DISTINCT CHILD) FROM read_csv(?, all_varchar=true)", [headers]
        ).fetchone()[0]
    finally:
        con.close()


def measure(files: list[Path], rounds: int) -> dict:
    """Bare read and aggregation, interleaved `rounds` times (the machine is shared: each
    figure is its best round, so a busy moment does not count against one side only)."""
    from pipelines.load.returns import preview_903

    bare, aggregate, problems = [], [], 0
    for _ in range(rounds):
        bare.append(bare_read_seconds(files))
        began = time.perf_counter()
        preview = preview_903(files, area_code="E92000001")
        aggregate.append(time.perf_counter() - began)
        problems = len(preview.errors)
        rows = len(preview.outcomes)
        del preview
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "bare_s": min(bare),
        "aggregation_s": min(aggregate),
        "peak_mb": peak_mb,
        "problems": problems,
        "aggregate_rows": rows,
        "rounds": rounds,
    }


def _measure_child(files, rounds, queue) -> None:
    queue.put(measure(files, rounds))


RATIO_TARGET, PEAK_TARGET_MB = 3.0, 2048


def report(figures: dict) -> list[str]:
    ratio = figures["aggregation_s"] / figures["bare_s"]
    ratio_ok = ratio <= RATIO_TARGET
    peak_ok = figures["peak_mb"] <= PEAK_TARGET_MB
    return [
        f"episodes: {figures['episodes']:,} over {figures['years']} collection years "
        f"({figures['episodes'] / figures['years']:,.0f} a year)",
        f"children: {figures['children']:,} in the headers "
        f"({figures['header_rows'] / figures['years']:,.0f} header rows a year)",
        f"files: {figures['files']}; validation problems: {figures['problems']}; "
        f"aggregate rows: {figures['aggregate_rows']:,}",
        f"DuckDB bare read: {figures['bare_s']:.2f} s",
        f"aggregation (read, checks, counts): {figures['aggregation_s']:.2f} s",
        f"ratio: {ratio:.2f}x (target <= {RATIO_TARGET:.0f}x): {'PASS' if ratio_ok else 'FAIL'}",
        f"peak memory: {figures['peak_mb']:,.0f} MB (target <= {PEAK_TARGET_MB:,} MB): "
        f"{'PASS' if peak_ok else 'FAIL'}",
        f"best of {figures['rounds']} interleaved rounds each; {os.cpu_count()} cores",
        "load average (1, 5, 15 min) before and after: "
        + " / ".join(", ".join(f"{x:.2f}" for x in load) for load in figures["load"])
        + " (the measurement itself adds up to one a core; more is other work)",
    ]


def append_to_docs(lines: list[str], path: Path = Path("docs/performance.md")) -> None:
    """Append a dated section with the figures to docs/performance.md."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = "\n".join(f"- {line}" for line in lines)
    section = (
        f"\n\n## Statutory returns at national scale, {stamp}\n\n"
        "`python -m benchmarks.returns` (issue 15): a synthetic national SSDA903, aggregated "
        "by `pipelines.load.returns.preview_903` (read, structural checks, DfE counts), timed "
        "against DuckDB's bare read of the same CSV files; peak is the measuring process's "
        "maximum resident set.\n\n" + body + "\n"
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write(section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the files in var/")
    parser.add_argument("--no-docs", action="store_true", help="do not append to the docs")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    folder = Path("var/bench-returns") if args.keep else Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    spawn = multiprocessing.get_context("spawn")
    try:
        if not list(folder.glob("episodes_*.csv")):
            began = time.perf_counter()
            child = spawn.Process(target=generate, args=(folder, args.children, args.years))
            child.start()
            child.join()
            print(f"generated in {time.perf_counter() - began:.1f} s")
        files = sorted(folder.glob("*.csv"))
        # Measured in a fresh process, so the counts above and the generation do not add to
        # the peak.
        queue = spawn.Queue()
        worker = spawn.Process(target=_measure_child, args=(files, args.rounds, queue))
        worker.start()
        figures = queue.get()
        worker.join()
        figures.update(
            episodes=count_rows(files, "episodes"),
            header_rows=count_rows(files, "header"),
            children=count_children(files),
            years=len({p.name.split("_", 1)[1] for p in files if "_" in p.name}),
            files=len(files),
            load=(load_before, os.getloadavg()),
        )
        lines = report(figures)
        print("\n".join(lines))
        if not args.no_docs:
            append_to_docs(lines)
            print("appended to docs/performance.md")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
