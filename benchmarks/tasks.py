"""One measured task per process: `python -m benchmarks.tasks TASK JSON-ARGS`.

Each task prints one JSON line (prefixed `RESULT `) with its wall-clock `seconds` (the work
only, not interpreter start-up or imports) and any figures it reports. `benchmarks.measure`
wraps a task in a fresh process so its peak RSS can be read with
`resource.getrusage(RUSAGE_CHILDREN)`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def page_files() -> list[str]:
    """The dashboard's pages (paths relative to dashboard/), as the app routes them."""
    for module in ("dashboard.state", "dashboard.app"):
        try:
            specs = __import__(module, fromlist=["PAGES"]).PAGES
            return [spec.file for spec in specs]
        except (ImportError, AttributeError):
            continue
    folder = next((f for f in ("views", "pages") if (REPO / "dashboard" / f).is_dir()), "views")
    return sorted(
        f"{folder}/{p.name}"
        for p in (REPO / "dashboard" / folder).glob("*.py")
        if p.name not in ("__init__.py", "common.py")
    )


def _copy(src: str, dst: str) -> None:
    Path(dst).unlink(missing_ok=True)
    Path(dst + ".wal").unlink(missing_ok=True)
    shutil.copy(src, dst)


def floor(args: dict) -> dict:
    """DuckDB's bare CREATE TABLE AS SELECT * FROM read_csv(file) into a fresh database file."""
    import duckdb

    Path(args["db"]).unlink(missing_ok=True)
    con = duckdb.connect(args["db"])
    started = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [args["csv"]])
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    return {"seconds": seconds, "rows": n}


def ingest(args: dict) -> dict:
    """pipelines.ingest.ingest_file on a copy of `base` (read, validate, merge, audit)."""
    from pipelines.ingest import ingest_file
    from pipelines.warehouse import open_warehouse

    if args.get("base"):
        _copy(args["base"], args["db"])
    with open_warehouse(args["db"]) as wh:
        started = time.perf_counter()
        result = ingest_file(wh, args["csv"], user="bench", source="bench")
        wh.cursor().execute("CHECKPOINT")
        seconds = time.perf_counter() - started
    if result.outcome != "loaded":
        raise SystemExit(f"ingest did not load: {result.summary()} {result.errors[:3]}")
    return {
        "seconds": seconds,
        "rows": result.n_rows,
        "added": result.n_added,
        "revised": result.n_revised,
        "warnings": len(result.warnings),
    }


def peer(args: dict) -> dict:
    """benchmarks.pandas_peer on a copy of `base`."""
    from benchmarks.pandas_peer import ingest_outcomes
    from pipelines.warehouse import open_warehouse

    _copy(args["base"], args["db"])
    with open_warehouse(args["db"]) as wh:
        started = time.perf_counter()
        result = ingest_outcomes(args["csv"], wh)
        wh.cursor().execute("CHECKPOINT")
        seconds = time.perf_counter() - started
    if result["outcome"] != "loaded":
        raise SystemExit(f"peer did not load: {result}")
    return {"seconds": seconds, "warnings": result["n_warnings"]}


def build(args: dict) -> dict:
    """Load reference extracts (and optionally outcomes) into a new warehouse."""
    from pipelines.ingest import ingest_file
    from pipelines.warehouse import open_warehouse

    Path(args["db"]).unlink(missing_ok=True)
    started = time.perf_counter()
    with open_warehouse(args["db"]) as wh:
        for path in args["files"]:
            result = ingest_file(wh, path, user="bench", source="bench")
            if result.outcome != "loaded":
                raise SystemExit(f"{path}: {result.summary()} {result.errors[:3]}")
        for folder in args.get("dfe", []):
            from pipelines.dfe import import_dfe_files

            import_dfe_files(wh, sorted(Path(folder).glob("*.csv")), user="bench")
        wh.cursor().execute("CHECKPOINT")
    return {"seconds": time.perf_counter() - started}


def its(args: dict) -> dict:
    """ITS for every area x CLA starts and CPP starts (monthly, area All rows)."""
    import pandas as pd

    from pipelines.stats.its import interrupted_time_series
    from pipelines.warehouse import open_warehouse

    with open_warehouse(args["db"], read_only=True) as wh:
        started = time.perf_counter()
        frame = wh.query(
            """SELECT o.area_code, o.measure, o.period_end, o.value, o.population,
                      r.first_start
               FROM mart_outcome_rates o
               LEFT JOIN (SELECT area_code, min(first_start) AS first_start
                          FROM mart_area_rollout GROUP BY area_code) r USING (area_code)
               WHERE o.grain = 'month' AND o.unit = 'All' AND o.age_band = 'All'
                 AND o.measure IN ('cla_starts', 'cpp_starts')"""
        )
        read = time.perf_counter() - started
        fits = 0
        placebo = pd.Timestamp(args.get("placebo", "2021-04-01"))
        fit_started = time.perf_counter()
        for (_, _), series in frame.groupby(["area_code", "measure"], sort=True):
            date = series["first_start"].iloc[0]
            interrupted_time_series(
                series,
                "period_end",
                "value",
                "population",
                intervention_date=placebo if pd.isna(date) else date,
                family="quasipoisson",
                seasonality_harmonics=2,
            )
            fits += 1
        fit_seconds = time.perf_counter() - fit_started
    return {"seconds": time.perf_counter() - started, "read": read, "fit": fit_seconds, "n": fits}


