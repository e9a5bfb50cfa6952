"""The analysis layer on the sample warehouse: what pages, the report and notebooks receive."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from pipelines import analysis
from pipelines.stats import banned_phrases_in
from pipelines.stats.findings import CAVEAT_STOCK
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
FIRST_WAVE = dt.date(2019, 10, 1)


@pytest.fixture(scope="module")
def wh(sample_warehouse_path):
    """The sample warehouse, opened read-only once for the module (these tests only read)."""
    with open_warehouse(sample_warehouse_path, read_only=True) as warehouse:
        yield warehouse


# --- trend_analysis ----------------------------------------------------------------------------


def test_trend_analysis_runs_every_method_on_a_long_quarterly_series(wh):
    result = analysis.trend_analysis(wh, AREA, "cla_starts")
    assert result.rollout_date == FIRST_WAVE  # unit All: the area's first wave
    assert result.series["complete"].all()
    assert result.before_after is not None and result.its is not None and result.spc is not None
    assert result.notes == {}
    assert result.its.seasonality_harmonics == 1 and result.its.family == "quasipoisson"
    assert {f.key.split(":")[0] for f in result.findings} == {"its", "before_after", "spc"}
    assert any("later waves started in Apr 2021, Apr 2023" in c for c in result.caveats)


def test_trend_analysis_source_line_names_dataset_upload_and_population_years(wh):
    source = analysis.trend_analysis(wh, AREA, "cpp_starts").source
    assert re.fullmatch(
        r"Source: outcomes extracts \(last upload \d{1,2} [A-Z][a-z]+ \d{4}\); rates per 10,000 "
        r"children aged 0–17, mid-year population 2015–2025",
        source,
    ), source


def test_trend_analysis_for_a_locality_uses_its_own_rollout(wh):
    result = analysis.trend_analysis(wh, AREA, "cpp_starts", unit="Elmwood", grain="month")
    assert result.rollout_date == dt.date(2023, 4, 1)
    assert result.its.n_post == 39
    assert result.caveats == ()


def test_financial_years_explain_why_the_its_cannot_run(wh):
    result = analysis.trend_analysis(wh, AREA, "cla_starts", grain="financial_year")
    assert result.its is None
    assert result.notes["its"].startswith("Too few financial years before rollout (4)")
    assert "at least 8 each side" in result.notes["its"]
    assert result.before_after is not None


def test_stock_measures_carry_the_repeated_count_caveat_and_hac_is_applied(wh):
    result = analysis.trend_analysis(wh, AREA, "cla_at_period_end", hac=True)
    assert CAVEAT_STOCK in result.caveats
    assert result.its.hac_lags == result.hac_lags == analysis.newey_west_lags(len(result.series))
    ba = next(f for f in result.findings if f.key.startswith("before_after"))
    assert CAVEAT_STOCK in ba.caveats and ba.confidence != "high"


def test_spc_is_rebased_at_rollout_unless_asked_not_to(wh):
    rebased = analysis.trend_analysis(wh, AREA, "cpp_at_period_end")
    single = analysis.trend_analysis(wh, AREA, "cpp_at_period_end", rebase_at_rollout=False)
    assert rebased.spc.points["segment"].max() == 1
    assert single.spc.points["segment"].max() == 0


def test_target_gives_an_assurance_icon(wh):
    result = analysis.trend_analysis(wh, AREA, "cla_at_period_end", target=1.0)
    assert result.spc.assurance_icon == "consistent_fail"  # lower is better; 1 per 10,000


def test_empty_warehouse_gives_notes_not_tracebacks(empty_wh):
    result = analysis.trend_analysis(empty_wh, AREA, "cla_starts")
    assert result.before_after is None and result.its is None and result.spc is None
    assert set(result.notes) == {"series", "before_after", "its", "spc"}
    assert result.findings == []


def test_unknown_grain_or_family_is_a_clear_error(wh):
    with pytest.raises(ValueError, match="Unknown grain"):
        analysis.trend_analysis(wh, AREA, "cla_starts", grain="week")
    with pytest.raises(ValueError, match="Unknown ITS family"):
        analysis.trend_analysis(wh, AREA, "cla_starts", its_family="negbin")


# --- headlines ---------------------------------------------------------------------------------


def test_headlines_are_three_tiles_with_consistent_numbers(wh):
    tiles = {t.key: t for t in analysis.headlines(wh, AREA)}
    assert list(tiles) == ["cla_rate", "cpp_rate", "training_coverage"]
    for key in ("cla_rate", "cpp_rate"):
        tile = tiles[key]
        assert tile.unit_label == "per 10,000 children" and tile.change_unit == "%"
        assert tile.latest_period == dt.date(2026, 6, 30)
        assert tile.latest_lower < tile.latest_rate < tile.latest_upper
        assert tile.population_year == 2025
        ratio = tile.before_after.rate_ratio
        assert tile.change_pct == pytest.approx(100 * (ratio - 1))
        assert tile.change_lower < tile.change_pct < tile.change_upper
        assert tile.variation_icon is not None and tile.assurance_icon is None
        assert "4 quarters to Jun 2026 against the 4 quarters before rollout" in tile.change_basis
        assert CAVEAT_STOCK in tile.caveats
    training = tiles["training_coverage"]
    assert training.unit_label == "% of staff in scope"
    assert training.change_unit == "percentage points"
    assert training.latest_lower < training.latest_rate < training.latest_upper
    assert training.change_basis == "Jun 2026 against Jun 2025"
    assert training.source.startswith("Source: training extracts")


def test_headline_cpp_rate_matches_the_published_style_rate(wh):
    tile = next(t for t in analysis.headlines(wh, AREA) if t.key == "cpp_rate")
    series = tile.series.set_index("period_end")
    row = series.loc[pd.Timestamp(tile.latest_period)]
    assert tile.latest_rate == pytest.approx(row["value"] / row["population"] * 10_000)


def test_headlines_with_targets_show_assurance(wh):
    tiles = analysis.headlines(wh, AREA, targets={"cla_rate": 200.0})
    assert tiles[0].assurance_icon == "consistent_pass"


def test_headlines_on_an_empty_warehouse(empty_wh):
    tiles = analysis.headlines(empty_wh, AREA)
    assert [t.latest_value for t in tiles] == [None, None, None]
    assert all(t.finding for t in tiles)


def test_newcombe_interval_reference():
    # Newcombe (1998) Table II example (a): 56/70 - 48/80, hybrid score 0.0524 to 0.3339.
    d, lo, hi = analysis.newcombe_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=1e-4)
    assert hi == pytest.approx(0.3339, abs=1e-4)


# --- cohorts -----------------------------------------------------------------------------------


def test_cohort_analysis_uses_not_yet_treated_localities_and_says_so(wh):
    result = analysis.cohort_analysis(wh, AREA, "cpp_starts")
    assert result.control == "not_yet_treated"
    assert "had not started yet" in result.control_note
    assert result.did.cohort_sizes == {199: 2, 205: 2, 213: 2}  # 2019Q4, 2021Q2, 2023Q2
    assert set(result.panel["unit"]) == {
        "Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven",
    }  # fmt: skip
    assert result.dynamic["pre"].any() and (~result.dynamic["pre"]).any()
    est, lo, hi = result.relative_att
    assert est == pytest.approx(result.simple_att.estimate / result.baseline_rate)
    assert lo < est < hi


def test_never_treated_request_falls_back_when_every_locality_starts(wh):
    result = analysis.cohort_analysis(wh, AREA, "cpp_starts", control="never_treated")
    assert result.control == "not_yet_treated"
    assert "Never-treated comparison was asked for" in result.control_note


def test_two_by_two_is_first_wave_against_last_before_the_last_starts(wh):
    result = analysis.cohort_analysis(wh, AREA, "cla_starts")
    assert result.two_by_two_description.startswith("Wave 1 (from Oct 2019) against wave 3")
    assert result.two_by_two.n_clusters == 4
    assert result.two_by_two.counts.loc[1, 1] == 2 * 14  # 2 localities x 2019Q4..2023Q1


def test_wave_means_are_an_event_time_table(wh):
    means = analysis.cohort_analysis(wh, AREA, "cla_starts").wave_means
    assert sorted(means["wave"].unique()) == [1, 2, 3]
    assert (means["n_units"] == 2).all()
    zero = means[(means["wave"] == 1) & (means["periods_since_rollout"] == 0)].iloc[0]
    assert zero["pooled_lower"] < zero["pooled_rate"] < zero["pooled_upper"]


def test_cohort_analysis_on_an_empty_warehouse(empty_wh):
    result = analysis.cohort_analysis(empty_wh, AREA, "cla_starts")
    assert result.did is None and "did" in result.notes


# --- comparisons -------------------------------------------------------------------------------


def test_unit_comparison_is_long_with_an_index_of_100_in_the_first_year(wh):
    comp = analysis.unit_comparison(wh, AREA, "cla_starts")
    assert comp.series_order == (
        "All", "Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven",
    )  # fmt: skip
    for _, rows in comp.frame.groupby("series"):
        assert rows.sort_values("period_end")["index"].head(4).mean() == pytest.approx(100)
    assert (comp.frame["rate_lower"] <= comp.frame["rate_per_10k"]).all()


def test_age_band_comparison_orders_bands_and_flags_small_counts(wh):
    comp = analysis.age_band_comparison(wh, AREA, "cla_starts")
    assert comp.series_order == ("All", "Under 1", "1-4", "5-9", "10-15", "16-17")
    small = comp.frame[comp.frame["small_count"]]
    assert not small.empty and small["value"].between(1, 4).all()


# --- dose-response and cost --------------------------------------------------------------------


def test_dose_response_uses_latest_coverage_and_relative_change(wh):
    result = analysis.dose_response_analysis(wh, AREA, "cpp_starts")
    assert result.coverage_date == dt.date(2026, 6, 30)
    assert len(result.table) == 6 and result.result.n == 6
    table = result.table
    assert np.allclose(table["relative_change"], table["change"] / table["rate_before"])
    # The sample plants the same effect everywhere, so no clear link is expected.
    assert result.result.ci_lower < 0 < result.result.ci_upper


def test_cost_avoidance_from_the_monthly_its_counterfactual(wh):
    result = analysis.cost_avoidance_analysis(wh, AREA)
    assert result.grain == "month" and result.since == FIRST_WAVE
    cost = result.result
    assert (
        cost.child_years_avoided_lower < cost.child_years_avoided < cost.child_years_avoided_upper
    )
    totals = result.its.post_totals
    assert cost.actual_child_years == pytest.approx(totals["observed"] / 12)
    doubled = analysis.cost_avoidance_analysis(wh, AREA, unit_cost=200_000, investment=1e6)
    assert doubled.result.gross_avoidance == pytest.approx(2 * cost.gross_avoidance)
    assert doubled.result.return_ratio is not None
    assert "illustrative" not in " ".join(doubled.findings[0].caveats)


def test_cost_avoidance_without_data_explains(empty_wh):
    result = analysis.cost_avoidance_analysis(empty_wh, AREA)
    assert result.result is None and result.notes


# --- board findings ----------------------------------------------------------------------------


def test_board_findings_are_five_to_eight_most_important_first(wh):
    found = analysis.board_findings(wh, AREA)
    assert 5 <= len(found) <= 8
    assert [f.importance for f in found] == sorted(f.importance for f in found)
    # The primary outcomes (flows) first, as the analysis plan names them; stocks follow.
    assert found[0].measure == "cla_starts" and found[1].measure == "cpp_starts"
    assert {"cla_at_period_end", "cpp_at_period_end"} <= {f.measure for f in found[2:]}
    assert all(f.confidence in ("high", "moderate", "low") for f in found)
    assert len(analysis.board_findings(wh, AREA, max_findings=5)) == 5


def test_board_findings_on_an_empty_warehouse_say_why(empty_wh):
    (only,) = analysis.board_findings(empty_wh, AREA)
    assert only.confidence == "low" and "No findings" in only.text


def _all_text(obj) -> list[str]:
    """Every string reachable in a result (findings, notes, caveats, sentences)."""
    out: list[str] = []
    if isinstance(obj, str):
        out.append(obj)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            out += _all_text(getattr(obj, f.name))
    elif isinstance(obj, dict):
        for v in obj.values():
            out += _all_text(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            out += _all_text(v)
    return out


def test_no_text_from_the_analysis_layer_uses_causal_language(wh, empty_wh):
    results = [
        analysis.board_findings(wh, AREA),
        analysis.headlines(wh, AREA),
        analysis.trend_analysis(wh, AREA, "cla_at_period_end", grain="financial_year"),
        analysis.trend_analysis(wh, AREA, "referrals", unit="Ashby", grain="month"),
        analysis.cohort_analysis(wh, AREA, "cla_starts"),
        analysis.dose_response_analysis(wh, AREA, "cla_starts"),
        analysis.cost_avoidance_analysis(wh, AREA, investment=2e6),
        analysis.trend_analysis(empty_wh, AREA, "cla_starts"),
        analysis.board_findings(empty_wh, AREA),
    ]
    texts = [t for r in results for t in _all_text(r)]
    assert len(texts) > 50
    offending = {t: banned_phrases_in(t) for t in texts if banned_phrases_in(t)}
    assert not offending


def test_board_difference_in_differences_uses_financial_years(wh):
    """A single base quarter per wave is too noisy for the board (see test_planted_effect)."""
    found = [f for f in analysis.board_findings(wh, AREA) if f.key.startswith("did:")]
    assert found and all("a financial year" in f.text for f in found)


def test_its_findings_on_stocks_warn_that_the_interval_is_too_narrow(wh):
    trend = analysis.trend_analysis(wh, AREA, "cla_at_period_end")
    its = next(f for f in trend.findings if f.key.startswith("its:"))
    assert any("likely too narrow" in c for c in its.caveats)
    assert its.confidence != "high"
