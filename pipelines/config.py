"""Settings read from the environment, with defaults that suit a developer's clone."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "var" / "warehouse.duckdb"

# Counts from 1 up to this value are shown as "c" wherever a viewer can see or download them.
DEFAULT_SUPPRESSION_THRESHOLD = 4


def warehouse_path() -> Path:
    """Where the DuckDB warehouse lives: $RP_IMPACT_WAREHOUSE, else var/warehouse.duckdb."""
    configured = os.environ.get("RP_IMPACT_WAREHOUSE")
    return Path(configured).expanduser() if configured else DEFAULT_WAREHOUSE


def suppression_threshold() -> int:
    return int(os.environ.get("RP_IMPACT_SUPPRESSION_THRESHOLD", DEFAULT_SUPPRESSION_THRESHOLD))


def current_user() -> str:
    return os.environ.get("RP_IMPACT_USER") or os.environ.get("USER") or "unknown"
