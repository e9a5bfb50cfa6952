"""Attacks on what a viewer sees and downloads: no suppressed count can be worked out.

Each test builds what a page gives a viewer from the sample warehouse (the same analysis
functions `dashboard/data.py` caches, then the same gate and chart builders the Trends and
Cohorts pages call), reads the downloads back as a viewer's spreadsheet would, and tries the
recoveries found in issue 16:

- rate x population / 10,000 (the series download, the chart and its hover, the SPC download
  with the series' population);
- inverting an exact Poisson interval (its upper-to-lower ratio names the count);
- subtraction from the "All" row (one suppressed part, or several that must each be 1).

Every attack is run on the ungated output too, as the pages gave it before the gate, and must
succeed there: so each test shows its attack works and that the gate is what stops it.
"""

from __future__ import annotations

import base64
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from pipelines import analysis, disclosure
from pipelines.present import charts
from pipelines.present.charts import tables as gates
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
THRESHOLD = 4
C = disclosure.SUPPRESSED
#: Series the Trends page can show, with many small counts (month grain) and few (All).
TREND_VIEWS = [
    ("cla_starts", "Ashby", "All", "month"),
    ("cpp_starts", "Dunmore", "10-15", "month"),
    ("cpp_repeat_starts", "Elmwood", "All", "month"),
    ("cla_starts", "All", "Under 1", "quarter"),
]
COMPARISON_VIEWS = [("cla_starts", "month"), ("cpp_starts", "month"), ("cpp_starts", "quarter")]


@pytest.fixture(scope="module")
def wh(sample_warehouse_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("recovery") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    with open_warehouse(path) as warehouse:
        yield warehouse


def read_csv(content: bytes) -> pd.DataFrame:
    """A download as a viewer's spreadsheet reads it: every cell as text."""
    return pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str, keep_default_na=False)


def ungated_csv(frame: pd.DataFrame) -> bytes:
    """The download as it was before the gate: no suppression at all (SPC, event time)."""
    return disclosure.to_safe_csv(disclosure.iso_dates(frame))


def number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(value) else value


def exact(x: float | None) -> int | None:
    """`x` as a whole number when it is one (to floating-point accuracy), else None."""
    if x is None or not np.isfinite(x):
        return None
    whole = round(x)
    return int(whole) if abs(x - whole) < 1e-6 else None


def decode(values) -> list:
    """A trace's x or y as plotly.js reads it: plain lists, or typed arrays (`bdata`)."""
    if values is None:
        return []
    if isinstance(values, dict) and "bdata" in values:
        array = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        return [None if np.isnan(v) else float(v) for v in array.astype(float)]
    out = []
    for value in values:
        if isinstance(value, float) and np.isnan(value):
            value = None
        out.append(value)
    return out


def figure_traces(spec: dict) -> list[dict]:
    """The traces of a figure's JSON (from plotly or from Streamlit), x and y decoded."""
    return [
        {**trace, "x": decode(trace.get("x")), "y": decode(trace.get("y"))}
        for trace in spec["data"]
    ]


def traces(fig) -> list[dict]:
    """The figure's traces as plotly.js receives them (dates as ISO text)."""
    return figure_traces(json.loads(fig.to_json()))


def plotted_at(fig, dates) -> list[tuple[str, str, float]]:
    """(trace name, date, y) for every non-empty y a trace plots (or hovers) at one of `dates`."""
    wanted = {pd.Timestamp(d).strftime("%Y-%m-%d") for d in dates}
    found = []
    for trace in traces(fig):
        for x, y in zip(trace.get("x") or [], trace.get("y") or [], strict=False):
            if isinstance(x, str) and x[:10] in wanted and y is not None:
                found.append((trace.get("name", ""), x[:10], float(y)))
    return found


def rate_times_population(
    table: pd.DataFrame, truth: dict, date_col: str, rate_col: str, population: dict
) -> int:
    """Suppressed counts worked out as rate x population / 10,000 (rows whose count is c)."""
    hits = 0
    for _, row in table.iterrows():
        when = pd.Timestamp(row[date_col])
        if when not in truth:
            continue
        x = exact(_times(number(row[rate_col]), population.get(when)))
        hits += x is not None and x == truth[when]
    return hits


def _times(rate, population):
    return None if rate is None or population is None else rate * population / 10_000


