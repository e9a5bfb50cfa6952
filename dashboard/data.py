"""The dashboard's only door to the warehouse: one shared warehouse and typed, cached reads.

- `warehouse()` is the process-wide warehouse (`st.cache_resource`), opened on demand
  (`keep_open=False`): the dashboard holds no lock on the file while it is idle, each cached
  read opens a short read-only session, and only a commit opens the writer, so
  `rp-impact ingest` and the app can take turns.
- A fault (the file busy, damaged, or the disk full) is shown as one sentence without paths or
  process ids (`WarehouseError.viewer_message`) and the page stops there: never a traceback.
- Every read a page makes is a typed function here, made by `cached(...)` from the
  `pipelines.marts` or `pipelines.analysis` function of the same name:
  `board_summary = cached(analysis.board_summary)` takes the same arguments, less the
  warehouse, and returns the same type, so go-to-definition and type checkers follow it.
  Results are cached (`st.cache_data`) on the warehouse path and its `data_version()`: a
  committed upload changes the data version, so every page recomputes.
- `check_upload` / `commit_upload` are the Upload page's handling of one file, as plain
  functions of (name, bytes) so tests can call them without a browser.

Pages hold no SQL and no statistics: they call these functions and `pipelines.present.charts`.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

from dashboard import background
from pipelines import analysis, config, marts
from pipelines.analysis import board as board_reads
from pipelines.analysis import practice as practice_analysis
from pipelines.analysis.plan import AnalysisPlan, load_plan
from pipelines.load.dfe import DfeImportResult, import_dfe_files
from pipelines.load.ingest import IngestResult, ingest_file, validate_only
from pipelines.load.readers import read_bytes_as_file
from pipelines.present import cube, dose_table
from pipelines.present import practice as present_practice
from pipelines.present import practice_summary as practice_summary_module
from pipelines.store.warehouse import (
    Warehouse,
    WarehouseBusyError,
    WarehouseError,
    shared_warehouse,
    warehouse_fault,
)

P = ParamSpec("P")
R = TypeVar("R")


def warehouse_path() -> Path:
    return config.warehouse_path().expanduser().resolve()


def warehouse_exists() -> bool:
    return warehouse_path().exists()


def show_fault(fault: WarehouseError) -> None:
    """In a page: show the fault's one sentence for viewers and stop the page there. Outside a
    Streamlit run (tests, scripts) it does nothing and the caller raises the fault."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return
    st.error(fault.viewer_message, icon=":material/error:")
    st.stop()


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Warehouse:
    return shared_warehouse(path, on_fault=show_fault)


def warehouse(create: bool = False) -> Warehouse | None:
    """The shared warehouse, or None if there is no file yet (unless `create`)."""
    path = warehouse_path()
    if not path.exists() and not create:
        return None
    return _open(str(path))


def data_version(wh: Warehouse) -> str:
    return wh.data_version()


#: Every function `cached` has wrapped, by (module, qualified name): the cache key names the
#: function, and the cached call finds it here again.
_CACHED: dict[tuple[str, str], Callable[..., Any]] = {}


@st.cache_data(show_spinner=False, max_entries=1024)
def _call(module: str, name: str, path: str, version: str, args: tuple, kwargs: tuple):
    wh = _open(path)
    try:
        with wh.session():  # one read-only connection for the whole read, closed after it
            return _CACHED[(module, name)](wh, *args, **dict(kwargs))
    except Exception as exc:  # a bad block found mid-read is the same fault as on open
        fault = warehouse_fault(exc, wh.path)
        if fault is None:
            raise
        show_fault(fault)
        if fault is exc:
            raise
        raise fault from exc


def _key() -> tuple[str, str]:
    wh = warehouse()
    if wh is None:
        raise WarehouseError("There is no warehouse yet.")
    return str(warehouse_path()), wh.data_version()


def cached(function: Callable[Concatenate[Warehouse, P], R]) -> Callable[P, R]:
    """`function(wh, ...)` as `read(...)` on the shared warehouse, cached until the data change."""
    key = (function.__module__, function.__qualname__)
    _CACHED[key] = function

    @functools.wraps(function)
    def read(*args: P.args, **kwargs: P.kwargs) -> R:
        path, version = _key()
        return _call(*key, path, version, args, tuple(sorted(kwargs.items())))

    # What the page passes: the function's own parameters, less the warehouse this door supplies.
    signature = inspect.signature(function)
    read.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    return read


