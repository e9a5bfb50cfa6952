"""benchmarks/targets.py: issue 19's targets table built from given measurements (no timing)."""

from __future__ import annotations

import json
import zipfile

import duckdb

from benchmarks import targets as tg
from pipelines.load.readers import read_extract

# -- verdict ------------------------------------------------------------------------------------


def test_verdict_words():
    assert tg.verdict(True) == "met"
    assert tg.verdict(False) == "**missed**"
    assert tg.verdict(None) == "not measured"


# -- seconds_text -------------------------------------------------------------------------------


def test_seconds_text_switches_to_minutes_at_two_minutes():
    assert tg.seconds_text(44.96) == "45.0 s"
    assert tg.seconds_text(119.9) == "119.9 s"
    assert tg.seconds_text(430) == "7 min 10 s"


# -- ingest_row ---------------------------------------------------------------------------------


def test_ingest_row_ratio_and_verdict():
    row = tg.ingest_row(3.15, 1.05, 3)
    assert row.measured.startswith("3.0× (3.15 s / 1.05 s")
    assert row.verdict == "met"
    assert tg.ingest_row(6.0, 1.05, 3).verdict == "**missed**"


# -- make_run_row -------------------------------------------------------------------------------


def test_make_run_row_names_the_cache_and_the_steps():
    result = {
        "seconds": 88.4,
        "installer": "uv",
        "uv_cache_warm": True,
        "steps": {"venv": 0.1, "install": 6.2, "warehouse": 14.0, "serve": 80.0},
    }
    row = tg.make_run_row(result)
    assert row.verdict == "**missed**"
    assert "88.4 s" in row.measured and "uv download cache warm" in row.measured
    assert "warehouse from 14 s" in row.measured
    assert tg.make_run_row({**result, "seconds": 45.0}).verdict == "met"
    assert "cold (empty)" in tg.make_run_row({**result, "uv_cache_warm": False}).measured


# -- board_row ----------------------------------------------------------------------------------


def test_board_row_from_the_first_view_record():
    record = {
        "first_board_view_seconds": 2.29,
        "h1_seconds": 2.28,
        "server_launch_to_health_seconds": 9.83,
    }
    row = tg.board_row(record)
    assert row.verdict == "met" and row.measured.startswith("2.3 s")
    assert tg.board_row({**record, "first_board_view_seconds": 3.01}).verdict == "**missed**"


# -- report_rows --------------------------------------------------------------------------------


def test_report_rows_add_html_and_pdf_against_each_limit():
    result = {
        "brief": {"html": 1.5, "pdf": 3.4, "pages": 4},
        "report": {"html": 8.5, "pdf": 28.0, "pages": 29},
    }
    brief, full = tg.report_rows(result)
    assert (brief.what, brief.verdict, brief.target) == (tg.BRIEF, "met", "≤ 5 s")
    assert brief.measured.startswith("4.9 s (HTML 1.5 s + PDF 3.4 s, 4 pages)")
    assert (full.verdict, full.target) == ("**missed**", "≤ 15 s")
    assert full.measured.startswith("36.5 s")


def test_report_rows_say_how_long_the_decisions_made_first_took():
    result = {
        "decide_seconds": 31.04,
        "brief": {"html": 1.5, "pdf": 3.4, "pages": 4},
        "report": {"html": 8.5, "pdf": 5.0, "pages": 29},
    }
    brief, full = tg.report_rows(result)
    assert full.verdict == "met"
    for row in (brief, full):
        assert row.measured.endswith("as `rp-impact serve` makes them at its start (31.0 s)")


def test_report_rows_say_which_build_failed():
    result = {"brief": {"html": 1.0, "pdf": 2.0, "pages": 4}, "report": {"error": "pdf: boom"}}
    brief, full = tg.report_rows(result)
    assert brief.verdict == "met"
    assert full.measured == "not measured" and full.verdict == "**error**: pdf: boom"


# -- read_suite and suite_row -------------------------------------------------------------------


