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
import subprocess
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
    """pipelines.load.ingest.ingest_file on a copy of `base` (read, validate, merge, audit)."""
    import pipelines.load.plan_record  # noqa: F401 - imported by ingest_file on first use
    from pipelines.load.ingest import ingest_file
    from pipelines.store.warehouse import open_warehouse

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
    from pipelines.store.warehouse import open_warehouse

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
    from pipelines.load.ingest import ingest_file
    from pipelines.store.warehouse import open_warehouse

    Path(args["db"]).unlink(missing_ok=True)
    started = time.perf_counter()
    with open_warehouse(args["db"]) as wh:
        for path in args["files"]:
            result = ingest_file(wh, path, user="bench", source="bench")
            if result.outcome != "loaded":
                raise SystemExit(f"{path}: {result.summary()} {result.errors[:3]}")
        for folder in args.get("dfe", []):
            from pipelines.load.dfe import import_dfe_files

            import_dfe_files(wh, sorted(Path(folder).glob("*.csv")), user="bench")
        wh.cursor().execute("CHECKPOINT")
    return {"seconds": time.perf_counter() - started}


def migrate(args: dict) -> dict:
    """Open a cached warehouse for writing once, so pending schema migrations (and rebuilds of
    materialised tables whose SQL changed) are applied before it is copied or measured."""
    from pipelines.store.warehouse import open_warehouse

    started = time.perf_counter()
    with open_warehouse(args["db"]) as wh:
        wh.cursor().execute("CHECKPOINT")
    return {"seconds": time.perf_counter() - started}


def its(args: dict) -> dict:
    """ITS for every area x CLA starts and CPP starts (monthly, area All rows)."""
    import pandas as pd

    from pipelines.stats.its import interrupted_time_series
    from pipelines.store.warehouse import open_warehouse

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
    from pipelines.store.warehouse import open_warehouse

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


def _restart_state() -> None:
    """What a server restart loses: Streamlit's caches and the process-wide warehouse connection.

    `st.cache_data` is keyed on the warehouse's data version, so in a running server it lasts
    across sessions; clearing it is the first view after an upload or a restart. The connection
    (`pipelines.store.warehouse.shared_warehouse`, a module-level registry that
    `st.cache_resource.clear()` does not reach) is closed too, so DuckDB's buffers are cold and
    the page pays for opening the warehouse, as the first viewer after a process start does.
    Only the imports are not charged (they are paid by the untimed warm-up run).
    """
    import streamlit as st

    from pipelines.store import warehouse

    st.cache_data.clear()
    st.cache_resource.clear()
    shared = getattr(warehouse, "_shared", None)
    if isinstance(shared, dict):
        with warehouse._shared_lock:
            for wh in shared.values():
                wh.close()
            shared.clear()
    # Any functools cache in the project's own modules goes too (none may outlive a restart).
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("dashboard", "pipelines", "views")):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                value.cache_clear()


def _session(app: str, identity, page: str, warmup):
    """A new AppTest session that opens `page` directly on its first run (as a link would).

    The page hashes come from the warm-up run's `st.navigation` registry; without it (another
    Streamlit version), fall back to a first run on the default page, then switch. The warm-up's
    custom-component registry is reused: a new AppTest scans every installed package for
    components on its first run (about 0.2 s), which a server does once at start, not per view.
    """
    from streamlit.testing.v1 import AppTest

    from dashboard.auth import SESSION_KEY

    at = AppTest.from_file(app, default_timeout=300)
    at.session_state[SESSION_KEY] = identity
    if getattr(warmup, "_bidi_component_manager", None) is not None:
        at._bidi_component_manager = warmup._bidi_component_manager
    registered = dict(getattr(warmup, "_registered_pages", {}) or {})
    if registered and hasattr(at, "_registered_pages"):
        at._registered_pages = dict(registered)
        at.switch_page(page)
        return at
    at.run()  # registers the pages; the default page's reads are cleared below
    at.switch_page(page)
    return at


