"""Statistical disclosure control for everything a viewer can see or download.

- Primary suppression: counts of children from 1 to the threshold (4 by default,
  `RP_IMPACT_SUPPRESSION_THRESHOLD`) are shown as ``c``; 0 is shown, as DfE does.
- Rates, intervals and percentages derived from a suppressed count are suppressed too.
- Secondary suppression: where a total row (``All``) sits beside its parts, one suppressed part
  could be recovered by subtraction (and several, when what is left is one for each), so the
  next smallest part is suppressed as well.
- Across breakdowns: the views of one measure's counts (the area, the localities, the age
  bands, one locality's age bands, one locality in one age band) make up one locality x
  age-band table per period with both margins, so suppression is decided once over that
  table (:func:`cube_masks`, audited by :func:`exposed_cells`) and every view takes its mask
  from the decision (`pipelines.present.cube`).
- One gate (:func:`gate`) gives the same suppression to a chart (a gap: NaN) and to its table
  and download (``c``, formula-escaped), so nothing plotted or hovered is a figure the table
  hides. Rows without a count of their own are gated through `rows` (an SPC chart's rates,
  matched to its series' suppressed periods) or through the count their exact Poisson interval
  implies (:func:`implied_counts`).
- Formula injection: text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  are prefixed with an apostrophe in CSV and XLSX downloads (OWASP guidance).

Source: DfE's "Statistics: guidance on suppression" and the GSS disclosure control guidance
for tables produced from administrative sources.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import config, disclosure_linked

SUPPRESSED = "c"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _is_small(values: pd.Series, threshold: int) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    return (numeric >= 1) & (numeric <= threshold)


def suppression_masks(
    frame: pd.DataFrame,
    count_columns: Iterable[str],
    *,
    derived: Mapping[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    totals: Mapping[str, Sequence[str]] | None = None,
    total_label: str = "All",
    rows: Mapping[str, np.ndarray] | None = None,
    seed: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Which cells of `frame` to suppress: column -> boolean mask (one entry per row).

    The rules of :func:`suppress` (primary, derived, secondary), as masks, so that a table
    (``c``) and a chart (a gap) built from the same frame hide exactly the same cells.
    `rows` adds masks from outside the frame: column -> rows to suppress (for a table that has
    no count of its own, such as an SPC chart's points, matched to its series'
    suppressed periods by :func:`rows_matching`). `seed` gives count cells hidden already
    (by another view of the same counts): they count as suppressed before secondary
    suppression, so the parts left are protected from them too.
    """
    threshold = config.suppression_threshold() if threshold is None else threshold
    derived = dict(derived or {})
    count_columns = [c for c in count_columns if c in frame.columns]
    masks = {c: _is_small(frame[c], threshold).fillna(False).to_numpy() for c in count_columns}
    for column, mask in (seed or {}).items():
        if column in masks:
            masks[column] = masks[column] | np.asarray(mask, dtype=bool)
    for part, group_columns in (totals or {}).items():
        if part not in frame.columns:
            continue
        for column in count_columns:
            masks[column] = _secondary(
                frame, column, part, list(group_columns), masks[column], total_label
            )
    out: dict[str, np.ndarray] = {}
    for column in count_columns:
        for target in (column, *derived.get(column, ())):
            if target in frame.columns:
                out[target] = out.get(target, np.zeros(len(frame), bool)) | masks[column]
    for target, mask in (rows or {}).items():
        if target in frame.columns:
            mask = np.asarray(mask, dtype=bool)
            out[target] = out.get(target, np.zeros(len(frame), bool)) | mask
    return out


