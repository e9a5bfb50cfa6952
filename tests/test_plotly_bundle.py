"""Which plotly.js a report embeds (`pipelines.report.plotly_bundle`): plotly's basic bundle
where every chart fits it and its version is the plotly package's, else the full bundle."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.offline

from pipelines.report import plotly_bundle
from pipelines.report.tables import figure_html

PAGE = f"<script>{plotly_bundle.PLACEHOLDER}</script><div>charts</div>"


def _full() -> str:
    return plotly.offline.get_plotlyjs()


# -- basic_bundle --------------------------------------------------------------------------------


def test_the_vendored_bundle_is_plotly_s_basic_bundle_of_the_same_version():
    bundle = plotly_bundle.basic_bundle()
    assert bundle is not None
    assert "plotly.js (basic - minified)" in bundle[:200]
    assert len(bundle) < len(_full()) / 3
    licence = (plotly_bundle.BASIC_PATH.parent / "plotly-basic.LICENSE").read_text()
    assert licence.startswith("MIT License") and "Plotly" in licence


def test_another_plotly_version_is_not_mixed_with_the_basic_bundle(monkeypatch):
    monkeypatch.setattr(plotly_bundle, "get_plotlyjs_version", lambda: "99.0.0")
    plotly_bundle.basic_bundle.cache_clear()
    try:
        assert plotly_bundle.basic_bundle() is None
        assert plotly_bundle.embed(PAGE) == PAGE.replace(plotly_bundle.PLACEHOLDER, _full())
    finally:
        plotly_bundle.basic_bundle.cache_clear()


# -- mark_chart and embed ------------------------------------------------------------------------


def test_scatter_and_bar_charts_take_the_basic_bundle():
    fragment = figure_html(
        go.Figure([go.Scatter(x=[1, 2], y=[3, 4]), go.Bar(x=[1], y=[2])]),
        "a",
        static=False,
        static_height=None,
    )
    assert plotly_bundle.NEEDS_FULL not in fragment
    page = plotly_bundle.embed(PAGE + fragment)
    assert plotly_bundle.basic_bundle()[:200] in page and _full()[:200] not in page


def test_a_chart_the_basic_bundle_cannot_draw_takes_the_full_bundle():
    fragment = figure_html(
        go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])), "b", static=True, static_height=None
    )
    assert fragment.endswith(plotly_bundle.NEEDS_FULL)
    page = plotly_bundle.embed(PAGE + fragment)
    assert _full()[:200] in page and plotly_bundle.PLACEHOLDER not in page
