"""Synthetic control (pipelines.stats.synth): weights, gap, RMSPE, placebo test and refusals.

Reference checks. The Basque Country example (Abadie & Gardeazabal 2003; published weights
Cataluna 0.851, Madrid 0.149, reproduced by pysyncon's own tests to an absolute tolerance of
0.025), on the data in tests/data/reference/basque.csv. And a constructed donor pool whose
treated unit is a known convex combination of two donors (0.6 and 0.4) before the programme,
with a known effect after it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pysyncon import Dataprep, Synth

from pipelines.stats.errors import StatsInputError
from pipelines.stats.synth import MAX_PRE_RMSPE_RELATIVE, fit_weights, synthetic_control

YEARS = np.arange(2010, 2026)
START = 2020
EFFECT = -8.0


def donor_pool(n_donors: int = 8, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        f"D{i}": 50 + rng.normal(0, 1, len(YEARS)).cumsum() * 2 + i * 5 for i in range(n_donors)
    }


def panel(series: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (unit, int(y), float(v))
            for unit, s in series.items()
            for y, v in zip(YEARS, s, strict=True)
        ],
        columns=["area_code", "time_period", "rate"],
    )


def planted(effect: float = EFFECT, noise: float = 0.0, seed: int = 2):
    donors = donor_pool()
    treated = 0.6 * donors["D1"] + 0.4 * donors["D5"]
    treated = treated + np.random.default_rng(seed).normal(0, noise, len(YEARS))
    treated = np.where(YEARS >= START, treated + effect, treated)
    return panel({**donors, "T": treated}), list(donors)


def test_recovers_known_donor_weights_gap_and_placebo_rank():
    data, donors = planted()
    result = synthetic_control(data, "T", donors, "rate", "time_period", START)
    assert result.weights["D1"] == pytest.approx(0.6, abs=0.01)
    assert result.weights["D5"] == pytest.approx(0.4, abs=0.01)
    assert result.weights.sum() == pytest.approx(1.0)
    assert (result.weights >= 0).all()
    pre = result.path[result.path["period"] == "pre"]
    post = result.path[result.path["period"] == "post"]
    assert pre["gap"].abs().max() < 0.05
    assert post["gap"].to_numpy() == pytest.approx(np.full(len(post), EFFECT), abs=0.1)
    assert result.mean_post_gap == pytest.approx(EFFECT, abs=0.1)
    assert (result.n, result.n_pre, result.n_post, result.n_donors) == (16, 10, 6, 8)
    assert result.rmspe_ratio > 100
    # the treated unit has the largest post/pre ratio of all 9 units
    assert result.placebo_rank == 1
    assert result.p_value == pytest.approx(1 / 9)
    assert len(result.placebos) == 9


def test_gap_is_treated_minus_synthetic():
    data, donors = planted()
    result = synthetic_control(data, "T", donors, "rate", "time_period", START)
    path = result.path
    assert path["gap"].to_numpy() == pytest.approx((path["treated"] - path["synthetic"]).to_numpy())
    wide = data.pivot(index="time_period", columns="area_code", values="rate")
    synthetic = wide[result.weights.index] @ result.weights
    assert path["synthetic"].to_numpy() == pytest.approx(synthetic.to_numpy())


def test_weights_are_those_pysyncon_gives_for_the_same_problem():
    data, donors = planted()
    wide = data.pivot(index="time_period", columns="area_code", values="rate")
    pre = wide.loc[wide.index < START]
    direct = Synth()
    direct.fit(X0=pre[donors], X1=pre["T"], Z0=pre[donors], Z1=pre["T"], custom_V=np.ones(10))
    ours = fit_weights(pre[donors], pre["T"])
    assert ours.to_numpy() == pytest.approx(np.clip(direct.W, 0, None), abs=1e-6)


def test_no_planted_effect_gives_an_unremarkable_placebo_rank():
    data, donors = planted(effect=0.0, noise=0.3)
    result = synthetic_control(data, "T", donors, "rate", "time_period", START)
    assert abs(result.mean_post_gap) < 1.0
    assert result.placebo_rank > 1
    assert result.p_value > 0.1


def test_refuses_fewer_than_five_pre_period_years():
    data, donors = planted()
    with pytest.raises(StatsInputError, match="Only 4 pre-period year.*at least 5"):
        synthetic_control(data, "T", donors, "rate", "time_period", 2014)


def test_refuses_when_there_is_no_post_period():
    data, donors = planted()
    with pytest.raises(StatsInputError, match="no year from 2030"):
        synthetic_control(data, "T", donors, "rate", "time_period", 2030)


def test_refuses_a_poor_pre_period_fit_and_gives_the_numbers():
    donors = donor_pool()
    outside = np.max(np.vstack(list(donors.values())), axis=0) * 1.5  # outside every donor
    data = panel({**donors, "T": outside})
    with pytest.raises(StatsInputError) as caught:
        synthetic_control(data, "T", list(donors), "rate", "time_period", START)
    message = str(caught.value)
    assert "pre-period RMSPE" in message
    assert f"{MAX_PRE_RMSPE_RELATIVE:.0%} threshold" in message


def test_the_fit_threshold_is_a_parameter():
    data, donors = planted(noise=2.0)
    with pytest.raises(StatsInputError, match="1% threshold"):
        synthetic_control(data, "T", donors, "rate", "time_period", START,
                          max_pre_rmspe_relative=0.01)  # fmt: skip
    result = synthetic_control(data, "T", donors, "rate", "time_period", START)
    assert 0.01 < result.pre_rmspe_relative <= MAX_PRE_RMSPE_RELATIVE


def test_donors_with_suppressed_years_are_left_out_with_a_warning():
    data, donors = planted()
    data.loc[(data["area_code"] == "D7") & (data["time_period"] == 2015), "rate"] = np.nan
    result = synthetic_control(data, "T", donors, "rate", "time_period", START)
    assert "D7" not in result.weights.index
    assert result.n_donors == 7
    assert any("D7" in w and "left out" in w for w in result.warnings)


def test_refuses_unknown_treated_unit_and_too_few_donors():
    data, donors = planted()
    with pytest.raises(StatsInputError, match="treated unit X"):
        synthetic_control(data, "X", donors, "rate", "time_period", START)
    with pytest.raises(StatsInputError, match="at least 2 donors"):
        synthetic_control(data, "T", ["D1", "nobody"], "rate", "time_period", START)


def test_result_carries_method_warnings_and_serialises():
    data, donors = planted()
    result = synthetic_control(data, "T", donors, "rate", "time_period", START)
    assert "Abadie" in result.method and "pysyncon" in result.method
    assert any("COVID-19" in w for w in result.warnings)
    as_dict = json.loads(json.dumps(result.to_dict()))
    assert as_dict["weights"]["D1"] == pytest.approx(0.6, abs=0.01)
    assert as_dict["p_value"] == pytest.approx(1 / 9)
    with pytest.raises(AttributeError):
        result.p_value = 0.5  # frozen


BASQUE_WEIGHTS = {"Cataluna": 0.850816306, "Madrid (Comunidad De)": 0.149183694}


def test_reproduces_the_basque_country_weights():
    df = pd.read_csv(Path(__file__).parent / "data" / "reference" / "basque.csv")
    controls = sorted(
        set(df["regionname"]) - {"Basque Country (Pais Vasco)"}, key=list(df["regionname"]).index
    )
    sectors = ["agriculture", "energy", "industry", "construction", "services.venta"]
    dataprep = Dataprep(
        foo=df,
        predictors=["school.illit", "school.prim", "school.med", "school.high",
                    "school.post.high", "invest"],
        predictors_op="mean",
        time_predictors_prior=range(1964, 1970),
        special_predictors=[("gdpcap", range(1960, 1970), "mean")]
        + [(f"sec.{s}", range(1961, 1970, 2), "mean") for s in sectors]
        + [("sec.services.nonventa", range(1961, 1970, 2), "mean"), ("popdens", [1969], "mean")],
        dependent="gdpcap",
        unit_variable="regionname",
        time_variable="year",
        treatment_identifier="Basque Country (Pais Vasco)",
        controls_identifier=controls,
        time_optimize_ssr=range(1960, 1970),
    )  # fmt: skip
    X0, X1 = dataprep.make_covariate_mats()
    Z0, Z1 = dataprep.make_outcome_mats()
    weights = fit_weights(Z0, Z1, X0=X0, X1=X1)
    for region, published in BASQUE_WEIGHTS.items():
        assert weights[region] == pytest.approx(published, abs=0.025)  # pysyncon's own tolerance
    others = weights.drop(list(BASQUE_WEIGHTS))
    assert others.max() < 0.025