def pages(args: dict) -> dict:
    """AppTest full runs of every page: `runs` cold runs each, and a warm rerun after each.

    Cold: a new session opening the page directly, after `_restart_state()` (Streamlit's caches
    cleared and the warehouse connection reopened): the first view after a process start,
    imports excluded. Warm: the same session run again (every read cached).
    """
    os.environ["RP_IMPACT_WAREHOUSE"] = args["db"]
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
    # Untimed runs first, so imports (plotly, statsmodels, jinja2, playwright, ...) are not
    # charged to a page: every page once on `warmup_db` (a small warehouse, e.g. the sample)
    # when given, else the default page on the measured warehouse. The first run also
    # records the page registry of `st.navigation`.
    warm_started = time.perf_counter()
    if args.get("warmup_db"):
        os.environ["RP_IMPACT_WAREHOUSE"] = args["warmup_db"]
    warmup = AppTest.from_file(app, default_timeout=600)
    warmup.session_state[SESSION_KEY] = analyst
    warmup.run()
    if args.get("warmup_db"):
        for page in pages:
            if (REPO / "dashboard" / page).exists():
                _session(app, analyst, page, warmup).run()
        os.environ["RP_IMPACT_WAREHOUSE"] = args["db"]
    # Pending migrations of the measured warehouse are applied here, untimed: a deployment
    # applies them once, not on each view.
    from pipelines.store.warehouse import shared_warehouse

    shared_warehouse(args["db"])
    warm_seconds = time.perf_counter() - warm_started
    registered = dict(getattr(warmup, "_registered_pages", {}) or {})
    started_all = time.perf_counter()
    for page in pages:
        if not (REPO / "dashboard" / page).exists():
            out[page] = {"error": "page file missing"}
            continue
        cold, warm, errors = [], [], []
        for _ in range(args["runs"]):
            at = _session(app, analyst, page, warmup)
            _restart_state()
            t = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
            errors = [e.value for e in at.exception] + [e.value for e in at.error]
            if any("Sign-in" in str(e) for e in errors):
                raise SystemExit(f"{page}: the page was not signed in: {errors[:1]}")
            shown = getattr(at, "_finished_page_script_hash", None)
            wanted = next(
                (h for h, i in registered.items() if str(i.get("script_path")).endswith(page)),
                None,
            )
            if shown and wanted and shown != wanted:
                raise SystemExit(f"{page}: the run showed another page ({shown})")
        out[page] = {
            "cold": cold,
            "warm": warm,
            "median": statistics.median(cold),
            "warm_median": statistics.median(warm),
            "errors": [str(e)[:300] for e in errors],
        }
    return {"seconds": time.perf_counter() - started_all, "warmup": warm_seconds, "pages": out}


def export(args: dict) -> dict:
    from pipelines.store.export import export_marts
    from pipelines.store.warehouse import open_warehouse

    shutil.rmtree(args["out"], ignore_errors=True)
    with open_warehouse(args["db"], read_only=True) as wh:
        started = time.perf_counter()
        counts = export_marts(wh, args["out"])
        seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in Path(args["out"]).rglob("*.parquet"))
    return {"seconds": seconds, "rows": sum(counts.values()), "bytes": size}


def xlsx_read(args: dict) -> dict:
    """The real reader (`pipelines.load.readers.read_extract`) on one workbook: seconds, and
    whether it was read or refused (peak memory comes from `benchmarks.measure`)."""
    import resource

    import duckdb

    from pipelines.load.readers import ReadError, read_extract

    con = duckdb.connect()
    # A one-row workbook first, untimed in the row: the reader imports openpyxl and its own
    # modules on first use, once per process (a running server has paid them already).
    first = time.perf_counter()
    if args.get("warmup"):
        read_extract(args["warmup"], con)
    first = time.perf_counter() - first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports, MB
    started = time.perf_counter()
    try:
        raw = read_extract(args["path"], con)
        outcome, rows, message = "read", raw.n_rows, ""
    except ReadError as error:
        outcome, rows, message = "refused", 0, str(error)[:200]
    seconds = time.perf_counter() - started
    con.close()
    size = Path(args["path"]).stat().st_size
    return {
        "seconds": seconds,
        "outcome": outcome,
        "rows_read": rows,
        "bytes": size,
        "message": message,
        "rss_before_mb": before,
        "warmup_seconds": first,
    }