def did(args: dict) -> dict:
    """Staggered DiD (Callaway & Sant'Anna) on every area's locality panel, CLA starts rate."""
    from pipelines.stats.did import period_index, staggered_did
    from pipelines.warehouse import open_warehouse

    with open_warehouse(args["db"], read_only=True) as wh:
        started = time.perf_counter()
        panel = wh.query(
            """SELECT o.area_code || '/' || o.unit AS unit_id, o.period_end, o.value,
                      o.population, r.start_date
               FROM mart_outcome_rates o
               LEFT JOIN fct_rollout r ON r.area_code = o.area_code AND r.unit = o.unit
               WHERE o.grain = 'quarter' AND o.unit <> 'All' AND o.age_band = 'All'
                 AND o.measure = 'cla_starts' AND o.months_covered >= o.months_expected"""
        )
        read = time.perf_counter() - started
        panel["rate"] = panel["value"] * 10000.0 / panel["population"]
        panel["t"] = period_index(panel["period_end"]).astype("int64")
        panel["cohort"] = period_index(panel["start_date"])
        fit_started = time.perf_counter()
        result = staggered_did(panel, "unit_id", "t", "rate", "cohort")
        fit_seconds = time.perf_counter() - fit_started
    return {
        "seconds": time.perf_counter() - started,
        "read": read,
        "fit": fit_seconds,
        "n": int(panel["unit_id"].nunique()),
        "att": float(result.simple.estimate),
    }


def pages(args: dict) -> dict:
    """AppTest full runs of every page: `runs` times each with caches cleared (cold), plus warm."""
    os.environ["RP_IMPACT_WAREHOUSE"] = args["db"]
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.auth import SESSION_KEY, Identity
    from pipelines import auth

    # The national warehouse is not the sample, so demo mode would refuse it: sign in an analyst.
    users = Path(args["db"]).with_suffix(".users.toml")
    os.environ["RP_IMPACT_USERS"] = str(users)
    os.environ.pop("RP_IMPACT_DEMO", None)
    if not users.exists():
        auth.add_user("bench", "analyst", "bench-password-not-secret", path=users)
    analyst = Identity("bench", "analyst", "local")

    app = str(REPO / "dashboard" / "app.py")
    out: dict[str, dict] = {}
    pages = args.get("pages") or page_files()
    # One untimed run first, so imports (plotly, statsmodels, ...) are not charged to a page.
    warmup = AppTest.from_file(app, default_timeout=300)
    warmup.session_state[SESSION_KEY] = analyst
    warmup.run()
    warmup.switch_page(pages[0])
    warmup.run()
    started_all = time.perf_counter()
    for page in pages:
        if not (REPO / "dashboard" / page).exists():
            out[page] = {"error": "page file missing"}
            continue
        cold, warm, errors = [], [], []
        for _ in range(args["runs"]):
            st.cache_data.clear()
            st.cache_resource.clear()
            at = AppTest.from_file(app, default_timeout=120)
            at.session_state[SESSION_KEY] = analyst
            at.run()  # registers the analyst's pages; the timed run below is the page itself
            at.switch_page(page)
            t = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
            errors = [e.value for e in at.exception] + [e.value for e in at.error]
            if any("Sign-in" in str(e) for e in errors):
                raise SystemExit(f"{page}: the page was not signed in: {errors[:1]}")
        out[page] = {
            "cold": cold,
            "warm": warm,
            "median": statistics.median(cold),
            "warm_median": statistics.median(warm),
            "errors": [str(e)[:300] for e in errors],
        }
    return {"seconds": time.perf_counter() - started_all, "pages": out}


def export(args: dict) -> dict:
    from pipelines.export import export_marts
    from pipelines.warehouse import open_warehouse

    shutil.rmtree(args["out"], ignore_errors=True)
    with open_warehouse(args["db"], read_only=True) as wh:
        started = time.perf_counter()
        counts = export_marts(wh, args["out"])
        seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in Path(args["out"]).rglob("*.parquet"))
    return {"seconds": seconds, "rows": sum(counts.values()), "bytes": size}


TASKS = {
    "floor": floor,
    "ingest": ingest,
    "peer": peer,
    "build": build,
    "its": its,
    "did": did,
    "pages": pages,
    "export": export,
}


def main(argv: list[str]) -> int:
    task, args = argv[0], json.loads(argv[1])
    result = TASKS[task](args)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
