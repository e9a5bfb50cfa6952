"""Chart builders: pure DataFrame -> plotly Figure functions, and the download helpers."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from pipelines.present import charts
from pipelines.stats.its import interrupted_time_series
from pipelines.stats.spc import xmr

SOURCE = charts.source_line("outcomes extracts", dt.date(2026, 7, 3), "mid-year population 2025")
ROLLOUT = pd.Timestamp("2019-10-01")


def _quarters(n: int = 24, start: str = "2016-06-30") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="QE")


@pytest.fixture
def series() -> pd.DataFrame:
    dates = _quarters()
    rate = np.linspace(60, 50, len(dates))
    return pd.DataFrame(
        {
            "period_end": dates,
            "value": (rate * 10).round(),
            "rate_per_10k": rate,
            "rate_lower": rate - 4,
            "rate_upper": rate + 4,
        }
    )


def _rollout_shapes(fig: go.Figure) -> list:
    return [s for s in fig.layout.shapes if s.name == "rollout"]


def _source_annotation(fig: go.Figure):
    return [a for a in fig.layout.annotations if a.name == "source"]


def _assert_common(fig: go.Figure, *, rollout: bool = True) -> None:
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text, "every chart has a title"
    assert _source_annotation(fig), "every chart has a source line"
    assert "Source:" in _source_annotation(fig)[0].text
    if rollout:
        assert _rollout_shapes(fig), "the rollout is marked"
    assert fig.layout.font.family.startswith("Arial")


def test_source_line_names_dataset_upload_and_population():
    assert SOURCE == (
        "Source: outcomes extracts · last upload 3 July 2026 · mid-year population 2025"
    )
    assert charts.source_line() == "Source: rp-impact warehouse"


def test_wrap_keeps_long_titles_narrow():
    wrapped = charts.wrap("word " * 40)
    assert all(len(line) <= charts.TITLE_WIDTH for line in wrapped.split("<br>"))


def test_time_series_has_ci_band_rate_and_rollout(series):
    fig = charts.time_series(
        series, title="Has the rate fallen since rollout?", source=SOURCE, rollout_date=ROLLOUT
    )
    _assert_common(fig)
    names = [t.name for t in fig.data]
    assert "95% confidence interval" in names and "Rate per 10,000" in names
    band = next(t for t in fig.data if t.name == "95% confidence interval")
    assert band.fill == "tonexty"
    label = [a for a in fig.layout.annotations if a.name == "rollout-label"]
    assert label and label[0].text == "Rollout starts"
    assert pd.Timestamp(_rollout_shapes(fig)[0].x0) == ROLLOUT


def test_time_series_financial_years_shade_and_label(series):
    fig = charts.time_series(
        series, title="t", source=SOURCE, rollout_date=ROLLOUT, financial_years=True
    )
    assert [s for s in fig.layout.shapes if s.name == "financial-year"]
    assert "2019-20" in fig.layout.xaxis.ticktext
    assert fig.layout.xaxis.title.text.startswith("Financial year")


def test_financial_year_bands_run_april_to_march():
    bands = charts.financial_year_bands("2020-02-29", "2021-06-30")
    assert [b[2] for b in bands] == ["2019-20", "2020-21", "2021-22"]
    assert bands[1][0] == pd.Timestamp("2020-04-01") and bands[1][1] == pd.Timestamp("2021-03-31")


def test_time_series_x_range_zooms(series):
    fig = charts.time_series(
        series,
        title="t",
        source=SOURCE,
        rollout_date=ROLLOUT,
        x_range=(dt.date(2018, 3, 31), dt.date(2020, 3, 31)),
    )
    low, high = (pd.Timestamp(v) for v in fig.layout.xaxis.range)
    assert low < pd.Timestamp("2018-03-31") < pd.Timestamp("2020-03-31") < high


def test_before_after_chart_shows_both_sides_with_ci():
    dates = _quarters(8, "2018-03-31")
    periods = pd.DataFrame(
        {"date": dates, "side": ["before"] * 4 + ["after"] * 4, "rate": [5, 6, 5, 6, 4, 4, 3, 4]}
    )
    summary = pd.DataFrame(
        {
            "side": ["before", "after"],
            "start": [dates[0], dates[4]],
            "end": [dates[3], dates[7]],
            "rate": [5.5, 3.75],
            "lower": [5.0, 3.2],
            "upper": [6.0, 4.3],
        }
    )
    fig = charts.before_after_chart(
        periods, summary, title="Lower after", source=SOURCE, rollout_date=ROLLOUT
    )
    _assert_common(fig)
    names = [t.name for t in fig.data]
    assert "Before rollout: each period" in names and "After rollout: each period" in names
    assert any(n and n.startswith("After rollout: average 3.8") for n in names)
    symbols = {t.marker.symbol for t in fig.data if t.mode == "markers"}
    assert {"circle", "diamond"} <= symbols


def test_its_chart_has_observed_fit_counterfactual_and_band():
    dates = pd.date_range("2015-03-31", periods=40, freq="QE")
    rng = np.random.default_rng(1)
    post = dates >= ROLLOUT
    counts = rng.poisson(np.where(post, 80, 100))
    frame = pd.DataFrame({"date": dates, "count": counts, "population": 100_000})
    result = interrupted_time_series(
        frame, "date", "count", "population", intervention_date=ROLLOUT, family="quasipoisson"
    )
    fig = charts.its_chart(
        result.fitted, title="Fewer than expected", source=SOURCE, rollout_date=ROLLOUT
    )
    _assert_common(fig)
    names = [t.name for t in fig.data]
    for expected in (
        "Observed",
        "Model fit",
        "Expected without Restorative Practice",
        # the band of the mean, labelled for what it is (issue 13), and the wider one
        "Interval for the expected counterfactual (95%)",
        "Range a single period would fall in without the change (95% prediction interval)",
    ):
        assert expected in names
    counterfactual = next(t for t in fig.data if t.name == "Expected without Restorative Practice")
    assert counterfactual.line.dash == "dash"
    assert min(counterfactual.x) >= ROLLOUT  # drawn only after the rollout
    mean_band = next(
        t for t in fig.data if t.name == "Interval for the expected counterfactual (95%)"
    )
    pi_band = next(
        t for t in fig.data if t.name.startswith("Range a single") and t.fill == "tonexty"
    )
    pi_upper = next(t for t in fig.data if t.name == pi_band.name + " (upper)")
    assert pi_band.line.dash == "dot" and pi_upper.line.dash == "dot"  # not shade alone
    alpha = [float(t.fillcolor.rsplit(",", 1)[1].rstrip(")")) for t in (pi_band, mean_band)]
    assert alpha[0] < alpha[1]  # the prediction band is the lighter one
    assert np.all(np.asarray(pi_band.y) <= np.asarray(mean_band.y))
    assert {"prediction_lower_rate", "prediction_upper_rate"} <= set(result.fitted.columns)


def test_spc_chart_marks_special_causes_by_symbol_text_and_colour():
    values = [10, 11, 10, 12, 11, 10, 11, 12, 10, 11, 30, 11, 10, 11, 12, 10, 11, 10]
    dates = pd.date_range("2020-01-31", periods=len(values), freq="ME")
    result = xmr(pd.Series(values, index=dates), improvement="decrease", target=15)
    fig = charts.spc_chart(
        result.points,
        title="One high point",
        source=SOURCE,
        rollout_date=dates[5],
        variation_icon=result.variation_icon,
        assurance_icon=result.assurance_icon,
        target=15,
    )
    _assert_common(fig)
    concern = next(t for t in fig.data if t.name == "C: concern")
    assert concern.marker.symbol == "square"  # not colour alone...
    assert set(concern.text) == {"C"}  # ...a text label too
    assert list(concern.y) == [30]
    names = {t.name for t in fig.data}
    assert {"Mean", "Limits", "Near limits"} <= names
    icons = fig.layout.title.subtitle.text
    assert "variation" in icons.lower() and "target" in icons.lower()


def test_spc_chart_improvement_symbol_and_segments():
    values = [20] * 3 + [21, 19, 20, 21, 19, 20, 21] + [12, 11, 12, 11, 12, 11, 12, 11]
    dates = pd.date_range("2020-01-31", periods=len(values), freq="ME")
    result = xmr(pd.Series(values, index=dates), improvement="decrease")
    fig = charts.spc_chart(result.points, title="t", source=SOURCE, rollout_date=None)
    improvement = [t for t in fig.data if t.name == "I: improvement"]
    assert improvement and improvement[0].marker.symbol == "diamond"
    assert set(improvement[0].text) == {"I"}


def test_variation_and_assurance_labels_are_plain_english():
    assert charts.variation_label("common_cause").startswith("≈ Common cause")
    assert "improvement" in charts.variation_label("special_cause_improvement_low")
    assert charts.assurance_label("consistent_fail").startswith("✘")
    assert charts.assurance_label(None) == "No target set"


def _panel() -> pd.DataFrame:
    rows = []
    for number, unit in enumerate(["Ashby", "Brookfield", "Castleton", "Dunmore"]):
        for date in _quarters(12, "2018-03-31"):
            rows.append(
                {
                    "series": unit,
                    "period_end": date,
                    "rate_per_10k": 50 + number,
                    "rate_lower": 45,
                    "rate_upper": 55,
                    "start_date": pd.Timestamp("2019-10-01" if number < 2 else "2021-04-01"),
                    "index": 100 - number,
                }
            )
    return pd.DataFrame(rows)


def test_small_multiples_panel_per_series_with_rollout_in_each():
    fig = charts.small_multiples(_panel(), title="Localities compared", source=SOURCE)
    _assert_common(fig)
    titles = [a.text for a in fig.layout.annotations]
    assert {"Ashby", "Brookfield", "Castleton", "Dunmore"} <= set(titles)
    assert len(_rollout_shapes(fig)) == 4
    assert any(t.name == "Rollout starts (dashed line)" for t in fig.data)


def test_small_multiples_share_one_y_scale_and_one_time_span():
    fig = charts.small_multiples(
        _panel(),
        title="t",
        source=SOURCE,
        x_range=(dt.date(2018, 6, 30), dt.date(2020, 6, 30)),
    )
    xaxes = [fig.layout[name] for name in fig.layout if name.startswith("xaxis")]
    yaxes = [fig.layout[name] for name in fig.layout if name.startswith("yaxis")]
    assert all(axis.matches is None for axis in xaxes)  # see charts.small_multiples
    assert len({tuple(axis.range) for axis in xaxes}) == 1
    assert len({axis.matches for axis in yaxes if axis.matches}) == 1  # one y scale
    assert sum(axis.matches is None for axis in yaxes) == 1


def test_indexed_chart_highlights_one_series_per_panel():
    """Highlight-one small multiples (issue 17): each panel draws its series bold over the
    others in grey, rather than four near-identical lines on one chart."""
    fig = charts.indexed_chart(
        _panel(), title="Indexed", source=SOURCE, rollout_date=ROLLOUT, value_col="index"
    )
    _assert_common(fig)
    drawn = [t for t in fig.data if t.y is not None and len(t.y) > 1]
    bold = [t for t in drawn if t.line.color != charts.style.LIGHT_GREY]
    assert [t.name for t in bold] == ["Ashby", "Brookfield", "Castleton", "Dunmore"]
    assert len({t.xaxis for t in bold}) == 4  # one panel each
    assert len(drawn) == 4 * 4  # each panel: its own series and the three others in grey
    assert len(_rollout_shapes(fig)) == 4


def test_event_time_chart_marks_zero_and_lines_per_wave():
    frame = pd.DataFrame(
        {
            "wave": [1] * 5 + [2] * 5,
            "event_time": list(range(-2, 3)) * 2,
            "rate_per_10k": [10, 10, 9, 8, 8, 11, 11, 10, 9, 9],
        }
    )
    fig = charts.event_time_chart(frame, title="Waves aligned", source=SOURCE)
    _assert_common(fig)
    assert [t.name for t in fig.data if t.mode == "lines+markers"] == ["Wave 1", "Wave 2"]
    assert _rollout_shapes(fig)[0].x0 == 0


def test_event_study_chart_has_error_bars_and_pre_post_symbols():
    dynamic = pd.DataFrame(
        {
            "relative_period": [-2, -1, 0, 1, 2],
            "att": [0.1, -0.1, -1.0, -2.0, -2.5],
            "ci_lower": [-0.5, -0.7, -1.8, -3.0, -3.6],
            "ci_upper": [0.7, 0.5, -0.2, -1.0, -1.4],
        }
    )
    fig = charts.event_study_chart(dynamic, title="Effect grows", source=SOURCE)
    _assert_common(fig)
    pre, post = fig.data
    assert pre.marker.symbol == "circle-open" and post.marker.symbol == "diamond"
    assert list(post.error_y.array) == pytest.approx([0.8, 1.0, 1.1])
    assert _rollout_shapes(fig)[0].x0 == -0.5


def test_training_coverage_chart_percent_ci_and_target():
    dates = _quarters(6, "2019-06-30")
    frame = pd.DataFrame(
        {
            "period_end": list(dates) * 2,
            "unit": ["Ashby"] * 6 + ["Brookfield"] * 6,
            "coverage": np.r_[np.linspace(0.1, 0.8, 6), np.linspace(0.05, 0.6, 6)],
            "coverage_lower": 0.0,
            "coverage_upper": 0.9,
        }
    )
    fig = charts.training_coverage_chart(
        frame, title="Coverage", source=SOURCE, group_col="unit", target=0.8, rollout_date=ROLLOUT
    )
    _assert_common(fig)
    ashby = next(t for t in fig.data if t.name == "Ashby")
    assert max(ashby.y) == pytest.approx(80)
    assert [s for s in fig.layout.shapes if s.name == "target"][0].y0 == pytest.approx(80)
    assert any(a.text == "Target 80%" for a in fig.layout.annotations)


def test_dose_response_chart_has_rho_in_title_and_labels():
    points = pd.DataFrame(
        {"unit": ["A", "B", "C"], "coverage": [0.5, 0.7, 0.9], "change": [-1, -2, -3]}
    )
    fig = charts.dose_response_chart(points, rho=-1.0, ci_lower=-1.0, ci_upper=-0.5, source=SOURCE)
    _assert_common(fig, rollout=False)
    assert "ρ = -1.00" in fig.layout.meta["title"]
    assert list(fig.data[0].text) == ["A", "B", "C"]
    assert list(fig.data[0].x) == pytest.approx([50, 70, 90])


def test_empty_figure_says_why():
    fig = charts.empty_figure("Nothing loaded yet")
    assert fig.layout.annotations[0].text == "Nothing loaded yet"


# -- disclosure control and safe CSV -----------------------------------------------------------


def test_disclosure_control_suppresses_small_counts_and_their_rates():
    frame = pd.DataFrame(
        {
            "value": [0, 1, 4, 5, None],
            "rate_per_10k": [0.0, 0.1, 0.4, 0.5, None],
            "population": [10_000] * 5,
        }
    )
    out = charts.disclosure_control(frame, ["value"], {"value": ["rate_per_10k"]}, threshold=4)
    assert out["value"].tolist()[:4] == [0, "c", "c", 5]
    assert pd.isna(out["value"].iloc[4])
    assert out["rate_per_10k"].tolist()[:4] == [0.0, "c", "c", 0.5]
    assert out["population"].tolist() == [10_000] * 5
    assert frame["value"].iloc[1] == 1  # the input is untouched


def test_escape_formulas_neutralises_formula_cells_but_not_numbers():
    frame = pd.DataFrame(
        {"name": ["=HYPERLINK(1)", "+1", "-2", "@SUM", "ok", "\tx"], "change": [-1, 2, 3, 4, 5, 6]}
    )
    out = charts.escape_formulas(frame)
    assert out["name"].tolist() == ["'=HYPERLINK(1)", "'+1", "'-2", "'@SUM", "ok", "'\tx"]
    assert out["change"].tolist() == [-1, 2, 3, 4, 5, 6]


def test_csv_bytes_applies_both_and_opens_in_excel():
    frame = pd.DataFrame(
        {
            "period_end": pd.to_datetime(["2026-03-31", "2026-06-30"]),
            "unit": ["=cmd", "Ashby"],
            "value": [3, 40],
            "rate_per_10k": [0.3, 4.0],
        }
    )
    data = charts.csv_bytes(frame, ["value"], {"value": ["rate_per_10k"]})
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM so Excel reads it as UTF-8
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert back.to_dict("records") == [
        {"period_end": "2026-03-31", "unit": "'=cmd", "value": "c", "rate_per_10k": "c"},
        {"period_end": "2026-06-30", "unit": "Ashby", "value": "40", "rate_per_10k": "4.0"},
    ]


# -- benchmarks ----------------------------------------------------------------------------------


def _bench_table() -> pd.DataFrame:
    years = list(range(2016, 2027))
    return pd.DataFrame(
        {
            "time_period": years,
            "council": [69, 70, 70, 73, 75, 72, 70, 68, 68, 71, 72],
            "england": [60, 62, 65, 67, 68, 70, 71, 69, 70, 69, 68],
            "region": [67, 68, 69, 70, 69, 69, 69, 69, 69, 69, 69],
            "neighbours_median": [66, 68.5, 69.5, 70.5, 70.5, 70, 72, 72.5, 71.5, 73, 72],
            "neighbours_min": [57] * 11,
            "neighbours_max": [81] * 11,
        }
    )


def test_year_position_puts_a_date_between_31_march_points():
    assert charts.year_position(dt.date(2019, 3, 31)) == 2019
    assert charts.year_position(dt.date(2019, 10, 1)) == pytest.approx(2019.5, abs=0.01)
    assert charts.year_position(None) is None


def test_benchmark_chart_lines_band_rollout_and_labels():
    bench_source = "Source: DfE, release 2026 · rates per 10,000 as published by DfE"
    fig = charts.benchmark_chart(
        _bench_table(),
        title="Northmoor's CLA rate has stayed above its neighbours' median since 2019",
        source=bench_source,
        council_name="Northmoor",
        region_name="North Fictional",
        rollout_date=dt.date(2019, 10, 1),
    )
    _assert_common(fig)
    assert "published" in _source_annotation(fig)[0].text.replace("<br>", " ")
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names == [
        "Neighbours: lowest to highest",
        "Neighbours: median",
        "North Fictional",
        "England",
        "Northmoor",
    ]
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    # colour is never the only carrier: each line has its own dash and marker
    assert len({t.line.dash for t in lines}) == len(lines)
    assert len({t.marker.symbol for t in lines}) == len(lines)
    assert _rollout_shapes(fig)[0].x0 == pytest.approx(2019.5, abs=0.01)
    assert list(fig.layout.xaxis.ticktext)[-1] == "2025-26"  # the latest year is labelled
    assert len(fig.layout.xaxis.tickvals) <= 5 and fig.layout.xaxis.tickangle == 0


def test_benchmark_chart_without_neighbours_or_rollout():
    table = _bench_table().assign(neighbours_median=None, neighbours_min=None, neighbours_max=None)
    fig = charts.benchmark_chart(table, title="t", source="Source: DfE", council_name="X")
    _assert_common(fig, rollout=False)
    assert [t.name for t in fig.data] == ["Region", "England", "X"]


def test_donor_weights_chart_labels_each_bar_and_groups_tiny_weights():
    weights = pd.DataFrame(
        {"la_name": ["A", "B", "C", "D", "E"], "weight": [0.57, 0.32, 0.10, 0.008, 0.002]}
    )
    fig = charts.donor_weights_chart(weights, title="Mostly A", source="Source: DfE")
    _assert_common(fig, rollout=False)
    bar = fig.data[0]
    assert list(bar.y) == ["1 other neighbour", "D", "C", "B", "A"]
    assert list(bar.text)[-1] == "57%"
    assert sum(bar.x) == pytest.approx(100)
    long = charts.donor_weights_chart(
        pd.DataFrame({"la_name": ["Bournemouth, Christchurch and Poole"], "weight": [1.0]}),
        title="t",
        source="Source: DfE",
    )
    assert long.data[0].y[0] == "Bournemouth, Chri…"  # short enough for a phone


def test_synth_gap_chart_shows_actual_synthetic_and_gap_with_the_start_marked():
    years = list(range(2016, 2027))
    treated = np.linspace(70, 72, len(years))
    synthetic = treated + np.where(np.array(years) >= 2021, 2.5, 0.3)
    path = pd.DataFrame(
        {
            "time": years,
            "treated": treated,
            "synthetic": synthetic,
            "gap": treated - synthetic,
            "period": ["pre" if y < 2021 else "post" for y in years],
        }
    )
    fig = charts.synth_gap_chart(
        path, title="Gap", source="Source: DfE", council_name="Northmoor", treatment_year=2021
    )
    _assert_common(fig)
    names = [t.name for t in fig.data]
    assert names[:2] == ["Northmoor", "Synthetic"]
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2 and bars[1].marker.pattern.shape == "/"  # after: hatched as well
    assert all(s.x0 == 2020.5 for s in _rollout_shapes(fig))
    assert any("2020-21" in (a.text or "") for a in fig.layout.annotations)


def test_before_after_figure_states_the_finding_in_its_title():
    from types import SimpleNamespace

    periods = pd.DataFrame(
        {
            "date": pd.to_datetime(["2019-06-30", "2019-09-30", "2019-12-31", "2020-03-31"]),
            "side": ["before", "before", "after", "after"],
            "rate": [10.0, 11.0, 8.0, 9.0],
        }
    )
    ba = SimpleNamespace(
        periods=periods,
        rate_before=10.5,
        rate_after=8.5,
        percent_change=-19.05,
        n_before=2,
        n_after=2,
        rate_ratio=0.81,
        rate_ratio_lower=0.7,
        rate_ratio_upper=0.94,
        before_start=pd.Timestamp("2019-04-01"),
        before_end=pd.Timestamp("2019-09-30"),
        after_start=pd.Timestamp("2019-10-01"),
        after_end=pd.Timestamp("2020-03-31"),
        rate_before_lower=9.0,
        rate_before_upper=12.0,
        rate_after_lower=7.2,
        rate_after_upper=10.0,
    )
    fig, title = charts.before_after_figure(
        ba, source="Source: test", rollout_date=pd.Timestamp("2019-10-01"), period_word="quarters"
    )
    assert title.startswith("The rate was 19% lower in the 2 quarters after the rollout")
    assert "rate ratio 0.81, 95% CI 0.70 to 0.94" in title
    assert fig.layout.title.text.replace("<br>", " ").startswith("The rate was 19% lower")


def test_a_before_after_figure_whose_averages_give_counts_away_states_no_number():
    """A side whose counts total 1 to the threshold: its average x its population is that
    total, so the title gives no rate ratio and no average line or interval is drawn."""
    from types import SimpleNamespace

    periods = pd.DataFrame(
        {
            "date": pd.to_datetime(["2019-06-30", "2019-09-30", "2019-12-31", "2020-03-31"]),
            "side": ["before", "before", "after", "after"],
            "count": [1, 2, 40, 45],
            "population": [10_000.0] * 4,
            "rate": [1.0, 2.0, 40.0, 45.0],
        }
    )
    ba = SimpleNamespace(periods=periods, rate_ratio=28.3, rate_before=1.5, rate_after=42.5)
    fig, title = charts.before_after_figure(ba, source="s", rollout_date="2019-10-01")
    assert title == charts.timeseries.BEFORE_AFTER_WITHHELD
    names = [trace.name for trace in fig.data]
    assert names == ["Before rollout: each period", "After rollout: each period"]
    before = fig.data[0]
    assert all(np.isnan(y) for y in before.y), "the small before counts' rates are gaps"
    assert "28.3" not in title and "1.5" not in title
