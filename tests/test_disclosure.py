"""Disclosure control: what a board member can see or download never reveals 1 to 4 children."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from pipelines import disclosure


def test_counts_from_1_to_4_become_c_and_0_stays():
    frame = pd.DataFrame({"value": [0, 1, 4, 5, None]})
    out = disclosure.suppress(frame, ["value"], threshold=4)
    assert out.value.tolist()[:4] == [0, "c", "c", 5]
    assert pd.isna(out.value.iloc[4])


def test_rates_derived_from_a_suppressed_count_are_suppressed():
    frame = pd.DataFrame({"value": [3, 30], "rate": [1.5, 15.0], "lower": [0.3, 10.1]})
    out = disclosure.suppress(frame, ["value"], derived={"value": ["rate", "lower"]})
    assert out.iloc[0].tolist() == ["c", "c", "c"]
    assert out.iloc[1].tolist() == [30, 15.0, 10.1]


def test_threshold_is_configurable(monkeypatch):
    monkeypatch.setenv("RP_IMPACT_SUPPRESSION_THRESHOLD", "9")
    out = disclosure.suppress(pd.DataFrame({"value": [7, 10]}), ["value"])
    assert out.value.tolist() == ["c", 10]


def test_a_single_suppressed_part_of_a_total_gets_a_second_suppression():
    # All = 20 = 3 + 8 + 9: without secondary suppression, Ashby's 3 = 20 - 8 - 9.
    frame = pd.DataFrame(
        {
            "period_end": ["2024-06-30"] * 4,
            "unit": ["All", "Ashby", "Brookfield", "Castleton"],
            "value": [20, 3, 8, 9],
        }
    )
    out = disclosure.suppress(frame, ["value"], totals={"unit": ["period_end"]})
    assert out.value.tolist() == [20, "c", "c", 9]


def test_secondary_suppression_works_group_by_group():
    frame = pd.DataFrame(
        {
            "period_end": ["2024-06-30"] * 3 + ["2024-09-30"] * 3,
            "unit": ["All", "Ashby", "Brookfield"] * 2,
            "value": [12, 2, 10, 30, 12, 18],
        }
    )
    out = disclosure.suppress(frame, ["value"], totals={"unit": ["period_end"]})
    assert out.value.tolist() == [12, "c", "c", 30, 12, 18]


def test_two_suppressed_parts_need_no_more():
    frame = pd.DataFrame({"unit": ["All", "A", "B", "C"], "value": [20, 2, 3, 15]})
    out = disclosure.suppress(frame, ["value"], totals={"unit": []})
    assert out.value.tolist() == [20, "c", "c", 15]


def test_formula_injection_is_escaped():
    values = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tcmd", "Ashby", 5, -3]
    escaped = [disclosure.escape_formula(v) for v in values]
    assert escaped[:5] == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "'\tcmd"]
    assert escaped[5:] == ["Ashby", 5, -3], "plain text and numbers are untouched"


def test_safe_csv_escapes_cells_and_headers():
    frame = pd.DataFrame({"=bad": ["=1+1", "ok"], "value": [10, 11]})
    text = disclosure.to_safe_csv(frame).decode("utf-8-sig")
    assert text.splitlines() == ["'=bad,value", "'=1+1,10", "ok,11"]


def test_safe_xlsx_stores_formulas_as_text():
    frame = pd.DataFrame({"unit": ["=cmd|' /C calc'!A0", "Ashby"], "value": [10, None]})
    book = openpyxl.load_workbook(io.BytesIO(disclosure.to_safe_xlsx(frame)))
    sheet = book.active
    assert sheet["A2"].value == "'=cmd|' /C calc'!A0"
    assert sheet["A2"].data_type == "s"
    assert sheet["B3"].value is None


def test_has_small_counts():
    assert disclosure.has_small_counts(pd.DataFrame({"v": [0, 5, 3]}), ["v"])
    assert not disclosure.has_small_counts(pd.DataFrame({"v": [0, 5, "c"]}), ["v"])
