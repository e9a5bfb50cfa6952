"""The table beside every chart and every download: disclosure control, then safe CSV.

Thin wrappers over `pipelines.disclosure`, so the dashboard's tables and downloads, the report
and the CLI follow one set of rules (DfE's "Statistics: guidance on suppression"; OWASP's
guidance on CSV injection). Nothing here suppresses or escapes on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from pipelines import disclosure

SUPPRESSED = disclosure.SUPPRESSED


def disclosure_control(
    frame: pd.DataFrame,
    count_cols: Iterable[str],
    derived: dict[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    totals: dict[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Counts from 1 to `threshold` become "c"; columns derived from them are "c" too.

    `derived` maps a count column to the columns computed from it (its rate and CI). Zero is
    not suppressed. `totals` turns on secondary suppression (see `pipelines.disclosure`).
    Returns a copy; the input is not changed.
    """
    return disclosure.suppress(
        frame, count_cols, derived=derived, threshold=threshold, totals=totals
    )


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with an apostrophe.

    Negative numbers stay numbers: only strings are escaped.
    """
    return disclosure.escape_frame(frame)


def iso_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every date column as ISO text ('2026-03-31'), not Timestamps with times."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out


def csv_bytes(
    frame: pd.DataFrame,
    count_cols: Iterable[str] = (),
    derived: dict[str, Iterable[str]] | None = None,
    threshold: int | None = None,
) -> bytes:
    """A download-safe CSV: disclosure control, then formula escaping, UTF-8 with BOM for Excel."""
    safe = disclosure_control(frame, count_cols, derived, threshold)
    return disclosure.to_safe_csv(iso_dates(safe))
