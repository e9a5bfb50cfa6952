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


class RefusalWarehouse:
    """One open copy of the template, shared by the cases that must be refused.

    A refusal changes no data table (each case asserts it), so the next refused case may use
    the same copy: it only finds more rows in the audit tables, which `_everything_said` leaves
    out (it reads the template's uploads and the case's own, exactly what a fresh copy holds).
    Validation never reads the audit tables. A case that did not pass every check (say, a file
    that loaded or changed a table) leaves the copy dirty, and the next case gets a fresh one.
    A case that must load takes its own copy, as before.

    `take` says whether the copy is one a case left clean: its data tables were then last
    measured equal to the template's, and nothing has written to them since, so the next case
    need not measure them again before its file (it still measures them after).
    """

    def __init__(self, template: Path, folder: Path):
        self.template, self.folder = template, folder
        self.copies = 0
        self.wh: Warehouse | None = None
        self.clean = False

    def take(self) -> tuple[Warehouse, bool]:
        """The shared copy, and whether the previous case left it clean."""
        reused = self.wh is not None and self.clean
        if not reused:
            self.close()
            self.copies += 1
            path = self.folder / f"refusals-{self.copies}.duckdb"
            shutil.copy(self.template, path)
            self.wh = Warehouse(path)
        self.clean = False  # until the case has passed every check
        return self.wh, reused

    def close(self) -> None:
        if self.wh is not None:
            self.wh.close()
            self.wh = None


def _tables(wh: Warehouse) -> list[str]:
    return [*wh.data_tables(), "dfe_figures", "dfe_neighbours", "dfe_areas"]


@pytest.fixture(scope="module")
def template_state(template) -> tuple[int, dict]:
    """The template's last upload (audit rows up to it are the template's own) and the
    checksums of its data tables, read once: every case starts from exactly these."""
    with Warehouse(template, read_only=True) as wh:
        last = int(wh.scalar("SELECT coalesce(max(upload_id), 0) FROM raw_uploads"))
        return last, wh.table_checksums(_tables(wh))


@pytest.fixture(scope="module")
def refusal_warehouse(template, tmp_path_factory):
    shared = RefusalWarehouse(template, tmp_path_factory.mktemp("refusals"))
    yield shared
    shared.close()


def _everything_said(wh: Warehouse, result, template_last: int, before_case: int) -> str:
    """The result's summary, notes and issues, and every audit row of the template's uploads
    and of this case's (ids above `before_case`): what a fresh copy of the template holds."""
    parts = [result.summary(), *result.notes]
    parts += [f"{i.as_text()} | {i.value}" for i in result.issues]
    for table in ("upload_issues", "raw_uploads"):
        rows = wh.query(
            f"SELECT * FROM {table} WHERE upload_id <= ? OR upload_id > ?",
            [template_last, before_case],
        )
        parts += [str(v) for v in rows.to_numpy().ravel().tolist()]
    return "\n".join(parts)


@pytest.fixture
def attempt(template, template_state, refusal_warehouse, tmp_path):
    """`attempt(case, path)`: try one file (see `_try`) in the right warehouse for its case."""

    def _attempt(case: dict, path: Path) -> None:
        _try(case, path, template, tmp_path, template_state, refusal_warehouse)

    return _attempt


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input(case, attempt, large_folder, monkeypatch):
    for setting in filter(None, case["env"].split(";")):
        name, value = setting.split("=", 1)
        monkeypatch.setenv(name, value)
    if case["generated"] == "yes":
        path = make_corpus.generate_large(large_folder, case["file"])
    else:
        path = BAD / case["file"]
    attempt(case, path)


@pytest.mark.parametrize("case", BUILT, ids=[c["file"] for c in BUILT])
def test_built_hostile_input(case, attempt, tmp_path):
    """The hostile files of issue 16, built here from small builders (`hostile_builders`)."""
    path = tmp_path / case["file"]
    path.write_bytes(case["build"]())
    attempt(case, path)


def test_at_least_120_hostile_files_are_tried():
    assert len(CASES) + len(BUILT) >= 120
    assert len({c["file"] for c in [*CASES, *BUILT]}) == len(CASES) + len(BUILT)


def _try(
    case: dict,
    path: Path,
    template: Path,
    tmp_path: Path,
    template_state: tuple[int, dict],
    shared: RefusalWarehouse,
) -> None:
    """Ingest one hostile file into a copy of the template and check everything it says.

    A file that must be refused goes into the module's shared copy (`RefusalWarehouse`), one
    that must load into a fresh copy of its own."""
    if case["outcome"] == "refused":
        wh, left_clean = shared.take()
        _check(case, path, wh, template_state, known_unchanged=left_clean)
        shared.clean = True  # every check passed: the next refusal may use this copy
    else:
        warehouse = tmp_path / "wh.duckdb"
        shutil.copy(template, warehouse)
        with Warehouse(warehouse) as wh:
            _check(case, path, wh, template_state)
    if case.get("generated") == "yes":
        path.unlink()


def _check(
    case: dict,
    path: Path,
    wh: Warehouse,
    template_state: tuple[int, dict],
    known_unchanged: bool = False,
) -> None:
    """`known_unchanged`: the previous case measured the data tables equal to the template's
    after its file, and nothing wrote since (`RefusalWarehouse`)."""
    template_last, template_sums = template_state
    tables = _tables(wh)
    if not known_unchanged:  # a fresh copy: measure it
        assert wh.table_checksums(tables) == template_sums
    before = template_sums
    before_case = int(wh.scalar("SELECT coalesce(max(upload_id), 0) FROM raw_uploads"))
    result = ingest_file(wh, path, display_name=case["display_name"] or None, user="corpus")
    said = _everything_said(wh, result, template_last, before_case)
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
