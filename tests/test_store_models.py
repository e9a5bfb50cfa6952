"""The warehouse models: views rendered from `store/sql/*.sql`, and the rate computed once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import marts
from pipelines.contracts import CONTRACTS, OUTCOMES
from pipelines.load.ingest import ingest_file
from pipelines.measures import MEASURES, STOCK_MEASURES
from pipelines.stats.rates import rate_ci
from pipelines.store import models

HEADER = "period_end,area_code,unit,age_band,cla_at_period_end,cla_starts\n"


def test_the_vocabulary_names_the_outcome_contract_counts():
    assert set(MEASURES) == set(OUTCOMES.value_columns)
    assert all(MEASURES[m].is_stock for m in STOCK_MEASURES)


def test_every_outcome_measure_is_a_branch_of_the_rendered_views():
    staging, revisions = models.staging_views()
    rates = models.outcome_rates_view()
    for measure in OUTCOMES.value_columns:
        kind = "stock" if measure in STOCK_MEASURES else "flow"
        assert f"'{measure}' AS measure, '{kind}' AS measure_kind" in staging
        assert f"'{measure}' AS measure, '{kind}' AS measure_kind" in rates
        assert f"{measure} * 10000.0 / population AS rate_per_10k" in rates
    assert rates.count("UNION ALL") == len(OUTCOMES.value_columns) - 1
    for contract in CONTRACTS.values():
        assert f"FROM {contract.history_table}" in revisions


def test_a_misspelt_template_variable_fails_loudly(monkeypatch):
    monkeypatch.setattr(models, "sql_file", lambda name: "SELECT {{ not_given }}")
    with pytest.raises(Exception, match="not_given"):
        models.render("anything.sql")


@pytest.fixture
def quarters(reference_wh, write_file):
    """Eight quarters of the whole area with a suppressed count and a small one (exact CI)."""
    ends = pd.date_range("2022-06-30", periods=8, freq="QE")
    starts = ["3", "c", "12", "0", "25", "7", "40", "9"]
    rows = "".join(
        f"{d.date()},E06999901,All,All,{60 + i},{s}\n"
        for i, (d, s) in enumerate(zip(ends, starts, strict=True))
    )
    assert ingest_file(reference_wh, write_file("q.csv", HEADER + rows)).outcome == "loaded"
    return reference_wh


@pytest.mark.parametrize("measure", ["cla_starts", "cla_at_period_end"])
def test_the_series_rate_is_the_mart_rate_with_its_interval(quarters, measure):
    series = marts.outcome_series(quarters, "E06999901", measure)
    mart = quarters.query(
        "SELECT period_end, rate_per_10k FROM mart_outcome_rates WHERE area_code = 'E06999901' "
        "AND unit = 'All' AND age_band = 'All' AND grain = 'quarter' AND measure = ? "
        "ORDER BY period_end",
        [measure],
    )
    assert len(series) == len(mart) == 8
    np.testing.assert_array_equal(series["rate_per_10k"].to_numpy(), mart["rate_per_10k"])
    expected = rate_ci(series["value"].astype(float), series["population"].astype(float))
    np.testing.assert_allclose(series["rate_per_10k"], expected["rate"], rtol=1e-12)
    np.testing.assert_allclose(series["rate_lower"], expected["lower"], rtol=1e-12)
    np.testing.assert_allclose(series["rate_upper"], expected["upper"], rtol=1e-12)
    assert list(series.columns[-3:]) == ["rate_lower", "rate_upper", "rate_per_10k"]
    if measure == "cla_starts":
        suppressed = series[series["value"].isna()]
        assert len(suppressed) == 1 and suppressed[["rate_per_10k", "rate_lower"]].isna().all(
            axis=None
        )
