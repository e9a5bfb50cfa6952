"""Row orders on arrays, shared by the readers, the checks and the definitions.

Each of them holds a child's rows together and in date order, and each asks first whether the
rows already are in the order it needs (a pass over the keys costs far less than a sort).
"""

from __future__ import annotations

import numpy as np


def in_order(keys: list[np.ndarray], ties: np.ndarray | None = None) -> bool:
    """Whether the rows are in lexicographic order of `keys` (each an array of one key).

    `ties` (one flag per pair of neighbouring rows) marks the pairs that must be in order; by
    default every pair. A pair that differs in a key need not be in order in the next one."""
    if len(keys) == 0 or len(keys[0]) < 2:
        return True
    ties = np.ones(len(keys[0]) - 1, dtype=bool) if ties is None else ties.copy()
    for array in keys:
        after, before = array[1:], array[:-1]
        if ((after < before) & ties).any():
            return False
        ties &= after == before
    return True


def by_child_then(child: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The order of a stable sort by child, then `key` (ties stay in row order). A return
    usually lists each child's episodes in DECOM order, so a stable sort by child alone is
    tried first (about a third of the cost of a sort by both) and kept when a pass finds
    each child's rows in `key` order."""
    order = np.argsort(child, kind="stable")
    if in_order([child[order], key[order]]):
        return order
    return np.lexsort((key, child))
