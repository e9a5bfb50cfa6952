"""The Board's tiles, charts and findings hide what the one decision hides (issue 16).

The Trends page takes its masks from one decision per (area, measure, grain) over the whole
locality x age-band table (`pipelines.present.cube`). The Board's CLA and CPP tiles (latest
rate, change since rollout, XmR icons), its two key charts with their tables and downloads,
and its whole-area trend findings follow the same decision.

Two warehouses: the sample (where the cube hides no whole-area quarter, so the Board shows
every figure), and a copy in which the latest quarter of children looked after is a count of
4 in one locality and 10 in another: the cube hides the area's total (14) too, as a
secondary suppression, so the Board must not show it, its rate, or anything made from it.
"""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines import analysis, disclosure, marts
from pipelines.analysis.headlines import HIDDEN_CHANGE, HIDDEN_LATEST
from pipelines.present import cube as one_decision
from pipelines.store.warehouse import open_warehouse
from tests.test_disclosure_pages import walk

AREA = "E06999901"
C = disclosure.SUPPRESSED
MEASURE = "cla_at_period_end"
#: The crafted quarter's children looked after at its end, by locality and age band.
CRAFTED = {
    ("Brookfield", "1-4"): 4,
    ("Brookfield", "All"): 4,
    ("Elmwood", "1-4"): 10,
    ("Elmwood", "All"): 10,
    ("All", "1-4"): 14,
    ("All", "All"): 14,
}
RATE_COLUMNS = ("value", "rate_per_10k", "rate_lower", "rate_upper")


def _latest_quarter(path) -> pd.Timestamp:
    with open_warehouse(path) as wh:
        series = marts.outcome_series(wh, AREA, MEASURE, grain="quarter")
    return pd.Timestamp(series.loc[series["complete"].astype(bool), "period_end"].max())


