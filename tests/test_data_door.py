"""dashboard.data: the typed door pages read through (no lookups by string, one validation)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from dashboard import data
from pipelines import analysis, config, marts
from pipelines.load import validate
from pipelines.store.warehouse import shared_warehouse

REPO = Path(__file__).resolve().parent.parent
UNLOADED = config.SAMPLE_DIR / "unloaded" / "outcomes_2026-09.csv"


# -- cached ------------------------------------------------------------------------------------


def test_each_read_keeps_its_functions_signature_less_the_warehouse():
    pairs = {
        data.board_summary: analysis.board_summary,
        data.verdict_summary: analysis.verdict_summary,
        data.trend_analysis: analysis.trend_analysis,
        data.benchmark_analysis: analysis.benchmark_analysis,
        data.outcome_series: marts.outcome_series,
        data.training_coverage: marts.training_coverage,
    }
    for read, function in pairs.items():
        assert read.__wrapped__ is function
        wanted = list(inspect.signature(function).parameters)[1:]
        assert list(inspect.signature(read).parameters) == wanted, function.__name__


def test_reads_are_cached_until_the_data_change(sample_copy, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    data.clear_caches()
    calls = []
    original = data._CACHED[("pipelines.marts", "areas")]
    data._CACHED[("pipelines.marts", "areas")] = lambda wh: calls.append(1) or original(wh)
    try:
        first = data.areas()
        second = data.areas()
        assert calls == [1] and first.equals(second)
        data.commit_upload(data.warehouse(), UNLOADED.name, UNLOADED.read_bytes())
        data.areas()  # a commit moves the data version on: computed again
        assert calls == [1, 1]
    finally:
        data._CACHED[("pipelines.marts", "areas")] = original
        data.clear_caches()


def test_no_page_looks_a_function_up_by_name():
    for path in sorted((REPO / "dashboard").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                first = node.args[0] if node.args else None
                by_name = isinstance(first, ast.Constant) and isinstance(first.value, str)
                assert not (node.func.attr in {"mart", "analysis"} and by_name), (
                    f"{path.relative_to(REPO)}:{node.lineno} looks up a function by a string"
                )
        source = path.read_text(encoding="utf-8")
        assert "importlib" not in source and "getattr(analysis" not in source, path


# -- check_upload ------------------------------------------------------------------------------


def test_an_upload_is_validated_once_on_the_way_to_its_preview(sample_copy, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    wh = shared_warehouse(sample_copy)
    runs = []
    original = validate.validate_file

    def counting(*args, **kwargs):
        runs.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr("pipelines.load.ingest.validate_file", counting)
    check = data.check_upload(wh, UNLOADED.name, UNLOADED.read_bytes())
    assert check.ok and check.preview is not None and len(check.preview) == 126
    assert runs == [1]
