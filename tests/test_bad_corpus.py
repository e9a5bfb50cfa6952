"""Every malformed or hostile file in tests/data/bad/ gives its expected message and outcome.

The corpus and its expectations are in tests/data/bad/manifest.csv (written by
tests/data/bad/make_corpus.py), and in tests/data/bad/hostile_builders.py (files built at test time from
small builders, never committed). Large hostile files are generated into a temporary folder at
test time. For every refused file the warehouse's data tables are unchanged
(`Warehouse.table_checksums()`); no case may leak its `secret` into a message, an issue or the
audit tables, and the guard's issues never carry a value.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import pytest

from pipelines.load import guard
from pipelines.load.ingest import ingest_file
from pipelines.store.warehouse import Warehouse
from tests.conftest import AREAS_CSV, POPULATION_CSV

BAD = Path(__file__).resolve().parent / "data" / "bad"
sys.path.insert(0, str(BAD))
import hostile_builders  # noqa: E402
import make_corpus  # noqa: E402

BUILT = hostile_builders.BUILT

with (BAD / "manifest.csv").open(encoding="utf-8") as _handle:
    CASES = list(csv.DictReader(_handle))


def test_the_corpus_is_big_enough_and_complete():
    assert len(CASES) >= 40
    for case in CASES:
        if case["generated"] != "yes":
            assert (BAD / case["file"]).is_file(), case["file"]
    assert {c["outcome"] for c in CASES} == {"refused", "loaded", "loaded-with-warning"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    path = folder / "template.duckdb"
    with Warehouse(path) as wh:
        for name, text in (("areas.csv", AREAS_CSV), ("population.csv", POPULATION_CSV)):
            (folder / name).write_text(text)
            assert ingest_file(wh, folder / name, backup=False).outcome == "loaded"
        base = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"
        (folder / "q.csv").write_text(base + "2023-03-31,E06999901,All,All,11,6\n")
        assert ingest_file(wh, folder / "q.csv", backup=False).outcome == "loaded"
    return path


@pytest.fixture(scope="module")
def large_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("large")


def _everything_said(wh: Warehouse, result) -> str:
    parts = [result.summary(), *result.notes]
    parts += [f"{i.as_text()} | {i.value}" for i in result.issues]
    for table in ("upload_issues", "raw_uploads"):
        parts += [str(v) for v in wh.query(f"SELECT * FROM {table}").to_numpy().ravel().tolist()]
    return "\n".join(parts)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input(case, template, large_folder, tmp_path, monkeypatch):
    for setting in filter(None, case["env"].split(";")):
        name, value = setting.split("=", 1)
        monkeypatch.setenv(name, value)
    if case["generated"] == "yes":
        path = make_corpus.generate_large(large_folder, case["file"])
    else:
        path = BAD / case["file"]
    _try(case, path, template, tmp_path)


@pytest.mark.parametrize("case", BUILT, ids=[c["file"] for c in BUILT])
def test_built_hostile_input(case, template, tmp_path):
    """The hostile files of issue 16, built here from small builders (`hostile_builders`)."""
    path = tmp_path / case["file"]
    path.write_bytes(case["build"]())
    _try(case, path, template, tmp_path)


def test_at_least_120_hostile_files_are_tried():
    assert len(CASES) + len(BUILT) >= 120
    assert len({c["file"] for c in [*CASES, *BUILT]}) == len(CASES) + len(BUILT)


def _try(case: dict, path: Path, template: Path, tmp_path: Path) -> None:
    """Ingest one hostile file into a copy of the template and check everything it says."""
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(template, warehouse)
    with Warehouse(warehouse) as wh:
        tables = [*wh.data_tables(), "dfe_figures", "dfe_neighbours", "dfe_areas"]
        before = wh.table_checksums(tables)
        result = ingest_file(wh, path, display_name=case["display_name"] or None, user="corpus")
        said = _everything_said(wh, result)
        assert case["expected_fragment"] in said, said[:2000]
        if case["outcome"] == "refused":
            assert result.refused, said[:2000]
            assert wh.table_checksums(tables) == before
        else:
            assert result.outcome == "loaded", said[:2000]
            assert bool(result.warnings) == (case["outcome"] == "loaded-with-warning"), said[:2000]
        assert all(i.value is None for i in result.issues if i.rule in guard.GUARD_RULES)
        if case["secret"]:
            assert case["secret"] not in said
        assert wh.integrity_problems() == []
        assert not any(
            i.rule == "unreadable" and "could not be checked" in i.message for i in result.issues
        )
    if case.get("generated") == "yes":
        path.unlink()


def test_path_traversal_names_are_reduced_to_a_base_name(template, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(template, warehouse)
    before = {p for p in tmp_path.parent.rglob("*")}
    with Warehouse(warehouse) as wh:
        result = ingest_file(
            wh, BAD / "path_traversal_name.csv", display_name="../../etc/passwd.csv", user="x"
        )
        assert result.file_name == "passwd.csv"
        names = wh.query("SELECT file_name FROM raw_uploads").file_name.tolist()
    assert "passwd.csv" in names and not any("/" in n or "\\" in n for n in names)
    created = {p for p in tmp_path.parent.rglob("*")} - before
    assert all(str(p).startswith(str(tmp_path)) for p in created)
    assert not (tmp_path.parent.parent / "etc" / "passwd.csv").exists()


INJECTIONS = [
    "Robert'); DROP TABLE fct_outcomes;--",
    "x' OR '1'='1",
    '"; DELETE FROM raw_uploads; --',
    "1; ATTACH '/tmp/evil.duckdb' AS e; --",
    "$$; COPY raw_uploads TO '/tmp/x.csv'; $$",
    "?",
    "%s %d {0}",
    "\\'; SELECT 1; --",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_are_stored_verbatim_in_every_text_field(template, tmp_path, text):
    quoted = '"' + text.replace('"', '""') + '"'
    files = {
        "outcomes.csv": (
            "period_end,area_code,unit,age_band,cla_starts\n"
            f"2023-04-30,E06999901,{quoted},{quoted},1\n",
            "SELECT unit, age_band FROM fct_outcomes WHERE period_end = '2023-04-30'",
        ),
        "training.csv": (
            "period_end,area_code,unit,agency,course,staff_in_scope,staff_trained\n"
            f"2023-03-31,E06999901,{quoted},{quoted},{quoted},5,3\n",
            "SELECT unit, agency, course FROM fct_training",
        ),
        "rollout.csv": (
            f"area_code,unit,programme,wave,start_date\nE06999901,{quoted},{quoted},1,2019-10-01\n",
            "SELECT unit, programme FROM fct_rollout",
        ),
        "areas.csv": (
            f"area_code,area_name,region_code,region_name\nE06999909,{quoted},{quoted},{quoted}\n",
            "SELECT area_name, region_code, region_name FROM fct_areas WHERE area_code = 'E06999909'",
        ),
        "population.csv": (
            f"year,area_code,unit,age_band,population_0_17\n2023,E06999901,{quoted},{quoted},100\n",
            "SELECT unit, age_band FROM fct_population WHERE year = 2023 AND unit <> 'All'",
        ),
    }
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(template, warehouse)
    with Warehouse(warehouse) as wh:
        tables_before = set(wh.query("SELECT table_name FROM duckdb_tables()").table_name)
        uploads_before = len(wh.query("SELECT * FROM raw_uploads"))
        for name, (content, query) in files.items():
            (tmp_path / name).write_text(content, encoding="utf-8")
            result = ingest_file(wh, tmp_path / name, user="x")
            assert result.outcome == "loaded", (name, [i.as_text() for i in result.issues])
            stored = wh.query(query)
            assert stored.to_numpy().ravel().tolist() == [text] * stored.shape[1], name
        assert set(wh.query("SELECT table_name FROM duckdb_tables()").table_name) == tables_before
        assert len(wh.query("SELECT * FROM raw_uploads")) == uploads_before + len(files)
        assert wh.integrity_problems() == []
    assert not Path("/tmp/evil.duckdb").exists() and not Path("/tmp/x.csv").exists()


def test_formula_text_is_stored_verbatim_and_escaped_on_download(template, tmp_path):
    from pipelines.disclosure import to_safe_csv

    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(template, warehouse)
    with Warehouse(warehouse) as wh:
        assert ingest_file(wh, BAD / "formula_unit.csv", user="x").outcome == "loaded"
        assert ingest_file(wh, BAD / "formula_text_unit.xlsx", user="x").outcome == "loaded"
        units = wh.query("SELECT unit FROM fct_outcomes WHERE unit <> 'All' ORDER BY unit")
    assert '=HYPERLINK("http://evil.example","Ashby")' in units.unit.tolist()
    assert "@SUM(1+1)" in units.unit.tolist()
    download = to_safe_csv(units).decode("utf-8-sig")
    for line in download.splitlines()[1:]:
        assert not line.lstrip('"').startswith(("=", "+", "-", "@")), line
