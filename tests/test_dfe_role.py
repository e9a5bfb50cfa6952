"""The DfE import checks the caller's role as `ingest_file` does, and reads live in benchmarks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import benchmarks
from pipelines.load import dfe
from pipelines.store.warehouse import open_warehouse

CLA_2025 = Path(__file__).parent / "data" / "dfe_fixtures" / "cla_release2025_tiny.csv"


@pytest.fixture
def wh(tmp_path):
    warehouse = open_warehouse(tmp_path / "wh.duckdb")
    yield warehouse
    warehouse.close()


def test_a_viewer_may_not_import_dfe_figures_and_nothing_is_recorded(wh):
    with pytest.raises(PermissionError, match="cannot import dfe; it needs the analyst role"):
        dfe.import_dfe_files(wh, [CLA_2025], user="vic", role="viewer")
    assert wh.query("SELECT count(*) AS n FROM raw_uploads").n.iloc[0] == 0
    assert wh.query("SELECT count(*) AS n FROM dfe_figures").n.iloc[0] == 0


@pytest.mark.parametrize("role", ["analyst", "admin", None])
def test_an_analyst_an_admin_or_no_role_given_imports(wh, role):
    [result] = dfe.import_dfe_files(wh, [CLA_2025], user="ana", role=role)
    assert result.outcome == "loaded"


def test_an_unknown_role_is_refused(wh):
    with pytest.raises(PermissionError):
        dfe.import_dfe_files(wh, [CLA_2025], role="superuser")


def test_the_benchmark_reads_live_in_benchmarks_not_the_importer(wh):
    """The reads of DfE figures are in `pipelines.benchmarks`; `pipelines.load.dfe` only imports."""
    with pytest.raises(AttributeError):
        dfe.benchmark_series  # noqa: B018
    dfe.import_dfe_files(wh, [CLA_2025])
    assert benchmarks.resolve_council(wh, "383")["old_la_code"] == "383"