# -- named reads of the marts (pipelines.marts) --------------------------------------------------
areas = cached(marts.areas)
area_name = cached(marts.area_name)
units = cached(marts.units)
age_bands = cached(marts.age_bands)
area_rollout_date = cached(marts.area_rollout_date)
unit_rollout_date = cached(marts.unit_rollout_date)
outcome_series = cached(marts.outcome_series)
training_coverage = cached(marts.training_coverage)
training_options = cached(marts.training_options)
uploads = cached(marts.uploads)
upload_issues = cached(marts.upload_issues)
last_upload_time = cached(marts.last_upload_time)
revisions = cached(marts.revisions)
coverage_summary = cached(marts.coverage_summary)
suppressed_cells = cached(marts.suppressed_cells)

# -- the questions pages ask (pipelines.analysis) ------------------------------------------------
board_summary = cached(analysis.board_summary)
board_context = cached(board_reads.board_context)
trend_analysis = cached(analysis.trend_analysis)
cohort_analysis = cached(analysis.cohort_analysis)
unit_comparison = cached(analysis.unit_comparison)
age_band_comparison = cached(analysis.age_band_comparison)
dose_response_analysis = cached(analysis.dose_response_analysis)
# The one disclosure decision over each locality x age-band table, and the dose table gated
# on counts (pipelines.present.cube, pipelines.present.dose_table).
decided_cells = cached(cube.decided_cells)


def outcome_cube(
    area_code: str, measure: str, grain: str, threshold: int | None = None
) -> cube.Cube:
    """`cube.outcome_cube` from the cached decision: a flow's is taken once over its months,
    quarters and years, so each grain of it is cut from the same cached read."""
    grains = cube.decision_grains(measure, grain)
    return cube.cube_at_grain(decided_cells(area_code, measure, grains, threshold), grain)


gated_dose_response = cached(dose_table.gated_dose_response)
benchmark_councils = cached(analysis.benchmark_councils)
benchmark_council_code = cached(analysis.benchmark_council_code)
benchmark_measures = cached(analysis.benchmark_measures)
benchmark_analysis = cached(analysis.benchmark_analysis)
benchmark_context = cached(analysis.benchmark_context)
benchmark_revisions = cached(analysis.benchmark_revisions)
# One verdict per primary outcome (issue 13): the Explore pages read the same function the
# Board summary's `board_summary` calls, so the sentence, range, grade and plan line match.
verdict_summary = cached(analysis.verdict_summary)
# Are we working *with* families? (issue 18): the Practice page's content, built once
# (pipelines.present.practice), and the measures the area has practice data for.
practice_measures = cached(practice_analysis.practice_measures)
practice_view = cached(present_practice.practice_view)
# The Board's "Working with families" tile (pipelines.present.practice_summary).
practice_summary = cached(practice_summary_module.practice_summary)
# The Practice page's dose → practice → outcome section (pipelines.present.practice).
practice_chain_view = cached(present_practice.practice_chain_view)


def analysis_plan(area_code: str) -> AnalysisPlan:
    """The council's analysis plan (config, not the warehouse): which outcomes are primary."""
    return load_plan(area_code)


def clear_caches() -> None:
    st.cache_data.clear()


def data_changed(area_code: str | None = None) -> None:
    """After a commit or an import: every page recomputes (the data version has changed), and
    the flow disclosure decisions of the new cells are made again behind the pages, for
    `area_code` (the area being viewed) or the area the dashboard opens on."""
    clear_caches()
    if not warming_wanted():
        return
    background.decide_in_background([area_code] if area_code else [])
    # The Board's reads of the new data, made now rather than by the next Board visit.
    threading.Thread(target=warm, name="rp-impact-warm-after-change", daemon=True).start()


def warming_wanted() -> bool:
    """Whether to make reads ahead of a viewer: not under AppTest (each test has its own
    warehouse) nor with `RP_IMPACT_WARM=0`."""
    from streamlit import config as st_config

    return not st_config.get_option("global.appTest") and os.environ.get("RP_IMPACT_WARM") != "0"


def board_reads_for(area_code: str) -> tuple[Callable[[], object], list[Callable[[], object]]]:
    """The cached reads the Board summary makes for ``area_code``: the quick one its verdicts
    wait for, then the slow ones behind its tiles, findings and comparisons."""
    return (
        lambda: verdict_summary(area_code),
        [lambda: board_summary(area_code), lambda: board_context(area_code)],
    )


def warm(workers: int = 2) -> None:
    """Compute the default area's Board reads into the shared caches (`st.cache_data`), for
    a background thread at server start (``dashboard.app``). The area is the one the sidebar
    opens on (the first in :func:`areas`).

    The verdicts' read goes first and alone, so a page drawing its verdicts does not compete
    with the slower reads; those then run side by side. A page asking for a read under way
    waits for it rather than computing it twice (Streamlit locks each cache entry while it is
    computed). A fault or an empty warehouse warms nothing: the page that asks shows it.
    """
    from concurrent.futures import ThreadPoolExecutor

    try:
        codes = areas()["area_code"].tolist()
        if not codes:
            return
        first, slow = board_reads_for(codes[0])
        first()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rp-impact-warm") as pool:
            for future in [pool.submit(read) for read in slow]:
                future.exception()  # wait; a failure is the page's to show, not the thread's
    except Exception:  # noqa: BLE001 - warming is best effort; the page reads again
        return


