"""A linear-programming attack on the audit-grade family of the Practice page (issue 16).

A viewer of the five grade measures (good or outstanding and the four grades) holds, for each
quarter and unit, the audits graded so and the audits wherever a row is shown. They can write
down, per quarter: each measure's unit margin (all units = the sum of the units), the audits'
unit margin, the four grades summing to the audits, and good or outstanding = good +
outstanding; across quarters, each change-since-rollout window (audits, and audits graded so
where the per cent and n give one count). Every hidden count is an unknown. For each one this
solves min and max (`linprog`, HiGHS) and calls it recovered when a single whole number lies
between them and it is the true count, 1 to 4.

The unknowns' lower bound is the attacker's assumption:

- ``zero``: every hidden count at least 0, all a viewer may assume (the page hides a quarter's
  row whole, zeros included);
- ``known zeros``: at least 1 wherever the true count is 1 or more, and 0 where it is 0, as if
  the viewer knew which hidden counts are zero (stronger than any viewer: the gate is audited
  against this one, `practice_gate._audit_family`);
- ``at least 1``: every hidden count at least 1, the outcome flows' assumption. Where a quarter
  hides a zero that premise is false and its conclusions are wrong (all six units' hidden
  "outstanding" pinned at 1 when three are 3, 0 and 0), so recoveries are counted only in
  quarters where it holds; there it is the ``known zeros`` attack.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from pipelines.measures import UNIT_ALL

TOTAL = "good_or_better"
GRADES = ("grade:Good", "grade:Outstanding", "grade:Inadequate", "grade:Requires improvement")
FAMILY = (TOTAL, *GRADES)
BOUNDS = ("zero", "known zeros", "at least 1")


@dataclass
class Shown:
    """What the viewer holds: (measure, unit, quarter) -> audits graded so, (unit, quarter) ->
    audits (None: hidden), and sums over several quarters (variables -> coefficient, total)."""

    graded: dict = field(default_factory=dict)
    audits: dict = field(default_factory=dict)
    windows: list = field(default_factory=list)


@dataclass
class Outcome:
    """One attack's result: recoveries (descriptions), linear programmes solved, quarters
    attacked, and for ``at least 1`` the quarters whose premise is false."""

    recovered: list = field(default_factory=list)
    programmes: int = 0
    systems: int = 0
    false_premise: int = 0


def shown_from_decisions(decided: dict[str, pd.DataFrame]) -> Shown:
    """What the gate's quarter tables (measure -> `practice_gate.family_quarters`' frame) let a
    viewer see, for respondent All: a row's counts where it is shown."""
    out = Shown()
    for measure in FAMILY:
        rows = decided[measure]
        rows = rows[rows["respondent"] == UNIT_ALL]
        for unit, quarter, successes, trials, hidden in zip(
            rows["unit"],
            rows["period_end"],
            rows["successes"],
            rows["trials"],
            rows["hidden"],
            strict=True,
        ):
            key = (str(unit), pd.Timestamp(quarter))
            out.graded[(measure, *key)] = None if hidden else float(successes)
            if not hidden or key not in out.audits:
                out.audits[key] = None if hidden else float(trials)
    return out


def truths_from_cells(cells: dict[str, pd.DataFrame]) -> dict:
    """measure -> (unit, quarter end) -> (audits graded so, audits), respondent All, from
    `marts.practice_cells` frames (the warehouse's counts)."""
    out = {}
    for measure, frame in cells.items():
        frame = frame[frame["respondent"] == UNIT_ALL]
        out[measure] = {
            (str(u), pd.Timestamp(q)): (float(s), float(t))
            for u, q, s, t in zip(
                frame["unit"], frame["period_end"], frame["successes"], frame["trials"], strict=True
            )
        }
    return out


def truth_of(truths: dict, variable: tuple) -> float:
    """The true count of a variable ("x", measure, unit, quarter) or ("n", unit, quarter)."""
    if variable[0] == "x":
        return truths[variable[1]].get(variable[2:], (0.0, 0.0))[0]
    return truths[TOTAL].get(variable[1:], (0.0, 0.0))[1]


