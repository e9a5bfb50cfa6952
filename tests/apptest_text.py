"""What an AppTest run shows as text and as chart titles, for assertions in the page tests."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

TEXT_ELEMENTS = (
    "markdown",
    "info",
    "warning",
    "caption",
    "title",
    "header",
    "subheader",
    "success",
    "error",
)


def page_text(at: AppTest) -> str:
    """Every text element the page drew, one per line."""
    return "\n".join(str(e.value) for kind in TEXT_ELEMENTS for e in getattr(at, kind))


def chart_titles(at: AppTest) -> list[str]:
    """The title of every plotly chart, with plotly's line breaks as spaces."""
    return [
        json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ")
        for c in at.get("plotly_chart")
    ]
