"""The grouped (national-scale) paths of the analysis layer and the charts give what the simple
per-unit versions give (issue #8: pages at 160 localities per area)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from pipelines import analysis, marts
from pipelines.analysis.common import ReadOnce
from pipelines.measures import UNIT_ALL
from pipelines.present import charts
from pipelines.stats.did import period_index
from pipelines.stats.dose_response import build_dose_response_table
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"


@pytest.fixture(scope="module")
def wh(sample_warehouse_path):
    with open_warehouse(sample_warehouse_path, read_only=True) as warehouse:
        yield warehouse


def _reference_table(cov, panel, coverage_date, window):
    rollouts = panel.groupby("unit")["start_date"].first()
    return build_dose_response_table(
        cov.rename(columns={"period_end": "date"}),
        panel.rename(columns={"period_end": "date", "rate_per_10k": "rate"}),
        rollouts,
        coverage_date=coverage_date,
        window_periods=window,
    )


@pytest.mark.parametrize("measure", ["cla_at_period_end", "cpp_starts", "referrals"])
@pytest.mark.parametrize("window", [1, 4, 8])
def test_dose_table_is_the_table_builders_table_on_the_sample(wh, measure, window):
    cov = marts.training_coverage(wh, AREA, by=("unit",))
    panel = analysis.unit_panel(wh, AREA, measure, "quarter")
    for cut in (cov["period_end"].max(), cov["period_end"].min(), pd.Timestamp("2010-01-01")):
        rollouts = panel.groupby("unit")["start_date"].first()
        fast = analysis.dose_table(cov, panel, rollouts, cut, window)
        pd.testing.assert_frame_equal(fast, _reference_table(cov, panel, cut, window))


def test_dose_table_edge_cases_match_the_table_builder():
    dates = pd.to_datetime(["2021-03-31", "2021-06-30", "2021-09-30", "2021-12-31", "2022-03-31"])
    panel = pd.DataFrame(
        {
            "unit": ["A"] * 5 + ["B"] * 5 + ["C"] * 5 + ["D"] * 5,
            "period_end": list(dates) * 4,
            "rate_per_10k": [1.0, 2, np.nan, 4, 5] + [3.0] * 5 + [np.nan] * 5 + [2.0, 3, 4, 5, 6],
            "start_date": [pd.Timestamp("2021-08-01")] * 5
            + [pd.NaT] * 5
            + [pd.Timestamp("2021-08-01")] * 5
            + [pd.Timestamp("2030-01-01")] * 5,
        }
    )
    cov = pd.DataFrame(
        {
            "unit": ["A", "A", "B", "E", "D"],
            "period_end": pd.to_datetime(
                ["2021-06-30", "2021-12-31", "2023-01-01", "2021-06-30", "2021-12-31"]
            ),
            "coverage": [0.2, np.nan, 0.5, 0.7, 0.9],  # A's latest is missing; B's is after
        }
    )
    rollouts = panel.groupby("unit")["start_date"].first()
    fast = analysis.dose_table(cov, panel, rollouts, "2022-01-31", 2)
    pd.testing.assert_frame_equal(fast, _reference_table(cov, panel, "2022-01-31", 2))
    assert fast["unit"].tolist() == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize("grain", ["quarter", "financial_year", "month"])
def test_unit_panel_cohort_is_each_units_first_period_from_its_rollout(wh, grain):
    panel = analysis.unit_panel(wh, AREA, "cla_starts", grain)
    assert not panel.empty
    expected_time = period_index(panel["period_end"], analysis.DID_FREQ[grain]).astype("int64")
    assert (panel["time"] == expected_time).all()
    for _unit, rows in panel.groupby("unit"):
        start = rows["start_date"].iloc[0]
        after = rows[rows["period_end"] >= pd.Timestamp(start)] if pd.notna(start) else rows[:0]
        want = int(after["time"].min()) if len(after) else None
        got = rows["cohort"].iloc[0]
        assert (got is pd.NA and want is None) or got == want
        assert rows["cohort"].nunique(dropna=False) == 1


@pytest.mark.parametrize("by", ["unit", "age_band"])
def test_comparison_index_is_each_series_rate_over_its_first_year(wh, by):
    compare = analysis.unit_comparison if by == "unit" else analysis.age_band_comparison
    result = compare(wh, AREA, "cpp_starts")
    frame = result.frame
    for name, rows in frame.groupby("series"):
        rows = rows.sort_values("period_end")
        base = rows["rate_per_10k"].head(4).mean()
        if not base or not np.isfinite(base):
            assert rows["index"].isna().all() and str(name) in result.notes
        else:
            np.testing.assert_allclose(rows["index"], rows["rate_per_10k"] / base * 100)
    assert result.series_order[0] == UNIT_ALL


def test_board_summary_is_the_headlines_and_the_board_findings(wh):
    summary = analysis.board_summary(wh, AREA)
    assert [h.finding for h in summary.headlines] == [
        h.finding for h in analysis.headlines(wh, AREA)
    ]
    assert [f.text for f in summary.findings] == [f.text for f in analysis.board_findings(wh, AREA)]


def test_reads_shared_within_one_analysis_are_copies(wh):
    shared = ReadOnce(wh)
    first = marts.outcome_series(shared, AREA, "cla_starts")
    first["value"] = -1
    again = marts.outcome_series(shared, AREA, "cla_starts")
    assert (again["value"] != -1).any()


def test_small_multiples_with_many_panels_draws_every_panel():
    # 160 localities x 3 columns used to raise: plotly's default row spacing does not fit.
    rows = [
        {
            "series": f"Locality {n:03d}",
            "period_end": date,
            "rate_per_10k": 50.0,
            "rate_lower": 45.0,
            "rate_upper": 55.0,
            "start_date": pd.Timestamp("2020-04-01"),
        }
        for n in range(160)
        for date in pd.date_range("2019-03-31", periods=8, freq="QE")
    ]
    fig = charts.small_multiples(pd.DataFrame(rows), title="Many", source="Source: test")
    assert isinstance(fig, go.Figure)
    assert len([s for s in fig.layout.shapes if s.name == "rollout"]) == 160
    titles = {a.text for a in fig.layout.annotations if a.name != "source"}
    assert {f"Locality {n:03d}" for n in range(160)} <= titles
    assert len({t.xaxis for t in fig.data if t.xaxis}) >= 160  # a panel (own axes) each


def test_spread_takes_one_locality_from_each_wave_in_turn():
    from dashboard.views.common import spread

    waves = {"a": 1, "b": 1, "c": 2, "d": 3, "e": 3, "f": float("nan"), "g": float("nan")}
    assert spread(list("abcdefg"), waves) == ["a", "c", "d", "f", "b", "e", "g"]


def test_choose_series_offers_a_choice_only_when_there_are_many():
    from dashboard.views.common import MAX_SERIES, choose_series

    few = [f"L{n}" for n in range(MAX_SERIES)]
    assert choose_series(few, noun="localities", key="few") == few
    many = [f"L{n:03d}" for n in range(160)]
    default = many[::-1]
    # Outside a running app Streamlit returns the widget's default: the first `limit` of it.
    shown = choose_series(many, noun="localities", key="many", default=default)
    assert shown == sorted(default[:MAX_SERIES])  # in the order of `names`
