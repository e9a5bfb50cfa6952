"""Charts on screen (issue 17): a full-width title as page text, a one-line text alternative,
no mode bar (no toolbar over the title on a phone, no tab stops inside the chart), and the data
behind the chart in a "Chart data" expander, through the disclosure gate."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.present import charts
from pipelines.present.charts import style

TITLE = (
    "Children looked after: 70.4 per 10,000 children at 30 June 2026; the latest year was not "
    "clearly different from the year before rollout (2% lower; 95% CI 7% lower to 3% higher)."
)


def _series() -> pd.DataFrame:
    ends = pd.date_range("2018-03-31", periods=8, freq="QE")
    return pd.DataFrame(
        {
            "period_end": ends,
            "value": [40, 42, 3, 44, 45, 43, 41, 40],  # one count of 1-4, to be suppressed
            "population": [60_000] * 8,
            "rate_per_10k": [6.7, 7.0, None, 7.3, 7.5, 7.2, 6.8, 6.7],
            "rate_lower": [6.0] * 8,
            "rate_upper": [7.9] * 8,
        }
    )


def _figure():
    return charts.time_series(
        _series(),
        title=TITLE,
        source="Source: test extracts",
        rollout_date=dt.date(2019, 1, 1),
        y_title="Rate per 10,000 children",
    )


def test_the_summary_says_what_the_chart_shows():
    text = style.chart_summary(_figure())
    assert text.startswith("Line chart of rate per 10,000 children over 7 points")
    assert "from 31 March 2018 to 31 December 2019" in text
    assert "from 6.7 to 7.5" in text  # the gap (a suppressed rate) is not a value
    assert text.endswith("A dashed line marks the rollout on 1 January 2019.")


def test_the_summary_span_ends_at_the_last_point_shown():
    series = _series()
    series.loc[7, "value"] = 2  # the latest quarter suppressed
    series.loc[7, "rate_per_10k"] = None
    fig = charts.time_series(series, title=TITLE, source="Source: test extracts")
    text = style.chart_summary(fig)
    assert "over 6 points from 31 March 2018 to 30 September 2019" in text


def test_the_screen_copy_keeps_its_title_text_but_gives_the_space_to_the_chart():
    fig = _figure()
    screen = style.screen_figure(fig)
    assert style.chart_title(screen) == TITLE
    assert screen.layout.title.font.color == "rgba(0,0,0,0)"
    assert screen.layout.margin.t == style.SCREEN_TOP < fig.layout.margin.t
    assert screen.layout.height < fig.layout.height
    assert fig.layout.title.font.color != "rgba(0,0,0,0)"  # the report's figure is untouched


def _page():
    import datetime as dt

    import pandas as pd

    from dashboard.views.common import RATE_DERIVED, chart_block
    from pipelines.present import charts

    ends = pd.date_range("2018-03-31", periods=8, freq="QE")
    series = pd.DataFrame(
        {
            "period_end": ends,
            "value": [40, 42, 3, 44, 45, 43, 41, 40],
            "population": [60_000] * 8,
            "rate_per_10k": [6.7, 7.0, 0.5, 7.3, 7.5, 7.2, 6.8, 6.7],
            "rate_lower": [6.0] * 8,
            "rate_upper": [7.9] * 8,
        }
    )
    title = (
        "Children looked after: 70.4 per 10,000 children at 30 June 2026; the latest year was "
        "not clearly different from the year before rollout (2% lower; 95% CI 7% lower to 3% "
        "higher)."
    )
    fig = charts.time_series(
        series,
        title=title,
        source="Source: test extracts",
        rollout_date=dt.date(2019, 1, 1),
        y_title="Rate per 10,000 children",
    )
    chart_block(fig, series, key="t", file_name="test", count_cols=["value"], derived=RATE_DERIVED)


@pytest.fixture(scope="module")
def page():
    at = AppTest.from_function(_page, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_chart_block_draws_the_title_as_page_text_then_the_summary(page):
    assert [m.value for m in page.markdown] == [f"**{TITLE}**"]
    summary = page.caption[0].value
    assert summary.startswith("Chart summary: Line chart of rate per 10,000 children")
    assert "rollout on 1 January 2019" in summary


def test_chart_block_hides_the_mode_bar(page):
    (chart,) = page.get("plotly_chart")
    config = json.loads(chart.proto.config)
    assert config["displayModeBar"] is False and config["displaylogo"] is False
    spec = json.loads(chart.proto.spec)
    assert spec["layout"]["title"]["text"].replace("<br>", " ") == TITLE
    assert spec["layout"]["title"]["font"]["color"] == "rgba(0,0,0,0)"


def test_chart_block_gives_the_data_behind_the_chart_through_the_gate(page):
    (expander,) = page.expander
    assert expander.label == "Chart data: table and CSV download"
    (table,) = expander.dataframe
    values = table.value["value"].astype(str).tolist()
    assert values[2] == "c" and "3" not in values  # the count of 3 is suppressed
    assert str(table.value["rate_per_10k"].iloc[2]) in ("c", "None", "nan", "<NA>")
    assert [b.label for b in expander.get("download_button")] == ["Download CSV"]


def test_a_scatter_of_numbers_is_summarised_with_rounded_ends_and_years_stay_years():
    import plotly.graph_objects as go

    from pipelines.present.charts.style import chart_summary

    scatter = go.Figure(go.Scatter(x=[83.930942, 69.45, 61.2], y=[4.2, -7.7, 1], mode="markers"))
    scatter.update_layout(xaxis_title="Staff trained (%)", yaxis_title="Change (%)")
    text = chart_summary(scatter)
    assert text.startswith("Scatter chart") and "61.2 to 83.9" in text and "83.93" not in text
    years = go.Figure(go.Scatter(x=[2016, 2017, 2018], y=[1, 2, 3], mode="lines"))
    assert "from 2016 to 2018" in chart_summary(years)
