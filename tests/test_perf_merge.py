"""The faster merge and refreshes give exactly what the plain definitions give.

`int_outcome_periods` is built in steps (months as they are, quarters from months, financial
years from quarters, population by equality on a small ASOF lookup) and only for the periods an
upload touches; the coverage behind the data quality page is materialised per area, period and
measure. Each is compared here, row for row, with its reference view or the query it replaced,
on the sample and on a warehouse mixing monthly and quarterly areas, suppressed cells, missing
months and populations with gaps, through revisions, a change of grain and a deleted upload.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil

import pandas as pd
import pytest
from faults import InjectedFault, fail_after

from pipelines import marts
from pipelines.contracts import OUTCOMES
from pipelines.load.ingest import delete_upload, ingest_file
from pipelines.store.materialise import (
    OUTCOME_COVERAGE_TABLE,
    OUTCOME_PERIODS_TABLE,
    OUTCOME_SERIES_TABLE,
    refresh_outcome_coverage,
    refresh_outcome_periods,
)
from pipelines.store.warehouse import open_warehouse, schema_version_target

MEASURES = OUTCOMES.value_columns
MONTHLY, QUARTERLY, PATCHY = "E06999901", "E06999902", "E06999903"
MARKERS = ("c", "[x]", "<5", "low", "")

# The queries the data quality page ran before the coverage was materialised.
OLD_COVERAGE = """SELECT area_code, measure, min(period_end) AS first_period,
       max(period_end) AS last_period, count(DISTINCT period_end) AS periods,
       count(DISTINCT unit) AS units, count(DISTINCT age_band) AS age_bands,
       count(value) AS values_present,
       count(*) FILTER (WHERE value IS NULL AND null_reason IS NOT NULL
                        AND null_reason <> 'not supplied') AS suppressed
