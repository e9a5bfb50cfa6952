"""Tests for pipelines.stats.did.

Reference: R package ``did`` (Callaway & Sant'Anna 2021, J Econometrics 225:200-230) on its
``mpdta`` data (tests/data/reference/mpdta.csv). Expected values are the published output in
the did README (github.com/bcallaway11/did, README.md: ``att_gt(yname="lemp",
gname="first.treat", idname="countyreal", tname="year", xformla=~1, data=mpdta,
est_method="reg")`` then ``aggte(type="dynamic")`` and ``aggte(type="group")``), printed to
4 decimal places. R's standard errors there are multiplier-bootstrap draws (they differ run
to run), so only point estimates are compared to R; the analytic standard errors are checked
for size only.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.stats.did import did_2x2, period_index, period_label, staggered_did
from pipelines.stats.errors import StatsInputError

MPDTA = Path(__file__).parent / "data" / "reference" / "mpdta.csv"

R_GROUP_TIME = {  # (group, time): ATT(g,t), did README
    (2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373, (2004, 2007): -0.1008,
    (2006, 2004): 0.0065, (2006, 2005): -0.0028, (2006, 2006): -0.0046, (2006, 2007): -0.0412,
    (2007, 2004): 0.0305, (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261,
}  # fmt: skip
R_DYNAMIC = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}
R_GROUP = {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}


@pytest.fixture(scope="module")
def mpdta_result():
    d = pd.read_csv(MPDTA)
    return staggered_did(d, "countyreal", "year", "lemp", "first.treat")


def test_mpdta_group_time_matches_r(mpdta_result):
    gt = mpdta_result.group_time
    got = {(int(r.cohort), int(r.time)): r.att for r in gt.itertuples()}
    assert set(got) == set(R_GROUP_TIME)
    for k, v in R_GROUP_TIME.items():
        assert round(got[k], 4) == v, k


def test_mpdta_aggregations_match_r(mpdta_result):
    r = mpdta_result
    dyn = dict(zip(r.dynamic["relative_period"], r.dynamic["att"], strict=True))
    for e, v in R_DYNAMIC.items():
        assert round(dyn[e], 4) == v, e
    grp = dict(zip(r.by_group["cohort"], r.by_group["att"], strict=True))
    for g, v in R_GROUP.items():
        assert round(grp[g], 4) == v, g
    assert round(r.overall_dynamic.estimate, 4) == -0.0772
    assert round(r.overall_group.estimate, 3) == -0.031
    assert round(r.simple.estimate, 2) == -0.04
    # analytic SEs are of the size R's bootstrap reports (0.0203-0.0205 dynamic overall)
    assert 0.018 < r.overall_dynamic.std_error < 0.022
    assert (
        r.n == 500
        and r.cohort_sizes == {2004: 20, 2006: 40, 2007: 131}
        and r.n_never_treated == 309
    )
    assert set(r.calendar["time"]) == {2004, 2005, 2006, 2007}
    assert r.dynamic.loc[r.dynamic["relative_period"] < 0, "pre"].all()
    # the pointwise pre-trend at e=-3 excludes zero, but one interval among three is what
    # chance gives: the joint pre-trend test does not reject (R's did prints "P-value for
    # pre-test of parallel trends assumption: 0.16812"), so no parallel-trends warning.
    e3 = r.dynamic.set_index("relative_period").loc[-3]
    assert e3["ci_lower"] > 0
    assert 0.05 < r.pretrend_p_value < 1 and r.pretrend_n_periods == 3
    assert not any("parallel-trends" in w for w in r.warnings)
    d = r.to_dict()
    assert d["simple"]["estimate"] == r.simple.estimate and len(d["group_time"]) == 12


def _sim_panel(seed=3, effect=-2.0, n_per=40, never=True):
    rng = np.random.default_rng(seed)
    rows = []
    cohorts = [5, 7, 9] + ([np.nan] if never else [])
    uid = 0
    for c in cohorts:
        for _ in range(n_per):
            uid += 1
            a = rng.normal(50, 5)
            for t in range(1, 13):
                treated = not np.isnan(c) and t >= c
                y = a + 0.5 * t + (effect if treated else 0.0) + rng.normal(0, 1)
                rows.append((uid, t, y, c))
    return pd.DataFrame(rows, columns=["unit", "q", "rate", "first_q"])


def test_simulated_constant_effect_recovered():
    r = staggered_did(_sim_panel(), "unit", "q", "rate", "first_q")
    s = r.simple
    assert s.ci_lower < -2.0 < s.ci_upper
    post = r.dynamic[~r.dynamic["pre"]]
    assert ((post["ci_lower"] < -2.0) & (post["ci_upper"] > -2.0)).mean() >= 0.8
    pre = r.dynamic[r.dynamic["pre"]]
    assert pre["att"].abs().max() < 0.5
    assert r.control == "never_treated"


def test_no_never_treated_falls_back_to_not_yet_treated():
    r = staggered_did(_sim_panel(never=False), "unit", "q", "rate", "first_q")
    assert r.control == "not_yet_treated"
    assert any("not-yet-treated" in w for w in r.warnings)
    assert r.simple.ci_lower < -2.0 < r.simple.ci_upper


def test_few_units_per_cohort_warns():
    p = _sim_panel(n_per=3)
    r = staggered_did(p, "unit", "q", "rate", "first_q")
    assert any("fewer than 5 units" in w for w in r.warnings)
    assert any("standard errors from so few units" in w for w in r.warnings)


def test_staggered_errors():
    p = _sim_panel(n_per=5)
    with pytest.raises(StatsInputError, match="no column"):
        staggered_did(p, "unit", "q", "nope", "first_q")
    single = p[p["first_q"] == 5]
    with pytest.raises(StatsInputError, match="no comparison group"):
        staggered_did(single, "unit", "q", "rate", "first_q")
    with pytest.raises(StatsInputError, match="two rows"):
        staggered_did(pd.concat([p, p.iloc[[0]]]), "unit", "q", "rate", "first_q")
    with pytest.raises(StatsInputError, match="whole-number"):
        staggered_did(p.assign(q=p["q"] + 0.5), "unit", "q", "rate", "first_q")
    with pytest.raises(StatsInputError, match="No unit starts"):
        staggered_did(p.assign(first_q=np.nan), "unit", "q", "rate", "first_q")


def test_period_index_round_trip():
    idx = period_index(pd.Series(["2023-01-15", "2023-06-30", "2024-01-01", None]), "Q")
    assert idx.iloc[1] - idx.iloc[0] == 1 and idx.iloc[2] - idx.iloc[0] == 4
    assert pd.isna(idx.iloc[3])
    assert period_label(idx.iloc[:3], "Q").tolist() == ["2023Q1", "2023Q2", "2024Q1"]
    m = period_index(["2023-12-31", "2024-01-01"], "M")
    assert m.iloc[1] - m.iloc[0] == 1
    with pytest.raises(StatsInputError):
        period_index(["2023-01-01"], "W")


HAND = pd.DataFrame(
    {
        "unit": ["c1", "c1", "c2", "c2", "t1", "t1", "t2", "t2"],
        "treated": [0, 0, 0, 0, 1, 1, 1, 1],
        "post": [0, 1, 0, 1, 0, 1, 0, 1],
        "rate": [10.0, 11.0, 12.0, 13.0, 20.0, 17.0, 22.0, 19.0],
    }
)


def test_did_2x2_hand_example():
    # control 11 -> 12 (+1); treated 21 -> 18 (-3); DiD = -3 - 1 = -4
    r = did_2x2(HAND, "treated", "post", "rate", unit_col="unit")
    assert r.estimate.estimate == pytest.approx(-4.0)
    assert r.means.loc[1, 0] == 21 and r.means.loc[1, 1] == 18 and r.means.loc[0, 1] == 12
    assert r.n == 8 and r.n_clusters == 4
    # cluster-robust (CR1) sandwich by hand
    X = np.column_stack([np.ones(8), HAND["treated"], HAND["post"], HAND["treated"] * HAND["post"]])
    y = HAND["rate"].to_numpy()
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    e = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    meat = sum(
        np.outer(X[m].T @ e[m], X[m].T @ e[m])
        for m in (HAND["unit"] == u for u in ["c1", "c2", "t1", "t2"])
    )
    g, n, k = 4, 8, 4
    v = g / (g - 1) * (n - 1) / (n - k) * bread @ meat @ bread
    assert r.estimate.std_error == pytest.approx(np.sqrt(v[3, 3]), rel=1e-9)
    assert any("fewer than about 20" in w for w in r.warnings)


def test_did_2x2_without_units_and_errors():
    r = did_2x2(HAND, "treated", "post", "rate")
    assert r.estimate.estimate == pytest.approx(-4.0)
    assert any("independent" in w for w in r.warnings)
    with pytest.raises(StatsInputError, match="empty"):
        did_2x2(HAND[HAND["post"] == 0], "treated", "post", "rate")
    with pytest.raises(StatsInputError, match="0/1"):
        did_2x2(HAND.assign(post=HAND["post"] * 2), "treated", "post", "rate")


def test_did_2x2_planted_effect():
    rng = np.random.default_rng(7)
    rows = []
    for u in range(60):
        g = int(u < 30)
        a = rng.normal(40, 4)
        for p in (0, 1):
            for _ in range(4):
                rows.append((u, g, p, a + 2 * p - 3 * g * p + rng.normal(0, 1)))
    df = pd.DataFrame(rows, columns=["unit", "g", "p", "y"])
    r = did_2x2(df, "g", "p", "y", unit_col="unit")
    assert r.estimate.ci_lower < -3 < r.estimate.ci_upper
    assert r.estimate.p_value < 0.001