@pytest.fixture(scope="module")
def warehouses(sample_warehouse_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("board-disclosure")
    sample, crafted = folder / "sample.duckdb", folder / "crafted.duckdb"
    shutil.copy(sample_warehouse_path, sample)
    shutil.copy(sample_warehouse_path, crafted)
    quarter = _latest_quarter(sample)
    con = duckdb.connect(str(crafted))
    where = f"area_code = ? AND grain = 'quarter' AND period_end = DATE '{quarter.date()}'"
    con.execute(f"UPDATE int_outcome_periods SET {MEASURE} = 0 WHERE {where}", [AREA])
    for (unit, band), value in CRAFTED.items():
        con.execute(
            f"UPDATE int_outcome_periods SET {MEASURE} = ? "
            f"WHERE {where} AND unit = ? AND age_band = ?",
            [value, AREA, unit, band],
        )
    con.close()
    with open_warehouse(crafted) as wh:  # the edit reaches what the views read
        series = marts.outcome_series(wh, AREA, MEASURE, grain="quarter")
        assert series.loc[series["period_end"] == quarter, "value"].tolist() == [14]
        population = series.loc[series["period_end"] == quarter, "population"].iloc[0]
    return {"sample": sample, "crafted": crafted, "quarter": quarter, "population": population}


def _board(path):
    with open_warehouse(path) as wh:
        summary = analysis.board_summary(wh, AREA)
        hidden = one_decision.outcome_cube(wh, AREA, MEASURE, "quarter").hidden_periods()
    return summary, {t.key: t for t in summary.headlines}, hidden


# -- the crafted quarter is hidden by the one decision ------------------------------------------


def test_the_cube_hides_the_crafted_quarter_of_the_whole_area(warehouses):
    _, _, hidden = _board(warehouses["crafted"])
    assert warehouses["quarter"] in pd.to_datetime(hidden)
    _, _, sample_hidden = _board(warehouses["sample"])
    assert sample_hidden == []


# -- the tile --------------------------------------------------------------------------------------


def test_the_tile_shows_the_latest_quarter_shown_and_says_why(warehouses):
    _, tiles, _ = _board(warehouses["crafted"])
    tile = tiles["cla_rate"]
    quarter = warehouses["quarter"]
    assert quarter in pd.to_datetime(list(tile.hidden))
    assert pd.Timestamp(tile.latest_period) < quarter
    assert tile.latest_value != 14
    assert tile.notes["latest"] == HIDDEN_LATEST
    _, sample_tiles, _ = _board(warehouses["sample"])
    assert pd.Timestamp(sample_tiles["cla_rate"].latest_period) == quarter
    assert "latest" not in sample_tiles["cla_rate"].notes


def test_the_change_since_rollout_is_withheld_when_its_window_holds_a_hidden_quarter(warehouses):
    _, tiles, _ = _board(warehouses["crafted"])
    tile = tiles["cla_rate"]
    assert tile.change_pct is None and tile.change_lower is None and tile.before_after is None
    assert tile.notes["before_after"] == HIDDEN_CHANGE
    assert str(round(tile.latest_rate, 1)) in tile.finding  # the level, without the change
    _, sample_tiles, _ = _board(warehouses["sample"])
    assert sample_tiles["cla_rate"].change_pct is not None
    # The CPP tile, whose quarters are untouched, keeps its change.
    assert tiles["cpp_rate"].change_pct == pytest.approx(sample_tiles["cpp_rate"].change_pct)


def test_the_xmr_chart_behind_the_icons_rests_on_the_quarters_shown(warehouses):
    _, tiles, _ = _board(warehouses["crafted"])
    spc = tiles["cla_rate"].spc
    at = spc.points["date"] == warehouses["quarter"]
    assert at.sum() == 1 and spc.points.loc[at, "value"].isna().all()
    shown = spc.points[spc.points["date"] < warehouses["quarter"]]
    sample_spc = _board(warehouses["sample"])[1]["cla_rate"].spc
    # Every other quarter is the same rate as in the sample: only the hidden one is left out.
    np.testing.assert_allclose(
        shown["value"].to_numpy(), sample_spc.points["value"].to_numpy()[: len(shown)]
    )


# -- the findings ----------------------------------------------------------------------------------


def test_the_whole_area_findings_follow_the_trends_page(warehouses):
    summary, _, hidden = _board(warehouses["crafted"])
    keys = [f.key for f in summary.findings]
    with open_warehouse(warehouses["crafted"]) as wh:
        trend = analysis.trend_analysis(wh, AREA, MEASURE, hac=True)
    # The interrupted time series was fitted on the hidden quarter, and would give it back
    # (cube.its_withheld_for): it is no finding. The before/after comparison's window ends
    # years before the hidden quarter, so the Trends page shows it, and so does the Board.
    assert one_decision.its_withheld_for(trend.series, hidden=hidden)
    assert not [k for k in keys if k.startswith("its:") and MEASURE in k]
    assert warehouses["quarter"] not in set(pd.to_datetime(trend.before_after.periods["date"]))
    assert not one_decision.before_after_withheld(trend.before_after.periods, hidden=hidden)
    assert f"before_after:{MEASURE}:Northmoor" in keys
    sample_summary, _, _ = _board(warehouses["sample"])
    sample_keys = [f.key for f in sample_summary.findings]
    assert [k for k in sample_keys if k.startswith("its:") and MEASURE in k]


# -- the Board page, walked as a viewer ------------------------------------------------------------


@pytest.fixture(scope="module")
def board_payloads(warehouses):
    return walk(warehouses["crafted"], views=[("board", "All", "quarter", None)])


def test_no_chart_table_or_download_on_the_board_shows_the_hidden_quarter(
    warehouses, board_payloads
):
    day = warehouses["quarter"].strftime("%Y-%m-%d")
    rate = 14 * 10_000 / warehouses["population"]
    seen = 0
    for _view, kind, name, frame in board_payloads:
        if kind == "chart":
            at = frame[frame["x"] == day]
            drawn = at["y"].map(lambda y: y is not None and not pd.isna(y))
            assert not drawn.any() or not np.isclose(at.loc[drawn, "y"].astype(float), rate).any()
            assert not at["text"].str.contains(f"{rate:.1f}", regex=False).any(), name
            continue
        date = next((c for c in ("period_end", "date") if c in frame.columns), None)
        if date is None or "value" not in frame.columns:
            continue
        rows = frame[frame[date].str[:10] == day]
        for column in (c for c in RATE_COLUMNS if c in rows.columns):
            shown = pd.to_numeric(rows[column], errors="coerce").dropna()
            assert not np.isclose(shown, 14).any(), (kind, name, column)  # the hidden count
            assert not np.isclose(shown, rate, atol=0.05).any(), (kind, name, column)
        # The CLA chart's table and download (the CPP ones show their own count here).
        seen += int((rows["value"] == C).sum())
    assert seen >= 2, "the CLA chart's table and its download hold the hidden quarter as c"


def test_the_attacks_find_the_hidden_quarter_on_an_ungated_series(warehouses):
    """The assertion above can fail: the series as marts gives it shows the hidden total."""
    with open_warehouse(warehouses["crafted"]) as wh:
        series = marts.outcome_series(wh, AREA, MEASURE, grain="quarter")
    at = series[series["period_end"] == warehouses["quarter"]]
    recovered = at["rate_per_10k"] * at["population"] / 10_000
    assert recovered.round().tolist() == [14]
