"""AppTest: the Benchmarks page, the Board summary's context lines, the DfE revisions on the
Data quality page and the DfE import on the Upload page, on the sample warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_text import chart_titles as _titles
from apptest_text import page_text as _text
from streamlit.testing.v1 import AppTest

from pipelines import benchmarks as dfe_reads
from pipelines import config
from pipelines.load import dfe
from pipelines.store.warehouse import open_warehouse, shared_warehouse

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
SAMPLE_CLA = config.SAMPLE_DIR / "dfe" / "cla_number_and_rate_per_10k_children.csv"


def _box(at: AppTest, label: str):
    return next(s for s in at.selectbox if s.label == label)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _open(path: Path, monkeypatch, page: str = "benchmarks") -> AppTest:
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def bench(read_only_sample, monkeypatch) -> AppTest:
    return _open(read_only_sample, monkeypatch)


def test_benchmarks_page_shows_the_dfe_figure(bench, read_only_sample):
    assert _box(bench, "Council").value == "991"  # the sidebar area, mapped to its DfE code
    assert _box(bench, "Measure").value == "cla_at_31_march"
    with open_warehouse(read_only_sample, read_only=True) as wh:
        series = dfe_reads.benchmark_series(wh, "991", "cla_at_31_march")
    latest = series.dropna(subset=["council_rate"]).iloc[-1]
    text = _text(bench)
    assert f"Northmoor: {latest['council_rate']:.0f} per 10,000" in text
    assert f"Northmoor's CLA rate ({latest['council_rate']:.0f} per 10,000)" in text
    table = bench.dataframe[0].value
    assert table["council"].iloc[-1] == latest["council_rate"]
    assert "as published by DfE" in text
    assert _metrics(bench)["Among itself and its statistical neighbours"].endswith("of 11")
    # The sample's DfE files hold 11 councils: never "of 11 councils in England" (issue 17).
    assert "Among all councils in England" not in _metrics(bench)
    assert _metrics(bench)["Among the 11 councils in this comparison"].endswith(" of 11")
    assert "councils in England" not in text
    assert "Eastbridge" in set(bench.dataframe[1].value["la_name"])  # the neighbours list
    titles = _titles(bench)
    assert titles[0].startswith("Northmoor's CLA rate")


def test_changing_the_measure_changes_chart_and_table(bench):
    before_titles, before_table = _titles(bench), bench.dataframe[0].value
    _box(bench, "Measure").set_value("cpp_starts").run()
    assert not bench.exception
    after_titles, after_table = _titles(bench), bench.dataframe[0].value
    assert after_titles != before_titles
    assert after_titles[0].startswith("Northmoor's CPP starts rate")
    assert not after_table["council"].equals(before_table["council"])
    assert "recomputed" in _text(bench)


def test_synthetic_control_result_or_refusal_reason(bench):
    metrics = _metrics(bench)
    assert metrics["Placebo rank"].endswith("of 10")
    assert metrics["Fit before the programme"].endswith("of the mean")
    assert "Good enough to use" in _text(bench) or "Usable, with care" in _text(bench)
    assert any("synthetic Northmoor is mostly" in t for t in _titles(bench))
    # A year too early for the comparison: the reason, never a traceback.
    _box(bench, "First year after the programme began").set_value(2019).run()
    assert not bench.exception
    info = " ".join(i.value for i in bench.info)
    assert "pre-period year" in info and "Could not be run" in info
    assert "Placebo rank" not in _metrics(bench)


def test_a_council_without_rollout_can_be_benchmarked(bench):
    _box(bench, "Council").set_value("982").run()  # Eastbridge, a fictional neighbour
    assert not bench.exception
    assert _titles(bench)[0].startswith("Eastbridge's CLA rate")
    assert "No rollout date is known for Eastbridge" in " ".join(i.value for i in bench.info)


def test_empty_state_without_dfe_data(sample_copy, monkeypatch):
    with open_warehouse(sample_copy) as wh, wh.transaction() as cur:
        for table in ("dfe_figures", "dfe_figures_history", "dfe_neighbours", "dfe_areas"):
            cur.execute(f"DELETE FROM {table}")  # noqa: S608 (constant table names)
    at = _open(sample_copy, monkeypatch)
    text = _text(at)
    assert "No DfE statistics loaded" in text
    assert "rp-impact import-dfe FILE..." in text
    at.switch_page("views/board.py").run()
    assert not at.exception
    assert "Against England, the region" not in _text(at)


def test_board_has_context_lines(read_only_sample, monkeypatch):
    at = _open(read_only_sample, monkeypatch, page="board")
    text = _text(at)
    assert "Against England, the region and statistical neighbours" in text
    assert (
        "In 2025-26 Northmoor's CLA rate (72 per 10,000) was above England (68), above the "
        "region (69) and level with the neighbours' median (72)." in text
    )
    assert "Northmoor's CPP rate" in text
    assert "as published by DfE" in text and "recomputed by rp-impact" in text


def _signed_in(path: Path, monkeypatch, sign_in, page: str) -> AppTest:
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    at = sign_in(AppTest.from_file(APP, default_timeout=180), "analyst")
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_quality_page_lists_revisions_between_dfe_releases(
    sample_copy, monkeypatch, tmp_path, sign_in
):
    # Signed in: once the warehouse holds more than the sample, demo mode shows nothing.
    at = _signed_in(sample_copy, monkeypatch, sign_in, "quality")
    assert "Revisions between DfE releases" in _text(at)
    assert "No DfE figures revised between releases" in _text(at)
    # An older release with a different count for Northmoor in 2026.
    lines = SAMPLE_CLA.read_text(encoding="utf-8-sig").splitlines()
    changed = [
        line.replace(",815,72", ",800,70") if ",991,Northmoor," in line else line for line in lines
    ]
    older = tmp_path / "cla_older_release.csv"
    older.write_text("\n".join(changed) + "\n", encoding="utf-8")
    wh = shared_warehouse(sample_copy)  # the app's own connection, so it sees the import
    assert dfe.import_dfe_files(wh, [older], release="2025")[0].outcome == "loaded"
    at = _signed_in(sample_copy, monkeypatch, sign_in, "quality")
    revisions = next(d.value for d in at.dataframe if "earlier_release" in d.value.columns)
    row = revisions[revisions["area_code"] == "991"].iloc[0]
    assert (row["earlier_release"], row["later_release"]) == ("2025", "2026")
    assert (row["earlier_value"], row["later_value"]) == (800, 815)
    # The Benchmarks page still uses the newest release.
    at.switch_page("views/benchmarks.py").run()
    assert at.dataframe[0].value["council"].iloc[-1] == 72


def test_upload_page_imports_dfe_files(sample_copy, monkeypatch, sign_in):
    at = _signed_in(sample_copy, monkeypatch, sign_in, "upload")
    assert "DfE published statistics (for benchmarking)" in _text(at)
    uploader = next(u for u in at.get("file_uploader") if "DfE" in u.proto.label)
    uploader.set_value((SAMPLE_CLA.name, SAMPLE_CLA.read_bytes(), "text/csv"))
    at.run()
    at.button(key="dfe-import").click().run()
    assert not at.exception
    assert "already imported" in " ".join(s.value for s in at.success)  # same SHA-256: no-op


def test_upload_page_dfe_import_is_off_in_demo_mode(read_only_sample, monkeypatch):
    at = _open(read_only_sample, monkeypatch, page="upload")
    assert "importing other DfE files is switched off" in _text(at)
    assert at.button(key="dfe-import").disabled


def test_the_treatment_year_is_kept_when_the_measure_changes(bench):
    treatment = "First year after the programme began"
    assert _box(bench, treatment).value == 2021  # the first year after Northmoor's rollout
    _box(bench, treatment).set_value(2022).run()
    _box(bench, "Measure").set_value("cpp_starts").run()
    assert not bench.exception
    assert _box(bench, treatment).value == 2022
    _box(bench, "Measure").set_value("cla_at_31_march").run()
    assert _box(bench, treatment).value == 2022


def test_the_neighbours_table_is_formula_escaped(sample_copy, monkeypatch):
    with open_warehouse(sample_copy) as wh, wh.transaction() as cur:
        cur.execute("UPDATE dfe_areas SET la_name = '=HYPERLINK(1)' WHERE area_code = '982'")
    at = _open(sample_copy, monkeypatch)
    names = set(next(d.value for d in at.dataframe if "closeness" in d.value)["la_name"])
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names
