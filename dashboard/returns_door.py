"""The dashboard's door for statutory returns (SSDA903, CIN census), as `data.py` is for extracts.

Plain functions of (name, bytes) so tests can call them without a browser. The uploaded files
are written to a private temporary folder only for as long as they are read, and the folder is
removed in `finally`; the child-level rows live in memory and only the aggregates are loaded
(`pipelines.load.returns`). The preview the page shows goes through disclosure control.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dashboard.data import WarehouseBusyError, WarehouseError, _uploader
from pipelines import disclosure
from pipelines.load.returns import (
    ReturnsPreview,
    UnitMapError,
    commit,
    preview_903,
    preview_cin,
    read_unit_map,
)

PREVIEW = {"ssda903": preview_903, "cin": preview_cin}


@dataclass
class ReturnsCheck:
    """What checking some uploaded returns found, ready for the page to show."""

    preview: ReturnsPreview
    issues: pd.DataFrame
    shown: pd.DataFrame  # the aggregates with small numbers suppressed

    @property
    def ok(self) -> bool:
        return self.preview.ok


def _issues_table(preview: ReturnsPreview) -> pd.DataFrame:
    rows = [
        {
            "file": i.file or "",
            "row": i.row,
            "field": i.column or "",
            "value": i.value or "",
            "problem": i.message,
            "how to fix": i.hint,
        }
        for i in preview.issues
    ]
    frame = pd.DataFrame(rows, columns=["file", "row", "field", "value", "problem", "how to fix"])
    frame["row"] = frame["row"].astype("Int64")
    return frame


def shown_aggregates(preview: ReturnsPreview) -> pd.DataFrame:
    """The aggregates as a viewer may see them: counts 1–4 as `c`, with secondary suppression
    across age bands and units (`pipelines.disclosure`)."""
    frame = preview.outcomes
    if frame.empty:
        return frame
    counts = [c for c in frame.columns if c not in ("period_end", "area_code", "unit", "age_band")]
    return disclosure.suppress(
        frame,
        counts,
        totals={"age_band": ["period_end", "unit"], "unit": ["period_end", "age_band"]},
    )


def _write(folder: Path, number: int, name: str, content: bytes) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".") or "return"
    target = folder / str(number) / safe  # keeps the name: it carries the collection year
    target.parent.mkdir()
    target.write_bytes(content)
    return target


def check_returns(
    collection: str,
    files: list[tuple[str, bytes]],
    *,
    area_code: str | None,
    unit_map: tuple[str, bytes] | None = None,
) -> ReturnsCheck:
    """Read, check and aggregate uploaded returns; nothing is written to the warehouse."""
    _user, role, _demo = _uploader()
    with tempfile.TemporaryDirectory(prefix="rp-impact-returns-upload-") as tmp:
        folder = Path(tmp)
        paths = [_write(folder, n, name, content) for n, (name, content) in enumerate(files)]
        mapping = None
        if unit_map is not None:
            mapping = read_unit_map(_write(folder, len(files), *unit_map))
        preview = PREVIEW[collection](
            paths, area_code=area_code, unit_map=mapping, names=[n for n, _ in files], role=role
        )
    return ReturnsCheck(preview, _issues_table(preview), shown_aggregates(preview))


def commit_returns(wh, check: ReturnsCheck):
    """Load a checked preview's aggregates, exactly as `rp-impact import-903/import-cin` does."""
    user, role, demo = _uploader()
    return commit(wh, check.preview, user=user, role=role, demo=demo)


__all__ = [
    "ReturnsCheck",
    "UnitMapError",
    "WarehouseBusyError",
    "WarehouseError",
    "check_returns",
    "commit_returns",
    "shown_aggregates",
]


def demo_mode() -> bool:
    """True for a demo session: it serves only the sample, so returns are switched off."""
    return _uploader()[2]