def interval_inversion(table: pd.DataFrame, lower: str, upper: str, rows=None) -> int:
    """Rows (of `rows`, default all) whose exact Poisson limits give away a count of 1-4."""
    implied = disclosure.implied_counts(
        table[lower].map(number).astype(float),
        table[upper].map(number).astype(float),
        threshold=THRESHOLD,
    )
    mask = ~np.isnan(implied)
    if rows is not None:
        mask &= np.asarray(rows, bool)
    return int(mask.sum())


# -- Trends: the series, its chart and hover, before/after, ITS and SPC ---------------------------


def _trend(wh, measure, unit, age_band, grain):
    result = analysis.trend_analysis(wh, AREA, measure, unit=unit, age_band=age_band, grain=grain)
    series = result.series
    small = series[series["value"].between(1, THRESHOLD)]
    truth = dict(zip(small["period_end"], small["value"].astype(int), strict=True))
    population = dict(zip(series["period_end"], series["population"].astype(float), strict=True))
    return result, truth, population


@pytest.mark.parametrize(("measure", "unit", "age_band", "grain"), TREND_VIEWS)
def test_trends_series_chart_and_download_give_no_count_away(wh, measure, unit, age_band, grain):
    result, truth, population = _trend(wh, measure, unit, age_band, grain)
    assert truth, "the view has small counts to protect"
    gated = gates.gate_series(result.series)
    download = read_csv(gated.csv())
    fig = charts.time_series(gated.plot, title="t", source="s")

    # The attack works on the series as it was shipped before the gate: its rates.
    before = read_csv(ungated_csv(result.series))
    assert rate_times_population(before, truth, "period_end", "rate_per_10k", population) == len(
        truth
    )
    small_rows = result.series["value"].between(1, THRESHOLD).to_numpy()
    assert interval_inversion(before, "rate_lower", "rate_upper", small_rows) == len(truth)

    # ... and on nothing a viewer gets now.
    suppressed = download[download["value"] == C]
    assert len(suppressed) == len(truth)
    for column in ("rate_per_10k", "rate_lower", "rate_upper"):
        assert set(suppressed[column]) == {C}, column
    assert rate_times_population(download, truth, "period_end", "rate_per_10k", population) == 0
    assert interval_inversion(download, "rate_lower", "rate_upper") == 0
    assert plotted_at(fig, truth) == [], "no rate, band or hover at a suppressed period"
    # The builder gates its own input too (the floor for callers that do not gate first).
    raw_fig = charts.time_series(result.series, title="t", source="s")
    assert plotted_at(raw_fig, truth) == []


@pytest.mark.parametrize(("measure", "unit", "age_band", "grain"), TREND_VIEWS[:3])
def test_the_spc_download_and_chart_give_no_count_away(wh, measure, unit, age_band, grain):
    result, truth, population = _trend(wh, measure, unit, age_band, grain)
    assert result.spc is not None
    points = result.spc.points
    series_csv = read_csv(gates.gate_series(result.series).csv())
    # The viewer takes the population from the series download on the same page.
    shown_population = {
        pd.Timestamp(d): number(p)
        for d, p in zip(series_csv["period_end"], series_csv["population"], strict=True)
    }
    assert rate_times_population(
        read_csv(ungated_csv(points)), truth, "date", "value", shown_population
    ) == len(truth), "the attack recovers every count from the SPC table as it was"

    gated = gates.gate_spc(points, result.series)
    download = read_csv(gated.csv())
    assert rate_times_population(download, truth, "date", "value", shown_population) == 0
    assert (download["value"] == C).sum() == len(truth)
    fig = charts.spc_chart(gated.plot, title="t", source="s")
    values = [t for t in plotted_at(fig, truth) if t[0] not in ("Mean", "Limits", "Near limits")]
    assert values == [], "no SPC point or hover at a suppressed period"