# -- upload ------------------------------------------------------------------------------------


@dataclass
class UploadCheck:
    """What validating one uploaded file found, ready for the page to show."""

    name: str
    result: IngestResult
    issues: pd.DataFrame
    preview: pd.DataFrame | None

    @property
    def ok(self) -> bool:
        return self.result.outcome in ("valid", "no-op")


def issues_table(result: IngestResult) -> pd.DataFrame:
    """The validation report: row, column, value, problem, how to fix (errors first)."""
    rows = [
        {
            "severity": issue.severity,
            "row": issue.row,
            "column": issue.column or "",
            "value": issue.value if issue.value is not None else "",
            "problem": issue.message,
            "how to fix": issue.hint,
        }
        for issue in sorted(result.issues, key=lambda i: (i.severity != "error", i.row or 0))
    ]
    columns = ["severity", "row", "column", "value", "problem", "how to fix"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def _with_temp_file(name: str, content: bytes, action):
    path = read_bytes_as_file(content, name)
    try:
        return action(path)
    finally:
        path.unlink(missing_ok=True)


def check_upload(wh: Warehouse, name: str, content: bytes, preview_rows: int = 200) -> UploadCheck:
    """Validate one uploaded file against the warehouse (a dry run) and preview its changes."""

    def run(path: Path) -> UploadCheck:
        with wh.session():  # a dry run reads: the writer stays free for the command line
            result = validate_only(path, wh, display_name=name, preview_rows=preview_rows)
        return UploadCheck(name, result, issues_table(result), result.preview)

    return _faults_shown(lambda: _with_temp_file(name, content, run))


def _faults_shown(action: Callable[[], R]) -> R:
    """Run an upload step; a storage fault (busy, damaged, disk full) is shown as its one
    sentence and stops the page (in a Streamlit run), or is raised (outside one)."""
    try:
        return action()
    except WarehouseError as fault:
        show_fault(fault)
        raise


def commit_upload(
    wh: Warehouse, name: str, content: bytes, user: str | None = None
) -> IngestResult:
    """Load one file exactly as `rp-impact ingest` does (pipelines.load.ingest.ingest_file)."""
    signed_in, role, demo = _uploader()

    def load(path: Path) -> IngestResult:
        with wh.session(write=True):  # the writer, for this file only
            return ingest_file(
                wh,
                path,
                user=user or signed_in,
                display_name=name,
                source="dashboard",
                role=role,
                demo=demo,
            )

    return _faults_shown(lambda: _with_temp_file(name, content, load))


def _uploader() -> tuple[str, str | None, bool]:
    """Who is uploading: (user name, role, demo) from the signed-in identity or the host."""
    identity = _identity()
    user = (identity.name if identity else None) or os.environ.get("RP_IMPACT_USER")
    return (
        user or config.current_user(),
        identity.role if identity else None,
        bool(identity and identity.demo),
    )


def import_dfe_uploads(wh: Warehouse, files: list[tuple[str, bytes]]) -> list[DfeImportResult]:
    """Import DfE published CSVs exactly as `rp-impact import-dfe` does (pipelines.load.dfe).

    Each file keeps DfE's own name (the statistical-neighbour model year is read from it), in a
    private temporary folder that is removed afterwards.
    """
    user, role, _demo = _uploader()
    with tempfile.TemporaryDirectory(prefix="rp-impact-dfe-upload-") as tmp:
        paths = []
        for number, (name, content) in enumerate(files):
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".")
            folder = Path(tmp) / str(number)  # keeps DfE's file name, even for duplicates
            folder.mkdir()
            target = folder / (safe or "dfe.csv")
            target.write_bytes(content)
            paths.append(target)

        def load() -> list[DfeImportResult]:
            with wh.session(write=True):
                return import_dfe_files(wh, paths, user=user, role=role)

        return _faults_shown(load)


def _identity():
    """The signed-in identity (dashboard.auth), so the pipeline checks the role again."""
    import streamlit as st

    from dashboard.auth import SESSION_KEY

    try:
        return st.session_state.get(SESSION_KEY)
    except Exception:  # outside a Streamlit run (unit tests of this module)
        return None


__all__ = [
    "UploadCheck",
    "WarehouseBusyError",
    "WarehouseError",
    "show_fault",
    "check_upload",
    "clear_caches",
    "commit_upload",
    "import_dfe_uploads",
    "issues_table",
    "warehouse",
]
