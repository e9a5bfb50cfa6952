"""A tiny-scale run of the benchmark harness, so `make bench` cannot rot. No timing assertions."""

from __future__ import annotations

import pandas as pd

from benchmarks import generate as gen
from benchmarks import pandas_peer
from benchmarks import run as bench
from benchmarks import targets as tg
from pipelines.load.ingest import ingest_file
from pipelines.store.warehouse import open_warehouse


def test_generator_shape_and_codes(tmp_path):
    scale = gen.SCALES["tiny"]
    files = gen.generate(scale, tmp_path, log=lambda *_: None)
    frame = pd.read_csv(files["outcomes_national"], dtype=str)
    assert len(frame) == scale.n_outcome_rows
    assert frame["area_code"].str.fullmatch(r"E0699[0-9]{4}").all()
    assert gen.is_ready(scale, tmp_path)
    assert gen.generate(scale, tmp_path, log=lambda *_: None) == files  # reused


def test_peer_and_ingest_agree_on_the_tiny_extract(tmp_path):
    scale = gen.SCALES["tiny"]
    files = gen.generate(scale, tmp_path, log=lambda *_: None)
    results = {}
    for kind in ("ingest", "peer"):
        with open_warehouse(tmp_path / f"{kind}.duckdb") as wh:
            for name in ("areas", "population", "rollout"):
                assert ingest_file(wh, files[name], user="t").outcome == "loaded"
            if kind == "ingest":
                assert ingest_file(wh, files["outcomes_national"], user="t").outcome == "loaded"
            else:
                assert pandas_peer.ingest_outcomes(files["outcomes_national"], wh)["outcome"] == (
                    "loaded"
                )
            results[kind] = wh.query(
                "SELECT * EXCLUDE (upload_id, loaded_at) FROM fct_outcomes ORDER BY ALL"
            )
    pd.testing.assert_frame_equal(results["ingest"], results["peer"])


def test_harness_runs_end_to_end_at_tiny_scale(tmp_path):
    doc = tmp_path / "performance.md"
    code = bench.main(
        ["--tiny", "--no-pages", "--data-dir", str(tmp_path / "data"), "--doc", str(doc)]
    )
    assert code == 0
    text = doc.read_text()
    assert "| measure | result | target | verdict |" in text
    assert "Full ingest" in text and "pandas peer" in text and "ITS" in text
    # Issue 19's targets close the run: every row present, the tiny run's skipped ones say so.
    targets = text[text.index("#### Issue 19 targets") :]
    for what in (tg.INGEST, tg.MAKE_RUN, tg.BOARD, tg.BRIEF, tg.REPORT, tg.SUITE, tg.XLSX):
        assert f"| {what} | " in targets, what
    assert f"| {tg.BOARD} | not run (--tiny) |" in targets
    xlsx = next(line for line in targets.splitlines() if line.startswith(f"| {tg.XLSX} |"))
    assert "read in" in xlsx and "1 row(s) read" in xlsx


def test_targets_only_runs_just_the_targets(tmp_path):
    doc = tmp_path / "performance.md"
    code = bench.main(
        ["--tiny", "--targets-only", "--data-dir", str(tmp_path / "data"), "--doc", str(doc)]
    )
    assert code == 0
    text = doc.read_text()
    assert "(`--targets-only`)" in text and "#### Issue 19 targets" in text
    assert "pandas peer" not in text and "ITS" not in text
    assert text.count("\n| ") == 8  # the header and seven rows (the report has two)
