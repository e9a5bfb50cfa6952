"""The report's outcome sections hide what the dashboard's one decision hides (issue 16).

The Trends page takes its masks from one decision per (area, measure, grain) over the whole
locality x age-band table (`pipelines.present.cube`). The report's rate over time, before/after,
interrupted time series and SPC follow the same decision for the whole area: every quarter the
cube hides is a gap in the chart and "c" in the table, and the before/after and the ITS are
withheld exactly when `cube.before_after_withheld` / `cube.its_withheld_for` say so.

Two warehouses: the sample (where the cube hides no whole-area quarter), and a copy in which
one quarter of children looked after is a count of 4 in one locality and 10 in another: the
cube hides the area's total (14) too, as a secondary suppression, where a table gated on its
own counts showed it.
"""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines import analysis, config, disclosure, marts, measures
from pipelines.present import charts
from pipelines.present import cube as one_decision
from pipelines.present.charts import tables as gates
from pipelines.report.sections import outcomes
from pipelines.report.tables import Builder
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
YEAR = 2026
C = disclosure.SUPPRESSED
SPECS = {"cla": outcomes.CLA, "cpp": outcomes.CPP}
#: The crafted quarter: children looked after at its end, by locality and age band (all else 0).
QUARTER = pd.Timestamp("2019-03-31")
CRAFTED = {
    ("Brookfield", "1-4"): 4,
    ("Brookfield", "All"): 4,
    ("Elmwood", "1-4"): 10,
    ("Elmwood", "All"): 10,
    ("All", "1-4"): 14,
    ("All", "All"): 14,
}


