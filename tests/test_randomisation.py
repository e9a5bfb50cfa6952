"""Randomisation-inference DiD: exact counts, the linear estimator, test inversion, simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipelines.sample import simulate
from pipelines.stats.errors import StatsInputError
from pipelines.stats.randomisation import (
    distinct_assignments,
    imputation_weights,
    invert_test,
    minimum_detectable_effect,
    randomisation_did,
)


def test_six_localities_in_three_waves_of_two_have_90_orders() -> None:
    rows = distinct_assignments(np.array([3, 3, 9, 9, 17, 17]))
    assert rows.shape == (90, 6)  # 6! / (2! 2! 2!)
    assert len({tuple(r) for r in rows}) == 90
    assert list(rows[0]) == [3, 3, 9, 9, 17, 17]  # the observed order comes first


def test_imputation_weights_reproduce_a_hand_computed_2x2() -> None:
    """Two units, two periods, unit 1 treated in period 2: tau = (y12 - y11) - (y02 - y01)."""
    treated = np.array([[False, False], [False, True]])
    c = imputation_weights(treated, np.ones((2, 2)))
    assert np.allclose(c, [[1, -1], [-1, 1]])
    y = np.array([[1.0, 1.5], [2.0, 3.1]])
    assert float((c * y).sum()) == pytest.approx((3.1 - 2.0) - (1.5 - 1.0))


def test_imputation_recovers_an_exact_effect_without_noise() -> None:
    """Additive unit + period effects and a constant treatment effect: the estimate is exact."""
    rng = np.random.default_rng(0)
    alpha, beta = rng.normal(size=(6, 1)), rng.normal(size=(1, 20))
    starts = np.array([5, 5, 9, 9, 14, 14])
    treated = np.arange(20)[None, :] >= starts[:, None]
    y = alpha + beta - 0.2 * treated
    c = imputation_weights(treated[:, :14], rng.uniform(1, 2, size=(6, 14)))
    assert float((c * y[:, :14]).sum()) == pytest.approx(-0.2, abs=1e-10)


def test_invert_test_gives_the_hull_of_accepted_shifts() -> None:
    """With b = 0 for the other assignments, p(d) > alpha exactly where |a0 - d| < the
    (k)th largest |a'|: the interval is a0 -/+ that value."""
    others = np.linspace(0.1, 2.0, 39)
    a = np.concatenate([[0.5], others])
    b = np.concatenate([[1.0], np.zeros(39)])
    low, high = invert_test(a, b, alpha=0.05)
    # 40 assignments: p > 0.05 needs at least 3 of 40 as extreme -> |a0 - d| <= 3rd largest.
    third = sorted(others)[-2]  # the observed counts itself, so 2 others suffice
    assert low == pytest.approx(0.5 - third)
    assert high == pytest.approx(0.5 + third)


def _panel(seed: int, effects=None, measure: str = "cpp_starts") -> tuple[pd.DataFrame, float]:
    sim = simulate(seed, effects)
    return sim.locality_panel(measure), sim.truth[measure]


def test_on_the_sample_process_the_interval_contains_the_truth() -> None:
    panel, truth = _panel(20191001, measure="cla_starts")
    result = randomisation_did(panel)
    assert result.n_assignments == 90
    assert result.n_units == 6
    assert result.window_end == pd.Timestamp("2023-03-31")  # the last wave starts April 2023
    assert result.ci_lower <= truth <= result.ci_upper
    assert result.ci_lower < result.rate_ratio < result.ci_upper
    assert 1 / 90 <= result.p_value <= 1


def test_coverage_and_false_positives_on_40_replicates() -> None:
    """A small simulation with a tolerance that can fail (the full one is make calibrate)."""
    covered, called = [], []
    for seed in range(40):
        panel, truth = _panel(500 + seed, {} if seed % 2 else None)
        r = randomisation_did(panel)
        covered.append(r.ci_lower <= truth <= r.ci_upper)
        if seed % 2:
            called.append(r.ci_upper < 1 or r.ci_lower > 1)
    assert np.mean(covered) >= 0.85
    assert np.mean(called) <= 0.2


def test_mde_is_positive_and_larger_at_a_stricter_level() -> None:
    panel, _ = _panel(7, {})
    r = randomisation_did(panel)
    mde, strict = minimum_detectable_effect(r), minimum_detectable_effect(r, alpha=0.025)
    assert 0 < mde <= strict < 1
    assert math.isfinite(mde)


def test_bad_panels_are_refused_in_plain_english() -> None:
    panel, _ = _panel(1)
    one_wave = panel.assign(start_date=pd.Timestamp("2019-10-01"))
    with pytest.raises(StatsInputError, match="two or more different dates"):
        randomisation_did(one_wave)
    with pytest.raises(StatsInputError, match="no column"):
        randomisation_did(panel.drop(columns="population"))
    with pytest.raises(StatsInputError, match="start date"):
        randomisation_did(panel.assign(start_date=pd.NaT))
