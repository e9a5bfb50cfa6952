"""Tests for pipelines.stats.dose_response (Spearman's rho with Fisher-z or bootstrap CI).

Fisher-z reference computed by hand: rho = 0.5, n = 20, z = atanh(0.5) = 0.549306,
SE = sqrt(1.06 / 17) = 0.249706 (Fieller, Hartley & Pearson 1957), 95% CI
tanh(z -/+ 1.959964 * SE) = (0.059820, 0.777382).
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipelines.stats.dose_response import (
    build_dose_response_table,
    dose_response,
    fisher_z_interval,
)
from pipelines.stats.errors import StatsInputError


def test_fisher_interval_hand_value():
    lo, hi = fisher_z_interval(0.5, 20, 0.95)
    assert lo == pytest.approx(0.059820, abs=1e-6)
    assert hi == pytest.approx(0.777382, abs=1e-6)


def _units(n=25, seed=1, slope=-10.0):
    rng = np.random.default_rng(seed)
    cov = rng.uniform(0, 1, n)
    change = slope * cov + rng.normal(0, 3, n)
    return pd.DataFrame({"team": [f"T{i}" for i in range(n)], "coverage": cov, "change": change})


def test_rho_and_p_match_scipy_and_fisher_ci():
    df = _units()
    r = dose_response(df, "coverage", "change", unit_col="team")
    ref = stats.spearmanr(df["coverage"], df["change"])
    assert r.rho == pytest.approx(ref.statistic)
    assert r.p_value == pytest.approx(ref.pvalue)
    lo, hi = fisher_z_interval(ref.statistic, 25)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi))
    assert r.ci_upper < 0  # a planted negative dose-response is detected
    assert r.n == 25 and list(r.points.columns[:3]) == ["unit", "coverage", "change"]
    assert r.points["coverage_rank"].max() == 25
    assert r.to_dict()["ci_method"] == "fisher"


def test_bootstrap_is_seeded_and_contains_rho():
    df = _units()
    a = dose_response(df, "coverage", "change", method="bootstrap", seed=5)
    b = dose_response(df, "coverage", "change", method="bootstrap", seed=5)
    c = dose_response(df, "coverage", "change", method="bootstrap", seed=6)
    assert (a.ci_lower, a.ci_upper) == (b.ci_lower, b.ci_upper)
    assert (a.ci_lower, a.ci_upper) != (c.ci_lower, c.ci_upper)
    assert a.ci_lower < a.rho < a.ci_upper
    # bootstrap and Fisher intervals agree roughly for n = 25
    f = dose_response(df, "coverage", "change")
    assert abs(a.ci_lower - f.ci_lower) < 0.2 and abs(a.ci_upper - f.ci_upper) < 0.2


def test_small_n_warns_and_errors():
    df = _units(n=6)
    r = dose_response(df, "coverage", "change")
    assert any("Only 6 units" in w for w in r.warnings)
    with pytest.raises(StatsInputError, match="at least 4"):
        dose_response(df.head(3), "coverage", "change")
    with pytest.raises(StatsInputError, match="same training coverage"):
        dose_response(df.assign(coverage=0.5), "coverage", "change")
    with pytest.raises(StatsInputError, match="same change"):
        dose_response(df.assign(change=1.0), "coverage", "change")
    with pytest.raises(StatsInputError, match="method"):
        dose_response(df, "coverage", "change", method="kendall")


def test_missing_values_dropped_with_warning():
    df = _units(n=12)
    df.loc[0, "change"] = np.nan
    r = dose_response(df, "coverage", "change")
    assert r.n == 11
    assert any("left out" in w for w in r.warnings)


def test_build_table_hand_example():
    dates = pd.date_range("2022-03-31", periods=8, freq="QE")
    outcome = pd.DataFrame(
        {
            "unit": ["A"] * 8 + ["B"] * 8,
            "date": list(dates) * 2,
            "rate": [10, 12, 11, 13, 9, 8, 7, 6] + [20, 20, 20, 20, 21, 19, 20, 22],
        }
    )
    coverage = pd.DataFrame(
        {
            "unit": ["A", "A", "B"],
            "date": pd.to_datetime(["2022-06-30", "2023-06-30", "2023-03-31"]),
            "coverage": [0.2, 0.8, 0.3],
        }
    )
    rollout = {"A": "2023-01-01", "B": "2023-01-01"}
    t = build_dose_response_table(
        coverage, outcome, rollout, coverage_date="2023-12-31", window_periods=2
    )
    a = t.set_index("unit").loc["A"]
    # before: 2022Q3, Q4 = 11, 13 -> 12; after: 2023Q1, Q2 = 9, 8 -> 8.5
    assert a["rate_before"] == 12 and a["rate_after"] == 8.5 and a["change"] == -3.5
    assert a["coverage"] == 0.8 and a["n_before"] == 2 and a["n_after"] == 2
    b = t.set_index("unit").loc["B"]
    assert b["change"] == 0.0 and b["coverage"] == 0.3
    early = build_dose_response_table(coverage, outcome, rollout, coverage_date="2022-12-31")
    assert early.set_index("unit").loc["A", "coverage"] == 0.2
    assert np.isnan(early.set_index("unit").loc["B", "coverage"])