def test_read_suite_present(tmp_path):
    path = tmp_path / "suite_seconds.json"
    record = {"seconds": 331.2, "tests": 1204, "workers": 2, "finished": "2026-12-02 13:00 UTC"}
    path.write_text(json.dumps(record))
    assert tg.read_suite(path) == record
    row = tg.suite_row(tg.read_suite(path))
    assert row.verdict == "met"
    assert "5 min 31 s" in row.measured and "1204 tests on 2 worker(s)" in row.measured
    assert "from the last full `make test` at 2026-12-02 13:00 UTC" in row.measured


def test_read_suite_absent_or_unreadable(tmp_path):
    assert tg.read_suite(tmp_path / "missing.json") is None
    broken = tmp_path / "broken.json"
    broken.write_text('{"tests": 3}')
    assert tg.read_suite(broken) is None
    row = tg.suite_row(None)
    assert row.verdict == "not measured" and row.measured.startswith("not measured")


def test_suite_row_over_six_minutes_is_missed():
    row = tg.suite_row({"seconds": 430.0, "tests": 10, "workers": 2, "finished": "x"})
    assert row.verdict == "**missed**" and "7 min 10 s" in row.measured


# -- xlsx_row -----------------------------------------------------------------------------------


def test_xlsx_row_needs_both_time_and_memory():
    result = {
        "seconds": 0.4,
        "max_rss_mb": 150.0,
        "rss_before_mb": 73.0,
        "outcome": "read",
        "bytes": 54_199,
        "rows_read": 1,
    }
    row = tg.xlsx_row(result)
    assert row.verdict == "met"
    assert "adding 77 MB (process peak 150 MB, of which 73 MB" in row.measured
    assert "54 KB file, 1 row(s) read" in row.measured
    # the read's own growth counts, not what the imports held before it
    assert tg.xlsx_row({**result, "max_rss_mb": 260.0}).verdict == "met"
    assert tg.xlsx_row({**result, "max_rss_mb": 274.0}).verdict == "**missed**"
    assert tg.xlsx_row({**result, "seconds": 2.3}).verdict == "**missed**"


# -- failed -------------------------------------------------------------------------------------


def test_failed_row_keeps_the_table_intact():
    row = tg.failed(tg.BOARD, "≤ 3 s", RuntimeError("a | b\nc"))
    assert row.verdict == "**error**: a / b c"
    assert "|" not in row.verdict


# -- render_targets -----------------------------------------------------------------------------


def test_render_targets_table():
    rows = [tg.ingest_row(3.0, 1.0, 3), tg.suite_row(None)]
    text = tg.render_targets(rows, "A note.")
    lines = text.splitlines()
    assert lines[0] == "#### Issue 19 targets"
    assert "A note." in lines
    assert "| what | measured now | target | met? |" in lines
    assert lines[-1].startswith(f"| {tg.SUITE} | not measured")
    assert len([x for x in lines if x.startswith("| ")]) == 3  # header + 2 rows


# -- write_empty_rows_xlsx ----------------------------------------------------------------------


def test_empty_rows_workbook_is_small_and_read_as_one_row(tmp_path):
    path = tmp_path / "empty.xlsx"
    size = tg.write_empty_rows_xlsx(path, 200_000)
    assert size < 10_000
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert sheet.count(b"<row/>") == 200_000
    assert b'<dimension ref="A1:F200002"/>' in sheet
    con = duckdb.connect()
    raw = read_extract(path, con)
    assert raw.n_rows == 1
    assert raw.headers[:2] == ["period_end", "area_code"]


def test_six_million_empty_rows_deflate_to_about_55_kb(tmp_path):
    size = tg.write_empty_rows_xlsx(tmp_path / "big.xlsx", 6_000_000)
    assert 40_000 < size < 70_000


# -- uv_cache_warm ------------------------------------------------------------------------------


def test_uv_cache_warm_reads_uv_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv"))
    assert tg.uv_cache_warm() is False
    (tmp_path / "uv").mkdir()
    assert tg.uv_cache_warm() is False
    (tmp_path / "uv" / "wheels-v5").mkdir()
    assert tg.uv_cache_warm() is True