@pytest.mark.parametrize(("measure", "unit", "age_band", "grain"), TREND_VIEWS[:2])
def test_before_after_and_its_give_no_count_away(wh, measure, unit, age_band, grain):
    result, truth, population = _trend(wh, measure, unit, age_band, grain)
    ba = result.before_after
    assert ba is not None
    periods = gates.gate_before_after(ba.periods)
    download = read_csv(periods.csv())
    ba_truth = {d: v for d, v in truth.items() if d in set(pd.to_datetime(ba.periods["date"]))}
    assert ba_truth, "the before/after window holds small counts"
    assert rate_times_population(
        read_csv(ungated_csv(ba.periods)), ba_truth, "date", "rate", population
    ) == len(ba_truth)
    assert rate_times_population(download, ba_truth, "date", "rate", population) == 0
    fig, _ = charts.before_after_figure(
        ba, source="s", rollout_date=result.rollout_date, periods=periods.plot
    )
    assert [t for t in plotted_at(fig, ba_truth) if "each period" in t[0]] == []
    raw_fig, _ = charts.before_after_figure(ba, source="s", rollout_date=result.rollout_date)
    assert [t for t in plotted_at(raw_fig, ba_truth) if "each period" in t[0]] == [], (
        "the builder gates its own input"
    )
    # Each side's average (a line on the chart, full precision in its JSON) times the side's
    # population is the side's total: less the counts shown, it must not name a hidden one.
    averages = {"before": ba.rate_before, "after": ba.rate_after}
    assert window_subtraction(download, averages, ba.periods) == 0

    its = result.its
    if its is None:
        return
    fitted = gates.gate_its(its.fitted)
    download = read_csv(fitted.csv())
    assert rate_times_population(download, truth, "date", "observed_rate", population) == 0
    assert not (download["observed"].map(number).between(1, THRESHOLD)).any()
    fig = charts.its_chart(fitted.plot, title="t", source="s", rollout_date=result.rollout_date)
    observed = [t for t in plotted_at(fig, truth) if t[0] == "Observed"]
    assert observed == []


def window_subtraction(table: pd.DataFrame, averages: dict, real: pd.DataFrame) -> int:
    """Hidden counts worked out as a side's average x its population less the counts shown."""
    truth = dict(
        zip(pd.to_datetime(real["date"]).dt.strftime("%Y-%m-%d"), real["count"], strict=True)
    )
    hits = 0
    for side, group in table.groupby("side"):
        total = averages[side] * group["population"].map(number).sum() / 10_000
        hidden = group[group["count"] == C]
        if hidden.empty:
            continue
        remainder = exact(total - group["count"].map(number).dropna().sum())
        guesses = (
            [remainder]
            if len(hidden) == 1
            else ([1] * len(hidden) if remainder == len(hidden) else [])
        )
        for date, guess in zip(hidden["date"], guesses, strict=False):
            hits += truth.get(str(date)[:10]) == guess
    return hits


@pytest.mark.parametrize("window", [2, 3, 4, 6])
def test_before_after_windows_cannot_be_recovered_from_their_averages(wh, window):
    """Each side's average x population is the side's total: less the counts shown it must
    name no hidden count, and a comparison it cannot protect is withheld."""
    worked = 0
    for measure, unit, age_band, grain in TREND_VIEWS:
        result = analysis.trend_analysis(
            wh, AREA, measure, unit=unit, age_band=age_band, grain=grain, window=window
        )
        ba = result.before_after
        averages = {"before": ba.rate_before, "after": ba.rate_after}
        primary_only = read_csv(
            charts.csv_bytes(ba.periods, ["count"], {"count": ("rate",)}, THRESHOLD)
        )
        worked += window_subtraction(primary_only, averages, ba.periods)
        if gates.before_after_withheld(ba.periods, THRESHOLD):
            continue
        download = read_csv(gates.gate_before_after(ba.periods, THRESHOLD).csv())
        assert window_subtraction(download, averages, ba.periods) == 0, (measure, unit, window)
        for side in ("before", "after"):
            total = ba.periods.loc[ba.periods["side"] == side, "count"].sum()
            assert not 1 <= total <= THRESHOLD, "a shown average never stands for 1 to 4"
    assert worked > 0 or window >= 4, "the attack works on the windows as they were"


# -- Cohorts: localities and age bands beside their "All"; event time ------------------------------


def subtraction(table: pd.DataFrame, truth: pd.DataFrame) -> int:
    """Suppressed parts worked out from the "All" row of their period.

    One suppressed part is the total less the parts shown; several are each 1 when the
    remainder equals their number. `truth` holds the real values (series, period_end, value).
    """
    real = {
        (s, str(p)[:10]): v
        for s, p, v in truth[["series", "period_end", "value"]].itertuples(index=False)
    }
    hits = 0
    for period, group in table.groupby("period_end"):
        total = group[group["series"] == "All"]
        parts = group[group["series"] != "All"]
        if total.empty or number(total["value"].iloc[0]) is None:
            continue
        hidden = parts[parts["value"] == C]
        shown = parts["value"].map(number).dropna()
        if hidden.empty or len(shown) + len(hidden) != len(parts):
            continue
        remainder = number(total["value"].iloc[0]) - shown.sum()
        guesses = (
            [remainder]
            if len(hidden) == 1
            else [1.0] * len(hidden)
            if remainder == len(hidden)
            else []
        )
        for name, guess in zip(hidden["series"], guesses, strict=False):
            hits += real.get((name, period)) == guess
    return hits


