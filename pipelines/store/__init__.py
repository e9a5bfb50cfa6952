"""The warehouse: the one class that opens DuckDB (`warehouse`), its SQL models, backups, export."""
