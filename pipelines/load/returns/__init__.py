"""Statutory returns (SSDA903 and CIN census) in, `outcomes` aggregates out.

The returns are read into memory, checked (`validate`), counted with DfE's definitions
(`definitions`, `aggregate`) and only the aggregates are loaded, through the ordinary atomic
ingest (`importer.commit`). No child-level row or identifier is stored. See docs/returns.md.
"""

from pipelines.load.returns.importer import (
    ReturnsPreview,
    commit,
    preview_903,
    preview_cin,
    record_refusal,
    write_aggregate_csv,
)
from pipelines.load.returns.new_measures import NEW_MEASURES, NewMeasure
from pipelines.load.returns.unit_map import UnitMap, UnitMapError, read_unit_map

__all__ = [
    "NEW_MEASURES",
    "NewMeasure",
    "ReturnsPreview",
    "UnitMap",
    "UnitMapError",
    "commit",
    "preview_903",
    "preview_cin",
    "read_unit_map",
    "record_refusal",
    "write_aggregate_csv",
]