def _comparison_frames(wh, measure, grain):
    units = analysis.unit_comparison(wh, AREA, measure, grain=grain)
    ages = analysis.age_band_comparison(wh, AREA, measure, grain=grain)
    return {"localities": units, "age bands": ages}


@pytest.mark.parametrize(("measure", "grain"), COMPARISON_VIEWS)
def test_cohorts_breakdowns_cannot_be_recovered_from_their_totals(wh, measure, grain):
    worked = 0
    for what, comparison in _comparison_frames(wh, measure, grain).items():
        frame = comparison.frame
        columns = [
            "series",
            "period_end",
            "value",
            "population",
            "rate_per_10k",
            "rate_lower",
            "rate_upper",
            "index",
        ]
        # As the dashboard shipped it before: primary suppression only, no totals.
        before = read_csv(charts.csv_bytes(frame[columns], ["value"], gates.COMPARISON_DERIVED))
        worked += subtraction(before, frame)

        gated = gates.gate_comparison(frame)
        download = read_csv(disclosure.to_safe_csv(disclosure.iso_dates(gated.table[columns])))
        assert subtraction(download, frame) == 0, what
        hidden = download["value"] == C
        assert hidden.sum() >= frame["value"].between(1, THRESHOLD).sum()
        for column in ("rate_per_10k", "rate_lower", "rate_upper", "index"):
            assert set(download.loc[hidden, column]) <= {C}, (what, column)
        assert interval_inversion(download, "rate_lower", "rate_upper") == 0, what
        pop = {
            (s, p): number(v)
            for s, p, v in download[["series", "period_end", "population"]].itertuples(index=False)
        }
        for row in download[hidden].itertuples(index=False):
            assert number(row.rate_per_10k) is None
            assert pop.get((row.series, row.period_end)) is not None  # population alone is fine

        # The charts drawn from the gate plot nothing at a suppressed cell.
        fig = charts.small_multiples(gated.plot, title="t", source="s")
        index = charts.indexed_chart(gated.plot, title="t", source="s")
        hidden_cells = gated.plot[gated.masks["value"]]
        hidden_at = set(zip(hidden_cells["series"], hidden_cells["period_end"], strict=True))
        names = list(dict.fromkeys(gated.plot["series"]))
        for figure, by_panel in ((fig, True), (index, False)):
            for trace in traces(figure):
                if by_panel:  # small multiples: panel n (axis x, x2, ...) is the nth series
                    if trace["x"] == [None]:
                        continue  # the legend entry for the rollout lines
                    series = names[int(trace.get("xaxis", "x")[1:] or 1) - 1]
                else:
                    series = trace.get("name")
                for x, y in zip(trace["x"], trace["y"], strict=False):
                    if y is not None and isinstance(x, str):
                        assert (series, pd.Timestamp(x[:10])) not in hidden_at, (
                            what,
                            trace.get("name"),
                            series,
                            x,
                        )
        assert hidden_at or not frame["value"].between(1, THRESHOLD).any()
    assert worked > 0, "the attack works on the breakdowns as they were shipped"


@pytest.mark.parametrize("grain", ["month", "quarter"])
@pytest.mark.parametrize("measure", ["cla_starts", "cpp_starts", "cpp_repeat_starts"])
def test_event_time_intervals_give_no_pooled_count_away(wh, measure, grain):
    waves = analysis.cohort_analysis(wh, AREA, measure, grain=grain).wave_means
    assert not waves.empty
    gated = gates.gate_event_time(waves)
    download = read_csv(gated.csv())
    assert interval_inversion(download, "pooled_lower", "pooled_upper") == 0
    hidden = download["pooled_rate"] == C
    for column in ("pooled_lower", "pooled_upper", "mean_rate"):
        assert set(download.loc[hidden, column]) <= {C}

    def chart(frame):
        return charts.event_time_chart(
            frame,
            title="t",
            source="s",
            x_col="periods_since_rollout",
            value_col="pooled_rate",
            lower_col="pooled_lower",
            upper_col="pooled_upper",
        )

    fig = chart(gated.plot)
    bands = [t for t in traces(fig) if "CI" in t.get("name", "")]
    uppers = [t["y"] for t in bands if t["name"].endswith("(upper)")]
    lowers = [t["y"] for t in bands if not t["name"].endswith("(upper)")]
    for upper, lower in zip(uppers, lowers, strict=True):
        implied = disclosure.implied_counts(
            pd.Series(lower, dtype=float), pd.Series(upper, dtype=float), threshold=THRESHOLD
        )
        assert np.isnan(implied).all(), "the chart's bands give no pooled count away"
    assert len(traces(chart(waves))) == len(traces(fig))  # the same chart, only gated


