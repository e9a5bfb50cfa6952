"""The staggered DiD's pre-trend check is one joint test (issue 13).

References: R's ``did`` README prints "P-value for pre-test of parallel trends assumption:
0.16812" for ``att_gt(yname="lemp", ..., data=mpdta, est_method="reg")`` (the Wald test of
Callaway & Sant'Anna 2021, s. 4.1, on the influence-function covariance). ``differences``
computes the same Wald statistic; the board's panels have six localities, too few for that
covariance, so the check the board reads is a randomisation test over rollout orders
(:func:`pipelines.stats.did.pretrend_randomisation_test`). Its size is measured here on the
sample's own data process with no effect and parallel trends.
"""

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.sample import simulate
from pipelines.stats import findings as fnd
from pipelines.stats.did import period_index, pretrend_randomisation_test, staggered_did

MPDTA = Path(__file__).parent / "data" / "reference" / "mpdta.csv"
R_DYNAMIC_PRE = {-3: 0.0305, -2: -0.0006, -1: -0.0245}
END = pd.Timestamp("2026-06-30")


def _panel(sim, measure="cla_starts"):
    """The Cohorts page's quarterly locality panel (as ``analysis.cohorts.unit_panel``)."""
    p = sim.locality_panel(measure)
    p = p[p["period_end"] <= END].rename(columns={"series": "unit"}).copy()
    p["rate"] = p["value"] / p["population"] * 10_000
    dates = pd.Series(p["period_end"].unique())
    times = dict(zip(dates, period_index(dates, "Q"), strict=True))
    p["time"] = p["period_end"].map(times).astype("int64")
    start = pd.to_datetime(p.groupby("unit")["start_date"].transform("first"))
    after = p["time"].where(p["period_end"] >= start)
    p["cohort"] = after.groupby(p["unit"]).transform("min").astype("float64")
    return p


def _did(p):
    return staggered_did(p, "unit", "time", "rate", "cohort", control="not_yet_treated")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def sample_did():
    p = _panel(simulate(13_101, {}))
    return p, _did(p)


def test_differences_wald_pre_test_matches_r_on_mpdta(mpdta):
    from differences import ATTgt
    from differences.models.attgt.utility_ntl import wald_pre_test

    d = mpdta.rename(columns={"first.treat": "g"})
    d.loc[d["g"] == 0, "g"] = np.nan
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        att = ATTgt(data=d.set_index(["countyreal", "year"]).sort_index(), cohort_column="g")
        att.fit(formula="lemp", est_method="reg", progress_bar=False)
        # ATTgt.wald_pre_test is broken in differences 0.3.0 (it passes a keyword results()
        # no longer takes); the function it wraps is sound.
        res = wald_pre_test(att._result_dict["full_sample"]["ATTgt_ntl"])
    assert round(float(res["p_value"]), 5) == 0.16812


def test_joint_test_on_mpdta_agrees_with_r(mpdta):
    r = staggered_did(mpdta, "countyreal", "year", "lemp", "first.treat")
    # 500 counties: a fixed-seed sample of rollout orders, reproducible run to run
    assert r.pretrend_n_assignments == 2000 and "random sample" in r.pretrend_method
    assert 0.05 < r.pretrend_p_value < 0.5  # R's Wald: 0.168; no doubt either way
    again = staggered_did(mpdta, "countyreal", "year", "lemp", "first.treat")
    assert again.pretrend_p_value == r.pretrend_p_value
    assert not fnd.did_parallel_trends_doubt(r)


def test_recomputed_pre_estimates_are_rs(mpdta):
    r = staggered_did(mpdta, "countyreal", "year", "lemp", "first.treat")
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    cohort = mpdta.groupby("countyreal")["first.treat"].first().replace(0, np.nan)
    cells = r.group_time[r.group_time["relative_period"] < 0]
    t = pretrend_randomisation_test(wide, cohort, cells, "never_treated", draws=99)
    got = dict(zip(t.relative_periods, t.event_estimates, strict=True))
    assert {e: round(v, 4) for e, v in got.items()} == R_DYNAMIC_PRE


def test_six_localities_enumerate_every_rollout_order(sample_did):
    _, r = sample_did
    assert r.pretrend_n_assignments == 90  # 6!/(2!2!2!)
    assert "all 90 rollout orders" in r.pretrend_method
    assert r.pretrend_n_periods == len(r.dynamic[r.dynamic["pre"]])
    k = r.pretrend_p_value * 90
    assert 1 <= round(k) <= 90 and abs(k - round(k)) < 1e-9
    assert r.to_dict()["pretrend_p_value"] == r.pretrend_p_value


def _drifting_panel(seed=5, drift=1.5, n_per=8):
    """Three waves of ``n_per`` units and never-treated ones; the last wave drifts upwards
    ``drift`` a period relative to the rest before it starts (a real pre-trend)."""
    rng = np.random.default_rng(seed)
    rows, uid = [], 0
    for c in (5, 7, 9, np.nan):
        for _ in range(n_per):
            uid += 1
            a = rng.normal(50, 5)
            for t in range(1, 13):
                pre_drift = drift * t if c == 9 and t < c else drift * 8 if c == 9 else 0.0
                rows.append((uid, t, a + 0.5 * t + pre_drift + rng.normal(0, 1), c))
    return pd.DataFrame(rows, columns=["unit", "q", "rate", "first_q"])


def test_a_real_pre_trend_is_flagged():
    r = staggered_did(_drifting_panel(), "unit", "q", "rate", "first_q")
    assert r.pretrend_p_value < 0.05
    assert any("tested together" in w and "parallel-trends" in w for w in r.warnings)
    assert fnd.did_parallel_trends_doubt(r)
    f = fnd.from_staggered_did(r, label="CLA starts", place="Northmoor")
    assert any("tested together" in c for c in f.caveats)
    flat = staggered_did(_drifting_panel(drift=0.0), "unit", "q", "rate", "first_q")
    assert flat.pretrend_p_value > 0.05 and not fnd.did_parallel_trends_doubt(flat)


def test_size_when_trends_are_parallel(sample_did):
    """120 no-effect replicates of the sample's process: the joint test fires in about 5%."""
    _, r = sample_did
    cells = r.group_time[r.group_time["relative_period"] < 0]
    fired = []
    for i in range(120):
        p = _panel(simulate(13_500 + i, {}))
        wide = p.pivot(index="unit", columns="time", values="rate")
        cohort = p.groupby("unit")["cohort"].first()
        t = pretrend_randomisation_test(wide, cohort, cells, "not_yet_treated")
        fired.append(t.p_value < 0.05)
    rate = float(np.mean(fired))
    # exact test: at most 4 of 90 orders reach p < 0.05, so about 4.4%; 12/120 is the
    # binomial 99.5% bound around 5%
    assert rate <= 0.10, rate


def test_bonferroni_fallback_when_the_joint_test_is_missing(sample_did):
    _, r = sample_did
    from dataclasses import replace

    missing = replace(r, pretrend_p_value=float("nan"))
    pre = r.dynamic[r.dynamic["pre"]]
    expected = bool(pre["p_value"].min() * len(pre) < 0.05)
    assert fnd.did_parallel_trends_doubt(missing) is expected
    tiny = replace(missing, dynamic=r.dynamic.assign(p_value=np.where(r.dynamic["pre"], 1e-6, 0.5)))
    assert fnd.did_parallel_trends_doubt(tiny)
