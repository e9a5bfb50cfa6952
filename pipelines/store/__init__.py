"""Storage: `warehouse` (the one class that owns DuckDB connections, transactions, migrations
and integrity), `models` (contract → DDL, views from `sql/*.sql`), `materialise` (the `int_*`
tables), `backup`, `export`."""