def test_the_event_time_attack_works_on_the_table_as_it_was(wh):
    found = sum(
        interval_inversion(
            read_csv(
                ungated_csv(analysis.cohort_analysis(wh, AREA, measure, grain=grain).wave_means)
            ),
            "pooled_lower",
            "pooled_upper",
        )
        for measure in ("cla_starts", "cpp_starts", "cpp_repeat_starts")
        for grain in ("month", "quarter")
    )
    assert found > 0


@pytest.mark.parametrize("measure", ["cla_starts", "cpp_starts", "cpp_repeat_starts"])
def test_the_reports_event_time_table_gives_no_pooled_count_away(wh, measure):
    from pipelines.report.sections.outcomes import CLA, _event_time_chart
    from pipelines.report.tables import Builder

    cohort = analysis.cohort_analysis(wh, AREA, measure)  # as the report calls it
    b = Builder(wh, AREA, 2026, static=True)
    spec = type(CLA)(CLA.section_id, CLA.heading, CLA.stock, measure, CLA.dfe_measure)
    _event_time_chart(b, spec, cohort, measure)
    href = b.appendix[-1].csv_href
    download = read_csv(base64.b64decode(href.split(",", 1)[1]))
    assert interval_inversion(download, "pooled_lower", "pooled_upper") == 0
    ungated = read_csv(ungated_csv(cohort.wave_means))
    found_before = interval_inversion(ungated, "pooled_lower", "pooled_upper")
    # Every row the inversion reads on the ungated table is hidden in the report's.
    assert (download["pooled_rate"] == C).sum() >= found_before


# -- the inversion itself ----------------------------------------------------------------------


def test_implied_counts_reads_exact_poisson_limits_back():
    from pipelines.stats.rates import rate_ci

    ci = rate_ci([0, 1, 2, 3, 4, 5, 9, 10, 250], [3000] * 9)
    implied = disclosure.implied_counts(ci["lower"], ci["upper"], threshold=4)
    assert implied[1:5].tolist() == [1, 2, 3, 4]
    assert np.isnan(implied[[0, 5, 6, 7, 8]]).all()
    assert np.isnan(disclosure.implied_counts([C, None], [C, 2.0], threshold=4)).all()


# -- the Trends page itself (AppTest): nothing plotted or hovered at a suppressed period ---------

#: Traces that draw a period's own figure (not a model's line or an average).
PERIOD_TRACES = (
    "Rate per 10,000",
    "95% confidence interval",
    "95% confidence interval (upper)",
    "Observed",
    "Value",
    "I: improvement",
    "C: concern",
    "S: special cause",
    "Before rollout: each period",
    "After rollout: each period",
)


def test_the_trends_page_plots_and_hovers_no_suppressed_rate(read_only_sample, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_app_pages import APP

    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(read_only_sample))
    at = AppTest.from_file(APP, default_timeout=240)
    for key, value in {
        "area": AREA,
        "unit": "Ashby",
        "measure": "cla_starts",
        "grain": "month",
    }.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/trends.py").run()
    assert not at.exception, [e.value for e in at.exception]

    with open_warehouse(read_only_sample, read_only=True) as wh:
        result, truth, population = _trend(wh, "cla_starts", "Ashby", "All", "month")
    assert len(truth) > 30, "the view has many suppressed months"
    hidden = {d.strftime("%Y-%m-%d") for d in truth}
    plotted_dates = set()
    charts_seen = 0
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        charts_seen += 1
        title = spec["layout"].get("title", {}).get("text", "")
        for trace in figure_traces(spec):
            for x, y in zip(trace["x"], trace["y"], strict=False):
                if not isinstance(x, str):
                    continue
                plotted_dates.add(x[:10])
                if x[:10] in hidden and trace.get("name") in PERIOD_TRACES:
                    assert y is None, (title, trace.get("name"), x)
                if x[:10] in hidden and y is not None:
                    # No line at all (a model's, an average) equals the hidden period's rate.
                    rate = truth[pd.Timestamp(x[:10])] * 10_000 / population[pd.Timestamp(x[:10])]
                    assert not np.isclose(y, rate, rtol=1e-9), (title, trace.get("name"), x)
        for date in hidden:  # nor does any title state a hidden period's rate
            rate = truth[pd.Timestamp(date)] * 10_000 / population[pd.Timestamp(date)]
            assert f"{rate:.1f} per 10,000" not in title or rate == 0
    # The series and the SPC chart; the before/after and the ITS rest on the hidden months,
    # so the page withholds them and says so (`present.cube`).
    assert charts_seen >= 2
    from tests.apptest_text import page_text

    assert "The interrupted time series is withheld" in page_text(at)
    assert hidden & plotted_dates, "the charts span the suppressed months"

    # The tables on the page (and their toolbars' CSV) hide the same months.
    for frame in (df.value for df in at.dataframe):
        if "value" in frame and "rate_per_10k" in frame:
            small = frame["value"] == C
            assert small.any()
            assert (frame.loc[small, "rate_per_10k"] == C).all()


