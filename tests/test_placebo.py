"""Placebo interruption dates and empirical calibration (pipelines.stats.placebo)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipelines.stats.placebo import (
    PlaceboCalibration,
    apply_calibration,
    calibrated_interval,
    fit_systematic_error,
    placebo_calibration,
    placebo_indices,
)


def _wald(before: pd.DataFrame, after: pd.DataFrame):
    a, b = before["value"].sum(), after["value"].sum()
    log_rr = math.log(b / after["population"].sum()) - math.log(a / before["population"].sum())
    half = 1.96 * math.sqrt(1 / a + 1 / b)
    return math.exp(log_rr), math.exp(log_rr - half), math.exp(log_rr + half)


def _series(trend: float, seed: int = 1, n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mu = 400 * np.exp(trend * np.arange(n))
    return pd.DataFrame({"value": rng.poisson(mu), "population": np.full(n, 1e5)})


def test_fit_recovers_the_systematic_error() -> None:
    rng = np.random.default_rng(0)
    ses = np.full(400, 0.05)
    b = 0.2 + rng.normal(0, 0.1, 400) + rng.normal(0, ses)
    mu, sigma = fit_systematic_error(b, ses)
    assert mu == pytest.approx(0.2, abs=0.02) and sigma == pytest.approx(0.1, abs=0.02)
    _, sigma0 = fit_systematic_error(rng.normal(0, 0.05, 400), ses)
    assert sigma0 < 0.02


def test_calibrated_interval_is_shifted_and_wider() -> None:
    low, high = calibrated_interval(0.3, 0.05, mu=0.1, sigma=0.1)
    assert (low + high) / 2 == pytest.approx(0.2)
    assert high - low == pytest.approx(2 * 1.959964 * math.sqrt(0.05**2 + 0.1**2), rel=1e-5)
    assert placebo_indices(10, 4, 4) == [4, 5, 6]


def test_a_trending_series_gets_a_high_false_positive_rate_and_a_wider_interval() -> None:
    flat = placebo_calibration(_series(0.0), _wald, 4, 4)
    steep = placebo_calibration(_series(0.03), _wald, 4, 4)
    assert flat is not None and steep is not None and flat.n_placebos == 17
    assert steep.false_positive_rate > 0.5 and steep.applied
    assert flat.false_positive_rate <= 0.2
    ratio, low, high = apply_calibration(1.3, 1.2, 1.4, steep)
    # A steady trend is systematic error: the estimate is moved back by it (mu > 0) and the
    # interval is never narrower than before.
    assert steep.mu > 0.05 and ratio == pytest.approx(1.3 / math.exp(steep.mu))
    assert math.log(high / low) >= math.log(1.4 / 1.2) - 1e-6 and "widened" in steep.note()


def test_no_widening_at_or_below_five_percent_and_none_when_too_short() -> None:
    cal = PlaceboCalibration(10, 0.0, 0.5, 0.5, applied=False)
    assert apply_calibration(1.1, 1.0, 1.2, cal) == (1.1, 1.0, 1.2)
    assert placebo_calibration(_series(0.0, n=10), _wald, 4, 4) is None
