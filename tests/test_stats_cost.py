"""Tests for pipelines.stats.cost (hand-computed values)."""

import pandas as pd
import pytest

from pipelines.stats.cost import (
    DEFAULT_UNIT_COST_PER_CHILD_YEAR,
    child_years_from_monthly_stock,
    cost_avoidance,
)
from pipelines.stats.errors import StatsInputError


def test_hand_example_with_interval():
    # 120 counterfactual vs 100 actual child-years, £60,000 each, £500,000 invested
    r = cost_avoidance(
        120,
        100,
        60_000,
        investment=500_000,
        counterfactual_lower=105,
        counterfactual_upper=140,
        unit_cost_source="Council placement budget 2023-24",
        price_year="2023-24",
        n_periods=24,
    )
    assert r.child_years_avoided == 20
    assert (r.child_years_avoided_lower, r.child_years_avoided_upper) == (5, 40)
    assert r.gross_avoidance == 1_200_000
    assert (r.gross_avoidance_lower, r.gross_avoidance_upper) == (300_000, 2_400_000)
    assert r.net_avoidance == 700_000
    assert (r.net_avoidance_lower, r.net_avoidance_upper) == (-200_000, 1_900_000)
    assert r.return_ratio == pytest.approx(2.4)
    assert (r.return_ratio_lower, r.return_ratio_upper) == pytest.approx((0.6, 4.8))
    assert r.n == 24
    assert any("association, not causation" in a for a in r.assumptions)
    assert any("2023-24 prices" in a for a in r.assumptions)
    assert not any("illustrative" in w for w in r.warnings)
    assert r.to_dict()["gross_avoidance"] == 1_200_000


def test_default_cost_is_labelled_illustrative_and_no_interval_warns():
    r = cost_avoidance(10, 8)
    assert r.unit_cost_per_child_year == DEFAULT_UNIT_COST_PER_CHILD_YEAR
    assert r.gross_avoidance == 2 * DEFAULT_UNIT_COST_PER_CHILD_YEAR
    assert "Illustrative" in r.unit_cost_source
    assert any("illustrative" in w for w in r.warnings)
    assert any("no range" in w for w in r.warnings)
    assert r.net_avoidance is None and r.return_ratio is None
    # No pound figure in words at the illustrative default (issue 13).
    assert not any("£" in a for a in r.assumptions) and "£" not in r.unit_cost_source


def test_no_saving_and_interval_through_zero_warn():
    r = cost_avoidance(100, 110, 50_000, investment=10_000)
    assert r.child_years_avoided == -10 and r.net_avoidance == -510_000
    # Issue 13: never "avoided" or "saving" in words; the same warnings, said as differences.
    assert any("no fall in child-years" in w for w in r.warnings)
    r2 = cost_avoidance(105, 100, 50_000, counterfactual_lower=95, counterfactual_upper=115)
    assert any("includes no difference" in w for w in r2.warnings)
    for w in (*r.warnings, *r2.warnings, *r.assumptions):
        assert "avoided" not in w and "saved" not in w, w


def test_cost_errors():
    with pytest.raises(StatsInputError, match="both"):
        cost_avoidance(10, 8, counterfactual_lower=9)
    with pytest.raises(StatsInputError, match="between"):
        cost_avoidance(10, 8, counterfactual_lower=11, counterfactual_upper=12)
    with pytest.raises(StatsInputError, match="more than zero"):
        cost_avoidance(10, 8, 0)
    with pytest.raises(StatsInputError, match="negative"):
        cost_avoidance(-1, 8)
    with pytest.raises(StatsInputError, match="number"):
        cost_avoidance("lots", 8)


def test_child_years_from_monthly_stock():
    assert child_years_from_monthly_stock([12] * 12) == 12.0
    assert child_years_from_monthly_stock(pd.Series([100, 110, 120])) == pytest.approx(27.5)
    with pytest.raises(StatsInputError, match="no count"):
        child_years_from_monthly_stock([10, None, 12])
    with pytest.raises(StatsInputError, match="empty"):
        child_years_from_monthly_stock([])
    with pytest.raises(StatsInputError, match="negative"):
        child_years_from_monthly_stock([10, -1])
