"""The warehouse's models, as SQL: tables generated from the contracts, views from `sql/*.sql`.

Layered the dbt way (jaffle-shop's `models/staging/stg_orders.sql`): `fct_*` and `hist_*`
tables are generated from the data contracts (`pipelines.contracts`); `stg_*` and `mart_*`
views are one SQL file per model in `pipelines/store/sql/`. A file that depends on the
contract (one branch per measure or per dataset) is a Jinja template rendered here, as dbt
renders its models; the others are plain SQL. `int_*` tables, materialised at ingest, are
defined and refreshed in `pipelines.store.materialise`.

Nothing here opens a connection: these functions return SQL text that `Warehouse` runs in
its migrations and on every open.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import jinja2

from pipelines.contracts import CONTRACTS, OUTCOMES, Contract
from pipelines.contracts_practice import PRACTICE_CONTRACTS
from pipelines.measures import STOCK_MEASURES


def fact_table_ddl(contract: Contract, table: str, extra: str = "") -> str:
    """`CREATE TABLE` for a contract's facts (or their history, with `extra` columns): its
    columns, a `<column>_null_reason` per nullable count, and the upload that wrote the row."""
    columns = []
    for column in contract.columns:
        columns.append(f"{column.name} {column.sql_type}")
    for name in contract.nullable_value_columns:
        columns.append(f"{name}_null_reason VARCHAR")
    columns.append("upload_id BIGINT NOT NULL")
    columns.append("loaded_at TIMESTAMP NOT NULL")
    if extra:
        columns.append(extra)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(columns) + "\n);"


def schema_v1() -> list[str]:
    """Migration 1: the uploads audit, and every contract's facts and revision history."""
    statements = [
        """CREATE TABLE IF NOT EXISTS raw_uploads (
            upload_id BIGINT PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            dataset VARCHAR,
            n_rows BIGINT,
            user_name VARCHAR,
            uploaded_at TIMESTAMP NOT NULL,
            outcome VARCHAR NOT NULL,
            n_added BIGINT DEFAULT 0,
            n_revised BIGINT DEFAULT 0,
            n_unchanged BIGINT DEFAULT 0,
            n_warnings BIGINT DEFAULT 0,
            n_errors BIGINT DEFAULT 0,
            message VARCHAR,
            source VARCHAR NOT NULL DEFAULT 'upload'
        )""",
        """CREATE TABLE IF NOT EXISTS upload_issues (
            upload_id BIGINT NOT NULL,
            severity VARCHAR NOT NULL,
            row_number BIGINT,
            column_name VARCHAR,
            value VARCHAR,
            rule VARCHAR NOT NULL,
            message VARCHAR NOT NULL,
            hint VARCHAR
        )""",
    ]
    for contract in CONTRACTS.values():
        statements.append(fact_table_ddl(contract, contract.table))
        statements.append(fact_table_ddl(contract, contract.history_table, _history_extra()))
    return statements


def _history_extra() -> str:
    return "superseded_by BIGINT NOT NULL, superseded_at TIMESTAMP NOT NULL"


def rebuild_in_contract_order(contract: Contract) -> list[str]:
    """A contract's facts and history rebuilt with its current columns, in its order: the
    rows are copied by name, so columns the contract gained since are NULL (not supplied) and
    an older warehouse ends with exactly the tables a new one is created with (backups and
    the revision history copy rows by position). Views over the tables are bound by name when
    read, so they survive the swap."""
    out = []
    for table, extra in ((contract.table, ""), (contract.history_table, _history_extra())):
        new = f"{table}__rebuilt"
        out += [
            f"DROP TABLE IF EXISTS {new}",
            fact_table_ddl(contract, new, extra),
            f"INSERT INTO {new} BY NAME SELECT * FROM {table}",
            f"DROP TABLE {table}",
            f"ALTER TABLE {new} RENAME TO {table}",
        ]
    return out


def outcome_return_measures() -> list[str]:
    """Migration 4: the outcomes facts and history gain the statutory returns' measures
    (`pipelines.contracts.RETURN_MEASURES`) and their `_null_reason` columns."""
    return rebuild_in_contract_order(OUTCOMES)


def upload_sources_table() -> list[str]:
    """Migration 5: the source files behind an upload (the SSDA903 and CIN census files a
    returns import aggregated): name, hash, collection, year and row count, never content."""
    return [
        """CREATE TABLE IF NOT EXISTS upload_sources (
            upload_id BIGINT NOT NULL,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            collection VARCHAR NOT NULL,
            collection_year INTEGER,
            n_rows BIGINT
        )"""
    ]


def practice_tables() -> list[str]:
    """Migration 7: the practice evidence's facts and history (practice framework, case-file
    audits, family feedback, FGC outcomes; `pipelines.contracts_practice`). A warehouse created
    since has them from migration 1 already, so each is `IF NOT EXISTS`."""
    statements = []
    for contract in PRACTICE_CONTRACTS:
        statements.append(fact_table_ddl(contract, contract.table))
        statements.append(fact_table_ddl(contract, contract.history_table, _history_extra()))
    return statements


def sql_file(name: str) -> str:
    """The text of `pipelines/store/sql/<name>`."""
    return resources.files("pipelines.store.sql").joinpath(name).read_text(encoding="utf-8")


def statements(file_name: str) -> list[str]:
    """The statements of a plain SQL file (separated by `;` at the end of a line)."""
    return [s for s in sql_file(file_name).split(";\n") if s.strip()]


@cache
def _environment() -> jinja2.Environment:
    # StrictUndefined: a misspelt variable in a model fails loudly instead of rendering blank.
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render(file_name: str, **context) -> str:
    """A Jinja SQL model rendered with `context`, as one statement (without its `;`)."""
    text = _environment().from_string(sql_file(file_name)).render(**context)
    return text.strip().rstrip(";")


def _outcome_measures() -> list[dict[str, str]]:
    return [
        {"name": m, "kind": "stock" if m in STOCK_MEASURES else "flow"}
        for m in OUTCOMES.value_columns
    ]


def _revision_sources() -> list[dict[str, str]]:
    return [
        {
            "dataset": c.dataset,
            "history_table": c.history_table,
            "row_key": " || ' | ' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in c.key),
        }
        for c in CONTRACTS.values()
    ]


def staging_views() -> list[str]:
    """`stg_outcomes_long` (one row per cell) and `mart_revisions`, from the contracts."""
    return [
        render("stg_outcomes_long.sql", measures=_outcome_measures()),
        render("mart_revisions.sql", contracts=_revision_sources()),
    ]


def outcome_rates_view() -> str:
    """`mart_outcome_rates`: the materialised periods, one row per measure, with the rate."""
    return render("mart_outcome_rates.sql", measures=_outcome_measures())


def marts() -> list[str]:
    """The marts over the facts and `mart_outcome_rates` (`sql/marts.sql`), and the practice
    evidence as proportions (`sql/mart_practice.sql`)."""
    return statements("marts.sql") + statements("mart_practice.sql")


def dfe_tables() -> list[str]:
    """Migration 2: the DfE published statistics (`sql/dfe.sql`)."""
    return statements("dfe.sql")


def analysis_plan_table() -> list[str]:
    """Migration 6: the recorded versions of each council's analysis plan."""
    return statements("meta_analysis_plan.sql")


def dfe_marts() -> list[str]:
    """The DfE marts: current figures, rates, neighbours, revisions (`sql/dfe_marts.sql`)."""
    return statements("dfe_marts.sql")