FROM stg_outcomes_long GROUP BY area_code, measure ORDER BY area_code, measure"""
OLD_SUPPRESSED = """SELECT period_end, area_code, unit, age_band, measure, null_reason, upload_id
FROM stg_outcomes_long WHERE value IS NULL AND null_reason IS NOT NULL
ORDER BY period_end DESC, unit, age_band, measure LIMIT ?"""


def _month_ends(first: dt.date, last: dt.date, step: int = 1) -> list[dt.date]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        out.append(following - dt.timedelta(days=1))
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return out


def _outcomes_csv(rows: list[tuple], measures=MEASURES, seed: int = 1, suppress: float = 0.08):
    """One line per (period_end, area, unit, age_band); some cells suppressed with a marker."""
    rng = random.Random(seed)
    lines = [",".join(("period_end", "area_code", "unit", "age_band", *measures))]
    for period_end, area, unit, band in rows:
        cells = []
        for _ in measures:
            cells.append(
                rng.choice(MARKERS) if rng.random() < suppress else str(rng.randint(5, 60))
            )
        lines.append(",".join((period_end.isoformat(), area, unit, band, *cells)))
    return "\n".join(lines) + "\n"


def _series(area: str) -> list[tuple[str, str]]:
    if area == MONTHLY:
        return [("All", "All"), ("All", "Under 5"), ("North", "All")]
    return [("All", "All")]


def _rows(area: str, periods: list[dt.date]) -> list[tuple]:
    return [(p, area, unit, band) for p in periods for unit, band in _series(area)]


POPULATION = (
    "year,area_code,unit,age_band,population_0_17\n"
    # The monthly area skips 2022 (2021 serves until mid-2023); the quarterly area starts in
    # 2022 (earlier periods use it, flagged); the patchy area has none at all.
    f"2021,{MONTHLY},All,All,20000\n2023,{MONTHLY},All,All,21000\n"
    f"2021,{MONTHLY},All,Under 5,5000\n2021,{MONTHLY},North,All,8000\n"
    f"2022,{QUARTERLY},All,All,15000\n"
)


def _assert_materialised_equal(wh) -> None:
    """Row for row (NULLs equal), and with the same column types, as the reference views."""
    assert wh.integrity_problems() == []
    for table, view in (
        (OUTCOME_PERIODS_TABLE, "calc_outcome_periods"),
        (OUTCOME_COVERAGE_TABLE, "calc_outcome_coverage"),
        (OUTCOME_SERIES_TABLE, "calc_outcome_series"),
    ):
        types = [
            wh.query(f"DESCRIBE {name}")[["column_name", "column_type"]] for name in (table, view)
        ]
        pd.testing.assert_frame_equal(types[0], types[1])
        keys = list(types[0].column_name)
        got = wh.query(f"SELECT * FROM {table} ORDER BY ALL")
        want = wh.query(f"SELECT * FROM {view} ORDER BY ALL")
        pd.testing.assert_frame_equal(got[keys], want[keys])


def _assert_quality_reads_unchanged(wh) -> None:
    pd.testing.assert_frame_equal(marts.coverage_summary(wh), wh.query(OLD_COVERAGE))
    order = ["period_end", "unit", "age_band", "measure"]
    for limit in (1, 7, 40, 500, 100_000):
        got = marts.suppressed_cells(wh, limit)
        want = wh.query(OLD_SUPPRESSED, [limit])
        assert list(got.columns) == list(want.columns)
        assert len(got) == len(want)
        # Rows tied on the sort order may come in any order, and at the limit either may be
        # cut, in the old query too; the sorted keys are what is fixed.
        pd.testing.assert_frame_equal(got[order], want[order])
        if limit >= len(want):
            pd.testing.assert_frame_equal(
                got.sort_values(list(got.columns)).reset_index(drop=True),
                want.sort_values(list(want.columns)).reset_index(drop=True),
            )


@pytest.fixture
def mixed_wh(empty_wh, write_file):
    """Monthly, quarterly and patchy (missing months, starting mid-year) areas, suppressed
    cells, and populations with gaps, loaded through the real ingest."""
    assert ingest_file(empty_wh, write_file("population.csv", POPULATION), user="t").outcome == (
        "loaded"
    )
    monthly = _month_ends(dt.date(2021, 4, 1), dt.date(2022, 12, 1))
    quarterly = [p for p in _month_ends(dt.date(2021, 6, 1), dt.date(2022, 12, 1), 3)]
    quarterly.remove(dt.date(2022, 3, 31))
    patchy = [p for p in _month_ends(dt.date(2021, 8, 1), dt.date(2022, 12, 1))]
    patchy.remove(dt.date(2022, 5, 31))
    rows = _rows(MONTHLY, monthly) + _rows(QUARTERLY, quarterly) + _rows(PATCHY, patchy)
    result = ingest_file(empty_wh, write_file("first.csv", _outcomes_csv(rows)), user="t")
    assert result.outcome == "loaded", result.errors[:3]
    return empty_wh


def test_the_sample_refreshes_match_their_definitions(sample_wh):
    _assert_materialised_equal(sample_wh)
    _assert_quality_reads_unchanged(sample_wh)
    with sample_wh.transaction() as tx:
        refresh_outcome_coverage(tx)
        refresh_outcome_periods(tx)
    _assert_materialised_equal(sample_wh)
    # The months, quarters and financial year holding June to August 2022, recomputed after
    # their rows were spoiled.
    with sample_wh.transaction() as tx:
        spoiled = tx.execute(
            f"UPDATE {OUTCOME_PERIODS_TABLE} SET cla_starts = -1, population = NULL "
            "WHERE (grain = 'month' AND period_end BETWEEN '2022-06-30' AND '2022-08-31') "
            "OR (grain = 'quarter' AND period_end IN ('2022-06-30', '2022-09-30')) "
            "OR (grain = 'financial_year' AND period_end = '2023-03-31')"
        ).fetchone()[0]
        assert spoiled > 6
        tx.execute(f"DELETE FROM {OUTCOME_COVERAGE_TABLE} WHERE period_end = '2022-06-30'")
        area = tx.execute("SELECT min(area_code) FROM fct_outcomes").fetchone()[0]
        refresh_outcome_coverage(tx, [area], dt.date(2022, 6, 30), dt.date(2022, 6, 30))
        refresh_outcome_periods(tx, [area], dt.date(2022, 6, 30), dt.date(2022, 8, 31))
    _assert_materialised_equal(sample_wh)


def test_a_mixed_warehouse_matches_its_definitions_through_every_change(mixed_wh, write_file):
    wh = mixed_wh
    grains = dict(wh.query("SELECT * FROM mart_outcome_source_grain").values.tolist())
    assert grains == {MONTHLY: "month", QUARTERLY: "quarter", PATCHY: "month"}
    _assert_materialised_equal(wh)
    _assert_quality_reads_unchanged(wh)

    # Revisions inside history (some cells newly suppressed, some restored) and new periods.
    revised = _rows(MONTHLY, _month_ends(dt.date(2022, 2, 1), dt.date(2023, 4, 1)))
    revised += _rows(QUARTERLY, [dt.date(2022, 12, 31), dt.date(2023, 3, 31)])
    result = ingest_file(wh, write_file("revised.csv", _outcomes_csv(revised, seed=2)), user="t")
    assert result.outcome == "loaded" and result.n_revised and result.n_added
    _assert_materialised_equal(wh)

    # A file with one measure: the others stay as they were on old rows, and are missing
    # (no reason) on new ones.
    only = _rows(PATCHY, _month_ends(dt.date(2022, 11, 1), dt.date(2023, 2, 1)))
    text = _outcomes_csv(only, measures=("cla_starts",), seed=3, suppress=0.3)
    revision = ingest_file(wh, write_file("only.csv", text), user="t")
    assert revision.outcome == "loaded"
    _assert_materialised_equal(wh)

    # The quarterly area sends one monthly row: it is rolled up as monthly from then on.
    switch = _outcomes_csv([(dt.date(2023, 1, 31), QUARTERLY, "All", "All")], seed=4)
    assert ingest_file(wh, write_file("switch.csv", switch), user="t").outcome == "loaded"
    assert wh.query(
        f"SELECT source_grain FROM mart_outcome_source_grain WHERE area_code = '{QUARTERLY}'"
    ).source_grain.tolist() == ["month"]
    _assert_materialised_equal(wh)

    # A revised population changes every period's rate.
    population = POPULATION.replace("2021,E06999901,All,All,20000", "2021,E06999901,All,All,20500")
    population += f"2020,{PATCHY},All,All,9000\n"
    assert ingest_file(wh, write_file("pop2.csv", population), user="t").outcome == "loaded"
    _assert_materialised_equal(wh)
    _assert_quality_reads_unchanged(wh)

    # Deleting uploads takes rows away: coverage, series and grains follow.
    delete_upload(wh, revision.upload_id, role="admin", user="t")
    _assert_materialised_equal(wh)
    switched = wh.query("SELECT max(upload_id) FROM raw_uploads WHERE file_name = 'switch.csv'")
    delete_upload(wh, int(switched.iloc[0, 0]), role="admin", user="t")
    assert wh.query(
        f"SELECT source_grain FROM mart_outcome_source_grain WHERE area_code = '{QUARTERLY}'"
    ).source_grain.tolist() == ["quarter"]
    _assert_materialised_equal(wh)
    _assert_quality_reads_unchanged(wh)


def test_a_full_rebuild_equals_the_incremental_refreshes(mixed_wh):
    before = mixed_wh.query(f"SELECT * FROM {OUTCOME_PERIODS_TABLE} ORDER BY ALL")
    with mixed_wh.transaction() as tx:
        refresh_outcome_coverage(tx)
        refresh_outcome_periods(tx)
    pd.testing.assert_frame_equal(
        mixed_wh.query(f"SELECT * FROM {OUTCOME_PERIODS_TABLE} ORDER BY ALL"), before
    )
    _assert_materialised_equal(mixed_wh)


@pytest.mark.parametrize("step", ["history", "update", "insert", "refresh"])
def test_a_failure_leaves_the_materialised_tables_unchanged(mixed_wh, write_file, step):
    tables = [
        *mixed_wh.data_tables(),
        OUTCOME_PERIODS_TABLE,
        OUTCOME_COVERAGE_TABLE,
        OUTCOME_SERIES_TABLE,
        "raw_uploads",
        "upload_issues",
    ]
    before = mixed_wh.table_checksums(tables)
    rows = _rows(MONTHLY, _month_ends(dt.date(2022, 10, 1), dt.date(2023, 2, 1)))
    rows += [(dt.date(2023, 2, 28), "E06999904", "All", "All")]
    path = write_file("next.csv", _outcomes_csv(rows, seed=5))
    with fail_after(step), pytest.raises(InjectedFault):
        ingest_file(mixed_wh, path, user="t")
    assert mixed_wh.table_checksums(tables) == before
    assert ingest_file(mixed_wh, path, user="t").outcome == "loaded"
    _assert_materialised_equal(mixed_wh)


def test_counts_and_merge_only_look_at_the_staged_period_range(mixed_wh, write_file):
    """A revision in the middle of history: rows before and after it are neither counted nor
    touched, and a file of only unchanged rows writes no fact."""
    rows = _rows(MONTHLY, [dt.date(2021, 9, 30)])
    checksums = mixed_wh.table_checksums()
    first = ingest_file(mixed_wh, write_file("sep.csv", _outcomes_csv(rows, seed=6)), user="t")
    assert (first.n_added, first.n_revised, first.n_unchanged) == (0, 3, 0)
    history = mixed_wh.query("SELECT DISTINCT period_end FROM hist_outcomes")
    assert [str(p)[:10] for p in history.period_end] == ["2021-09-30"]
    changed = mixed_wh.query(
        "SELECT DISTINCT period_end FROM fct_outcomes WHERE upload_id = ?", [first.upload_id]
    )
    assert [str(p)[:10] for p in changed.period_end] == ["2021-09-30"]
    assert mixed_wh.table_checksums() != checksums
    again = _outcomes_csv(rows, seed=6) + "\n"  # same rows, different bytes
    checksums = mixed_wh.table_checksums()
    second = ingest_file(mixed_wh, write_file("sep_again.csv", again), user="t")
    assert (second.outcome, second.n_added, second.n_revised, second.n_unchanged) == (
        "loaded",
        0,
        0,
        3,
    )
    assert mixed_wh.table_checksums() == checksums
    _assert_materialised_equal(mixed_wh)


def test_an_older_warehouse_gets_its_coverage_when_opened(sample_copy):
    """A warehouse from before the coverage was materialised (schema 2), or one whose
    materialised SQL changed, is brought up to date when it is opened."""
    with open_warehouse(sample_copy) as wh:
        cur = wh.cursor()
        cur.execute(f"DROP TABLE {OUTCOME_COVERAGE_TABLE}")
        cur.execute(f"DROP TABLE {OUTCOME_SERIES_TABLE}")
        cur.execute("DELETE FROM meta_schema_version WHERE version >= 3")
        cur.execute(
            "DELETE FROM meta_materialised WHERE name IN (?, ?)",
            [OUTCOME_COVERAGE_TABLE, OUTCOME_SERIES_TABLE],
        )
        cur.execute("UPDATE meta_materialised SET fingerprint = 'old'")
        cur.execute(f"DELETE FROM {OUTCOME_PERIODS_TABLE} WHERE grain = 'quarter'")
    with open_warehouse(sample_copy) as wh:
        assert wh.schema_version() == schema_version_target()
        _assert_materialised_equal(wh)
        _assert_quality_reads_unchanged(wh)
        names = set(wh.query("SELECT name FROM meta_materialised").name)
        assert {OUTCOME_PERIODS_TABLE, OUTCOME_COVERAGE_TABLE, OUTCOME_SERIES_TABLE} <= names


def test_drift_in_the_coverage_is_reported(sample_copy, tmp_path):
    copy = tmp_path / "drift.duckdb"
    shutil.copy(sample_copy, copy)
    with open_warehouse(copy) as wh:
        wh.cursor().execute(f"UPDATE {OUTCOME_COVERAGE_TABLE} SET suppressed = suppressed + 1")
        wh.cursor().execute(f"DELETE FROM {OUTCOME_SERIES_TABLE} WHERE unit <> 'All'")
        problems = wh.integrity_problems()
    assert any(p.startswith(OUTCOME_COVERAGE_TABLE) for p in problems)
    assert any(p.startswith(OUTCOME_SERIES_TABLE) for p in problems)


def test_every_issue_is_recorded_as_reported(mixed_wh, write_file):
    """The issues go in with one statement; each keeps its fields."""
    rows = _rows(MONTHLY, _month_ends(dt.date(2023, 1, 1), dt.date(2023, 3, 1)))
    lines = _outcomes_csv(rows, seed=7, suppress=0).splitlines()

    def scaled(line: str, prefix: str) -> str:  # counts jump (9 prepended) or go negative
        fields = line.split(",")
        return ",".join(fields[:4] + [prefix + f for f in fields[4:]])

    jumps = "\n".join([lines[0], *(scaled(line, "9") for line in lines[1:])]) + "\n"
    bad = jumps + lines[-1] + "\n" + scaled(lines[-1], "-") + "\n"
    for name, text, outcome in (("jumps.csv", jumps, "loaded"), ("bad.csv", bad, "refused")):
        result = ingest_file(mixed_wh, write_file(name, text), user="t")
        assert result.outcome == outcome and len(result.issues) > 3
        stored = mixed_wh.query(
            "SELECT severity, row_number, column_name, value, rule, message, hint "
            "FROM upload_issues WHERE upload_id = ?",
            [result.upload_id],
        )
        expected = [
            (i.severity, i.row, i.column, i.value, i.rule, i.message, i.hint) for i in result.issues
        ]
        got = [
            tuple(None if pd.isna(v) else (int(v) if k == 1 else v) for k, v in enumerate(r))
            for r in stored.itertuples(index=False)
        ]
        assert sorted(got, key=repr) == sorted(expected, key=repr)