def _as_text(frame: pd.DataFrame, masks: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """``frame`` with the masked cells as the text ``c`` (object dtype where any is masked)."""
    out = frame.copy()
    for column, mask in masks.items():
        if mask.any():
            out[column] = out[column].astype(object)
            out.loc[mask, column] = SUPPRESSED
    return out


def _as_gaps(frame: pd.DataFrame, masks: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """``frame`` with the masked cells empty: NaN in numeric columns (kept float), else None."""
    out = frame.copy()
    for column, mask in masks.items():
        if mask.any():
            if pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(
                out[column]
            ):
                out[column] = out[column].astype("float64")
                out.loc[mask, column] = np.nan
            else:
                out[column] = out[column].astype(object)
                out.loc[mask, column] = None
    return out


def suppress(frame: pd.DataFrame, count_columns: Iterable[str], **rules) -> pd.DataFrame:
    """Apply primary and secondary suppression to the count columns of a table.

    `rules` are :func:`suppression_masks`' keywords: `derived` maps a count column to the
    columns computed from it (its rate and interval), which are suppressed wherever the count
    is; `totals` maps a dimension whose `total_label` row is the sum of its other rows (e.g.
    ``{"unit": ["period_end", "measure"]}``) to the columns that identify one total-and-parts
    group, where secondary suppression applies; `threshold`, `rows` and `seed` as there.
    Suppressed cells become the text ``c``; the returned frame has object dtype in the
    affected columns.
    """
    return _as_text(frame, suppression_masks(frame, count_columns, **rules))


def blank(frame: pd.DataFrame, count_columns: Iterable[str], **rules) -> pd.DataFrame:
    """The cells :func:`suppress` would show as ``c`` (same `rules`), as NaN: for a chart, a
    gap, not a value.

    Numeric columns keep their dtype (float), so a chart builder plots the frame as before and
    a hover label has no point to show.
    """
    return _as_gaps(frame, suppression_masks(frame, count_columns, **rules))


@dataclass(frozen=True)
class Gated:
    """One frame after the gate, in the two forms a viewer meets it.

    Fields:
        table: suppressed cells as ``c`` and text escaped against formula injection: what a
            table on screen (and its toolbar's "Download as CSV") and every download get.
        plot: the same cells as NaN, numbers still numbers: what a chart builder gets, so a
            suppressed period is a gap in the line, its band and its hover.
        masks: column -> the rows suppressed in it.
    """

    table: pd.DataFrame
    plot: pd.DataFrame
    masks: Mapping[str, np.ndarray]

    @property
    def suppressed_rows(self) -> np.ndarray:
        """Rows with any suppressed cell."""
        rows = np.zeros(len(self.plot), bool)
        for mask in self.masks.values():
            rows |= mask
        return rows

    def take(self, index) -> Gated:
        """The rows of `index` (labels of the input frame), in that order: a filtered view."""
        positions = self.plot.index.get_indexer(pd.Index(index))
        return Gated(
            table=self.table.iloc[positions],
            plot=self.plot.iloc[positions],
            masks={c: m[positions] for c, m in self.masks.items()},
        )

    def csv(self) -> bytes:
        """The download: the table, dates as ISO text, UTF-8 with BOM, formulas escaped."""
        return to_safe_csv(iso_dates(self.table))


def gate(frame: pd.DataFrame, count_columns: Iterable[str] = (), **rules) -> Gated:
    """The one disclosure gate: every figure that leaves the pipeline for a viewer passes it.

    Applies :func:`suppression_masks` (with its keyword `rules`: `derived`, `threshold`,
    `totals`, `total_label`, `rows`, `seed`) once and returns the frame for tables and
    downloads (``c``, formula-escaped) and for charts (NaN), so the chart, its hover, the
    table beside it and the CSV hide exactly the same cells. With no count columns and no
    `rows`, only the formula escaping applies.
    """
    # The masks are worked out once: the table, the chart and the download hide the same cells.
    masks = suppression_masks(frame, list(count_columns), **rules)
    return Gated(
        table=escape_frame(_as_text(frame, masks)),
        plot=_as_gaps(frame, masks),
        masks=masks,
    )


def blank_small(
    frame: pd.DataFrame, count: str, columns: Iterable[str], threshold: int | None = None
) -> pd.DataFrame:
    """`frame` with `count` and the `columns` made from it blank wherever `count` is small.

    What every chart builder does to its input, so that a chart never plots or hovers a figure
    made from a count of 1 to the threshold, whoever calls it (the dashboard gates first with
    its totals; the builders' own pass is the floor). A frame without `count` is returned as
    it is.
    """
    if count not in frame.columns:
        return frame
    columns = [c for c in columns if c and c != count]
    return blank(frame, [count], derived={count: columns}, threshold=threshold)


def blank_implied(
    frame: pd.DataFrame,
    lower: str,
    upper: str,
    columns: Iterable[str],
    threshold: int | None = None,
) -> pd.DataFrame:
    """`frame` with `columns` blank where the interval (`lower`, `upper`) implies a small count."""
    if lower not in frame.columns or upper not in frame.columns:
        return frame
    small = ~np.isnan(implied_counts(frame[lower], frame[upper], threshold=threshold))
    return blank(frame, [], rows={c: small for c in (lower, upper, *columns)})


def implied_rows(
    frame: pd.DataFrame,
    lower: str,
    upper: str,
    columns: Iterable[str],
    threshold: int | None = None,
) -> dict[str, np.ndarray]:
    """`rows` for :func:`gate`: `columns` suppressed where the interval implies a small count."""
    if lower not in frame.columns or upper not in frame.columns:
        return {}
    small = ~np.isnan(implied_counts(frame[lower], frame[upper], threshold=threshold))
    return {c: small for c in (lower, upper, *columns)}


def rows_matching(keys: pd.Series, suppressed: Iterable) -> np.ndarray:
    """Rows whose key (a date, say) is among the `suppressed` keys of another table."""
    suppressed = pd.Index(list(suppressed))
    if pd.api.types.is_datetime64_any_dtype(keys):
        suppressed = pd.to_datetime(suppressed)
    return keys.isin(suppressed).to_numpy()


def suppressed_keys(gated: Gated, frame: pd.DataFrame, key: str, column: str) -> list:
    """The values of `key` in the rows where `column` was suppressed (e.g. suppressed periods)."""
    mask = gated.masks.get(column)
    if mask is None or key not in frame:
        return []
    return frame.loc[mask, key].tolist()


def implied_counts(
    lower, upper, *, threshold: int | None = None, confidence: float = 0.95
) -> np.ndarray:
    """The count from 1 to the threshold that an exact Poisson interval gives away, else NaN.

    An exact Poisson interval (chi-square limits, used below 10 events) has an upper-to-lower
    ratio that depends on the count alone, so anyone holding the limits can read the count
    back. This is that inversion, so that a table of pooled rates and intervals without its
    counts (the event-time table) can be gated on the counts it implies.
    """
    from scipy import stats

    threshold = config.suppression_threshold() if threshold is None else threshold
    low = pd.to_numeric(pd.Series(np.asarray(lower, dtype=object)), errors="coerce").to_numpy(
        dtype=float
    )
    high = pd.to_numeric(pd.Series(np.asarray(upper, dtype=object)), errors="coerce").to_numpy(
        dtype=float
    )
    alpha = 1 - confidence
    out = np.full(low.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = high / low
    for x in range(1, threshold + 1):
        expected = stats.chi2.ppf(1 - alpha / 2, 2 * x + 2) / stats.chi2.ppf(alpha / 2, 2 * x)
        hit = np.isfinite(ratio) & np.isclose(ratio, expected, rtol=1e-6, atol=0)
        out[hit & np.isnan(out)] = x
    return out


def _secondary(
    frame: pd.DataFrame,
    column: str,
    part: str,
    group_columns: list[str],
    mask: np.ndarray,
    total_label: str,
) -> np.ndarray:
    """Suppress the next smallest part wherever one part of a total could be worked out.

    That is where exactly one part is suppressed (total less the others), or where the total
    less the parts shown equals the number of parts suppressed (each of them must be 1).
    """
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
            if len(suppressed_parts) == 0:
                break
            if len(suppressed_parts) > 1 and not _all_ones(values, mask, parts, totals):
                break
            candidates = parts[~mask[parts] & ~np.isnan(values[parts]) & (values[parts] > 0)]
            if len(candidates) == 0:
                break
            smallest = candidates[np.argmin(values[candidates])]
            mask[smallest] = True
    return mask


def _all_ones(values: np.ndarray, mask: np.ndarray, parts: np.ndarray, totals: np.ndarray) -> bool:
    """True when the total less the parts shown leaves exactly one for each suppressed part.

    Every suppressed count is at least 1 (zeros are shown), so a remainder equal to the number
    of suppressed parts tells a reader that each of them is 1.
    """
    total = values[totals[0]]
    if mask[totals[0]] or np.isnan(total):
        return False
    shown = parts[~mask[parts]]
    remainder = total - np.nansum(values[shown])
    return bool(np.isclose(remainder, int(mask[parts].sum())))


# -- one decision for a whole table with both margins (every view takes its masks from it) -----


def cube_masks(
    cells: pd.DataFrame,
    value: str = "value",
    *,
    rows: str = "unit",
    cols: str = "age_band",
    by: Sequence[str] = ("period_end",),
    total_label: str = "All",
    threshold: int | None = None,
    seed: np.ndarray | None = None,
) -> np.ndarray:
    """Which cells of a two-way table with both margins to suppress, decided once for all views.

    `cells` is long: one row per (`by`..., `rows`, `cols`) cell, its count in `value`, the
    margins labelled `total_label` (the ``All`` locality is the sum of the localities, the
    ``All`` age band the sum of the age bands, and ``All`` x ``All`` the area's total). A
    viewer who meets the localities on one page, the age bands on another and one locality's
    age bands on a third holds every line of that table at once, so suppression decided one
    breakdown at a time can be undone by subtraction along the other margin. Here, in each
    `by` group (a period): counts of 1 to the threshold are suppressed, then, while any
    suppressed cell can still be worked out from the cells shown (:func:`exposed_cells`:
    along one line, across lines, or pinned by every count being at least 1), the smallest
    count shown in its row or column is suppressed too. Every view of the table (a breakdown,
    a series, a total) hides exactly the cells this returns (one mask, a row of `cells` each).
    `seed` marks cells hidden already (by the decision across grains, :func:`grain_masks`).
    """
    threshold = config.suppression_threshold() if threshold is None else threshold
    values = pd.to_numeric(cells[value], errors="coerce").to_numpy(dtype=float)
    mask = _is_small(cells[value], threshold).fillna(False).to_numpy(dtype=bool, copy=True)
    if seed is not None:
        mask |= np.asarray(seed, dtype=bool)
    row_keys = cells[rows].astype(str).to_numpy()
    col_keys = cells[cols].astype(str).to_numpy()
    by = [c for c in by if c in cells.columns]
    groups = (
        cells.groupby(by, sort=False, dropna=False).indices if by else {(): np.arange(len(cells))}
    )
    for positions in groups.values():
        positions = np.asarray(positions)
        mask[positions] = _protect_table(
            row_keys[positions],
            col_keys[positions],
            values[positions],
            mask[positions],
            total_label,
        )
    return mask


def _protect_table(
    row_keys: np.ndarray,
    col_keys: np.ndarray,
    values: np.ndarray,
    mask: np.ndarray,
    total_label: str,
) -> np.ndarray:
    """One period's table: add the smallest shown cell beside an exposed one until none is."""
    mask = mask.copy()
    while True:
        exposed = exposed_cells(row_keys, col_keys, values, mask, total_label, first=True)
        if not exposed:
            return mask
        target = exposed[0]
        beside = (row_keys == row_keys[target]) | (col_keys == col_keys[target])
        candidates = np.flatnonzero(beside & ~mask & ~np.isnan(values) & (values > 0))
        if len(candidates) == 0:
            candidates = np.flatnonzero(~mask & ~np.isnan(values) & (values > 0))
        if len(candidates) == 0:
            return mask
        mask[candidates[np.argmin(values[candidates])]] = True


def exposed_cells(
    row_keys: np.ndarray,
    col_keys: np.ndarray,
    values: np.ndarray,
    mask: np.ndarray,
    total_label: str = "All",
    first: bool = False,
) -> list[int]:
    """The suppressed cells of one two-way table (margins included) a viewer can work out.

    With the margins' signs turned, every row and column of the table sums to zero, so the
    suppressed cells are the edges of a graph between rows and columns, and what the viewer
    does not know is how much can be moved round its cycles (alternately added and taken
    away). A cell is worked out when no cycle through it can move: when it lies on no cycle
    (subtraction along one line, or across several), or when every cycle through it would take
    a count of 1 below 1 (zeros are shown, so a suppressed count is at least 1: a line whose
    hidden cells add up to one each, say). A cycle moves when the counts of 1 on it all go up
    in one of its two directions; by the conformal decomposition of the table's cycle space
    that is the whole test (the same as linear programming on each cell's least and greatest
    value, which the tests use). Cells with no value (never shown) are unknown edges that can
    move, and never exposed themselves. `first` stops at the first exposed cell.
    """
    hidden = np.flatnonzero(mask | np.isnan(values))
    rows = ["r" + str(k) for k in row_keys[hidden]]
    cols = ["c" + str(k) for k in col_keys[hidden]]
    # x-space sign of an edge when its y-space value goes up: margins (one total) turned.
    signs = [
        -1 if (r == "r" + total_label) != (c == "c" + total_label) else 1
        for r, c in zip(rows, cols, strict=True)
    ]
    ones = [bool(values[p] == 1) for p in hidden]
    out = []
    for e, position in enumerate(hidden):
        if np.isnan(values[position]) or not mask[position]:
            continue
        directions = (signs[e],) if ones[e] else (1, -1)
        if not any(_returns(e, sigma, rows, cols, signs, ones) for sigma in directions):
            out.append(int(position))
            if first:
                break
    return out


def _returns(e: int, sigma: int, rows, cols, signs, ones) -> bool:
    """True when a cycle through edge `e` (its y-value moving by `sigma`) can move: a path
    from its column back to its row in which every count of 1 goes up."""
    arcs: dict[str, list[str]] = defaultdict(list)
    for f, (r, c) in enumerate(zip(rows, cols, strict=True)):
        if f == e:
            continue
        # Row to column, the edge's y-value moves by sigma; column to row, by -sigma.
        if not ones[f] or signs[f] * sigma > 0:
            arcs[r].append(c)
        if not ones[f] or -signs[f] * sigma > 0:
            arcs[c].append(r)
    start, goal = cols[e], rows[e]
    seen, todo = {start}, [start]
    while todo:
        for nxt in arcs[todo.pop()]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


# -- one decision across the grains of a flow (a quarter is the sum of its months) -------------


def grain_masks(
    cells: pd.DataFrame,
    value: str = "value",
    *,
    rows: str = "unit",
    cols: str = "age_band",
    grain: str = "grain",
    period: str = "period_end",
    total_label: str = "All",
    threshold: int | None = None,
) -> np.ndarray:
    """:func:`cube_masks` for every grain of a flow at once, consistent across the grains.

    A flow (starts, ends, referrals: counted over the period) adds up over time: a quarter's
    count is the sum of its three months and a financial year's the sum of its four quarters.
    A viewer who switches the grain holds all three, so one month hidden in a quarter shown
    is the quarter less the other two months. `cells` holds the locality x age-band tables
    (margins labelled `total_label`) of every period at every grain: ``month``, ``quarter``,
    ``financial_year`` in `grain` (quarters end in March, June, September and December; a
    financial year on 31 March). Each period's table is protected as :func:`cube_masks` does;
    then, for each cell of the table (a locality and age band), its year, quarters and months
    make a tree of sums (:func:`disclosure_linked.time_sums`, only where every part is there); wherever
    the sums, with every hidden count at least 1, pin a hidden cell (:func:`_line_exposed`),
    the count shown with the smallest value in the same sum is hidden too (a second month of
    the quarter, say, rather than the quarter): the least information lost. The
    two steps take turns until neither hides anything more. Last, every relation of a
    financial year at once (the three-way table period x locality x age band, which can pin
    a cell neither step sees) is audited, and more hidden until none is worked out
    (:func:`disclosure_linked.linked_masks`). Stocks (counted on the last day)
    do not add up over time and take :func:`cube_masks` for each grain on its own.
    """
    threshold = config.suppression_threshold() if threshold is None else threshold
    values = pd.to_numeric(cells[value], errors="coerce").to_numpy(dtype=float)
    mask = cube_masks(
        cells,
        value,
        rows=rows,
        cols=cols,
        by=(grain, period),
        total_label=total_label,
        threshold=threshold,
    )
    row_keys = cells[rows].astype(str).to_numpy()
    col_keys = cells[cols].astype(str).to_numpy()
    tables = [np.asarray(p) for p in cells.groupby([grain, period], sort=False).indices.values()]
    groups = disclosure_linked.time_sums(cells, rows, cols, grain, period)
    lines = _lines(groups)
    line_of: dict[int, list[int]] = defaultdict(list)
    for number, line in enumerate(lines):
        for position in {int(p) for total, parts in line for p in (total, *parts)}:
            line_of[position].append(number)
    dirty = set(range(len(lines)))
    while True:
        before = mask.copy()
        for number in sorted(dirty):
            _protect_line(values, mask, lines[number])
        for positions in tables:
            if (mask[positions] != before[positions]).any():
                mask[positions] = _protect_table(
                    row_keys[positions],
                    col_keys[positions],
                    values[positions],
                    mask[positions],
                    total_label,
                )
        changed = np.flatnonzero(mask != before)
        if len(changed) == 0:
            break
        dirty = {number for p in changed for number in line_of.get(int(p), ())}
    # Each table and each line over time is safe now; together they can still pin a cell.
    return disclosure_linked.linked_masks(
        cells,
        mask,
        value,
        rows=rows,
        cols=cols,
        grain=grain,
        period=period,
        total_label=total_label,
    )


def _lines(groups: list[tuple[int, np.ndarray]]) -> list[list[tuple[int, np.ndarray]]]:
    """The groups joined into trees: a year, its quarters and their months, for one cell."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for total, parts in groups:
        for p in parts:
            a, b = root(int(total)), root(int(p))
            if a != b:
                parent[b] = a
    trees: dict[int, list] = defaultdict(list)
    for group in groups:
        trees[root(int(group[0]))].append(group)
    return list(trees.values())


def _protect_line(values: np.ndarray, mask: np.ndarray, line) -> None:
    """Hide the smallest count shown beside each hidden cell of one tree (a year, its quarters,
    its months) that the tree's sums give away (:func:`_line_exposed`), until none is."""
    while True:
        exposed = _line_exposed(values, mask, line)
        if exposed is None:
            return
        beside = [
            np.concatenate([[total], parts])
            for total, parts in line
            if exposed == total or exposed in parts
        ]
        near = np.unique(np.concatenate(beside))
        every = np.unique(np.concatenate([np.concatenate([[t], p]) for t, p in line]))
        for pool in (near, every):
            candidates = pool[~mask[pool] & ~np.isnan(values[pool]) & (values[pool] > 0)]
            if len(candidates):
                mask[candidates[np.argmin(values[candidates])]] = True
                break
        else:
            return


def _line_exposed(values: np.ndarray, mask: np.ndarray, line) -> int | None:
    """A hidden cell of one tree of sums that a viewer can work out, else None.

    Each hidden count is at least 1 (zeros are shown) and each total is the sum of its parts;
    bounds are tightened along the sums until they settle. On a tree of sums (each period is
    a part of one total at most) that is exact: a cell whose least and greatest value meet is
    worked out. Cells with no value are unknown, at least 0.
    """
    cells = np.unique(np.concatenate([np.concatenate([[t], p]) for t, p in line]))
    low, high = {}, {}
    for c in cells:
        if np.isnan(values[c]):
            low[c], high[c] = 0.0, np.inf
        elif mask[c]:
            low[c], high[c] = 1.0, np.inf
        else:
            low[c] = high[c] = values[c]
    changed = True
    while changed:
        changed = False
        for total, parts in line:
            lo_sum = sum(low[p] for p in parts)
            hi_sum = sum(high[p] for p in parts)
            new_lo, new_hi = max(low[total], lo_sum), min(high[total], hi_sum)
            if new_lo > low[total] + 1e-9 or new_hi < high[total] - 1e-9:
                low[total], high[total], changed = new_lo, new_hi, True
            for p in parts:
                others_lo = lo_sum - low[p]
                others_hi = hi_sum - high[p] if np.isfinite(high[p]) else np.inf
                if not np.isfinite(high[p]):
                    others_hi = sum(high[q] for q in parts if q != p)
                new_lo = max(low[p], low[total] - others_hi)
                new_hi = min(high[p], high[total] - others_lo)
                if new_lo > low[p] + 1e-9 or new_hi < high[p] - 1e-9:
                    low[p], high[p], changed = new_lo, new_hi, True
                    lo_sum = sum(low[q] for q in parts)
                    hi_sum = sum(high[q] for q in parts)
    for c in cells:
        if mask[c] and not np.isnan(values[c]) and np.isclose(low[c], high[c]):
            return int(c)
    return None


def escape_formula(value):
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and header that a spreadsheet would run escaped.

    Only text is touched: numbers (a negative count, a change of -3) keep their numeric dtype
    and value. Categorical columns become text, escaped.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[column] = values.astype(object).map(escape_formula)
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[column] = values.map(escape_formula)
    out.columns = [escape_formula(str(c)) for c in out.columns]
    return out


def iso_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every date column as ISO text ('2026-03-31'), not Timestamps with times."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with BOM, so Excel reads it) with formula injection escaped."""
    # CRLF ends rows (RFC 4180), so a carriage return inside a cell is quoted, not a new row.
    return escape_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


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
