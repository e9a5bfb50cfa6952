"""Shared fixtures: a warehouse built from the sample (once per run) and empty ones."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from pipelines import config
from pipelines.store.warehouse import open_warehouse

REPO = Path(__file__).resolve().parent.parent
SHARED_DFE = REPO.parent / "shared" / "data" / "dfe"


def _build_sample(path: Path) -> None:
    from pipelines.cli import main

    assert main(["--warehouse", str(path), "build", str(config.SAMPLE_DIR)]) == 0


def pytest_configure(config):
    """One folder of kept disclosure decisions for the whole run (`decision_store`), made by
    the controller before xdist starts its workers, so they and every server or CLI process a
    test starts inherit it: the sample's flows are decided once per run, not once per process
    and warehouse copy. The decisions are keyed by the cells and the deciding code, so sharing
    them changes no answer. A test of the store itself points it elsewhere."""
    from pipelines.present import decision_store

    if decision_store.ENV not in os.environ and not hasattr(config, "workerinput"):
        import tempfile

        folder = tempfile.mkdtemp(prefix="rp-impact-decisions-")
        os.environ[decision_store.ENV] = folder
        config._rp_impact_decisions = folder


def pytest_unconfigure(config):
    folder = getattr(config, "_rp_impact_decisions", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("RP_IMPACT_DECISIONS", None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under `--dist loadgroup`, the tests of a module that share a module-scoped fixture go to
    one worker (group = the module), so that fixture is set up once rather than on each worker
    that happens to get one of its tests. Every other test is scheduled on its own; groups are
    handed out first, largest first (xdist's loadscope order)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else ()
        if any(d.scope in ("module", "class") for chain in defs for d in chain):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(scope="session")
def sample_warehouse_path(tmp_path_factory, worker_id) -> Path:
    """A warehouse built from data/sample/ exactly as `rp-impact build` does, once per run.

    Under pytest-xdist the workers share one build (about 75 s of CPU each on two cores): the
    first worker to create the lock file builds into the run's common temporary folder and
    renames the finished file into place; the others wait for it. Tests only read this file or
    copy it (`sample_copy`).
    """
    if worker_id == "master":
        path = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
        _build_sample(path)
        return path
    shared = tmp_path_factory.getbasetemp().parent / "shared-sample"
    shared.mkdir(exist_ok=True)
    ready, failed = shared / "ready", shared / "build-failed"
    path = ready / "warehouse.duckdb"
    try:
        os.close(os.open(shared / "build.lock", os.O_CREAT | os.O_EXCL))
    except FileExistsError:  # another worker is building it
        deadline = time.monotonic() + 900
        while not ready.exists():
            assert not failed.exists(), failed.read_text()
            assert time.monotonic() < deadline, "the shared sample build did not finish"
            time.sleep(0.5)  # polling another process's file, not waiting for a page
        return path
    building = shared / "building"
    building.mkdir()
    try:
        _build_sample(building / path.name)
    except BaseException as exc:
        failed.write_text(f"the sample build failed in {worker_id}: {exc!r}")
        raise
    building.rename(ready)  # one atomic step: the others never see a half-built file
    return path


@pytest.fixture(scope="session")
def read_only_sample(sample_warehouse_path, tmp_path_factory) -> Path:
    """One copy of the sample per worker for the tests that only read it. The app's caches
    are keyed by the warehouse and its data version, so AppTests on this copy share them: a
    page's first run on a fresh copy costs about 7 s, on this one under 1 s. A test that
    writes (an upload, a commit) takes `sample_copy`; the session's end checks that no test
    wrote here."""
    target = tmp_path_factory.mktemp("read-only-sample") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    with open_warehouse(target, read_only=True) as wh:
        before = (wh.data_version(), wh.table_checksums())
    yield target
    with open_warehouse(target, read_only=True) as wh:
        after = (wh.data_version(), wh.table_checksums())
    assert after == before, "a test wrote to read_only_sample: it should take sample_copy"


@pytest.fixture
def sample_copy(sample_warehouse_path, tmp_path) -> Path:
    """A private copy of the sample warehouse that a test may write to."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    return target


@pytest.fixture
def sample_wh(sample_copy):
    with open_warehouse(sample_copy) as wh:
        yield wh


@pytest.fixture
def empty_wh(tmp_path):
    with open_warehouse(tmp_path / "empty.duckdb") as wh:
        yield wh


@pytest.fixture
def write_file(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode(encoding))
        return path

    return _write


AREAS_CSV = (
    "area_code,area_name,old_la_code,region_code,region_name\n"
    "E06999901,Northmoor,991,E12999901,North Fictional\n"
)
POPULATION_CSV = (
    "year,area_code,unit,age_band,population_0_17\n"
    "2022,E06999901,All,All,20000\n"
    "2023,E06999901,All,All,25000\n"
)


@pytest.fixture
def reference_wh(empty_wh, write_file):
    """An empty warehouse with one area and its population loaded (for old-code mapping)."""
    from pipelines.load.ingest import ingest_file

    for name, text in (("areas.csv", AREAS_CSV), ("population.csv", POPULATION_CSV)):
        result = ingest_file(empty_wh, write_file(name, text), user="test")
        assert result.outcome == "loaded", result.issues
    return empty_wh


