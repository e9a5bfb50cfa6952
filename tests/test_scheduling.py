"""The suite's scheduling works: under `-n 2 --dist loadgroup` a group runs on one worker.

`make test` relies on it (docs/performance.md, "The test suite"): the browser tests share one
server and one walk, and tests/conftest.py groups each module whose tests share a
module-scoped fixture. When the grouping silently stops (pytest 9.2 with pytest-xdist 3.8:
pytest-dev/pytest-xdist#1386), every test still passes but each worker sets the shared
fixtures up again, and the suite takes minutes longer. This runs a tiny suite the same way and
asserts where its tests ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TINY_SUITE = {
    "conftest.py": """
        from tests.conftest import pytest_collection_modifyitems  # noqa: F401  the project's hook
        """,
    "test_marked.py": """
        import json, os, pytest

        pytestmark = pytest.mark.xdist_group("marked")

        @pytest.mark.parametrize("i", range(6))
        def test_marked(i, record):
            record("marked", i)
        """,
    "test_shared_fixture.py": """
        import pytest

        @pytest.fixture(scope="module")
        def expensive():
            return object()

        @pytest.mark.parametrize("i", range(6))
        def test_shared(i, expensive, record):
            record("shared", i)
        """,
    "test_loose.py": """
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_loose(i, record):
            record("loose", i)
        """,
}

RECORDER = """
    import json, os, pytest

    @pytest.fixture
    def record():
        def write(kind, i):
            with open(os.environ["RECORD_TO"], "a") as out:
                out.write(json.dumps([kind, i, os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")
        return write
    """


def test_loadgroup_keeps_each_group_on_one_worker(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    for name, text in TINY_SUITE.items():
        body = textwrap.dedent(text) + (textwrap.dedent(RECORDER) if name == "conftest.py" else "")
        (suite / name).write_text(body)
    record = tmp_path / "record.jsonl"
    env = os.environ | {"RECORD_TO": str(record), "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(suite),
            str(suite),
        ],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    ran = [json.loads(line) for line in record.read_text().splitlines()]
    workers = {kind: {w for k, _, w in ran if k == kind} for kind in ("marked", "shared", "loose")}
    assert len(ran) == 18
    assert len(workers["marked"]) == 1, "an xdist_group mark no longer keeps its tests together"
    assert len(workers["shared"]) == 1, "a module-scoped fixture's tests were split (conftest)"
    # the check can tell: the run did use both workers
    assert len({w for *_, w in ran}) == 2
