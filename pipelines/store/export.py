"""Export the warehouse marts as partitioned Parquet: the first step past one DuckDB file.

`export_marts(warehouse, out_dir)` writes every `mart_*` view (or the ones named) to
`out_dir/<mart>/area=<code>/year=<yyyy>/data_0.parquet` (Hive-style partitions) with DuckDB's
built-in Parquet writer (`COPY ... (FORMAT parquet, PARTITION_BY (area, year))`; the writer is
statically linked into DuckDB's Python wheel, so no extension is downloaded). The same SQL then
runs on the files from DuckDB, MotherDuck, Spark/Databricks SQL or any Parquet reader:

    SELECT * FROM read_parquet('out/mart_outcome_rates/*/*/*.parquet', hive_partitioning = true)
    WHERE area = 'E06999901' AND year >= 2022

The partition columns `area` and `year` are added; every original column (including
`area_code` and `period_end`) stays in the files, so a reader that ignores the partitions
loses nothing. A mart with an area but no period is partitioned by `area` only; a mart with
neither (the audit marts) is one file. National and regional rows (no area code) go to
`area=none`. The export reads one consistent snapshot (a single read transaction), writes into
a temporary folder next to `out_dir` and moves it into place only when everything succeeded,
and writes `_manifest.json` with the row count and partitioning of each mart.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipelines.store.backup import table_columns
from pipelines.store.warehouse import Warehouse

NO_AREA = "none"
_AREA_COLUMNS = ("area_code",)
_DATE_COLUMNS = ("period_end",)
_YEAR_TEXT_COLUMNS = ("time_period",)  # DfE: 2024 or 202324 -> its first four digits


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def mart_names(warehouse: Warehouse) -> list[str]:
    frame = warehouse.query(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'mart\\_%' ESCAPE '\\' ORDER BY table_name"
    )
    return frame["table_name"].tolist()


def _partition_select(mart: str, columns: list[str]) -> tuple[str, list[str]]:
    """The SELECT that adds the partition columns, and their names."""
    extra, partition_by = [], []
    area = next((c for c in _AREA_COLUMNS if c in columns), None)
    if area:
        extra.append(f"coalesce(CAST({area} AS VARCHAR), '{NO_AREA}') AS area")
        partition_by.append("area")
    date = next((c for c in _DATE_COLUMNS if c in columns), None)
    year_text = next((c for c in _YEAR_TEXT_COLUMNS if c in columns), None)
    if date:
        extra.append(f"year({date}) AS year")
        partition_by.append("year")
    elif year_text:
        extra.append(f"TRY_CAST(left(CAST({year_text} AS VARCHAR), 4) AS INTEGER) AS year")
        partition_by.append("year")
    select = ", ".join(["*", *extra])
    return f"SELECT {select} FROM {mart}", partition_by


def export_marts(
    warehouse: Warehouse,
    out_dir: Path | str,
    *,
    marts: Sequence[str] | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the marts to `out_dir` as Parquet partitioned by area and year.

    Returns {mart name: rows written}. Raises FileExistsError if `out_dir` exists and is not
    empty (unless `overwrite`), and ValueError for a name that is not a mart of this warehouse.
    """
    out_dir = Path(out_dir)
    available = mart_names(warehouse)
    chosen = list(marts) if marts is not None else available
    unknown = [m for m in chosen if m not in available]
    if unknown:
        raise ValueError(
            f"Not a mart of this warehouse: {', '.join(unknown)}. Marts: {', '.join(available)}."
        )
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{out_dir} is not empty. Choose an empty folder, or overwrite it explicitly."
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    counts: dict[str, int] = {}
    manifest: dict = {"marts": {}}
    cur = warehouse.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")  # one snapshot for every mart
        try:
            manifest["last_upload_id"] = cur.execute(
                "SELECT count(*), coalesce(max(upload_id), 0) FROM raw_uploads"
            ).fetchone()[1]
            for mart in chosen:
                select, partition_by = _partition_select(mart, table_columns(cur, mart))
                target = staging / mart
                if partition_by:
                    options = f"FORMAT parquet, PARTITION_BY ({', '.join(partition_by)})"
                    copied = cur.execute(f"COPY ({select}) TO {_quote(target)} ({options})")
                else:
                    target.mkdir()
                    copied = cur.execute(
                        f"COPY ({select}) TO {_quote(target / 'data_0.parquet')} (FORMAT parquet)"
                    )
                # COPY returns the number of rows written: the view is computed once.
                counts[mart] = int(copied.fetchone()[0])
                files = sum(1 for _ in target.rglob("*.parquet"))
                manifest["marts"][mart] = {
                    "rows": counts[mart],
                    "partition_by": partition_by,
                    "files": files,
                }
        finally:
            cur.execute("COMMIT")
        manifest["exported_at"] = dt.datetime.now().replace(microsecond=0).isoformat()
        manifest["warehouse"] = warehouse.path.name
        (staging / "_manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        cur.close()
    return counts
