"""The practice evidence's analysis recovers what the sample planted, with honest intervals."""

from __future__ import annotations

import shutil

import pytest

from pipelines.analysis import practice as analysis
from pipelines.sample import practice as sample_practice
from pipelines.store.warehouse import Warehouse

AREA = "E06999901"


@pytest.fixture(scope="module")
def practice_wh(sample_warehouse_path, tmp_path_factory):
    """A private copy of the sample warehouse, which holds the sample's practice files (the
    shared one is read by the other worker too, and opening it would lock it)."""
    target = tmp_path_factory.mktemp("practice") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    wh = Warehouse(target)
    yield wh
    wh.close()


# --- practice_measures -----------------------------------------------------------------------


def test_measures_come_audits_first_with_good_or_better_leading(practice_wh):
    measures = analysis.practice_measures(practice_wh, AREA)
    assert measures[0].key == "good_or_better"
    assert [m.source for m in measures] == sorted(
        (m.source for m in measures), key=["audit", "feedback", "fgc"].index
    )
    assert "principle:Relational" in {m.key for m in measures}


# --- practice_series -------------------------------------------------------------------------


def test_the_area_series_is_the_sum_of_its_units(practice_wh):
    area = analysis.practice_series(practice_wh, AREA, "good_or_better")
    ashby = analysis.practice_series(practice_wh, AREA, "good_or_better", unit="Ashby")
    assert len(area) == len(sample_practice.quarter_ends())
    assert (area["trials"] > ashby["trials"]).all()
    assert ((area["lower"] <= area["proportion"]) & (area["proportion"] <= area["upper"])).all()


# --- change_since_rollout: the planted change is recovered ------------------------------------


@pytest.mark.parametrize(
    ("measure", "planted"),
    [
        ("good_or_better", "good_or_better"),
        ("principle:Relational", "principle:Relational"),
        ("statement:I was involved in decisions about my family", "agree:involved"),
        ("fgc_held", "fgc_held"),
        ("in_network_6m", "in_network_6m"),
    ],
)
def test_the_pooled_change_since_rollout_contains_the_planted_change(practice_wh, measure, planted):
    table = analysis.change_since_rollout(practice_wh, AREA, measure).set_index("group")
    pooled = table.loc["All units"]
    truth = sample_practice.PLANTED_PRACTICE[planted]
    assert pooled["change_lower"] <= truth <= pooled["change_upper"]


def test_change_rows_are_units_then_waves_then_all_units(practice_wh):
    groups = list(analysis.change_since_rollout(practice_wh, AREA, "good_or_better")["group"])
    assert groups[:6] == ["Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven"]
    assert groups[6:] == ["Wave 1", "Wave 2", "Wave 3", "All units"]


def test_a_measure_with_nothing_planted_shows_no_clear_change(practice_wh):
    # plan_agreed has no planted change (0 points).
    table = analysis.change_since_rollout(practice_wh, AREA, "plan_agreed").set_index("group")
    pooled = table.loc["All units"]
    assert pooled["change_lower"] <= 0 <= pooled["change_upper"]


# --- practice_chart --------------------------------------------------------------------------


def test_the_chart_is_split_at_the_first_wave(practice_wh):
    chart = analysis.practice_chart(practice_wh, AREA, "good_or_better")
    assert len(chart.centres) == 2 and chart.centres[1] > chart.centres[0]


# --- working_with_families -------------------------------------------------------------------


def test_the_tile_pools_the_latest_four_quarters_of_audits_and_the_first_statement(practice_wh):
    audit, feedback = analysis.working_with_families(practice_wh, AREA)
    assert audit.measure.key == "good_or_better"
    assert feedback.measure.key == "statement:I was listened to"
    assert audit.last_quarter_end.isoformat() == "2026-09-30"
    assert audit.first_quarter_end.isoformat() == "2025-12-31"
    assert audit.lower <= audit.proportion <= audit.upper


def test_an_area_without_practice_data_has_no_tile(practice_wh):
    assert analysis.working_with_families(practice_wh, "E06999902") == []
