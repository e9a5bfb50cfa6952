"""Localities for the returns: a return carries no team, so the council may map one.

Two optional CSV forms, told apart by their headings:
- postcode sector to unit (`postcode_sector,unit`; e.g. `AB1 2,North`): each period of care is
  placed by the sector of the child's HOME_POST on its first episode (903 only; the CIN
  census holds no postcode);
- child to unit (`child,unit`, also `CHILD`, `LAchildID`): each child's periods and plans go
  to the unit named.
With neither, every count is for the whole area (`All`). A child the map does not place is
counted in the `All` rows only, so localities never add up to more than the area.

The child ids of a child map are turned into opaque keys as the file is read and never kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.load.returns.ssda903 import child_keys

SECTOR_HEADINGS = ("postcodesector", "sector", "postcode", "homepost")
CHILD_HEADINGS = ("child", "lachildid", "childid")


class UnitMapError(ValueError):
    """The unit map cannot be used; the message says why and what to fix."""


@dataclass
class UnitMap:
    kind: str  # "sector" | "child"
    by_sector: dict[str, str] = field(default_factory=dict)
    by_child: dict[int, str] = field(default_factory=dict)

    @property
    def units(self) -> list[str]:
        values = self.by_sector.values() if self.kind == "sector" else self.by_child.values()
        return sorted(set(values))


def normalise_sector(text: str) -> str | None:
    """'ab12 3cd', 'AB123CD' and 'AB12 3' all give 'AB12 3' (outward code, first inward digit)."""
    compact = re.sub(r"\s+", "", str(text or "")).upper()
    match = re.match(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9])", compact)
    if not match:
        return None
    return f"{match.group(1)} {match.group(2)}"


def _heading(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(text).strip().lstrip("\ufeff").lower())


def read_unit_map(path: Path | str) -> UnitMap:
    """Read a unit map file (CSV). Raises `UnitMapError` with a plain-English message."""
    con = duckdb.connect(":memory:")
    try:
        rows = con.execute(
            "SELECT * FROM read_csv(?, all_varchar=true, header=true)", [str(path)]
        ).fetchall()
        columns = [d[0] for d in con.description]
    except duckdb.Error as exc:
        raise UnitMapError(f"The unit map {Path(path).name} could not be read as CSV.") from exc
    finally:
        con.close()
    headings = [_heading(c) for c in columns]
    if "unit" not in headings:
        raise UnitMapError("The unit map needs a 'unit' column.")
    unit_at = headings.index("unit")
    sector_at = next((headings.index(h) for h in SECTOR_HEADINGS if h in headings), None)
    child_at = next((headings.index(h) for h in CHILD_HEADINGS if h in headings), None)
    pairs = [(r[sector_at if sector_at is not None else child_at], r[unit_at]) for r in rows]
    pairs = [(k.strip(), u.strip()) for k, u in pairs if k and k.strip() and u and u.strip()]
    if sector_at is not None:
        by_sector = {}
        for key, unit in pairs:
            sector = normalise_sector(key)
            if sector is None:
                raise UnitMapError(f"'{key}' in the unit map is not a postcode sector.")
            by_sector[sector] = unit
        return UnitMap("sector", by_sector=by_sector)
    if child_at is not None:
        keys = child_keys([k for k, _ in pairs])
        return UnitMap(
            "child", by_child=dict(zip(keys.tolist(), [u for _, u in pairs], strict=True))
        )
    raise UnitMapError(
        "The unit map needs a 'postcode_sector' column (postcode sector to unit) or a 'child' "
        "column (child to unit), beside 'unit'."
    )