def report(args: dict) -> dict:
    """The brief and the full report, HTML then PDF, on a copy of `db` (the sample): each
    prepared once (`prepare_brief` / `prepare_report`, counted in the HTML time) and written
    in both formats (`write_brief` / `write_report`), as one build of both formats runs."""
    from pipelines.present import decision_store
    from pipelines.report import prepare_brief, prepare_report, write_brief, write_report
    from pipelines.report.options import default_year
    from pipelines.sample.params import AREA_CODE
    from pipelines.store.warehouse import open_warehouse

    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    db = str(out / "report.duckdb")
    _copy(args["db"], db)
    result: dict[str, dict] = {}
    # The page's report comes from a running server, which made the flows' disclosure
    # decisions at its start (`rp-impact serve` runs `rp-impact decide`): make them first,
    # untimed in the report's figures but measured and shown beside them.
    os.environ[decision_store.ENV] = str(out / "decisions")
    shutil.rmtree(out / "decisions", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--warehouse", db, "decide", "--area", AREA_CODE],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    decide_seconds = time.perf_counter() - started
    with open_warehouse(db) as wh:
        year = default_year(wh, AREA_CODE)
        for key, prepare, write in (
            ("brief", prepare_brief, write_brief),
            ("report", prepare_report, write_report),
        ):
            timings: dict = {}
            prepared = None
            for fmt in ("html", "pdf"):
                started = time.perf_counter()
                try:
                    if prepared is None:
                        prepared = prepare(wh, year=year, area_code=AREA_CODE)
                    built = write(prepared, out=out / f"{key}.{fmt}", format=fmt)
                except Exception as error:  # noqa: BLE001 - reported in the row, not raised
                    timings["error"] = f"{fmt}: {type(error).__name__}: {error}"[:200]
                    break
                timings[fmt] = time.perf_counter() - started
                if fmt == "pdf":
                    timings["pages"] = built.pages
            result[key] = timings
    total = sum(r.get("html", 0) + r.get("pdf", 0) for r in result.values())
    return {"seconds": total, "year": year, "decide_seconds": decide_seconds, **result}


def board_view(args: dict) -> dict:
    """`rp-impact serve` (demo mode) on `db`, then Chromium from `/_stcore/health` answering to
    the Board's first verdict on screen: `tests.browser_support.first_board_view`, its
    artifacts written to `args["out"]`, not test-artifacts/."""
    import signal
    import subprocess

    from tests import browser_support as bs

    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    db = str(out / "board.duckdb")
    _copy(args["db"], db)
    bs.ARTIFACTS = out
    port = bs.free_port()
    env = {
        **os.environ,
        "RP_IMPACT_DEMO": "1",
        "RP_IMPACT_WAREHOUSE": db,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    log_path = out / "serve.log"
    with log_path.open("w") as log, bs.chromium() as browser:
        launched = time.monotonic()
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "rp-impact"),
                "serve",
                "--port",
                str(port),
                "--headless",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            bs._wait_for_health(url, process, timeout=600)
            server = bs.Server(url, launched, time.monotonic(), log_path)
            result = bs.first_board_view(browser, server)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    return {"seconds": result["first_board_view_seconds"], **result}


TASKS = {
    "floor": floor,
    "ingest": ingest,
    "peer": peer,
    "build": build,
    "migrate": migrate,
    "its": its,
    "did": did,
    "pages": pages,
    "export": export,
    "xlsx_read": xlsx_read,
    "report": report,
    "board_view": board_view,
}


def main(argv: list[str]) -> int:
    task, args = argv[0], json.loads(argv[1])
    result = TASKS[task](args)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
