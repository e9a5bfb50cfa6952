"""Each unknown's least and greatest value over one linear system, for the recovery attacks.

An attacker's strongest bounded attack solves two linear programmes per hidden count (its
minimum and its maximum subject to every sum a viewer can write). `scipy.optimize.linprog`
builds a new HiGHS model for each of them; here one model is built per system and only the
objective changes, so HiGHS starts each solve from the last basis. On the grains test's joint
attack (3,708 programmes) that is 37.6 s with linprog and 8.2 s here, with the same results.
"""

from __future__ import annotations

import highspy
import numpy as np
from scipy.sparse import csc_matrix


class Bounded:
    """`matrix @ x == rhs` with every unknown between `lower` and `upper` (None: no bound)."""

    def __init__(self, matrix, rhs, lower=1.0, upper=None):
        columns = csc_matrix(np.asarray(matrix, float))
        n_rows, n_columns = columns.shape
        model = highspy.HighsLp()
        model.num_col_ = n_columns
        model.num_row_ = n_rows
        model.col_cost_ = np.zeros(n_columns)
        model.col_lower_ = np.broadcast_to(np.asarray(lower, float), (n_columns,)).copy()
        high = highspy.kHighsInf if upper is None else upper
        model.col_upper_ = np.broadcast_to(np.asarray(high, float), (n_columns,)).copy()
        rhs = np.asarray(rhs, float)
        model.row_lower_ = rhs
        model.row_upper_ = rhs
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = columns.indptr
        model.a_matrix_.index_ = columns.indices
        model.a_matrix_.value_ = columns.data
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.passModel(model)
        self._costed: int | None = None

    def optimum(self, column: int, direction: float) -> tuple[np.ndarray, float] | None:
        """The solution and objective of minimising `direction * x[column]` (-1: maximise),
        or None when the system has no solution within the bounds."""
        highs = self._highs
        if self._costed is not None:
            highs.changeColCost(self._costed, 0.0)
        highs.changeColCost(column, direction)
        self._costed = column
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.array(highs.getSolution().col_value), highs.getInfo().objective_function_value
