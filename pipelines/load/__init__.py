"""The write path, in the order a file travels: readers → guard → validate (cells, row_rules) →
ingest; dfe imports DfE releases, returns/ reads statutory returns.

Only `ingest` (extracts) and `dfe` (DfE published statistics) write to the warehouse.
"""
