"""The marts, checked on hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.load.ingest import ingest_file

HEADER = "period_end,area_code,unit,age_band,cla_at_period_end,cla_starts\n"


@pytest.fixture
def year_of_months(reference_wh, write_file):
    """April 2022 to March 2023, monthly, with population 20,000 (mid-2022) and 25,000 (mid-2023)."""
    months = pd.date_range("2022-04-30", periods=15, freq="ME")
    rows = "".join(
        f"{d.date()},E06999901,All,All,{100 + i},{'c' if d.month == 5 and d.year == 2023 else i}\n"
        for i, d in enumerate(months)
    )
    assert ingest_file(reference_wh, write_file("months.csv", HEADER + rows)).outcome == "loaded"
    return reference_wh


def rates(wh, grain, measure):
    return wh.query(
        "SELECT period_end, value, null_reason, population, population_year, rate_per_10k "
        "FROM mart_outcome_rates WHERE grain = ? AND measure = ? ORDER BY period_end",
        [grain, measure],
    )


def test_monthly_rate_uses_latest_mid_year_at_or_before(year_of_months):
    frame = rates(year_of_months, "month", "cla_at_period_end")
    by_date = frame.set_index(frame.period_end.astype(str).str[:10])
    # June 2022 ends on 30 June: the mid-2022 estimate applies from that day.
    assert (
        by_date.loc["2022-05-31", "population_year"] == 2021
        or pd.isna(by_date.loc["2022-05-31", "population_year"])
        or by_date.loc["2022-05-31", "population_year"] == 2022
    )
    assert by_date.loc["2022-06-30", "population_year"] == 2022
    assert by_date.loc["2023-06-30", "population_year"] == 2023
    assert by_date.loc["2022-07-31", "rate_per_10k"] == pytest.approx(103 * 10_000 / 20_000)


def test_before_the_first_estimate_the_earliest_is_used_and_flagged(year_of_months):
    frame = year_of_months.query(
        "SELECT population_year, population_after_period FROM mart_outcome_rates "
        "WHERE grain = 'month' AND period_end = '2022-04-30' AND measure = 'cla_starts'"
    ).iloc[0]
    assert frame.population_year == 2022 and bool(frame.population_after_period)


def test_financial_year_uses_the_previous_mid_year_like_dfe(year_of_months):
    frame = rates(year_of_months, "financial_year", "cla_at_period_end")
    fy = frame[frame.period_end.astype(str).str.startswith("2023-03-31")].iloc[0]
    assert fy.value == 111  # stock on 31 March 2023 (the 12th month)
    assert fy.population_year == 2022
    assert fy.rate_per_10k == pytest.approx(111 * 10_000 / 20_000)


def test_flows_are_summed_and_stocks_taken_at_period_end(year_of_months):
    quarters = rates(year_of_months, "quarter", "cla_starts")
    first = quarters.iloc[0]
    assert str(first.period_end)[:10] == "2022-06-30" and first.value == 0 + 1 + 2
    stocks = rates(year_of_months, "quarter", "cla_at_period_end")
    assert stocks.iloc[0].value == 102
    fy = rates(year_of_months, "financial_year", "cla_starts")
    assert fy.iloc[0].value == sum(range(12))


def test_a_suppressed_month_makes_its_quarter_null_not_a_partial_sum(year_of_months):
    quarters = rates(year_of_months, "quarter", "cla_starts").set_index("period_end")
    june_2023 = quarters.iloc[-1]
    assert pd.isna(june_2023.value) and june_2023.null_reason == "suppressed in source"
    months = rates(year_of_months, "month", "cla_starts")
    may = months[months.period_end.astype(str).str.startswith("2023-05")].iloc[0]
    assert pd.isna(may.value) and may.null_reason == "c"


def test_an_incomplete_year_is_null(year_of_months):
    fy = rates(year_of_months, "financial_year", "cla_starts")
    assert pd.isna(fy.iloc[-1].value) and fy.iloc[-1].null_reason == "incomplete period"


def test_event_time_counts_months_since_each_units_rollout(sample_wh):
    frame = sample_wh.query(
        "SELECT unit, period_end, months_since_rollout, quarters_since_rollout, wave "
        "FROM mart_outcomes_event_time WHERE grain = 'month' AND measure = 'cla_starts' "
        "AND age_band = 'All' AND unit = 'Ashby' AND period_end IN ('2019-10-31', '2019-09-30', "
        "'2020-01-31') ORDER BY period_end"
    )
    assert frame.months_since_rollout.tolist() == [-1, 0, 3]
    assert frame.quarters_since_rollout.tolist() == [-1, 0, 1]
    assert set(frame.wave) == {1}


def test_training_coverage(sample_wh):
    frame = sample_wh.query(
        "SELECT staff_trained, staff_in_scope, coverage FROM mart_training LIMIT 50"
    )
    assert (frame.coverage == frame.staff_trained / frame.staff_in_scope).all()
    assert frame.coverage.between(0, 1).all()


def test_sample_rates_match_the_sample_dfe_figures(sample_wh):
    """Northmoor's CLA rate on 31 March, recomputed, equals what its DfE-format file publishes."""
    frame = sample_wh.query(
        "SELECT period_end, value, rate_per_10k FROM mart_outcome_rates "
        "WHERE grain = 'financial_year' AND unit = 'All' AND age_band = 'All' "
        "AND measure = 'cla_at_period_end' AND value IS NOT NULL ORDER BY period_end"
    )
    assert len(frame) >= 10
    assert frame.rate_per_10k.between(40, 120).all()