def equations(shown: Shown) -> list[tuple[dict, float, object]]:
    """(variables -> coefficient, right-hand side, quarter or None) with shown counts moved to
    the right: every sum the viewer can write down."""

    def known(variable):
        if variable[0] == "x":
            return shown.graded.get(variable[1:])
        return shown.audits.get(variable[1:])

    out = []

    def add(terms: dict, rhs: float, quarter) -> None:
        coefficients, constant = {}, 0.0
        for variable, c in terms.items():
            value = known(variable)
            if value is None:
                coefficients[variable] = coefficients.get(variable, 0.0) + c
            else:
                constant += c * value
        if coefficients:
            out.append((coefficients, rhs - constant, quarter))

    quarters = sorted({q for _, q in shown.audits})
    units = sorted({u for u, _ in shown.audits} - {UNIT_ALL})
    for q in quarters:
        for m in FAMILY:
            add({("x", m, UNIT_ALL, q): 1.0, **{("x", m, u, q): -1.0 for u in units}}, 0.0, q)
        add({("n", UNIT_ALL, q): 1.0, **{("n", u, q): -1.0 for u in units}}, 0.0, q)
        for u in (UNIT_ALL, *units):
            add({**{("x", g, u, q): 1.0 for g in GRADES}, ("n", u, q): -1.0}, 0.0, q)
            add(
                {
                    ("x", TOTAL, u, q): 1.0,
                    ("x", GRADES[0], u, q): -1.0,
                    ("x", GRADES[1], u, q): -1.0,
                },
                0.0,
                q,
            )
    for terms, total in shown.windows:
        add(terms, total, None)
    return out


def attack(shown: Shown, truths: dict, bound: str, *, per_quarter: bool = True) -> Outcome:
    """Min and max of each hidden count under `bound` (one of :data:`BOUNDS`), each quarter's
    sums on their own (`per_quarter`) or every sum at once."""
    system = [e for e in equations(shown) if e[2] is not None or not per_quarter]
    groups: dict = defaultdict(list)
    for e in system:
        groups[e[2] if per_quarter else None].append(e)
    out = Outcome()
    for eqs in groups.values():
        variables = sorted({v for e in eqs for v in e[0]}, key=str)
        truth = np.array([truth_of(truths, v) for v in variables])
        if bound == "zero":
            lower = np.zeros(len(variables))
        elif bound == "known zeros":
            lower = np.minimum(truth, 1.0)
        else:
            lower = np.ones(len(variables))
            if (truth < 1).any():  # a hidden zero: the premise is false here
                out.false_premise += 1
                continue
        out.systems += 1
        out.recovered += _solve(variables, eqs, lower, truth, out)
    return out


def _solve(variables, eqs, lower, truth, out: Outcome) -> list[str]:
    index = {v: i for i, v in enumerate(variables)}
    rows, cols, vals, rhs = [], [], [], []
    for r, (coefficients, total, _) in enumerate(eqs):
        for v, c in coefficients.items():
            rows.append(r)
            cols.append(index[v])
            vals.append(c)
        rhs.append(total)
    matrix = csr_matrix((vals, (rows, cols)), shape=(len(eqs), len(variables)))
    bounds = [(low, None) for low in lower]
    far = np.zeros(len(variables), bool)  # a solution 1 or more away from the truth was seen
    found = []
    for i, v in enumerate(variables):
        if far[i] or not 1 <= truth[i] <= 4:
            continue
        ends = []
        for direction in (1.0, -1.0):
            goal = np.zeros(len(variables))
            goal[i] = direction
            result = linprog(goal, A_eq=matrix, b_eq=np.array(rhs), bounds=bounds, method="highs")
            out.programmes += 1
            if result.status == 3:  # unbounded above
                ends.append(math.inf)
                continue
            assert result.status == 0, f"the true counts solve every sum ({result.message})"
            far |= np.abs(result.x - truth) >= 1 - 1e-9
            ends.append(direction * result.fun)
        if math.isinf(ends[1]):
            continue
        low, high = math.ceil(ends[0] - 1e-7), math.floor(ends[1] + 1e-7)
        if low == high == truth[i]:
            where = " ".join(str(p) for p in v[1:-1])
            found.append(f"{where} {v[-1]:%Y-%m-%d} = {truth[i]:g}")
    return found
