"""The source files behind an upload are audited in `upload_sources`, in the upload's own
transaction; an older warehouse gains the table and the returns' measures when it is opened."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from faults import InjectedFault, fail_after

from pipelines import marts
from pipelines.cli import main
from pipelines.contracts import OUTCOMES, RETURN_MEASURES
from pipelines.load.ingest import UploadSource, ingest_file
from pipelines.store.warehouse import open_warehouse, schema_version_target

HEADER = "period_end,area_code,unit,age_band,cla_starts,cla_reentry_starts,cla_3plus_placements\n"
AGGREGATE = HEADER + "2024-02-29,E06999901,All,All,12,2,z\n2024-03-31,E06999901,All,All,10,1,7\n"
REVISED = HEADER + "2024-02-29,E06999901,All,All,12,3,z\n2024-03-31,E06999901,All,All,10,1,8\n"
NEW_COLUMNS = [c.name for c in RETURN_MEASURES] + [f"{c.name}_null_reason" for c in RETURN_MEASURES]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


SOURCES = (
    UploadSource("903_header_2023-24.csv", _sha("header"), "ssda903", 2024, 40),
    UploadSource("903_episodes_2023-24.csv", _sha("episodes"), "ssda903", 2024, 95),
    UploadSource("cin_census_2024.xml", _sha("cin"), "cin", 2024, 31),
)


def _sources_rows(wh):
    return wh.query(
        "SELECT upload_id, file_name, sha256, collection, collection_year, n_rows "
        "FROM upload_sources ORDER BY file_name"
    )


def test_an_upload_records_its_source_files_with_it(reference_wh, write_file):
    result = ingest_file(
        reference_wh, write_file("returns.csv", AGGREGATE), user="ana", sources=SOURCES
    )
    assert result.outcome == "loaded", result.issues
    rows = _sources_rows(reference_wh)
    assert set(rows.upload_id) == {result.upload_id}
    assert sorted(rows.file_name) == sorted(s.file_name for s in SOURCES)
    by_name = rows.set_index("file_name")
    assert by_name.loc["cin_census_2024.xml", "sha256"] == _sha("cin")
    assert by_name.loc["903_episodes_2023-24.csv", "n_rows"] == 95
    assert set(rows.collection_year) == {2024}
    # The mart reads them back, all or for one upload.
    assert len(marts.upload_sources(reference_wh)) == 3
    assert len(marts.upload_sources(reference_wh, upload_id=result.upload_id)) == 3
    assert marts.upload_sources(reference_wh, upload_id=result.upload_id + 99).empty
    # The new measures are stored as the contract's columns.
    march = reference_wh.query(
        "SELECT cla_reentry_starts, cla_3plus_placements FROM fct_outcomes "
        "WHERE period_end = '2024-03-31'"
    ).iloc[0]
    assert (march.cla_reentry_starts, march.cla_3plus_placements) == (1, 7)


def test_a_failed_load_writes_no_sources(reference_wh, write_file):
    ingest_file(reference_wh, write_file("returns.csv", AGGREGATE), user="ana", sources=SOURCES)
    tables = [*reference_wh.data_tables(), "raw_uploads", "upload_sources"]
    before = reference_wh.table_checksums(tables)
    later = (UploadSource("903_header_2024-25.csv", _sha("header 2"), "ssda903", 2025, 41),)
    for step in ("insert", "refresh"):
        with fail_after(step), pytest.raises(InjectedFault):
            ingest_file(reference_wh, write_file("returns_v2.csv", REVISED), sources=later)
        assert reference_wh.table_checksums(tables) == before
    retry = ingest_file(reference_wh, write_file("returns_v2.csv", REVISED), sources=later)
    assert retry.outcome == "loaded"
    rows = _sources_rows(reference_wh)
    assert rows[rows.upload_id == retry.upload_id].file_name.tolist() == ["903_header_2024-25.csv"]
    assert len(rows) == 4


def test_a_refused_upload_records_its_sources_and_a_dry_run_records_nothing(
    reference_wh, write_file
):
    dry = ingest_file(
        reference_wh, write_file("returns.csv", AGGREGATE), dry_run=True, sources=SOURCES
    )
    assert dry.outcome == "valid"
    assert _sources_rows(reference_wh).empty
    bad = ingest_file(
        reference_wh, write_file("bad.csv", HEADER + "x,y,z,1,2,3\n"), sources=SOURCES[:1]
    )
    assert bad.outcome == "refused"
    assert _sources_rows(reference_wh).upload_id.tolist() == [bad.upload_id]


def test_an_upload_source_holds_only_a_name_a_hash_and_counts():
    ok = UploadSource("x.csv", _sha("x"), "cin", np.int64(2024), np.int64(12))
    assert (ok.collection_year, ok.n_rows) == (2024, 12)
    assert type(ok.n_rows) is int
    for bad in (
        dict(sha256="not-a-hash"),
        dict(collection="ssda903_children"),
        dict(collection_year=24),
        dict(n_rows=-1),
        dict(n_rows=1.5),
    ):
        fields = dict(file_name="x.csv", sha256=_sha("x"), collection="cin", n_rows=1) | bad
        with pytest.raises(ValueError):
            UploadSource(**fields)
    with pytest.raises(TypeError):
        ingest_file(None, "x.csv", sources=[("x.csv", _sha("x"), "cin", 2024, 1)])


def test_a_source_file_name_is_recorded_as_a_safe_base_name(reference_wh, write_file):
    odd = (UploadSource("../../secret/\u202ecin_2024.xml", _sha("odd"), "cin", 2024, 3),)
    ingest_file(reference_wh, write_file("returns.csv", AGGREGATE), sources=odd)
    assert _sources_rows(reference_wh).file_name.tolist() == ["cin_2024.xml"]


def test_rp_impact_uploads_is_unchanged_by_sources(tmp_path, write_file, capsys):
    path = tmp_path / "cli.duckdb"
    with open_warehouse(path) as wh:
        result = ingest_file(wh, write_file("returns.csv", AGGREGATE), sources=SOURCES)
    assert main(["--warehouse", str(path), "uploads"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == [
        "upload_id",
        "uploaded_at",
        "file_name",
        "dataset",
        "outcome",
        "n_rows",
        "n_added",
        "n_revised",
        "n_warnings",
        "n_errors",
        "user_name",
    ]
    assert len(lines) == 2 and lines[1].split()[0] == str(result.upload_id)


def test_the_sample_warehouse_opens_at_the_new_schema_with_no_integrity_problems(sample_wh):
    assert sample_wh.schema_version() == schema_version_target()
    assert sample_wh.integrity_problems() == []
    periods = sample_wh.query("DESCRIBE int_outcome_periods").column_name.tolist()
    assert set(NEW_COLUMNS) <= set(periods)
    # The sample has no returns' measures: every new cell is not supplied.
    rates = sample_wh.query(
        "SELECT count(*) AS n, count(value) AS present FROM mart_outcome_rates "
        "WHERE measure = 'cla_long_term_stable'"
    ).iloc[0]
    assert rates.n > 0 and rates.present == 0
    # ... at every grain: a measure no extract gave is never called suppressed.
    reasons = sample_wh.query(
        "SELECT DISTINCT null_reason FROM mart_outcome_rates WHERE measure IN "
        "('cla_reentry_starts', 'cla_long_term_stable') AND grain IN ('quarter', 'month')"
    ).null_reason.tolist()
    assert reasons == ["not supplied"]


def _make_old(path) -> dict:
    """Turn a current warehouse into one from before migrations 4 and 5: no returns'
    measures in the outcomes facts, history or materialised periods, no `upload_sources`."""
    old_columns = [c for c in OUTCOMES.column_names if c not in NEW_COLUMNS]
    with open_warehouse(path) as wh:
        cur = wh.cursor()
        for table in ("fct_outcomes", "hist_outcomes", "int_outcome_periods"):
            for column in NEW_COLUMNS:
                cur.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        cur.execute("DROP TABLE upload_sources")
        cur.execute("DELETE FROM meta_schema_version WHERE version >= 4")
        cur.execute("UPDATE meta_materialised SET fingerprint = 'before the returns'")
        assert wh.schema_version() == 3
        keep = ", ".join([*old_columns, "upload_id", "loaded_at"])
        return {
            "facts": wh.query(f"SELECT {keep} FROM fct_outcomes ORDER BY ALL"),
            "history": wh.query("SELECT count(*) AS n FROM hist_outcomes").n[0],
        }


def test_an_older_warehouse_gains_the_measures_and_the_sources_table(sample_copy, tmp_path):
    before = _make_old(sample_copy)
    with open_warehouse(tmp_path / "fresh.duckdb") as fresh:
        fresh_schema = {
            t: fresh.query(f"DESCRIBE {t}")[["column_name", "column_type"]]
            for t in ("fct_outcomes", "hist_outcomes", "upload_sources")
        }
    with open_warehouse(sample_copy) as wh:
        assert wh.schema_version() == schema_version_target() >= 6
        for table, schema in fresh_schema.items():
            described = wh.query(f"DESCRIBE {table}")[["column_name", "column_type"]]
            assert described.equals(schema), table
        keep = ", ".join(before["facts"].columns)
        after = wh.query(f"SELECT {keep} FROM fct_outcomes ORDER BY ALL")
        assert after.equals(before["facts"])
        assert wh.query("SELECT count(*) AS n FROM hist_outcomes").n[0] == before["history"]
        nulls = " AND ".join(f"{c} IS NULL" for c in NEW_COLUMNS)
        assert (
            wh.query(f"SELECT count(*) FILTER (WHERE NOT ({nulls})) AS n FROM fct_outcomes").n[0]
            == 0
        )
        assert wh.integrity_problems() == []
        assert marts.upload_sources(wh).empty
    # The migrated warehouse takes the returns' measures, revisions included.
    with open_warehouse(sample_copy) as wh:
        area = wh.query("SELECT min(area_code) AS a FROM fct_outcomes").a[0]
        first = HEADER.replace("cla_starts,", "") + f"2024-03-31,{area},All,All,1,7\n"
        second = HEADER.replace("cla_starts,", "") + f"2024-03-31,{area},All,All,2,8\n"
        (tmp_path / "r1.csv").write_text(first)
        (tmp_path / "r2.csv").write_text(second)
        one = ingest_file(wh, tmp_path / "r1.csv", sources=SOURCES[:1], backup=False)
        two = ingest_file(wh, tmp_path / "r2.csv", sources=SOURCES[1:], backup=False)
        assert (one.outcome, two.outcome) == ("loaded", "loaded"), (one.issues, two.issues)
        assert two.n_revised == 1
        old = wh.query(
            "SELECT cla_3plus_placements, superseded_by FROM hist_outcomes WHERE upload_id = ?",
            [one.upload_id],
        )
        assert old.to_dict("records") == [
            {"cla_3plus_placements": 7, "superseded_by": two.upload_id}
        ]
        assert wh.integrity_problems() == []
        assert len(marts.upload_sources(wh)) == 3
