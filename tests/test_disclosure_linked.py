"""`disclosure_linked.pinned_cells`: which hidden cells a viewer holding the sums can work out
(the flows' linked audit and the Practice grade family's audit both rest on it)."""

from __future__ import annotations

import numpy as np

from pipelines import disclosure_linked

# A total (position 0) and three parts (1, 2, 3).
SUM = [(0, np.array([1, 2, 3]))]


def pinned(values, mask, relations=SUM, **options) -> list[int]:
    return disclosure_linked.pinned_cells(
        np.asarray(values, float), np.asarray(mask, bool), relations, set(), **options
    )


# -- pinned_cells ----------------------------------------------------------------------------------


def test_one_hidden_part_is_the_total_less_the_others():
    assert pinned([9, 2, 3, 4], [False, True, False, False]) == [1]


def test_two_hidden_parts_adding_to_two_are_one_each():
    assert pinned([9, 1, 1, 7], [False, True, True, False]) == [1, 2]


def test_two_hidden_parts_adding_to_more_are_free():
    assert pinned([11, 2, 2, 7], [False, True, True, False]) == []


def test_a_hidden_zero_beside_a_one_pins_both_when_zeros_hide():
    # 1 = x + y with x >= 1 (true 1) and y >= 0 (true 0): x = 1, y = 0 in every solution
    assert pinned([8, 1, 0, 7], [False, True, True, False], zeros_hidden=True) == [1, 2]


def test_a_hidden_zero_beside_a_two_is_free_when_zeros_hide():
    assert pinned([9, 2, 0, 7], [False, True, True, False], zeros_hidden=True) == []


def test_a_hidden_cell_in_no_sum_is_free():
    assert pinned([9, 2, 3, 4, 1], [False, False, False, False, True]) == []


def test_nothing_hidden_nothing_pinned():
    assert pinned([9, 2, 3, 4], [False] * 4) == []
