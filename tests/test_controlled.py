"""Controlled comparison with statistical neighbours (stats.controlled, verdict_from_annual)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipelines.analysis.plan import DEFAULT_PLAN
from pipelines.analysis.verdict import verdict_from_annual
from pipelines.stats.controlled import controlled_did
from pipelines.stats.errors import StatsInputError

YEARS = list(range(2016, 2027))


def _annual(effect: float, seed: int = 0):
    rng = np.random.default_rng(seed)

    def series(tau: float) -> pd.DataFrame:
        level = rng.normal(0, 0.2)
        mu = 100 * np.exp(level + rng.normal(0, 0.03, len(YEARS)) + tau * (np.array(YEARS) >= 2020))
        return pd.DataFrame({"year": YEARS, "value": rng.poisson(mu), "population": 40_000})

    council = series(effect)
    neighbours = pd.concat(
        [series(0.0).assign(area_code=f"N{k}") for k in range(10)], ignore_index=True
    )
    return council, neighbours


def test_a_large_effect_is_found_and_covered() -> None:
    council, neighbours = _annual(-0.4)
    r = controlled_did(council, neighbours, 2020)
    assert r.n_neighbours == 10 and r.n_years_pre == 4 and r.n_years_post == 7
    assert r.ci_lower < math.exp(-0.4) < r.ci_upper and r.ci_upper < 1
    assert r.p_permutation == pytest.approx(1 / 11)


def test_no_effect_rarely_called() -> None:
    called = []
    for s in range(40):
        r = controlled_did(*_annual(0.0, s), 2020)
        called.append(not r.ci_lower <= 1 <= r.ci_upper)
    assert np.mean(called) <= 0.15


def test_verdict_from_annual_is_a_verdict_and_says_what_would_help() -> None:
    council, neighbours = _annual(-0.4)
    v = verdict_from_annual(council, neighbours, 2020, DEFAULT_PLAN, {}, outcome="cla_starts")
    assert v.design == "controlled" and v.rate_ratio < 1
    assert v.grade == "low"  # not calibrated in an empty calibration
    assert any("stronger designs" in c for c in v.caveats)
    calibration = {
        "estimates": {"controlled:cla_starts": {"coverage": 0.95, "false_positive_rate": 0.04}}
    }
    graded = verdict_from_annual(council, neighbours, 2020, DEFAULT_PLAN, calibration)
    assert graded.grade == "moderate" and graded.detected


def test_too_few_years_raises_and_the_verdict_says_so() -> None:
    council, neighbours = _annual(0.0)
    with pytest.raises(StatsInputError):
        controlled_did(council, neighbours, 2017)
    v = verdict_from_annual(council, neighbours, 2017, DEFAULT_PLAN, {})
    assert v.design is None and v.grade == "low"
