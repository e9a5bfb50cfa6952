"""Formula injection (OWASP "CSV Injection"): no table or download a viewer gets runs as a formula.

Text cells starting with = + - @ tab or carriage return get a leading apostrophe, in the tables
on screen (whose toolbar "Download as CSV" exports what they hold), in every download and in
the gate's output; numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines import disclosure
from pipelines.present import charts

HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+3-1", "-2+3", "\tcmd", "\rcmd", "Ashby"]
ESCAPED = [
    '\'=HYPERLINK("http://x","y")',
    "'@SUM(1)",
    "'+3-1",
    "'-2+3",
    "'\tcmd",
    "'\rcmd",
    "Ashby",
]


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": HOSTILE,
            "change": [-3, -1, 0, 2, -7, 5, -4],  # int64: numbers, never escaped
            "rate": [-2.5, 1.0, -0.5, 3.0, 0.0, -1.25, 4.0],
            "value": [1, 10, 3, 12, 0, 40, 7],  # counts: 1 and 3 are suppressed
        }
    )


def test_escape_formula_prefixes_only_text():
    assert [disclosure.escape_formula(v) for v in HOSTILE] == ESCAPED
    assert disclosure.escape_formula(-3) == -3
    assert disclosure.escape_formula(-2.5) == -2.5
    assert disclosure.escape_formula(None) is None
    assert disclosure.escape_formula("'=already") == "'=already"


def test_escape_frame_keeps_numbers_numeric():
    out = disclosure.escape_frame(hostile_frame())
    assert out["unit"].tolist() == ESCAPED
    assert out["change"].dtype == "int64" and out["change"].tolist()[:2] == [-3, -1]
    assert out["rate"].dtype == "float64" and out["rate"].iloc[0] == -2.5


def test_escape_frame_handles_mixed_categorical_and_string_columns():
    frame = pd.DataFrame(
        {
            "mixed": pd.Series([-3, "=1+1", "c"], dtype=object),
            "category": pd.Categorical(["@x", "ok", "@x"]),
            "text": pd.array(["+1", "-1", None], dtype="string"),
            "=header": [1, 2, 3],
        }
    )
    out = disclosure.escape_frame(frame)
    assert out["mixed"].tolist() == [-3, "'=1+1", "c"], "a negative number in text stays a number"
    assert out["category"].tolist() == ["'@x", "ok", "'@x"]
    assert out["text"].tolist()[:2] == ["'+1", "'-1"]
    assert "'=header" in out.columns


def test_the_gate_escapes_its_table_and_download_and_leaves_its_plot_numeric():
    gated = disclosure.gate(hostile_frame(), ["value"], derived={"value": ["rate"]}, threshold=4)
    assert gated.table["unit"].tolist() == ESCAPED
    assert gated.table["value"].tolist() == ["c", 10, "c", 12, 0, 40, 7]
    assert gated.table["rate"].tolist()[:3] == ["c", 1.0, "c"]
    assert gated.plot["rate"].isna().tolist()[:3] == [True, False, True]
    assert gated.plot["unit"].tolist() == HOSTILE  # the chart's own labels are not a spreadsheet
    text = gated.csv().decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[1] == '"\'=HYPERLINK(""http://x"",""y"")",-3,c,c'
    assert lines[2] == "'@SUM(1),-1,1.0,10"
    assert lines[3] == "'+3-1,0,c,c"
    assert lines[4] == "'-2+3,2,3.0,12"
    back = pd.read_csv(io.BytesIO(gated.csv()), encoding="utf-8-sig")
    assert back["change"].tolist() == [-3, -1, 0, 2, -7, 5, -4], "negative numbers read back"


def test_csv_bytes_and_xlsx_escape_too():
    text = charts.csv_bytes(hostile_frame(), ["value"], {"value": ["rate"]}, 4).decode("utf-8-sig")
    assert "'@SUM(1)" in text and "'+3-1" in text and ",-3," in text
    assert "\n=HYPERLINK" not in text and "\n@SUM" not in text and "\n+3-1" not in text


def _page():
    import pandas as pd

    from dashboard.views.common import chart_block, headed_table, safe_table
    from pipelines.present import charts

    frame = pd.DataFrame(
        {"unit": ['=HYPERLINK("http://x")', "@SUM(1)", "+3-1"], "change": [-3, 1, -2]}
    )
    safe_table(frame, key="safe")
    headed_table(frame, key="headed")
    chart_block(
        charts.empty_figure("x"),
        frame.assign(value=[1, 9, 3]),
        key="k",
        file_name="f",
        count_cols=["value"],
    )


def test_every_table_on_screen_holds_escaped_text_so_its_toolbar_csv_is_safe():
    at = AppTest.from_function(_page).run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [df.value for df in at.dataframe]
    assert len(tables) == 3
    for table in tables:
        assert table["unit"].tolist() == ['\'=HYPERLINK("http://x")', "'@SUM(1)", "'+3-1"]
        assert table["change"].tolist() == [-3, 1, -2]
    assert tables[2]["value"].astype(str).tolist() == ["c", "9", "c"]


#: Pages whose tables must go through `common.safe_table` / `headed_table` / `chart_block`.
GATED_PAGES = ("board", "cohorts", "training", "practice", "upload", "upload_returns", "quality")


@pytest.mark.parametrize("page", GATED_PAGES)
def test_no_page_draws_a_table_past_the_escaping(page):
    import ast
    from pathlib import Path

    source = (Path(__file__).parents[1] / "dashboard" / "views" / f"{page}.py").read_text()
    calls = [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "st"
        and node.attr in ("dataframe", "table", "data_editor")
    ]
    assert calls == [], f"views/{page}.py draws a table itself at line(s) {calls}"
