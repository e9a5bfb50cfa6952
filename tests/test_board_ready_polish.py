"""Issue 17's rough edges: the warmed server start, the grade line, the ranking said once, PDF
chart titles across the chart, and narrow-screen chart layout (SPC status, small multiples)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines import analysis
from pipelines.analysis.benchmark_text import rank_finding
from pipelines.present import charts
from pipelines.present.charts import style
from pipelines.present.verdicts import grade_line, verdict_views
from pipelines.report.tables import STATIC_WIDTH, figure_html

AREA = "E06999901"
LONG_TITLE = (
    "Children on a child protection plan: 31.5 per 10,000 children in the quarter to "
    "31 March 2026, down from 35.9 a year earlier"
)


# -- rp-impact serve warms the Board before it listens -------------------------------------------


def test_serve_runs_the_warming_launcher(monkeypatch, tmp_path):
    from pipelines import cli

    seen = {}

    def call(command, env):
        seen.update(command=command, env=env)
        return 0

    monkeypatch.setattr(cli.subprocess, "call", call)
    wh = tmp_path / "w.duckdb"
    assert cli.main(["--warehouse", str(wh), "serve", "--port", "8765", "--headless"]) == 0
    assert seen["command"][1].endswith("dashboard/serve.py")
    assert seen["command"][2:] == ["--server.port", "8765", "--server.headless", "true"]
    assert seen["env"]["RP_IMPACT_WAREHOUSE"] == str(wh.resolve())


def test_warming_before_serving_fills_the_boards_caches(sample_copy, monkeypatch):
    import streamlit as st

    from dashboard import data, serve

    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    monkeypatch.delenv("RP_IMPACT_WARM", raising=False)
    st.cache_data.clear()
    assert serve.warm_before_serving() is not None
    # Made already: the page's read is answered from the cache, not computed again.
    made = data.verdict_summary.__wrapped__
    key = (made.__module__, made.__qualname__)
    real = data._CACHED[key]
    monkeypatch.setitem(data._CACHED, key, lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert data.verdict_summary(AREA) is not None
    monkeypatch.setitem(data._CACHED, key, real)
    monkeypatch.setenv("RP_IMPACT_WARM", "0")
    assert serve.warm_before_serving() is None


def test_the_server_start_keeps_the_flow_decisions_in_a_low_priority_process(monkeypatch, tmp_path):
    from dashboard import serve

    started = []

    class Started:
        def __init__(self, command, **options):
            started.append((command, options))

        def poll(self):
            return None

        def wait(self):
            return 0

    monkeypatch.setattr(serve.background.subprocess, "Popen", Started)
    monkeypatch.setattr(serve.background, "_running", None)
    monkeypatch.delenv("RP_IMPACT_WARM", raising=False)
    monkeypatch.setenv("RP_IMPACT_DECISIONS", str(tmp_path / "kept"))
    assert serve.decide_in_background() is not None
    ((command, options),) = started
    assert command[1:] == ["-m", "pipelines.cli", "decide"]
    assert options["cwd"] == serve.ROOT
    assert options["stdout"].name == str(tmp_path / "kept" / "decide.log")  # not thrown away
    assert options["preexec_fn"] is not None  # os.nice(19), in the child
    monkeypatch.setenv("RP_IMPACT_DECISIONS", "")
    assert serve.decide_in_background() is None
    monkeypatch.delenv("RP_IMPACT_DECISIONS")
    monkeypatch.setenv("RP_IMPACT_WARM", "0")
    assert serve.decide_in_background() is None
    assert len(started) == 1


# -- the grade line ----------------------------------------------------------------------------------


def test_the_grade_line_says_why_in_one_sentence(sample_wh):
    line = grade_line("Low confidence", "No clear change yet (in simulation 94% of the time).")
    assert line == "Low confidence: no clear change yet (in simulation 94% of the time)."
    assert grade_line("Low confidence", "DfE figures are annual.").endswith(
        ": DfE figures are annual."
    )
    views = verdict_views(analysis.verdict_summary(sample_wh, AREA).verdicts)
    assert views
    for view in views:
        assert "This is uncertain" not in view.grade_line
        assert view.grade_line.startswith(f"{view.grade_label}: ")
        said = view.grade_line.split(": ", 1)[1]
        assert not said.lower().startswith(f"{view.grade}:"), view.grade_line  # said once
        assert said[:1].islower() and "of the time" in said, view.grade_line
        assert view.grade_meaning[:1].isupper()


# -- benchmarks: one ranking when the pools are one set ---------------------------------------------


def test_the_ranking_is_said_once_when_both_pools_are_the_same_councils():
    same = pd.DataFrame(
        {"scope": ["all councils", "statistical neighbours"], "rank": [5, 5], "n": [11, 11]}
    )
    text = rank_finding("Northmoor", "2025-26", same, "rate")
    assert text == (
        "In 2025-26 Northmoor was 5th lowest of the 11 councils in this comparison, which are "
        "itself and its 10 statistical neighbours (1 = lowest rate)."
    )
    assert text.count("lowest of") == 1
    england = same.assign(n=[151, 11], rank=[40, 3])
    assert rank_finding("Northmoor", "2025-26", england, "rate") == (
        "In 2025-26 Northmoor was 40th lowest of 151 councils in England and 3rd lowest of 11 "
        "among itself and its statistical neighbours (1 = lowest rate)."
    )
    assert rank_finding("Northmoor", "2025-26", same.assign(rank=[pd.NA, 5]), "rate") == ""


def test_the_sample_benchmark_ranks_its_11_councils_once(sample_wh):
    bench = analysis.benchmark_analysis(sample_wh, AREA, "cla_at_31_march", synthetic=False)
    ranked = [f for f in bench.findings if "lowest of" in f]
    assert len(ranked) == 1 and ranked[0].count("lowest of") == 1
    assert "itself and its 10 statistical neighbours" in ranked[0]


# -- PDF chart titles ----------------------------------------------------------------------------------


def _line_figure(title: str = LONG_TITLE):
    ends = pd.date_range("2018-03-31", periods=8, freq="QE")
    series = pd.DataFrame(
        {
            "period_end": ends,
            "value": [40, 42, 43, 44, 45, 43, 41, 40],
            "population": [60_000] * 8,
            "rate_per_10k": np.linspace(6.7, 7.5, 8),
            "rate_lower": [6.0] * 8,
            "rate_upper": [8.0] * 8,
        }
    )
    return charts.time_series(
        series,
        title=title,
        source="Source: outcomes extracts (last upload 2 December 2026); rates per 10,000 "
        "children aged 0-17, mid-year population 2015-2025",
        y_title="Rate per 10,000 children",
    )


def test_a_pdf_chart_title_spans_the_charts_width():
    fig = _line_figure()
    phone_lines = fig.layout.title.text.count("<br>") + 1
    phone_top = fig.layout.margin.t
    assert phone_lines >= 3  # wrapped for a 390 px phone
    fitted = style.fit_title(fig, STATIC_WIDTH, 400)
    lines = fitted.layout.title.text.split("<br>")
    assert len(lines) == 2 < phone_lines
    assert max(len(line) for line in lines) * style.TITLE_CHAR_PX <= STATIC_WIDTH - 24
    assert max(len(line) for line in lines) > 60  # not a third of the width
    # The legend stays below the title, and the plot below the legend.
    assert fitted.layout.margin.t == phone_top - 20 * (phone_lines - 2)
    assert fitted.layout.legend.y < 1 - (26 + 20 * 2) / 400
    assert "<br>" not in next(a for a in fitted.layout.annotations if a.name == "source").text[:90]
    html = figure_html(_line_figure(), "k", static=True, static_height=400)
    assert "31.5 per 10,000 children in the quarter" in html  # on one line with its start


# -- narrow screens --------------------------------------------------------------------------------------


def test_the_spc_status_is_page_text_not_under_the_legend():
    from pipelines.stats.spc import xmr

    values = [10, 11, 10, 12, 11, 10, 11, 12, 10, 11, 11, 10, 11, 12, 10, 11, 10, 11]
    dates = pd.date_range("2020-01-31", periods=len(values), freq="ME")
    result = xmr(pd.Series(values, index=dates), improvement="decrease")
    fig = charts.spc_chart(
        result.points, title="SPC", source="Source: x", variation_icon=result.variation_icon
    )
    assert style.chart_subtitle(fig) == "≈ Common cause variation: no significant change"
    screen = style.screen_figure(fig)
    assert not screen.layout.title.subtitle.text  # the page draws it under the title
    assert fig.layout.title.subtitle.text  # the report's figure keeps it


def test_small_multiples_legend_sits_above_the_panel_titles_on_screen():
    from tests.test_screen_polish import QUARTERS, SEVEN, _panels

    fig = charts.small_multiples(_panels(SEVEN, QUARTERS), title="A title", source="Source: x")
    screen = style.screen_figure(fig)
    legend = screen.layout.legend
    assert legend.yref == "paper" and legend.yanchor == "bottom"
    plot_px = screen.layout.height - screen.layout.margin.t - screen.layout.margin.b
    # its bottom is a panel title's height and a gap above the panels, whatever its rows
    assert (legend.y - 1) * plot_px >= style.PANEL_TITLE_ROOM - 0.5
    plain = style.screen_figure(_line_figure("A title"))
    assert plain.layout.legend.yref == "container"  # other charts are as before
