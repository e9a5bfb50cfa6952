"""The in-memory simulator behind the verdicts' calibration: same draws as the sample, exact
truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import config
from pipelines.sample import PLANTED_EFFECTS, SEED, simulate


def test_simulate_with_the_sample_seed_reproduces_the_committed_outcomes() -> None:
    files = sorted((config.SAMPLE_DIR / "outcomes").glob("outcomes_*.csv"))[:8]
    committed = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    committed = committed[(committed["unit"] != "All") & (committed["age_band"] != "All")]
    sim = simulate(SEED).counts
    sim = sim.assign(period_end=sim["period_end"].dt.strftime("%Y-%m-%d"))
    merged = committed.merge(sim, on=["period_end", "unit", "age_band"], suffixes=("", "_sim"))
    assert len(merged) == len(committed) > 0
    for measure in ("cla_starts", "cpp_starts", "cla_at_period_end", "referrals"):
        assert (merged[measure] == merged[f"{measure}_sim"]).all(), measure


def test_truth_is_one_without_an_effect_and_scales_with_it() -> None:
    none = simulate(3, {})
    assert all(v == pytest.approx(1.0) for v in none.truth.values())
    planted = simulate(3)
    half = simulate(3, {m: e / 2 for m, e in PLANTED_EFFECTS.items()})
    for m, effect in PLANTED_EFFECTS.items():
        # Ramp months weigh in, so the average sits between no effect and the full effect.
        assert 1 + effect < planted.truth[m] < 1
        assert 1 - half.truth[m] == pytest.approx((1 - planted.truth[m]) / 2, rel=0.01)
    # Stocks follow from fewer starts; referrals have no effect.
    assert planted.truth["cla_at_period_end"] < 1
    assert planted.truth["referrals"] == 1.0


def test_quarterly_panel_sums_flows_and_takes_stocks_at_quarter_end() -> None:
    sim = simulate(5)
    flows = sim.locality_panel("cla_starts")
    months = sim.locality_panel("cla_starts", grain="month")
    assert flows["value"].sum() == months["value"].sum() == sim.counts["cla_starts"].sum()
    assert set(flows["period_end"].dt.month) == {3, 6, 9, 12}
    stock = sim.locality_panel("cla_at_period_end").set_index(["series", "period_end"])["value"]
    monthly = sim.locality_panel("cla_at_period_end", grain="month")
    at_end = monthly.set_index(["series", "period_end"])["value"].reindex(stock.index)
    assert np.array_equal(stock.to_numpy(), at_end.to_numpy())
