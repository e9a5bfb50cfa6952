"""Dose → practice → outcome across units, on the sample (which plants no dose-response)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from pipelines.analysis import practice_chain as chain_mod
from pipelines.sample import practice as sample_practice
from pipelines.store.warehouse import Warehouse

AREA = "E06999901"
UNITS = ["Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven"]


@pytest.fixture(scope="module")
def chain_wh(sample_warehouse_path, tmp_path_factory):
    """A private copy of the sample warehouse (opening the shared one would lock it)."""
    target = tmp_path_factory.mktemp("practice_chain") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    wh = Warehouse(target)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def chain(chain_wh):
    return chain_mod.practice_chain(chain_wh, AREA)


def _pure_table(coverage, practice, outcome) -> pd.DataFrame:
    units = [f"U{i}" for i in range(len(coverage))]
    rollout = pd.DataFrame({"unit": units, "wave": [1] * len(units)})
    change = pd.DataFrame(
        {
            "group": units,
            "wave": 1,
            "start_date": pd.Timestamp("2020-01-01"),
            "before": 0.5,
            "after": 0.5 + np.asarray(practice),
            "change": practice,
            "before_successes": 50.0,
            "before_trials": 100.0,
            "after_successes": 60.0,
            "after_trials": 100.0,
        }
    )
    dose = pd.DataFrame({"unit": units, "coverage": coverage, "relative_change": outcome})
    return chain_mod.chain_table(dose, change, rollout)


# --- practice_chain: the sample ----------------------------------------------------------------


def test_every_unit_has_coverage_practice_change_and_outcome_change(chain):
    assert list(chain.table["unit"]) == UNITS
    assert chain.n_units == 6 and chain.notes == {}
    assert chain.table[["coverage", "practice_change", "outcome_change"]].notna().all().all()
    assert chain.table["coverage"].between(0.5, 0.95).all()


def test_each_units_practice_change_is_near_the_planted_twenty_points(chain):
    planted = sample_practice.PLANTED_PRACTICE["good_or_better"]
    changes = chain.table["practice_change"]
    # The same +20 points is planted in every unit; a unit's ~70 audits a side make it noisy.
    assert (changes > 0).all()
    assert abs(changes.mean() - planted) < 0.05


def test_no_dose_response_is_planted_so_both_intervals_contain_zero(chain):
    for result in (chain.dose_practice, chain.practice_outcome):
        assert result.n == 6
        assert result.ci_lower < 0 < result.ci_upper
        # Six units: the interval spans most of -1 to 1.
        assert result.ci_upper - result.ci_lower > 1.2


def test_the_ecological_note_is_honest_about_units_and_their_number(chain):
    note = chain.ecological_note
    assert "compare units (localities), not children" in note
    assert "With 6 localities" in note
    assert "not proof" in note


def test_a_measure_without_data_says_so(chain_wh):
    chain = chain_mod.practice_chain(chain_wh, AREA, practice="principle:Nothing")
    assert chain.dose_practice is None
    assert "No practice data" in chain.notes["practice"]
    assert "dose_practice" in chain.notes


# --- chain_table and chain_correlations: pure --------------------------------------------------


def test_a_planted_monotone_chain_is_recovered():
    coverage = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.55, 0.65, 0.75, 0.85]
    practice = [c / 4 for c in coverage]
    outcome = [-p for p in practice]
    table = _pure_table(coverage, practice, outcome)
    dose_practice, practice_outcome, notes, n = chain_mod.chain_correlations(table)
    assert n == 10 and notes == {}
    assert dose_practice.rho == pytest.approx(1.0)
    assert practice_outcome.rho == pytest.approx(-1.0)
    assert dose_practice.ci_lower > 0 and practice_outcome.ci_upper < 0


def test_too_few_units_give_notes_not_numbers():
    table = _pure_table([0.5, 0.6, 0.7], [0.1, 0.2, 0.3], [0.0, -0.1, -0.2])
    dose_practice, practice_outcome, notes, n = chain_mod.chain_correlations(table)
    assert dose_practice is None and practice_outcome is None
    assert "at least 4" in notes["dose_practice"] and n == 3


# --- practice_hidden and gated_points: the disclosure gate -------------------------------------


def test_a_window_with_one_to_four_cases_either_way_is_hidden():
    table = _pure_table([0.5, 0.6], [0.1, 0.2], [0.0, -0.1])
    table.loc[0, "after_successes"] = 97.0  # 3 audits not good or better
    assert list(chain_mod.practice_hidden(table, threshold=4)) == [True, False]
    table.loc[1, "before_successes"] = 0.0  # none is not small
    assert list(chain_mod.practice_hidden(table, threshold=4)) == [True, False]


def test_the_points_leave_off_exactly_the_units_the_dose_gate_hides_and_show_no_counts(
    chain_wh, chain
):
    """A unit is on the chart unless the dose-response gate hides its outcome change (its
    windows hold quarters the one decision hides: on the sample, since the linked audit of
    months, quarters and years, most localities' CPP windows do) or its practice change."""
    from pipelines.present.dose_table import gated_dose_response

    points, hidden = chain_mod.gated_points(chain_wh, chain)
    gated = gated_dose_response(chain_wh, AREA, chain.outcome)
    masks = gated.table.masks
    dose_units = gated.dose.table["unit"].astype(str).to_numpy()
    gate = np.zeros(len(dose_units), bool)
    for column in ("coverage", "relative_change", "change"):
        if column in masks:
            gate |= np.asarray(masks[column], dtype=bool)
    expected = set(dose_units[gate]) | set(
        chain.table.loc[chain_mod.practice_hidden(chain.table, None), "unit"].astype(str)
    )
    assert hidden == len(expected) and set(points["unit"]) == set(UNITS) - expected
    assert not {"before_trials", "after_successes"} & set(points.columns)


def test_a_high_threshold_leaves_every_unit_off_the_chart(chain_wh, chain):
    points, hidden = chain_mod.gated_points(chain_wh, chain, threshold=100_000)
    assert hidden == 6 and points.empty
