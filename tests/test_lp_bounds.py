"""tests/lp_bounds.py gives the same least and greatest values as scipy's linprog."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from tests.lp_bounds import Bounded


@pytest.mark.parametrize("seed", range(6))
def test_each_optimum_matches_linprog_on_a_random_table(seed):
    """A random 3 x 4 table of counts with its row and column sums known, some cells shown:
    every hidden cell's least and greatest value, one model reused for all of them."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 9, size=(3, 4)).astype(float)
    hidden = rng.random(table.shape) < 0.6
    keys = list(zip(*np.nonzero(hidden), strict=True))
    lines = [[k for k in keys if k[0] == r] for r in range(3)]
    lines += [[k for k in keys if k[1] == c] for c in range(4)]
    lines = [line for line in lines if line]
    # Each row's and column's total less its shown cells: what its hidden cells add up to.
    matrix = np.array([[1.0 if k in line else 0.0 for k in keys] for line in lines])
    rhs = np.array([sum(table[k] for k in line) for line in lines])
    bounded = Bounded(matrix, rhs, lower=0.0)
    for i in range(len(keys)):
        for direction in (1.0, -1.0):
            goal = np.zeros(len(keys))
            goal[i] = direction
            expected = linprog(goal, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
            x, objective = bounded.optimum(i, direction)
            assert objective == pytest.approx(expected.fun, abs=1e-7)
            assert np.allclose(matrix @ x, rhs) and (x >= -1e-9).all()


def test_a_system_with_no_solution_in_its_bounds_gives_none():
    """x + y = 1 with both at least 1 has no solution."""
    bounded = Bounded(np.array([[1.0, 1.0]]), np.array([1.0]), lower=1.0)
    assert bounded.optimum(0, 1.0) is None
    assert bounded.optimum(1, -1.0) is None


def test_an_upper_bound_is_kept():
    """x + y = 10, x at most 3: y is at least 7."""
    bounded = Bounded(np.array([[1.0, 1.0]]), np.array([10.0]), lower=0.0, upper=[3.0, np.inf])
    _, least = bounded.optimum(1, 1.0)
    assert least == pytest.approx(7.0)