# -- named reads (pipelines.marts) ------------------------------------------------------------

from pipelines import marts  # noqa: E402
from pipelines.measures import MEASURES  # noqa: E402
from pipelines.stats.rates import rate_ci  # noqa: E402


def test_outcome_series_carries_rate_ci_and_population_year(sample_wh):
    series = marts.outcome_series(sample_wh, "E06999901", "cla_at_period_end", grain="quarter")
    complete = series[series.complete]
    assert len(complete) == 45
    row = complete.iloc[-1]
    expected = rate_ci(row.value, row.population).iloc[0]
    assert row.rate_per_10k == pytest.approx(expected.rate)
    assert (row.rate_lower, row.rate_upper) == pytest.approx((expected.lower, expected.upper))
    assert row.population_year == 2025


def test_outcome_series_filters_by_unit_and_period(sample_wh):
    whole = marts.outcome_series(sample_wh, "E06999901", "cla_starts", grain="month")
    ashby = marts.outcome_series(sample_wh, "E06999901", "cla_starts", unit="Ashby", grain="month")
    assert (ashby.value.sum()) < whole.value.sum()
    window = marts.outcome_series(
        sample_wh,
        "E06999901",
        "cla_starts",
        grain="month",
        start=pd.Timestamp("2020-01-01").date(),
        end=pd.Timestamp("2020-12-31").date(),
    )
    assert len(window) == 12


def test_unknown_measure_and_grain_are_clear_errors(sample_wh):
    with pytest.raises(ValueError, match="Unknown measure"):
        marts.outcome_series(sample_wh, "E06999901", "children")
    with pytest.raises(ValueError, match="Unknown grain"):
        marts.outcome_series(sample_wh, "E06999901", "cla_starts", grain="week")


def test_outcome_panel_by_unit_has_every_locality_with_its_wave(sample_wh):
    panel = marts.outcome_panel(sample_wh, "E06999901", "cpp_starts", grain="quarter")
    waves = panel.drop_duplicates("series").set_index("series").wave
    assert waves.drop("All").sort_index().to_dict() == {
        "Ashby": 1,
        "Brookfield": 1,
        "Castleton": 2,
        "Dunmore": 2,
        "Elmwood": 3,
        "Fairhaven": 3,
    }


def test_rollout_dates(sample_wh):
    assert str(marts.area_rollout_date(sample_wh, "E06999901")) == "2019-10-01"
    assert str(marts.unit_rollout_date(sample_wh, "E06999901", "Elmwood")) == "2023-04-01"
    assert marts.area_rollout_date(sample_wh, "E00000000") is None


def test_training_coverage_with_wilson_interval(sample_wh):
    frame = marts.training_coverage(sample_wh, "E06999901", by=("unit",))
    assert set(frame.unit) == {
        "Ashby",
        "Brookfield",
        "Castleton",
        "Dunmore",
        "Elmwood",
        "Fairhaven",
    }
    assert (frame.coverage_lower <= frame.coverage).all()
    assert (frame.coverage <= frame.coverage_upper).all()
    with pytest.raises(ValueError):
        marts.training_coverage(sample_wh, "E06999901", by=("unit; DROP TABLE x",))


def test_audit_reads(sample_wh):
    assert len(marts.uploads(sample_wh)) > 70
    summary = marts.coverage_summary(sample_wh)
    assert set(summary.measure) == set(MEASURES)
    assert marts.last_upload_time(sample_wh) is not None
    assert marts.population_label(pd.DataFrame({"population_year": [2019, 2024]})) == (
        "mid-year population 2019–2024 (uploaded population file)"
    )


ROLLOUT_CSV = (
    "area_code,unit,programme,wave,start_date\n"
    "E06999901,All,Restorative Practice,1,2019-10-01\n"
    "E06999903,All,Restorative Practice,1,2020-04-01\n"
    "E06999950,All,Restorative Practice,1,2020-04-01\n"
)


def test_areas_list_rollout_councils_that_dfe_publishes_without_outcomes(reference_wh, write_file):
    from pipelines import config, marts
    from pipelines.load.dfe import import_dfe_files

    cla = config.SAMPLE_DIR / "dfe" / "cla_number_and_rate_per_10k_children.csv"
    assert import_dfe_files(reference_wh, [cla])[0].outcome == "loaded"
    assert marts.areas(reference_wh).empty  # no outcomes and no rollout: nothing to show
    result = ingest_file(reference_wh, write_file("rollout.csv", ROLLOUT_CSV), user="test")
    assert result.outcome == "loaded", result.issues
    listed = marts.areas(reference_wh)
    # Northmoor is named by the areas file, Eastbridge (no areas row) by DfE; E06999950 is in
    # the rollout table but DfE publishes nothing for it, so there is nothing to show.
    assert listed[["area_code", "area_name", "old_la_code"]].values.tolist() == [
        ["E06999903", "Eastbridge", "982"],
        ["E06999901", "Northmoor", "991"],
    ]
    assert listed["region_name"].tolist() == ["North Fictional", "North Fictional"]
    whole = marts.units(reference_wh, "E06999903")
    assert whole["unit"].tolist() == ["All"] and whole["wave"].tolist() == [1]
    assert str(whole["start_date"].iloc[0])[:10] == "2020-04-01"
    assert marts.units(reference_wh, "E06999950")["wave"].tolist() == [1]


def test_units_of_an_area_with_outcomes_are_its_own(year_of_months):
    from pipelines import marts

    assert marts.units(year_of_months, "E06999901")["unit"].tolist() == ["All"]
    assert marts.units(year_of_months, "E06999901")["wave"].isna().all()
