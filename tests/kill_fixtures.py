"""Generated extracts for the kill and concurrency tests (several thousand rows each)."""

from __future__ import annotations

import random
from pathlib import Path

HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"
MONTH_ENDS = {
    1: "31",
    2: "28",
    3: "31",
    4: "30",
    5: "31",
    6: "30",
    7: "31",
    8: "31",
    9: "30",
    10: "31",
    11: "30",
    12: "31",
}


def outcome_rows(year: int, months, units, bands, seed: int) -> list[str]:
    rng = random.Random(seed)
    rows = []
    for month in months:
        for unit in units:
            for band in bands:
                rows.append(
                    f"{year}-{month:02d}-{MONTH_ENDS[month]},E06999901,{unit},{band},"
                    f"{rng.randint(20, 40)},{rng.randint(20, 40)}\n"
                )
    return rows


def write_files(
    folder: Path, n_units: int = 50, n_bands: int = 20, prefix: str = "k"
) -> list[Path]:
    """Six files: four quarters of 2022 and revisions of two of them (n_units x n_bands x 3 rows)."""
    units = [f"{prefix}unit{u:03d}" for u in range(n_units)]
    bands = [f"band{b:02d}" for b in range(n_bands)]
    specs = [
        ("q1", [1, 2, 3], units, 1),
        ("q2", [4, 5, 6], units, 2),
        ("q1_revised", [1, 2, 3], units[: n_units // 2], 3),
        ("q3", [7, 8, 9], units, 4),
        ("q2_revised", [4, 5, 6], units[n_units // 2 :], 5),
        ("q4", [10, 11, 12], units, 6),
    ]
    paths = []
    for name, months, unit_list, seed in specs:
        path = folder / f"{prefix}_{name}.csv"
        path.write_text(HEADER + "".join(outcome_rows(2022, months, unit_list, bands, seed)))
        paths.append(path)
    return paths
