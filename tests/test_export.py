"""pipelines.store.export: marts written as Parquet partitioned by area and year read back whole."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.store.export import export_marts, mart_names


def _count(path) -> int:
    con = duckdb.connect()
    sql = f"SELECT count(*) FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true)"
    return con.execute(sql).fetchall()[0][0]


def test_export_counts_equal_the_marts(sample_wh, tmp_path):
    out = tmp_path / "parquet"
    counts = export_marts(sample_wh, out)
    assert set(counts) == set(mart_names(sample_wh))
    manifest = json.loads((out / "_manifest.json").read_text())
    for mart, rows in counts.items():
        expected = sample_wh.query(f"SELECT count(*) AS n FROM {mart}").n.iloc[0]
        assert rows == expected, mart
        assert manifest["marts"][mart]["rows"] == expected
        if rows:
            assert _count(out / mart) == expected, mart
    assert counts["mart_outcome_rates"] > 0


def test_export_is_partitioned_by_area_and_year(sample_wh, tmp_path):
    out = tmp_path / "parquet"
    export_marts(sample_wh, out, marts=["mart_outcome_rates", "mart_rollout", "mart_uploads"])
    rates = out / "mart_outcome_rates"
    assert (rates / "area=E06999901").is_dir()
    assert any(p.name.startswith("year=") for p in (rates / "area=E06999901").iterdir())
    assert (out / "mart_rollout" / "area=E06999901").is_dir()
    assert (out / "mart_uploads" / "data_0.parquet").is_file()


def test_export_round_trips_values(sample_wh, tmp_path):
    out = tmp_path / "parquet"
    export_marts(sample_wh, out, marts=["mart_outcome_rates"])
    query = (
        "SELECT grain, measure, count(*), sum(value), sum(population), "
        "count(DISTINCT period_end) FROM {} GROUP BY ALL ORDER BY ALL"
    )
    # Tuples from DuckDB on both sides: a measure no extract supplies sums to NULL (None),
    # which a DataFrame would turn into NaN, and NaN never equals NaN.
    cur = sample_wh.cursor()
    expected = [list(r) for r in cur.execute(query.format("mart_outcome_rates")).fetchall()]
    cur.close()
    got = (
        duckdb.connect()
        .execute(
            query.format(
                f"read_parquet('{out}/mart_outcome_rates/**/*.parquet', hive_partitioning = true)"
            )
        )
        .fetchall()
    )
    assert [list(r) for r in got] == expected


def test_export_refuses_a_non_empty_folder_and_unknown_marts(sample_wh, tmp_path):
    out = tmp_path / "parquet"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        export_marts(sample_wh, out, marts=["mart_rollout"])
    assert (out / "keep.txt").exists()
    with pytest.raises(ValueError, match="Not a mart"):
        export_marts(sample_wh, tmp_path / "other", marts=["fct_outcomes"])
    counts = export_marts(sample_wh, out, marts=["mart_rollout"], overwrite=True)
    assert counts["mart_rollout"] > 0
    assert not (out / "keep.txt").exists()
    assert not list(tmp_path.glob(".parquet-*"))  # no staging folder left behind


def test_parquet_writer_needs_no_extension_download():
    rows = (
        duckdb.connect()
        .execute("SELECT install_mode FROM duckdb_extensions() WHERE extension_name = 'parquet'")
        .fetchall()
    )
    assert rows == [("STATICALLY_LINKED",)]