@pytest.fixture(scope="module")
def warehouses(sample_warehouse_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-disclosure")
    sample, crafted = folder / "sample.duckdb", folder / "crafted.duckdb"
    shutil.copy(sample_warehouse_path, sample)
    shutil.copy(sample_warehouse_path, crafted)
    con = duckdb.connect(str(crafted))
    # The quarter and the financial year ending on it (a stock: the year holds its last day).
    where = (
        f"area_code = ? AND grain IN ('quarter', 'financial_year') "
        f"AND period_end = DATE '{QUARTER.date()}'"
    )
    con.execute(f"UPDATE int_outcome_periods SET cla_at_period_end = 0 WHERE {where}", [AREA])
    for (unit, band), value in CRAFTED.items():
        con.execute(
            f"UPDATE int_outcome_periods SET cla_at_period_end = ? "
            f"WHERE {where} AND unit = ? AND age_band = ?",
            [value, AREA, unit, band],
        )
    con.close()
    with open_warehouse(crafted) as wh:  # the edit reaches what the views read
        series = marts.outcome_series(wh, AREA, "cla_at_period_end", grain="quarter")
        assert series.loc[series["period_end"] == QUARTER, "value"].tolist() == [14]
    return {"sample": sample, "crafted": crafted}


def _section(path, spec, monkeypatch):
    """The report's outcome section for `spec`, the frames its charts were drawn from, and
    what the dashboard's one decision says for the same series."""
    drawn: dict[str, pd.DataFrame] = {}
    for name in ("time_series", "its_chart", "spc_chart"):
        original = getattr(charts, name)

        def spy(frame, *args, _name=name, _original=original, **kwargs):
            drawn[_name] = frame
            return _original(frame, *args, **kwargs)

        monkeypatch.setattr(charts, name, spy)
    original_ba = charts.before_after_figure

    def spy_ba(ba, **kwargs):
        drawn["before_after"] = kwargs.get("periods", ba.periods)
        return original_ba(ba, **kwargs)

    monkeypatch.setattr(charts, "before_after_figure", spy_ba)
    with open_warehouse(path) as wh:
        b = Builder(wh, AREA, YEAR, static=False)
        blocks, numbers = outcomes.outcome_section(b, spec, pd.DataFrame(), False, "Northmoor")
        trend = analysis.trend_analysis(wh, AREA, spec.stock, hac=True)
        cube = one_decision.outcome_cube(wh, AREA, spec.stock, "quarter")
    monkeypatch.undo()
    return {b.id: b for b in blocks}, numbers, drawn, trend, cube


def _table_hidden(table) -> tuple[set, set]:
    """(dates whose count is "c", dates with any "c") in a report table."""
    dates = table.columns.index("Period ending")
    count = table.columns.index("Count") if "Count" in table.columns else None
    counts = {r[dates] for r in table.rows if count is not None and r[count] == C}
    anything = {r[dates] for r in table.rows if C in r}
    return counts, anything


def _iso(periods) -> set:
    return {pd.Timestamp(p).strftime("%Y-%m-%d") for p in periods}


@pytest.mark.parametrize("which", ["sample", "crafted"])
@pytest.mark.parametrize("key", list(SPECS))
def test_the_report_hides_every_period_the_dashboard_hides(warehouses, which, key, monkeypatch):
    spec = SPECS[key]
    blocks, _, drawn, _, cube = _section(warehouses[which], spec, monkeypatch)
    hidden = _iso(cube.hidden_periods())
    if which == "crafted" and key == "cla":
        assert hidden == {"2019-03-31"}
    # the rate over time: exactly the cube's periods are "c" (count and rates) and gaps
    trend = blocks[f"{key}-trend"].charts[0]
    counts, anything = _table_hidden(trend.table)
    assert counts == hidden and anything == hidden
    plotted = drawn["time_series"]
    gaps = plotted["value"].isna() & plotted["rate_per_10k"].isna()
    assert _iso(plotted.loc[gaps, "period_end"]) == hidden
    for column in ("rate_per_10k", "rate_lower", "rate_upper"):
        assert plotted.loc[plotted["period_end"].isin(cube.hidden_periods()), column].isna().all()
    # SPC: the hidden quarters' rates are "c" in the table and gaps in the chart
    spc = blocks[f"{key}-spc"].charts[0]
    rate = spc.table.columns.index("Rate per 10,000")
    dates = spc.table.columns.index("Period ending")
    assert {r[dates] for r in spc.table.rows if r[rate] == C} == hidden
    points = drawn["spc_chart"]
    assert _iso(points.loc[points["value"].isna(), "date"]) >= hidden
    # a before/after or ITS shown holds no hidden period (else it is withheld, see below)
    for name, block in (("before_after", "before-after"), ("its_chart", "its")):
        if name in drawn:
            table = blocks[f"{key}-{block}"].charts[0].table
            shown = {r[table.columns.index("Period ending")] for r in table.rows}
            assert not shown & hidden
            assert not any(C in r for r in table.rows)


def test_a_secondary_suppression_of_the_whole_area_is_hidden_in_the_report(warehouses, monkeypatch):
    """The cube hides the area's 14 to protect the locality's 4; the table-only gate (what the
    report used before) showed 14, and with the localities shown beside it, the 4 followed."""
    blocks, _, drawn, trend, cube = _section(warehouses["crafted"], outcomes.CLA, monkeypatch)
    threshold = config.suppression_threshold()
    cells = cube.cells[cube.cells["period_end"] == QUARTER].set_index(["unit", "age_band"])
    assert cells.loc[("All", "All"), "value"] == 14 > threshold  # not small itself
    assert cells.loc[("All", "All"), "hidden"] and cells.loc[("Brookfield", "1-4"), "hidden"]
    # before: the report's own gate over its table left the quarter shown
    table_only = disclosure.suppress(
        trend.series[outcomes.SERIES_COLUMNS],
        ["value"],
        derived={"value": ("rate_per_10k", "rate_lower", "rate_upper")},
        threshold=threshold,
    )
    assert table_only.loc[trend.series["period_end"] == QUARTER, "value"].tolist() == [14]
    assert gates.suppressed_periods(trend.series, threshold) == []
    # now: hidden in the table, the chart and the SPC chart
    row = next(
        r for r in blocks["cla-trend"].charts[0].table.rows if r[0] == QUARTER.strftime("%Y-%m-%d")
    )
    assert row[1] == C and "14" not in row
    assert (
        drawn["time_series"]
        .loc[drawn["time_series"]["period_end"] == QUARTER]
        .isna()["value"]
        .all()
    )
    spc = drawn["spc_chart"]
    assert spc.loc[spc["date"] == QUARTER, "value"].isna().all()


@pytest.mark.parametrize("which", ["sample", "crafted"])
@pytest.mark.parametrize("key", list(SPECS))
def test_before_after_and_its_are_withheld_when_the_dashboard_withholds_them(
    warehouses, which, key, monkeypatch
):
    spec = SPECS[key]
    blocks, numbers, drawn, trend, cube = _section(warehouses[which], spec, monkeypatch)
    threshold = config.suppression_threshold()
    hidden = cube.hidden_periods()
    assert trend.before_after is not None and trend.its is not None
    ba_withheld = one_decision.before_after_withheld(trend.before_after.periods, threshold, hidden)
    its_withheld = one_decision.its_withheld_for(trend.series, threshold, hidden)
    if which == "crafted" and key == "cla":
        # the table-only gate showed both: the crafted quarter is not small on its own
        assert not gates.before_after_withheld(trend.before_after.periods, threshold)
        assert ba_withheld and its_withheld
    if which == "sample":
        assert not ba_withheld and not its_withheld
    ba, its = blocks[f"{key}-before-after"], blocks[f"{key}-its"]
    assert (not ba.charts) == ba_withheld and ("before_after" not in drawn) == ba_withheld
    assert (outcomes.BEFORE_AFTER_WITHHELD in ba.paragraphs) == ba_withheld
    assert (f"{spec.stock}_before_after_rate_ratio" not in numbers) == ba_withheld
    assert (not its.charts) == its_withheld and ("its_chart" not in drawn) == its_withheld
    assert (outcomes.ITS_WITHHELD in its.paragraphs) == its_withheld
    # "In brief" drops the findings about a withheld view, as the Trends page does
    brief = set(blocks[f"{key}-brief"].bullets)
    for finding in trend.findings:
        kind = finding.key.split(":", 1)[0]
        withheld = {"before_after": ba_withheld, "its": its_withheld}.get(kind, False)
        if withheld:
            assert finding.text not in brief, finding.key
    views = one_decision.gate_trend(cube, trend, threshold=threshold)
    assert [f.text for f in views.findings] == [
        t for t in blocks[f"{key}-brief"].bullets if t in {f.text for f in views.findings}
    ]
    assert np.array_equal(views.series.masks["value"], trend.series["period_end"].isin(hidden))


# -- section 1: the year in numbers and the year by locality and by age band ---------------------


def test_the_year_in_numbers_and_its_breakdowns_hide_what_the_dashboard_hides(warehouses):
    """The financial year ending on the crafted quarter: the cube (financial-year grain) hides
    the area's 14 children looked after to protect Brookfield's 4. Gated table by table (as
    section 1 was) the year in numbers and the year by locality showed the 14, and with the
    localities beside it, the 4 followed; now both say "c", and so does the numbers file."""
    from pipelines.report.sections import summary

    year = QUARTER.year
    with open_warehouse(warehouses["crafted"]) as wh:
        b = Builder(wh, AREA, year, static=False)
        cells = one_decision.outcome_cube(wh, AREA, "cla_at_period_end", "financial_year").cells
        rows, _ = summary.year_figures(b, year)
        year_table = summary.year_table(b, rows, "Northmoor")
        by_unit, by_band = summary.year_breakdowns(b)
        numbers = summary.year_figure_numbers(rows)
        by_unit_frame = summary._breakdown_frame(b, "unit")
    cell = cells[(cells["period_end"] == QUARTER) & (cells["unit"] == "All")]
    cell = cell[cell["age_band"] == "All"].iloc[0]
    assert cell["value"] == 14 and cell["hidden"]
    label = summary._measure_in_year(measures.measure("cla_at_period_end"))
    row = next(r for r in year_table.rows if r[0] == label)
    assert row[1] == C and "14" not in row
    assert numbers["cla_at_period_end"] == {"count": None, "rate_per_10k": None}
    cla = measures.measure("cla_at_period_end").label
    shown = {(r[0], r[1]): r[2] for r in by_unit.rows}
    assert shown[(cla, "All")] == C and shown[(cla, "Brookfield")] == C
    assert {r[0] for r in by_band.rows} >= {cla}
    # before: the table's own gate left the 14 shown beside the localities
    frame = by_unit_frame.drop(columns="hidden")
    table_only = disclosure.suppress(
        frame, ["value"], derived={"value": ("rate_per_10k",)}, totals={"unit": ["measure"]}
    )
    mine = table_only[(frame["measure"] == cla) & (frame["unit"] == "All")]
    assert mine["value"].tolist() == [14]


def test_section_one_on_the_sample_hides_exactly_the_cubes_year_cells(warehouses):
    """On the sample every breakdown cell the cube hides for the year is "c" in the report."""
    from pipelines.report.sections import summary

    with open_warehouse(warehouses["sample"]) as wh:
        b = Builder(wh, AREA, YEAR - 1, static=False)
        by_unit, by_band = summary.year_breakdowns(b)
        expected = {}
        for name in summary.BREAKDOWN_MEASURES:
            cells = one_decision.outcome_cube(wh, AREA, name, "financial_year").cells
            cells = cells[cells["period_end"] == pd.Timestamp(YEAR - 1, 3, 31)]
            expected[measures.measure(name).label] = cells
    for table, by in ((by_unit, "unit"), (by_band, "age_band")):
        for r in table.rows:
            cells = expected[r[0]]
            other = "age_band" if by == "unit" else "unit"
            match = cells[(cells[by] == r[1]) & (cells[other] == "All")]
            if match["hidden"].any():
                assert r[2] == C, (r, by)
