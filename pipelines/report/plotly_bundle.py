"""Which plotly.js a report embeds: plotly's own "basic" bundle where every chart fits it.

The report and the brief are single files with plotly.js inside. The full bundle (4.7 MB) was
most of each file and most of the time Chromium takes to open the brief before printing it
(2 of its 4 seconds). The charts are scatter and bar traces only, which plotly's published
basic bundle (bar, pie, scatter; 1.2 MB, `plotly.js-basic-dist-min` on npm, MIT, vendored in
``assets/`` with its licence) draws the same. It is used only when it is the same plotly.js
version as the plotly package's own bundle and no chart on the page needs another trace type
(`mark_chart` flags those); otherwise the full bundle goes in, as before.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import plotly.offline
from plotly.offline.offline import get_plotlyjs_version

BASIC_PATH = Path(__file__).parent / "assets" / "plotly-basic.min.js"
#: The trace types the basic bundle holds.
BASIC_TRACES = frozenset({"bar", "pie", "scatter"})
#: Written into a chart's fragment when it needs the full bundle.
NEEDS_FULL = "<!-- rp-impact: this chart needs the full plotly.js -->"
#: Where the template's script goes until the page's charts are known.
PLACEHOLDER = "/* rp-impact: plotly.js */"


@functools.cache
def basic_bundle() -> str | None:
    """The vendored basic bundle, or None when it is missing or another plotly.js version
    than the plotly package's (a mixed version could draw differently)."""
    try:
        text = BASIC_PATH.read_text(encoding="utf-8")
    except OSError:
        return None
    return text if f"(basic - minified) v{get_plotlyjs_version()}\n" in text[:300] else None


def mark_chart(trace_types: Iterable[str], fragment: str) -> str:
    """A chart's HTML fragment, flagged when one of its traces is not in the basic bundle."""
    needs_full = any((kind or "scatter") not in BASIC_TRACES for kind in trace_types)
    return fragment + NEEDS_FULL if needs_full else fragment


def embed(page: str) -> str:
    """`page` (rendered with :data:`PLACEHOLDER` as its plotly.js) with plotly.js in place."""
    basic = basic_bundle()
    js = basic if basic is not None and NEEDS_FULL not in page else plotly.offline.get_plotlyjs()
    return page.replace(PLACEHOLDER, js, 1)
