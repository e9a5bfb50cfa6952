"""Screen polish (issue 17): the age-band order, small-multiple titles clear of the axes,
highlight-one indexed charts, one date style, financial-year axes, ranks out of the real
number of councils, names beside codes, rules in words and the SPC line beside its change."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pipelines import analysis, marts
from pipelines.analysis.benchmark_text import (
    rank_figure,
    rank_heading,
    rank_pool_words,
    rank_sentences,
)
from pipelines.analysis.comparisons import ordered_age_bands
from pipelines.load.row_rules import split_place, where
from pipelines.measures import AGE_BAND_ORDER
from pipelines.present import charts, data_tables
from pipelines.present.charts.labels import variation_with_change
from pipelines.present.charts.style import LIGHT_GREY, apply_style
from pipelines.present.charts.timeseries import financial_year_ticks
from pipelines.present.charts.training import add_end_labels, training_caption
from pipelines.present.numbers import date_columns_as_words, date_words
from pipelines.stats.spc import xmr

AREA = "E06999901"
FY = re.compile(r"^\d{4}-\d{2}$")


def _panels(names, dates) -> pd.DataFrame:
    rows = []
    for number, name in enumerate(names):
        rate = np.linspace(50 + number, 60 - number, len(dates))
        for date, value in zip(dates, rate, strict=True):
            rows.append(
                {
                    "series": name,
                    "period_end": date,
                    "value": 100.0,
                    "rate_per_10k": value,
                    "rate_lower": value - 3,
                    "rate_upper": value + 3,
                    "index": value / rate[0] * 100,
                    "start_date": pd.Timestamp("2019-10-01"),
                }
            )
    return pd.DataFrame(rows)


QUARTERS = pd.date_range("2016-06-30", periods=16, freq="QE")
YEARS = pd.to_datetime([f"{y}-03-31" for y in range(2016, 2027)])
SEVEN = ["All", "Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven"]


# -- age bands ------------------------------------------------------------------------------------


def test_age_bands_follow_the_contract_not_text_order():
    text_sorted = sorted(["1-4", "10-15", "16-17", "5-9", "All", "Under 1"])
    assert text_sorted[:2] == ["1-4", "10-15"]  # what the screens showed
    assert ordered_age_bands(text_sorted) == list(AGE_BAND_ORDER)
    assert ordered_age_bands(["16-17", "Unknown", "5-9", "All"]) == [
        "All",
        "5-9",
        "16-17",
        "Unknown",
    ]


def test_age_band_comparison_rows_and_panels_are_in_the_contract_order(sample_wh):
    comparison = analysis.age_band_comparison(sample_wh, AREA, "cla_at_period_end")
    in_frame = list(dict.fromkeys(comparison.frame["series"]))
    assert in_frame == [b for b in AGE_BAND_ORDER if b in in_frame]
    assert len(in_frame) > 3
    fig = charts.small_multiples(comparison.frame, title="t", source="s", rollout_col=None)
    titles = [a.text for a in fig.layout.annotations if a.name == "panel-title"]
    assert [t for t in titles if t in AGE_BAND_ORDER] == in_frame


def test_the_trends_age_band_choice_is_in_the_contract_order(sample_wh):
    bands = ordered_age_bands(marts.age_bands(sample_wh, AREA))
    assert bands == [b for b in AGE_BAND_ORDER if b in bands] and bands[0] == "All"


# -- small multiples --------------------------------------------------------------------------------


def _plot_px(fig) -> float:
    return fig.layout.height - fig.layout.margin.t - fig.layout.margin.b


@pytest.mark.parametrize("builder", ["small_multiples", "indexed_chart"])
def test_panel_titles_sit_clear_of_the_axes_above_and_the_legend(builder):
    fig = getattr(charts, builder)(_panels(SEVEN, QUARTERS), title="A title", source="Source: x")
    plain = apply_style(charts.style.new_figure(), "A title", "Source: x")
    # Room above the first row's titles, beyond what a plain chart leaves for its legend.
    assert fig.layout.margin.t >= plain.layout.margin.t + 24
    rows = sorted({tuple(fig.layout[k].domain) for k in fig.layout if k.startswith("yaxis")})
    assert len(rows) == 3
    for (low, _), (_, high) in zip(rows[1:], rows[:-1], strict=False):
        # the gap below a row holds its tick labels (about 22 px) and the next row's title
        assert (low - high) * _plot_px(fig) >= 70
    titles = [a for a in fig.layout.annotations if a.name == "panel-title"]
    assert len(titles) == len(SEVEN)
    assert all(a.xanchor == "left" and a.bgcolor == "#FFFFFF" for a in titles)


def test_indexed_chart_is_highlight_one_small_multiples():
    fig = charts.indexed_chart(
        _panels(SEVEN, QUARTERS), title="t", source="s", rollout_date="2019-10-01"
    )
    panels = {t.xaxis for t in fig.data if t.y is not None and len(t.y) > 1}
    assert len(panels) == len(SEVEN)  # one panel per series, not seven lines on one chart
    for number, name in enumerate(SEVEN):
        ref = f"x{number + 1 if number else ''}"
        drawn = [t for t in fig.data if t.xaxis == ref and t.y is not None and len(t.y) > 1]
        bold = [t for t in drawn if t.line.color != LIGHT_GREY]
        assert [t.name for t in bold] == [name]  # one highlighted series, named
        assert len(drawn) - len(bold) == len(SEVEN) - 1  # every other series in grey
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert "The other series" in legend and "The panel's own series" in legend
    assert charts.style.chart_summary(fig).count("The panel's own series") == 0


# -- dates ------------------------------------------------------------------------------------------


def test_one_date_style_on_screen():
    assert date_words("2026-12-01") == "1 December 2026"
    assert date_words(pd.Timestamp("2026-06-30 13:45")) == "30 June 2026"
    assert date_words(pd.NaT) == "–" and date_words(None) == "–"
    frame = pd.DataFrame({"period_end": pd.to_datetime(["2026-12-01"]), "n": [1]})
    shown = date_columns_as_words(frame)
    assert shown["period_end"].tolist() == ["1 December 2026"] and shown["n"].tolist() == [1]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", shown.to_string())


# -- financial-year axes ----------------------------------------------------------------------------


def _fy_ticks(fig) -> list[str]:
    texts = [t for k in fig.layout if k.startswith("xaxis") for t in fig.layout[k].ticktext or ()]
    return texts


def test_financial_year_axes_label_every_tick_2016_17():
    frame = _panels(["All"], YEARS).drop(columns="series")
    figures = [
        charts.time_series(frame, title="t", source="s"),
        charts.time_series(frame, title="t", source="s", financial_years=True),
        charts.spc_chart(
            xmr(pd.Series(frame["rate_per_10k"].to_numpy(), index=frame["period_end"])).points,
            title="t",
            source="s",
        ),
        charts.small_multiples(_panels(SEVEN[:3], YEARS), title="t", source="s"),
        charts.indexed_chart(_panels(SEVEN[:3], YEARS), title="t", source="s"),
    ]
    for fig in figures:
        ticks = _fy_ticks(fig)
        assert ticks and all(FY.match(t) for t in ticks), ticks
        assert ticks[-1] == "2025-26"  # the latest year is always labelled
        assert len(set(ticks)) <= 8


def test_quarterly_axes_are_left_to_plotly():
    fig = charts.time_series(
        _panels(["All"], QUARTERS).drop(columns="series"), title="t", source="s"
    )
    assert not fig.layout.xaxis.ticktext
    assert financial_year_ticks(fig, QUARTERS) is fig and not fig.layout.xaxis.ticktext


# -- ranks ------------------------------------------------------------------------------------------


def test_a_rank_among_a_few_councils_is_not_called_england():
    ranks = pd.DataFrame(
        {"scope": ["all councils", "statistical neighbours"], "rank": [5, 5], "n": [11, 11]}
    )
    text = rank_sentences(ranks, "rate")
    assert text["all councils"] == (
        "5th lowest of the 11 councils in this comparison (1 = lowest rate)"
    )
    assert "England" not in text["all councils"]
    assert rank_heading(ranks) == "Among the 11 councils in this comparison"
    assert rank_figure(ranks, "all councils") == "5th lowest of 11"
    assert rank_figure(ranks.assign(rank=[pd.NA, 5]), "all councils") == "No figure"
    full = ranks.assign(n=[151, 11])
    assert rank_pool_words(151) == "151 councils in England"
    assert rank_sentences(full, "rate")["all councils"].startswith(
        "5th lowest of 151 councils in England"
    )
    assert rank_heading(full) == "Among all councils in England"


def test_the_sample_benchmark_never_ranks_its_11_councils_as_england(sample_wh):
    bench = analysis.benchmark_analysis(sample_wh, AREA, "cla_at_31_march", synthetic=False)
    n = int(bench.ranks.set_index("scope").loc["all councils", "n"])
    assert n < 140
    text = " ".join(bench.findings)
    assert f"of {n} councils in England" not in text
    assert f"of the {n} councils in this comparison" in text


# -- tables on the Data pages -----------------------------------------------------------------------


def test_coverage_names_each_area_beside_its_code(sample_wh):
    coverage = marts.coverage_summary(sample_wh)
    table = data_tables.coverage_table(coverage, data_tables.area_names(marts.areas(sample_wh)))
    columns = list(table.columns)
    assert columns[columns.index("area_code") + 1] == "area_name"
    assert set(table.loc[table["area_code"] == AREA, "area_name"]) == {"Northmoor"}
    assert "cla_at_period_end" not in set(table["measure"])  # labels, not codes
    assert str(table["values_present"].dtype) == "Int64"  # numbers: formatted with separators


def test_upload_warnings_name_the_rule_in_words(sample_wh):
    issues = marts.upload_issues(sample_wh)
    assert "jump_over_50pct" in set(issues["rule"])  # what the page showed
    table = data_tables.upload_issues_table(issues)
    assert not table["rule"].str.fullmatch(r"[a-z0-9_]+").any()
    assert "No count changes by more than 50% quarter on quarter." in set(table["rule"])
    assert set(table["severity"]) <= {"Warning", "Error (file refused)"}
    # The place each warning names, in columns of its own before the message (a narrow
    # column cut the message short before its unit, age band and period).
    columns = list(table.columns)
    assert columns.index("unit") < columns.index("age_band") < columns.index("period")
    assert columns.index("period") + 1 == columns.index("message") and columns[-1] == "rule"
    first = table.iloc[0]
    assert first["unit"] and first["age_band"] and first["period"].startswith("quarter ending ")
    assert "age band" not in first["message"] and first["message"].endswith("quarter before.")
    assert data_tables.rule_words("made_up_rule") == "Made up rule"


def test_split_place_is_the_inverse_of_where():
    place = where("E06999901", "Ashby", "5-9", "quarter ending 30 June 2023")
    message = f"the quarter's figure changed by +67% on the quarter before {place}."
    text, found = split_place(message)
    assert text == "the quarter's figure changed by +67% on the quarter before."
    assert found == {
        "area": "E06999901",
        "unit": "Ashby",
        "age_band": "5-9",
        "period": "quarter ending 30 June 2023",
    }
    training = f"the figure fell {where('E06999901', 'Ashby', None, '30 June 2023')}. Check it."
    assert split_place(training)[0] == "the figure fell. Check it."
    assert split_place(training)[1]["age_band"] == ""
    assert split_place("no place (here).") == (
        "no place (here).",
        {"area": "", "unit": "", "age_band": "", "period": ""},
    )
    report = pd.DataFrame({"severity": ["warning"], "problem": [message], "how to fix": ["x"]})
    shown = data_tables.validation_report_table(report)
    assert list(shown.columns) == [
        "severity",
        "unit",
        "age_band",
        "period",
        "problem",
        "how to fix",
    ]
    assert shown.loc[0, "unit"] == "Ashby" and shown.loc[0, "period"].endswith("2023")
    assert shown.loc[0, "severity"] == "Warning"


def test_upload_history_shows_datasets_in_words(sample_wh):
    table = data_tables.upload_history_table(marts.uploads(sample_wh))
    assert not {"sha256", "n_unchanged", "message"} & set(table.columns)
    assert "DfE: cla number and rate" in set(table["dataset"])
    assert "Outcomes" in set(table["dataset"]) and "Loaded" in set(table["outcome"])


# -- training ---------------------------------------------------------------------------------------


def test_the_spc_line_under_a_change_that_spans_zero_is_not_an_improvement():
    line = variation_with_change(
        "special_cause_improvement_high", 0.1, -1.8, 1.9, "percentage points"
    )
    assert "improvement (higher)" not in line and "not a clear improvement" in line
    assert "+0.1 percentage points (95% CI -1.8 to +1.9)" in line
    assert "SPC rules" in line and line.startswith("▲")
    clear = variation_with_change("special_cause_improvement_high", 3.0, 1.2, 4.8)
    assert clear == charts.variation_label("special_cause_improvement_high")
    common = variation_with_change("common_cause", 0.1, -1.8, 1.9)
    assert common == charts.variation_label("common_cause")


def test_the_training_caption_describes_training_not_the_outcome():
    text = training_caption(
        "Northmoor", "the whole area", "children looked after", "Apr–Jun 2015", "Apr–Jun 2026"
    )
    assert text.startswith("Northmoor · the whole area · staff trained in Restorative Practice")
    assert "dose-response outcome: children looked after" in text


def test_training_lines_are_named_at_their_ends_without_overlap():
    dates = list(QUARTERS[:4])
    traces = [
        {"type": "scatter", "x": dates, "y": [10, 20, 30, y], "name": n, "line": {"color": c}}
        for n, y, c in (("Ashby", 84.0, "#12436D"), ("Elmwood", 85.0, "#3D3D3D"))
    ]
    fig = add_end_labels(charts.style.new_figure(), traces)
    labels = [a for a in fig.layout.annotations if a.name == "end-label"]
    assert [a.text.split("</span> ")[1] for a in labels] == ["Ashby", "Elmwood"]
    assert abs(labels[0].y - labels[1].y) >= 6
