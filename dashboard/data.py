"""The dashboard's only door to the warehouse: one shared connection and cached reads.

- `warehouse()` opens the process-wide warehouse once (`st.cache_resource`), as DuckDB asks.
- `mart(name, ...)` and `analysis(name, ...)` call a named function of `pipelines.marts` or
  `pipelines.analysis` through `st.cache_data`, keyed on the warehouse path and its
  `data_version()`. A committed upload changes the data version, so every page recomputes.
- `check_upload` / `commit_upload` are the Upload page's handling of one file, as plain
  functions of (name, bytes) so tests can call them without a browser.

Pages hold no SQL and no statistics: they call these wrappers and `pipelines.present.charts`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from pipelines import config
from pipelines.contracts import CONTRACTS
from pipelines.load.ingest import IngestResult, ingest_file, preview_changes, validate_only
from pipelines.load.readers import read_bytes_as_file
from pipelines.load.validate import validate_file
from pipelines.store.warehouse import (
    Warehouse,
    WarehouseBusyError,
    WarehouseError,
    shared_warehouse,
)


def warehouse_path() -> Path:
    return config.warehouse_path().expanduser().resolve()


def warehouse_exists() -> bool:
    return warehouse_path().exists()


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Warehouse:
    return shared_warehouse(path)


def warehouse(create: bool = False) -> Warehouse | None:
    """The shared warehouse, or None if there is no file yet (unless `create`)."""
    path = warehouse_path()
    if not path.exists() and not create:
        return None
    return _open(str(path))


def data_version(wh: Warehouse) -> str:
    return wh.data_version()


@st.cache_data(show_spinner=False, max_entries=1024)
def _call(module: str, name: str, path: str, version: str, args: tuple, kwargs: tuple):
    function = getattr(importlib.import_module(module), name)
    return function(_open(path), *args, **dict(kwargs))


def _key() -> tuple[str, str]:
    wh = warehouse()
    if wh is None:
        raise WarehouseError("There is no warehouse yet.")
    return str(warehouse_path()), wh.data_version()


def mart(name: str, *args, **kwargs):
    """`pipelines.marts.<name>(wh, *args, **kwargs)`, cached until the data change."""
    path, version = _key()
    return _call("pipelines.marts", name, path, version, args, tuple(sorted(kwargs.items())))


def analysis(name: str, *args, **kwargs):
    """`pipelines.analysis.<name>(wh, *args, **kwargs)`, cached until the data change."""
    path, version = _key()
    return _call("pipelines.analysis", name, path, version, args, tuple(sorted(kwargs.items())))


def analysis_available() -> bool:
    try:
        importlib.import_module("pipelines.analysis")
    except ImportError:
        return False
    return True


def clear_caches() -> None:
    st.cache_data.clear()


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
        result = validate_only(path, wh, display_name=name)
        preview = None
        if result.outcome == "valid" and result.dataset:
            cur = wh.cursor()
            try:  # stage the file again on a private cursor to list the rows that change
                report, _ = validate_file(path, cur, dataset=result.dataset, display_name=name)
                if report.ok:
                    preview = preview_changes(cur, CONTRACTS[result.dataset], limit=preview_rows)
            finally:
                cur.close()  # TEMP staging tables belong to this cursor and go with it
        return UploadCheck(name, result, issues_table(result), preview)

    return _with_temp_file(name, content, run)


def commit_upload(
    wh: Warehouse, name: str, content: bytes, user: str | None = None
) -> IngestResult:
    """Load one file exactly as `rp-impact ingest` does (pipelines.load.ingest.ingest_file)."""
    identity = _identity()
    if identity is not None:
        user = user or identity.name
    user = user or os.environ.get("RP_IMPACT_USER") or config.current_user()
    return _with_temp_file(
        name,
        content,
        lambda path: ingest_file(
            wh,
            path,
            user=user,
            display_name=name,
            source="dashboard",
            role=identity.role if identity else None,
            demo=bool(identity and identity.demo),
        ),
    )


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
    "analysis",
    "check_upload",
    "clear_caches",
    "commit_upload",
    "issues_table",
    "mart",
    "warehouse",
]
