"""The grade family's audit (`practice_gate._audit_family`): within a quarter no hidden count is
pinned by the family's sums with each hidden count at least 1 (0 where it is 0).

Attacked with tests/practice_lp.py on quarter tables built here (the sample's own quarters are
attacked in tests/test_disclosure_practice.py, where the gate without the audit already
recovers nothing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.present import practice_gate
from tests import practice_lp

QUARTER = pd.Timestamp("2024-06-30")
GOOD, OUTSTANDING, INADEQUATE, REQUIRES = practice_lp.GRADES


def quarter_cells(graded: dict[str, list[int]], audits: list[int]) -> dict[str, pd.DataFrame]:
    """measure -> one quarter's `marts.practice_cells` frame: units A, B, ... and All."""
    units = [chr(ord("A") + i) for i in range(len(audits))]
    graded = {
        **graded,
        practice_lp.TOTAL: [g + o for g, o in zip(graded[GOOD], graded[OUTSTANDING], strict=True)],
    }

    def frame(counts):
        rows = [
            (QUARTER, u, "All", float(c), float(t))
            for u, c, t in zip(units, counts, audits, strict=True)
        ]
        rows.append((QUARTER, "All", "All", float(sum(counts)), float(sum(audits))))
        return pd.DataFrame(
            rows, columns=["period_end", "unit", "respondent", "successes", "trials"]
        )

    return {m: frame(graded[m]) for m in practice_lp.FAMILY}


#: Found by a random search (seed 0, the 74th table): the union rule hides every unit's grades,
#: and the headline's D and F; with the bound, D's and F's inadequate and D's requires
#: improvement are 1 in every solution.
PINNED_BEFORE = quarter_cells(
    {
        GOOD: [2, 0, 5, 21, 0, 4],
        OUTSTANDING: [7, 12, 0, 0, 0, 11],
        INADEQUATE: [7, 4, 3, 1, 3, 1],
        REQUIRES: [4, 1, 4, 1, 14, 0],
    },
    [20, 17, 12, 23, 17, 16],
)


def random_quarter(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    audits = rng.integers(3, 25, rng.integers(3, 7))
    split = np.array([rng.multinomial(n, rng.dirichlet(np.full(4, 0.8))) for n in audits])
    graded = {g: [int(v) for v in split[:, i]] for i, g in enumerate(practice_lp.GRADES)}
    return quarter_cells(graded, [int(n) for n in audits])


def recovered(decided, cells) -> dict[str, list[str]]:
    shown = practice_lp.shown_from_decisions(decided)
    truths = practice_lp.truths_from_cells(cells)
    return {b: practice_lp.attack(shown, truths, b).recovered for b in ("zero", "known zeros")}


# -- _audit_family ---------------------------------------------------------------------------------


def test_without_the_audit_the_bound_pins_three_grades(monkeypatch):
    monkeypatch.setattr(practice_gate, "_audit_family", lambda decided, grades: decided)
    found = recovered(practice_gate.family_quarters(PINNED_BEFORE, 4), PINNED_BEFORE)
    assert found["zero"] == []
    assert sorted(found["known zeros"]) == [
        "grade:Inadequate D 2024-06-30 = 1",
        "grade:Inadequate F 2024-06-30 = 1",
        "grade:Requires improvement D 2024-06-30 = 1",
    ]


def test_the_audit_hides_more_until_nothing_is_pinned():
    decided = practice_gate.family_quarters(PINNED_BEFORE, 4)
    assert recovered(decided, PINNED_BEFORE) == {"zero": [], "known zeros": []}
    grade_all = decided[INADEQUATE]
    assert grade_all.loc[grade_all["unit"] == "All", "hidden"].all()  # the cell it hid


@pytest.mark.parametrize("seed", range(12))
def test_no_random_quarter_leaves_a_count_pinned(seed):
    rng = np.random.default_rng(1000 + seed)
    for _ in range(3):
        cells = random_quarter(rng)
        assert recovered(practice_gate.family_quarters(cells, 4), cells) == {
            "zero": [],
            "known zeros": [],
        }


def test_a_quarter_with_nothing_small_is_left_alone():
    cells = quarter_cells(
        {GOOD: [6, 7, 8], OUTSTANDING: [5, 6, 7], INADEQUATE: [5, 5, 6], REQUIRES: [6, 7, 5]},
        [22, 25, 26],
    )
    decided = practice_gate.family_quarters(cells, 4)
    assert not any(frame["hidden"].any() for frame in decided.values())


# -- _family_system --------------------------------------------------------------------------------


def test_every_relation_of_the_family_holds_for_the_true_counts():
    rows = {m: frame.assign(hidden=False) for m, frame in PINNED_BEFORE.items()}
    positions, values, relations = practice_gate._family_system(rows, list(practice_lp.GRADES))
    kinds = {positions[total][0] for total, _ in relations}
    assert kinds == {"x", "n"}
    # 5 measures' and the audits' unit margins, 7 grade sums, 7 headline sums
    assert len(relations) == 6 + 7 + 7
    for total, parts in relations:
        assert values[total] == values[parts].sum()


def test_a_relation_the_true_counts_break_is_left_out():
    rows = {m: frame.assign(hidden=False) for m, frame in PINNED_BEFORE.items()}
    broken = rows[GOOD].copy()
    broken.loc[broken["unit"] == "All", "successes"] += 1  # the margin no longer adds up
    rows[GOOD] = broken
    _, _, relations = practice_gate._family_system(rows, list(practice_lp.GRADES))
    # Good's margin, and all units' grade sum and headline sum
    assert len(relations) == 6 + 7 + 7 - 3


# -- _hide_rank ------------------------------------------------------------------------------------


def test_a_units_grade_is_hidden_before_the_headline_and_the_audits():
    ranked = sorted(
        [
            ("n", "A", "All"),
            ("x", practice_lp.TOTAL, "A", "All"),
            ("x", GOOD, "All", "All"),
            ("x", GOOD, "A", "All"),
        ],
        key=practice_gate._hide_rank,
    )
    assert ranked == [
        ("x", GOOD, "A", "All"),
        ("x", GOOD, "All", "All"),
        ("x", practice_lp.TOTAL, "A", "All"),
        ("n", "A", "All"),
    ]
