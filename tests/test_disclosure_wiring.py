"""The pages show what the one decision hides: the dose table and the locality x age-band cells.

An AppTest walks the Training page, Cohorts for one locality and Trends for one locality in one
age band, and compares what they ship with the gate of `present.dose_table` and
`present.cube`: the dose-response download must hide exactly what `gated_dose_response`
hides, and the Cohorts age bands and the Trends series exactly the cells the one decision
hides.
"""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest

from pipelines import disclosure
from pipelines.present import cube as cube_gate
from pipelines.present import dose_table
from pipelines.store.warehouse import open_warehouse
from tests.test_disclosure_pages import AREA, MEASURE, walk

C = disclosure.SUPPRESSED
UNIT, BAND = "Ashby", "Under 1"
VIEWS = [
    ("training", "All", "quarter", None),
    ("cohorts", UNIT, "quarter", None),
    ("trends", UNIT, "quarter", BAND),
]


@pytest.fixture(scope="module")
def shipped(sample_warehouse_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("wiring") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    return walk(path, VIEWS), path


def _downloads(payloads, page: str, columns: set[str]) -> list[pd.DataFrame]:
    return [
        frame
        for view, kind, _name, frame in payloads
        if view[0] == page and kind == "download" and columns <= set(frame.columns)
    ]


def test_the_training_page_ships_the_gated_dose_table(shipped):
    payloads, path = shipped
    with open_warehouse(path) as wh:
        gated = dose_table.gated_dose_response(wh, AREA, MEASURE)
    expected = pd.read_csv(
        io.BytesIO(gated.table.csv()), encoding="utf-8-sig", dtype=str, keep_default_na=False
    )
    found = _downloads(payloads, "training", {"rate_before", "rate_after"})
    assert found, "the Training page offers the dose-response download"
    assert (expected == C).any().any(), "the gate hides something in the sample"
    assert ((found[0][expected.columns] == C) == (expected == C)).all().all()


def test_cohorts_and_trends_hide_what_the_one_decision_hides(shipped):
    payloads, path = shipped
    with open_warehouse(path) as wh:
        cube = cube_gate.outcome_cube(wh, AREA, MEASURE, "quarter")
    cells = cube.cells.assign(date=cube.cells["period_end"].dt.strftime("%Y-%m-%d"))
    decided = {(r.unit, r.age_band, r.date): r.hidden for r in cells.itertuples(index=False)}
    ages = _downloads(payloads, "cohorts", {"series", "period_end", "value"})
    ages = [f for f in ages if BAND in set(f["series"])]
    assert ages, "Cohorts shows the age bands of the locality chosen"
    for row in ages[0].itertuples(index=False):
        assert (row.value == C) == decided[(UNIT, row.series, row.period_end)], row
    series = [
        f
        for f in _downloads(payloads, "trends", {"period_end", "value", "population"})
        if "series" not in f.columns
    ]
    assert series, "Trends offers the series download"
    for row in series[0].itertuples(index=False):
        assert (row.value == C) == decided[(UNIT, BAND, row.period_end)], row
