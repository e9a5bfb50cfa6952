"""Statistical disclosure control for everything a viewer can see or download.

- Primary suppression: counts of children from 1 to the threshold (4 by default,
  `RP_IMPACT_SUPPRESSION_THRESHOLD`) are shown as ``c``; 0 is shown, as DfE does.
- Rates, intervals and percentages derived from a suppressed count are suppressed too.
- Secondary suppression: where a total row (``All``) sits beside its parts, one suppressed part
  could be recovered by subtraction, so the next smallest part is suppressed as well.
- Formula injection: text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  are prefixed with an apostrophe in CSV and XLSX downloads (OWASP guidance).

Source: DfE's "Statistics: guidance on suppression" and the GSS disclosure control guidance
for tables produced from administrative sources.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from pipelines import config

SUPPRESSED = "c"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _is_small(values: pd.Series, threshold: int) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    return (numeric >= 1) & (numeric <= threshold)


def suppress(
    frame: pd.DataFrame,
    count_columns: Iterable[str],
    *,
    derived: Mapping[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    totals: Mapping[str, Sequence[str]] | None = None,
    total_label: str = "All",
) -> pd.DataFrame:
    """Apply primary and secondary suppression to the count columns of a table.

    `derived` maps a count column to the columns computed from it (its rate and interval), which
    are suppressed wherever the count is. `totals` maps a dimension whose `total_label` row is
    the sum of its other rows (e.g. ``{"unit": ["period_end", "measure"]}``) to the columns that
    identify one total-and-parts group; there, secondary suppression applies. Suppressed cells
    become the text ``c``; the returned frame has object dtype in the affected columns.
    """
    threshold = config.suppression_threshold() if threshold is None else threshold
    derived = dict(derived or {})
    count_columns = [c for c in count_columns if c in frame.columns]
    out = frame.copy()
    masks = {c: _is_small(out[c], threshold).fillna(False).to_numpy() for c in count_columns}
    for part, group_columns in (totals or {}).items():
        if part not in out.columns:
            continue
        for column in count_columns:
            masks[column] = _secondary(
                out, column, part, list(group_columns), masks[column], total_label
            )
    for column in count_columns:
        mask = masks[column]
        if not mask.any():
            continue
        for target in (column, *derived.get(column, ())):
            if target in out.columns:
                out[target] = out[target].astype(object)
                out.loc[mask, target] = SUPPRESSED
    return out


def _secondary(
    frame: pd.DataFrame,
    column: str,
    part: str,
    group_columns: list[str],
    mask: np.ndarray,
    total_label: str,
) -> np.ndarray:
    """Suppress the next smallest part wherever exactly one part of a total is suppressed."""
    mask = mask.copy()
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    is_part = (frame[part].astype(str) != total_label).to_numpy()
    if is_part.all():
        return mask
    if group_columns:
        groups = frame.groupby(group_columns, dropna=False, sort=False).indices
    else:
        groups = {(): np.arange(len(frame))}
    for positions in groups.values():
        positions = np.asarray(positions)
        parts = positions[is_part[positions]]
        totals = positions[~is_part[positions]]
        if len(totals) == 0 or len(parts) < 2:
            continue
        while True:
            suppressed_parts = parts[mask[parts]]
            if len(suppressed_parts) != 1:
                break
            candidates = parts[~mask[parts] & ~np.isnan(values[parts]) & (values[parts] > 0)]
            if len(candidates) == 0:
                break
            smallest = candidates[np.argmin(values[candidates])]
            mask[smallest] = True
    return mask


def escape_formula(value):
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(escape_formula)
    out.columns = [escape_formula(str(c)) for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with BOM, so Excel reads it) with formula injection escaped."""
    return escape_frame(frame).to_csv(index=False).encode("utf-8-sig")


def to_safe_xlsx(frame: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """XLSX bytes with every text cell stored as text, never as a formula."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name[:31]
    safe = escape_frame(frame)
    sheet.append([str(c) for c in safe.columns])
    for row in safe.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float) and np.isnan(value):
                cells.append(None)
            elif isinstance(value, pd.Timestamp):
                cells.append(value.to_pydatetime())
            elif value is pd.NA or value is pd.NaT:
                cells.append(None)
            else:
                cells.append(value)
        sheet.append(cells)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def has_small_counts(
    frame: pd.DataFrame, count_columns: Iterable[str], threshold: int | None = None
) -> bool:
    """True if any listed column still shows a count from 1 to the threshold."""
    threshold = config.suppression_threshold() if threshold is None else threshold
    return any(
        bool(_is_small(frame[c], threshold).fillna(False).any())
        for c in count_columns
        if c in frame.columns
    )