@pytest.fixture(autouse=True)
def _dashboard_demo_mode(monkeypatch, tmp_path_factory):
    """The dashboard runs in explicit demo mode in tests unless a test signs someone in.

    A developer's own var/users.toml must not change how the tests see the app.
    """
    monkeypatch.setenv("RP_IMPACT_DEMO", "1")
    monkeypatch.setenv("RP_IMPACT_USERS", str(tmp_path_factory.getbasetemp() / "no-users.toml"))


@pytest.fixture
def sign_in(monkeypatch, tmp_path):
    """Configure local accounts and sign a user in to an AppTest: `sign_in(at, role)`."""
    from dashboard.auth import SESSION_KEY, Identity
    from pipelines import auth

    users = tmp_path / "users.toml"
    monkeypatch.setenv("RP_IMPACT_USERS", str(users))
    monkeypatch.delenv("RP_IMPACT_DEMO", raising=False)
    auth.add_user("ana", "analyst", "correct horse battery staple", path=users)

    def _sign_in(at, role: str = "analyst", name: str = "ana"):
        at.session_state[SESSION_KEY] = Identity(name, role, "local")
        return at

    return _sign_in


# -- the browser tests' session: one Chromium, two servers, one walk over every page ----------
# Used by tests/test_browser.py and tests/test_accessibility.py, which share the xdist group
# "browser" (so `--dist loadgroup` runs them on one worker, against these same instances).

VERA_PASSWORD = "a long password for vera"


@pytest.fixture(scope="session")
def browser():
    from tests.browser_support import CHROMIUM, chromium

    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with chromium() as running:
        yield running


@pytest.fixture(scope="session")
def demo_server(browser, sample_warehouse_path, tmp_path_factory):
    """The sample (a private copy: the upload test writes to it) served in demo mode."""
    from tests.browser_support import serve

    folder = tmp_path_factory.mktemp("demo-server")
    shutil.copy(sample_warehouse_path, folder / "warehouse.duckdb")
    with serve(
        folder / "warehouse.duckdb",
        folder / "streamlit.log",
        RP_IMPACT_DEMO="1",
        RP_IMPACT_USERS=str(folder / "no-users.toml"),
    ) as running:
        yield running


@pytest.fixture(scope="session")
def first_view(browser, demo_server) -> dict:
    """The first Board view after the demo server started (measured before anything else)."""
    from tests.browser_support import first_board_view

    return first_board_view(browser, demo_server)


@pytest.fixture(scope="session")
def accounts_server(first_view, sample_warehouse_path, tmp_path_factory):
    """The sample served with local accounts (a viewer `vera`), started only after the first
    Board view was measured so that it does not compete with it."""
    from pipelines import auth
    from tests.browser_support import serve

    folder = tmp_path_factory.mktemp("accounts-server")
    shutil.copy(sample_warehouse_path, folder / "warehouse.duckdb")
    users = folder / "users.toml"
    auth.add_user("vera", "viewer", VERA_PASSWORD, path=users)
    with serve(
        folder / "warehouse.duckdb",
        folder / "streamlit.log",
        RP_IMPACT_DEMO=None,
        RP_IMPACT_USERS=str(users),
    ) as running:
        yield running


@pytest.fixture(scope="session")
def page_walk(browser, demo_server, accounts_server, first_view):
    """Every page at both widths: screenshots, axe-core, no exception (see browser_support)."""
    from tests.browser_support import walk_every_page

    return walk_every_page(browser, demo_server, accounts_server, first_view)


_SUITE_STARTED = time.time()  # conftest is imported as the run starts, before collection


def pytest_sessionfinish(session, exitstatus):
    """Record a full run's wall time in test-artifacts/suite_seconds.json for `make bench`
    (issue 19's `make test` target). A full run: the controller process (not an xdist
    worker), the default test paths (no file or folder arguments), no `-k`, `-m`,
    `--deselect`, `--lf`/`--ff`, no `-x`/`--maxfail`, and the suite ran to its end (exit 0
    or 1: passed, or some tests failed). Any other run leaves the file as it was."""
    config = session.config
    if hasattr(config, "workerinput") or exitstatus not in (0, 1):
        return
    option = config.option
    partial = (
        config.args_source != pytest.Config.ArgsSource.TESTPATHS
        or option.keyword
        or option.markexpr
        or getattr(option, "deselect", None)
        or getattr(option, "lf", False)
        or getattr(option, "failedfirst", False)
        or option.maxfail
    )
    if partial or not session.testscollected:
        return
    import datetime as dt
    import json

    workers = getattr(option, "numprocesses", None) or 0
    record = {
        "seconds": round(time.time() - _SUITE_STARTED, 1),
        "tests": session.testscollected,
        "workers": workers if workers else 1,
        "exitstatus": int(exitstatus),
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    folder = Path(__file__).resolve().parent.parent / "test-artifacts"
    folder.mkdir(exist_ok=True)
    (folder / "suite_seconds.json").write_text(json.dumps(record) + "\n")
