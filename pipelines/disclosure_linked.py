"""The audit of a flow's linked tables: months, quarters and years, each with both margins.

A viewer of a flow (starts, ends, referrals) holds, for each financial year, the locality x
age-band table of every month, quarter and the year, margins included: a three-way table
(period x locality x age band) whose cells are tied by every margin and by the sums over
time (a quarter is its three months, a year its four quarters). Each of those relations on
its own is protected (`disclosure.cube_masks` for a table, `disclosure.grain_masks` along
time), but together they can still pin a hidden count: measured on the sample, 1,658 counts
of 1 to 4 came back from CLA starts that way (tests/test_disclosure_grains.py).

This module audits the whole linked system of one financial year at once and hides more
until no hidden cell can be worked out:

- the relations are equations between the cells (:func:`linked_relations`); the hidden
  cells are the unknowns, each at least 1 (zeros are shown);
- a hidden cell is worked out (:func:`pinned_cells`) when every solution gives it the same
  value. That happens in two ways: the equations fix it (:func:`fixed_by_equations`), or the
  bound fixes some cells at 1 (every hidden count in a sum is 1: :func:`always_one`), and
  with those fixed the equations fix more;
- for each cell worked out, the smallest count shown in a relation with it is hidden too,
  and the year is audited again. Hiding a cell only widens what a viewer can think, so
  each round can only free cells, and the loop ends.

The audit knows the true counts, which are one solution: a cell whose true count is above 1
cannot be held at 1 by the bound, so only the true 1s need linear programming, and a cell
seen to move once keeps moving after more is hidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.linalg import svd
from scipy.optimize import linprog
from threadpoolctl import threadpool_limits

#: A relation: the position of a total and the positions of the parts it is the sum of.
Relation = tuple[int, np.ndarray]


def time_sums(cells: pd.DataFrame, rows: str, cols: str, grain: str, period: str) -> list[Relation]:
    """(total, parts) positions of `cells`: each quarter with its three months and each
    financial year with its four quarters, for the same locality and age band. A total whose
    parts are not all there (a period not yet complete) has no relation."""
    when = pd.to_datetime(cells[period]).reset_index(drop=True)
    kind = cells[grain].astype(str).to_numpy()
    quarter_end = (when + pd.offsets.QuarterEnd(0)).dt.normalize()
    year_end = pd.Series(
        pd.to_datetime(
            np.where(when.dt.month <= 3, when.dt.year, when.dt.year + 1).astype(str) + "-03-31"
        )
    )
    key = list(zip(cells[rows].astype(str), cells[cols].astype(str), strict=True))
    position = {(k, g, w): i for i, (k, g, w) in enumerate(zip(key, kind, when, strict=True))}
    members: dict[tuple, list[int]] = defaultdict(list)
    for i, (k, g) in enumerate(zip(key, kind, strict=True)):
        if g == "month":
            members[(k, "quarter", quarter_end.iloc[i])].append(i)
        elif g == "quarter":
            members[(k, "financial_year", year_end.iloc[i])].append(i)
    expected = {"quarter": 3, "financial_year": 4}
    out = []
    for (k, g, w), parts in members.items():
        total = position.get((k, g, w))
        if total is not None and len(parts) == expected[g]:
            out.append((total, np.asarray(parts)))
    return out


def margin_sums(
    cells: pd.DataFrame, rows: str, cols: str, by: list[str], total_label: str
) -> list[Relation]:
    """(total, parts) positions of every line of every table (one per `by` group): each
    locality's all-ages cell is the sum of its age bands, each age band's all-localities
    cell the sum of the localities."""
    row_keys = cells[rows].astype(str).to_numpy()
    col_keys = cells[cols].astype(str).to_numpy()
    out = []
    for positions in cells.groupby(by, sort=False).indices.values():
        positions = np.asarray(positions)
        for line_keys, across in ((row_keys, col_keys), (col_keys, row_keys)):
            for key in np.unique(line_keys[positions]):
                line = positions[line_keys[positions] == key]
                total = line[across[line] == total_label]
                parts = line[across[line] != total_label]
                if len(total) == 1 and len(parts):
                    out.append((int(total[0]), parts))
    return out


def linked_relations(
    cells: pd.DataFrame,
    rows: str = "unit",
    cols: str = "age_band",
    grain: str = "grain",
    period: str = "period_end",
    total_label: str = "All",
) -> list[Relation]:
    """Every sum a viewer of `cells` (one flow's tables at every grain) can write down."""
    return time_sums(cells, rows, cols, grain, period) + margin_sums(
        cells, rows, cols, [grain, period], total_label
    )


# -- what a viewer can work out -------------------------------------------------------------------


def fixed_by_equations(matrix: np.ndarray) -> np.ndarray:
    """Which unknowns the equations ``matrix @ x = b`` fix (the same in every solution).

    An unknown is fixed when no direction of the null space moves it: its column of the
    right singular vectors beyond the rank is zero. (An SVD, because a pivoted QR of these
    tall, sparse 0/1 matrices is several times slower here.)
    """
    rows, n = matrix.shape
    if rows == 0:
        return np.zeros(n, dtype=bool)
    if rows < n:
        matrix = np.vstack([matrix, np.zeros((n - rows, n))])
    _, singular, right = svd(matrix, full_matrices=False, check_finite=False)
    rank = int((singular > singular.max(initial=0.0) * max(matrix.shape) * 1e-12).sum())
    null = right[rank:]
    if null.size == 0:
        return np.ones(n, dtype=bool)
    return np.linalg.norm(null, axis=0) < 1e-9


def always_one(
    matrix: sparse.csr_matrix, rhs: np.ndarray, lower: np.ndarray, candidates: list[int]
) -> set[int]:
    """The `candidates` (unknowns whose true value is their least, 1) held there in every
    solution of ``matrix @ x = rhs, x >= lower``.

    One linear programme lifts as many of them as it can off their bound at once (each by at
    most 1); the ones it lifts are free, and it runs again on the rest until it lifts none:
    those cannot move (a point lifting any of them would, averaged with the others, lift
    more).
    """
    n = matrix.shape[1]
    todo = sorted(candidates)
    while todo:
        k = len(todo)
        slack = sparse.csr_matrix((np.ones(k), (np.arange(k), np.arange(k))), shape=(k, k))
        lift = sparse.csr_matrix((-np.ones(k), (np.arange(k), todo)), shape=(k, n))
        result = linprog(
            np.concatenate([np.zeros(n), -np.ones(k)]),
            A_ub=sparse.hstack([lift, slack]).tocsr(),
            b_ub=-lower[todo],
            A_eq=sparse.hstack([matrix, sparse.csr_matrix((matrix.shape[0], k))]).tocsr(),
            b_eq=rhs,
            bounds=[(low, None) for low in lower] + [(0.0, 1.0)] * k,
            method="highs",
        )
        if result.status != 0:  # cannot happen: the true counts are a solution
            return set(todo)
        lifted = result.x[n:] > 1e-7
        if not lifted.any():
            return set(todo)
        todo = [c for c, up in zip(todo, lifted, strict=True) if not up]
    return set()


def pinned_cells(
    values: np.ndarray,
    mask: np.ndarray,
    relations: list[Relation],
    moving: set[int],
    *,
    zeros_hidden: bool = False,
) -> list[int]:
    """The hidden cells (positions) a viewer holding every relation can work out.

    `moving` holds cells already seen off their bound; it is updated (hiding more never
    holds a cell that moved). `zeros_hidden`: some hidden counts are 0 (a table that hides a
    quarter's row whole, as the Practice page does), so those are bounded at 0, not 1, and
    the true counts stay a solution."""
    hidden = np.flatnonzero(mask | np.isnan(values))
    if len(hidden) == 0:
        return []
    unknown = {int(p): i for i, p in enumerate(hidden)}
    entries_row, entries_col, entries_val, rhs = [], [], [], []
    for total, parts in relations:
        members = ((int(total), -1.0), *((int(p), 1.0) for p in parts))
        if not any(m in unknown for m, _ in members):
            continue
        known = 0.0
        for m, sign in members:
            if m in unknown:
                entries_row.append(len(rhs))
                entries_col.append(unknown[m])
                entries_val.append(sign)
            else:
                known += sign * values[m]
        rhs.append(-known)
    truth = values[hidden]
    real = ~np.isnan(truth)
    if not rhs:  # no sum a viewer can write holds a hidden cell: each is free
        return []
    n = len(hidden)
    matrix = sparse.csr_matrix(
        (entries_val, (entries_row, entries_col)), shape=(len(rhs), n), dtype=float
    )
    rhs = np.asarray(rhs)
    # Never-shown cells (no value) are unknown and at least 0; hidden counts at least 1
    # (or 0, where zeros hide too).
    lower = np.where(real & ((truth >= 1) | (not zeros_hidden)), 1.0, 0.0)
    candidates = [i for i in np.flatnonzero(real & (truth == 1)) if int(hidden[i]) not in moving]
    held = always_one(matrix, rhs, lower, candidates)
    moving.update(int(hidden[i]) for i in candidates if i not in held)
    dense = matrix.toarray()
    if held:
        at_one = np.zeros((len(held), n))
        at_one[np.arange(len(held)), sorted(held)] = 1.0
        dense = np.vstack([dense, at_one])
    fixed = fixed_by_equations(dense)
    return [int(hidden[i]) for i in np.flatnonzero(fixed & real)]


# -- hiding more until nothing is worked out -------------------------------------------------------


def protect_linked(
    values: np.ndarray,
    mask: np.ndarray,
    relations: list[Relation],
    rank: np.ndarray | None = None,
    *,
    zeros_hidden: bool = False,
    widen: Callable[[np.ndarray, list[int]], np.ndarray] | None = None,
) -> np.ndarray:
    """`mask` with more cells hidden until :func:`pinned_cells` finds none: for each cell
    worked out, the count shown in a relation with it with the lowest `rank` (none given:
    all equal), then the smallest (the least information lost). Preferring the finest cells
    (a locality's age band before a margin) was tried: it cascaded into hiding the area's
    own quarters, which the smallest-first rule does not.

    `widen(mask, chosen)` gives the mask with the `chosen` cells hidden, where hiding one cell
    hides others with it (the Practice page hides a quarter's row in several measures at
    once); by default just those cells. `zeros_hidden` is :func:`pinned_cells`'."""
    rank = np.zeros(len(values)) if rank is None else np.asarray(rank)
    mask = mask.copy()
    beside: dict[int, set[int]] = defaultdict(set)
    for total, parts in relations:
        members = {int(total), *(int(p) for p in parts)}
        for m in members:
            beside[m] |= members
    showable = ~np.isnan(values) & (values > 0)
    moving: set[int] = set()
    while True:
        pinned = pinned_cells(values, mask, relations, moving, zeros_hidden=zeros_hidden)
        if not pinned:
            return mask
        more = set()
        for cell in pinned:
            near = [c for c in beside.get(cell, ()) if showable[c] and not mask[c]]
            if not near:  # held by shown zeros alone: anything shown
                near = [int(c) for c in np.flatnonzero(showable & ~mask)]
            if near:
                more.add(min(near, key=lambda c: (rank[c], values[c], c)))
        if not more:
            return mask
        if widen is None:
            mask[sorted(more)] = True
        else:
            mask = np.asarray(widen(mask, sorted(more)), dtype=bool)


def linked_masks(
    cells: pd.DataFrame,
    mask: np.ndarray,
    value: str = "value",
    *,
    rows: str = "unit",
    cols: str = "age_band",
    grain: str = "grain",
    period: str = "period_end",
    total_label: str = "All",
) -> np.ndarray:
    """`mask` (one flow's cells at every grain, hidden) made safe against every relation at
    once, one financial year at a time (no sum crosses a year end)."""
    mask = np.asarray(mask, dtype=bool).copy()
    if cells.empty:
        return mask
    values = pd.to_numeric(cells[value], errors="coerce").to_numpy(dtype=float)
    when = pd.to_datetime(cells[period])
    year = np.where(when.dt.month <= 3, when.dt.year, when.dt.year + 1)
    # These matrices are a few hundred wide: a threaded BLAS only fights the other work on
    # the machine for them (measured: 5 s for CLA starts on one thread, 38 s on two busy
    # cores). The years are independent and their solvers release the GIL, so two years are
    # audited at a time instead.
    blocks = [np.asarray(p) for p in pd.Series(year).groupby(year).indices.values()]

    def audit(positions: np.ndarray) -> np.ndarray:
        block = cells.iloc[positions].reset_index(drop=True)
        relations = linked_relations(block, rows, cols, grain, period, total_label)
        return protect_linked(values[positions], mask[positions], relations)

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(2) as pool:
        for positions, protected in zip(blocks, pool.map(audit, blocks), strict=True):
            mask[positions] = protected
    return mask
