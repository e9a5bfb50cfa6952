"""The write path, in the order a file travels: readers → guard → validate → ingest; dfe imports.

Only `ingest` (extracts) and `dfe` (DfE published statistics) write to the warehouse.
"""
