"""Tests for pipelines.stats.its (interrupted time series).

Reference: Lopez Bernal, Cummins & Gasparrini (2017) Int J Epidemiol 46:348-355, Sicily data
(tests/data/reference/sicily.csv) and the authors' R code (Rcode.R in
github.com/gasparrini/2017_lopezbernal_IJE_codedata):
    model1 <- glm(aces ~ offset(log(stdpop)) + smokban + time, family=poisson, data)
    model2 <- same, family=quasipoisson
    model3 <- model2 + harmonic(month,2,12)
    model4 <- model3 + I(time-36):smokban
and ``ci.exp()`` (Wald intervals, exp scale). Expected values are the fits of those exact
models to the published data (the tutorial reports the seasonally adjusted quasi-Poisson
RR 0.885, 95% CI 0.839-0.933). The brief's "0.885 (0.836-0.937)" did not match any of the
tutorial's models and is not used.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.stats.errors import StatsInputError
from pipelines.stats.its import interrupted_time_series

SICILY = Path(__file__).parent / "data" / "reference" / "sicily.csv"


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    d = pd.read_csv(SICILY)
    d["date"] = pd.to_datetime({"year": d["year"], "month": d["month"], "day": 1})
    return d


def _its(d, **kw):
    kw.setdefault("slope_change", False)
    return interrupted_time_series(
        d, "date", "aces", "stdpop", intervention_date="2005-01-01", **kw
    )


def _r3(x):
    return round(x, 3)


def test_sicily_poisson_model1(sicily):
    r = _its(sicily, family="poisson")
    lc = r.level_change
    assert (_r3(lc.estimate), _r3(lc.ci_lower), _r3(lc.ci_upper)) == (0.894, 0.865, 0.925)
    assert _r3(r.pre_trend.estimate) == 1.005
    assert r.n == 59 and r.n_pre == 36 and r.n_post == 23
    assert r.dispersion == pytest.approx(3.559, abs=1e-3)
    assert any("quasipoisson" in w for w in r.warnings)


def test_sicily_quasipoisson_model2(sicily):
    r = _its(sicily, family="quasipoisson")
    lc = r.level_change
    assert (_r3(lc.estimate), _r3(lc.ci_lower), _r3(lc.ci_upper)) == (0.894, 0.839, 0.953)
    assert not any("quasipoisson" in w for w in r.warnings)


def test_sicily_seasonal_quasipoisson_model3(sicily):
    r = _its(sicily, family="quasipoisson", seasonality_harmonics=2, season_length=12)
    lc = r.level_change
    assert (_r3(lc.estimate), _r3(lc.ci_lower), _r3(lc.ci_upper)) == (0.885, 0.839, 0.933)
    assert r.dispersion == pytest.approx(2.262, abs=1e-3)
    # tutorial: trend per year exp(12 * b_time)
    assert _r3(r.pre_trend.estimate**12) == 1.067


def test_sicily_slope_change_model4(sicily):
    r = _its(sicily, family="quasipoisson", seasonality_harmonics=2, slope_change=True)
    assert (
        _r3(r.level_change.estimate),
        _r3(r.level_change.ci_lower),
        _r3(r.level_change.ci_upper),
    ) == (
        0.876,
        0.827,
        0.929,
    )
    s = r.slope_change
    assert (_r3(s.estimate), _r3(s.ci_lower), _r3(s.ci_upper)) == (1.001, 0.998, 1.005)


def test_counterfactual_and_totals(sicily):
    r = _its(sicily, family="quasipoisson")
    f = r.fitted
    post = f[f["post"] == 1]
    pre = f[f["post"] == 0]
    # Before the intervention the counterfactual is the fit.
    np.testing.assert_allclose(pre["counterfactual"], pre["fitted"], rtol=1e-10)
    # After it the fit sits the level change below the counterfactual.
    np.testing.assert_allclose(
        post["fitted"] / post["counterfactual"], r.level_change.estimate, rtol=1e-10
    )
    assert (f["counterfactual_lower"] < f["counterfactual"]).all()
    assert (f["counterfactual_upper"] > f["counterfactual"]).all()
    assert r.post_totals["observed"] == pytest.approx(post["observed"].sum())
    assert r.post_totals["counterfactual"] == pytest.approx(post["counterfactual"].sum())
    assert (
        r.post_totals["counterfactual_lower"]
        < r.post_totals["counterfactual"]
        < r.post_totals["counterfactual_upper"]
    )
    # rate per 10,000 columns
    np.testing.assert_allclose(f["observed_rate"], sicily["aces"] / sicily["stdpop"] * 1e4)
    d = r.to_dict()
    assert d["level_change"]["scale"] == "rate ratio" and len(d["fitted"]) == 59


def test_hac_widens_and_gaussian(sicily):
    plain = _its(sicily, family="gaussian")
    hac = _its(sicily, family="gaussian", hac_lags=3)
    assert plain.level_change.scale == "absolute"
    assert hac.level_change.estimate == pytest.approx(plain.level_change.estimate)
    assert hac.level_change.ci_upper - hac.level_change.ci_lower != pytest.approx(
        plain.level_change.ci_upper - plain.level_change.ci_lower
    )
    # Gaussian models the rate per 10,000: level change is a rate difference of a few per 10,000.
    assert -5 < plain.level_change.estimate < 0


def _simulated(seed: int, n_pre=36, n_post=36, level=0.85, pop=50_000, base_rate=60 / 10_000):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2012-01-31", periods=n_pre + n_post, freq="ME")
    t = np.arange(1, n_pre + n_post + 1)
    post = (t > n_pre).astype(float)
    mu = pop * base_rate * np.exp(0.002 * t) * np.where(post == 1, level, 1.0)
    return pd.DataFrame({"date": dates, "cla": rng.poisson(mu), "pop": pop}), dates[n_pre]


def test_planted_level_change_recovered():
    df, start = _simulated(seed=11)
    r = interrupted_time_series(
        df, "date", "cla", "pop", intervention_date=start, family="quasipoisson"
    )
    lc = r.level_change
    assert lc.ci_lower < 0.85 < lc.ci_upper
    assert lc.ci_upper < 1.0  # a 15% drop with 36 points each side is detected
    assert r.slope_change.ci_lower < 1.0 < r.slope_change.ci_upper
    assert not any("COVID" in w for w in r.warnings)


def test_coverage_of_planted_effect_over_seeds():
    hits = 0
    for seed in range(40):
        df, start = _simulated(seed=seed, n_pre=24, n_post=24)
        r = interrupted_time_series(
            df, "date", "cla", "pop", intervention_date=start, family="poisson"
        )
        hits += r.level_change.ci_lower < 0.85 < r.level_change.ci_upper
    assert hits >= 34  # nominal 95% of 40 = 38; allow sampling error


def test_quarterly_seasonality_and_short_series_warning():
    dates = pd.date_range("2021-03-31", periods=12, freq="QE")
    df = pd.DataFrame(
        {"d": dates, "y": [40, 42, 38, 45, 41, 43, 30, 33, 31, 35, 32, 34], "p": 20_000}
    )
    r = interrupted_time_series(
        df, "d", "y", "p", intervention_date="2022-07-01", seasonality_harmonics=1, season_length=4
    )
    assert r.n_pre == 6 and r.n_post == 6
    assert any("at least 8" in w for w in r.warnings)
    assert any("COVID-19" in w for w in r.warnings)
    assert "sin1" in r.coefficients.index


def test_nan_points_dropped_with_warning(sicily):
    d = sicily.copy()
    d.loc[[5, 40], "aces"] = np.nan
    r = _its(d, family="quasipoisson")
    assert r.n == 57
    assert any("left out" in w for w in r.warnings)
    # numbering keeps the gap: t still runs to 59
    assert r.fitted["t"].max() == 59


def test_all_zeros_raises():
    df = pd.DataFrame({"d": pd.date_range("2020-01-31", periods=20, freq="ME"), "y": 0, "p": 1000})
    with pytest.raises(StatsInputError, match="zero"):
        interrupted_time_series(df, "d", "y", "p", intervention_date="2020-11-01")


@pytest.mark.parametrize("when", ["2030-01-01", "2000-01-01"])
def test_intervention_outside_data_raises(sicily, when):
    with pytest.raises(StatsInputError, match="intervention date"):
        interrupted_time_series(sicily, "date", "aces", "stdpop", intervention_date=when)


def test_constant_counts_fit_with_warning_and_gaussian_constant_raises():
    df = pd.DataFrame(
        {"d": pd.date_range("2018-01-31", periods=24, freq="ME"), "y": 50, "p": 10_000}
    )
    r = interrupted_time_series(df, "d", "y", "p", intervention_date="2019-01-01")
    assert r.level_change.estimate == pytest.approx(1.0)
    assert any("same value" in w for w in r.warnings)
    with pytest.raises(StatsInputError, match="same"):
        interrupted_time_series(
            df, "d", "y", "p", intervention_date="2019-01-01", family="gaussian"
        )


def test_bad_inputs_raise(sicily):
    with pytest.raises(StatsInputError, match="no column"):
        interrupted_time_series(sicily, "date", "nope", intervention_date="2005-01-01")
    with pytest.raises(StatsInputError, match="family"):
        interrupted_time_series(
            sicily, "date", "aces", intervention_date="2005-01-01", family="negbin"
        )
    with pytest.raises(StatsInputError, match="not a date"):
        interrupted_time_series(sicily, "date", "aces", intervention_date="soon")
    dup = pd.concat([sicily, sicily.iloc[[0]]])
    with pytest.raises(StatsInputError, match="repeats a date"):
        interrupted_time_series(dup, "date", "aces", intervention_date="2005-01-01")
    neg = sicily.assign(aces=-sicily["aces"])
    with pytest.raises(StatsInputError, match="negative"):
        interrupted_time_series(neg, "date", "aces", intervention_date="2005-01-01")
