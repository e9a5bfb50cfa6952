"""Record the analysis plan in force for an area, so a change after its fixed date is visible.

Called on the write path (every committed upload, `rp-impact build` and `rp-impact plan
--record`): the first time the warehouse sees an area's plan it stores "first plan"; when the
plan file later says something else, a new row lists what changed (``plan_change``). The
dashboard and the report read the history through :func:`pipelines.analysis.plan.plan_history`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb

from pipelines.analysis.plan import AnalysisPlan, load_plan, plan_change
from pipelines.store.warehouse import Warehouse


def _latest(cur: duckdb.DuckDBPyConnection, area_code: str) -> dict[str, Any] | None:
    row = cur.execute(
        "SELECT plan_hash, plan_json FROM meta_analysis_plan WHERE area_code = ? "
        "ORDER BY recorded_at DESC LIMIT 1",
        [area_code],
    ).fetchone()
    return None if row is None else {"plan_hash": row[0], "plan_json": row[1]}


def record_plan_in(
    cur: duckdb.DuckDBPyConnection, area_code: str, user: str, plan: AnalysisPlan | None = None
) -> dict[str, Any] | None:
    """Inside a caller's write transaction: record the area's plan if it is new or changed.

    Returns the row written, or None when the recorded plan is already this one. A plan that
    returns to an earlier version gets a new row too: the history is append-only.
    """
    plan = load_plan(area_code) if plan is None else plan
    row = plan_change(plan, _latest(cur, area_code), area_code, user)
    if row is None:
        return None
    # The row's keys are the table's columns (tests/test_plan.py checks them against the DDL).
    cur.execute(
        f"INSERT INTO meta_analysis_plan ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
        list(row.values()),
    )
    return row


def record_plans(wh: Warehouse, area_codes: Iterable[str], user: str) -> list[dict[str, Any]]:
    """Record the plan of each area in one transaction; returns the rows written."""
    written = []
    with wh.transaction() as cur:
        for code in sorted(set(area_codes)):
            row = record_plan_in(cur, code, user)
            if row is not None:
                written.append(row)
    return written
