"""Shared fixtures: a warehouse built from the sample (once per run) and empty ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines import config
from pipelines.store.warehouse import open_warehouse

REPO = Path(__file__).resolve().parent.parent
SHARED_DFE = REPO.parent / "shared" / "data" / "dfe"


@pytest.fixture(scope="session")
def sample_warehouse_path(tmp_path_factory) -> Path:
    """A warehouse built from data/sample/ exactly as `rp-impact build` does."""
    path = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    from pipelines.cli import main

    assert main(["--warehouse", str(path), "build", str(config.SAMPLE_DIR)]) == 0
    return path


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