# -- SPC: the mean and limits rest on the periods shown only -----------------------------------


def _one_hidden_month():
    """24 months with one count of 3 (hidden), population 10,000: rate = count."""
    from pipelines.stats.spc import xmr

    counts = [30, 34, 28, 31, 36, 29, 33, 30, 35, 32, 3, 31, 30, 29, 34, 33, 31, 28]
    counts += [30, 32, 35, 29, 31, 30]
    dates = pd.date_range("2022-01-31", periods=len(counts), freq="ME")
    series = pd.DataFrame(
        {"period_end": dates, "value": counts, "population": 10_000.0, "rate_per_10k": counts}
    )
    return series, xmr(series, "period_end", "rate_per_10k", improvement="decrease")


def _mean_attack(table: pd.DataFrame) -> float | None:
    """The hidden rate as the mean x the number of periods less the rates shown."""
    mean = number(table["mean"].iloc[0])
    if mean is None:
        return None
    return mean * len(table) - table["value"].map(number).dropna().sum()


def test_the_spc_mean_gives_no_hidden_period_away():
    series, result = _one_hidden_month()
    as_it_was = read_csv(ungated_csv(result.points))
    as_it_was.loc[10, "value"] = C  # ... even with the point itself hidden
    assert exact(_mean_attack(as_it_was)) == 3, "the mean of every period names the hidden one"

    gated = gates.gate_spc(result, series, THRESHOLD)
    download = read_csv(gated.csv())
    assert download.loc[10, "value"] == C
    assert exact(_mean_attack(download)) != 3
    # Everything the download holds is worked out from what it shows: the limits again.
    shown = download["value"].map(number).to_numpy(dtype=float)
    from pipelines.stats.spc import xmr_limits

    limits = xmr_limits(shown)
    assert number(download["mean"].iloc[0]) == pytest.approx(limits.mean, rel=1e-12)
    assert number(download["upl"].iloc[0]) == pytest.approx(limits.upl, rel=1e-12)
    assert gated.n_hidden == 1 and gated.result is not None
    assert gated.variation_icon == gated.result.variation_icon
    assert gated.caption == (
        "1 period(s) with a suppressed count are gaps, and the mean and limits are worked out "
        "from the periods shown only, so nothing on the chart rests on a suppressed count."
    )


def test_spc_points_alone_have_their_mean_and_limits_withheld_where_a_period_is_hidden():
    series, result = _one_hidden_month()
    gated = gates.gate_spc(result.points, series, THRESHOLD)
    download = read_csv(gated.csv())
    assert download.loc[10, "value"] == C and (download["value"] == C).sum() == 1
    for column in ("mean", "upl", "lpl", "point_type"):
        assert set(download[column]) == {C}, column  # one segment, and it holds the hidden month
    assert gated.caption == gates.PARTS_WITHHELD


def test_an_spc_chart_that_cannot_be_worked_out_again_is_withheld_in_words():
    from pipelines.stats.spc import xmr

    series = pd.DataFrame(
        {
            "period_end": pd.date_range("2022-01-31", periods=3, freq="ME"),
            "value": [2, 30, 3],
            "population": 10_000.0,
            "rate_per_10k": [2.0, 30.0, 3.0],
        }
    )
    result = xmr(series, "period_end", "rate_per_10k", improvement="decrease")
    gated = gates.gate_spc(result, series, THRESHOLD)
    assert gated.result is None
    assert gated.caption == (
        f"{gates.PARTS_WITHHELD} With the suppressed periods left out: An XmR chart needs at "
        "least 2 periods with values; there are 1. Add more periods before charting this measure."
    )
    assert set(read_csv(gated.csv())["mean"]) == {C}
