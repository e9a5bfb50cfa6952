"""Issue 19: a report built once is written in both formats with each chart drawn once for
each kind (interactive for the HTML, static for the PDF), from the figure as it was given."""

from __future__ import annotations

import plotly.graph_objects as go

from pipelines.report import tables
from pipelines.report.build import _environment


def _figure() -> go.Figure:
    return go.Figure(go.Scatter(x=[1, 2, 3], y=[4, 5, 6], name="rate"), layout={"title": "T"})


def _counting(monkeypatch) -> list[bool]:
    calls: list[bool] = []
    real = tables.figure_html

    def counted(fig, key, *, static, static_height):
        calls.append(static)
        return real(fig, key, static=static, static_height=static_height)

    monkeypatch.setattr(tables, "figure_html", counted)
    return calls


def test_each_kind_of_chart_is_drawn_once_and_kept(monkeypatch):
    calls = _counting(monkeypatch)
    b = tables.Builder(None, "E06999901", 2026, static=False)
    chart = b.chart(_figure(), "rates", "Title", "Caption. More.")
    assert calls == []  # nothing drawn until a format asks
    interactive = chart.render(False)
    static = chart.render(True)
    assert chart.render(False) is interactive and chart.render(True) is static
    assert chart.html is interactive  # the Builder's kind
    assert calls == [False, True]
    assert '"staticPlot": true' in static and '"staticPlot": true' not in interactive
    assert f"width:{tables.STATIC_WIDTH}px" in static.replace(" ", "")


def test_a_chart_is_drawn_from_the_figure_as_given():
    b = tables.Builder(None, "E06999901", 2026, static=True)
    fig = _figure()
    chart = b.chart(fig, "rates", "Title", "Caption.")
    fig.data[0].name = "changed afterwards"
    assert "changed afterwards" not in chart.render(True)
    assert '"rate"' in chart.render(True)


def test_the_template_picks_the_kind_from_the_context(monkeypatch):
    calls = _counting(monkeypatch)
    b = tables.Builder(None, "E06999901", 2026, static=False)
    chart = b.chart(_figure(), "rates", "Title", "Caption.")
    macro = _environment().from_string(
        '{% from "_parts.html.j2" import render_chart %}{{ render_chart(c, static) }}'
    )
    for static in (True, False, True, False):
        html = macro.render(c=chart, static=static)
        assert ('"staticPlot": true' in html) is static
    assert calls == [True, False]
