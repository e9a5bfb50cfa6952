"""A busy warehouse: the message counts every try, the dashboard says so in one sentence with
no path or process id, and the dashboard holds no lock while idle, so `rp-impact ingest` from
another process succeeds while it runs and the dashboard then shows the new upload."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from pipelines.cli import open_with_retry
from pipelines.load.ingest import ingest_file
from pipelines.store.warehouse import Warehouse, WarehouseBusyError
from tests.conftest import REPO
from tests.faults import first_quarter_loaded, writer_is_free

APP = str(REPO / "dashboard" / "app.py")
HOLD = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    sys.stdin.readline()
    """
)


@pytest.fixture
def loaded(tmp_path):
    path, files = first_quarter_loaded(tmp_path, n_units=6, n_bands=4)
    return path, files[1]


@pytest.fixture
def held(loaded):
    """The warehouse held open for writing by another process until the test ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(loaded[0])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    yield loaded
    holder.communicate("\n", timeout=30)


def _busy_message(path, tries: str) -> str:
    return (
        f"Another process has the warehouse at {path} open for writing (another upload, or the "
        f"dashboard committing one); tried {tries}. Wait for it to finish and run the command "
        "again, or use the dashboard's Upload page."
    )


def test_the_busy_message_counts_every_try(held):
    path, _ = held
    notes = io.StringIO()
    with pytest.raises(WarehouseBusyError) as caught:
        open_with_retry(path, wait=1.5, stream=notes)
    tries = notes.getvalue().count("retrying") + 1
    assert tries >= 3 and caught.value.attempts == tries
    assert str(caught.value) == _busy_message(path, f"{tries} times")
    with pytest.raises(WarehouseBusyError) as once:
        Warehouse(path, retries=0)
    assert str(once.value) == _busy_message(path, "once")


def test_the_dashboard_says_busy_in_one_sentence_without_path_or_pid(held, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from dashboard import data

    path, _ = held
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [WarehouseBusyError.viewer_message]
    shown = " ".join(str(e.value) for e in [*at.markdown, *at.error, *at.info, *at.warning])
    assert str(path.parent) not in shown and "PID" not in shown


def _cli_ingest(path, file) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "--warehouse", str(path), "ingest", str(file)],
        cwd=REPO,
        env={**os.environ, "RP_IMPACT_BUSY_WAIT": "60", "RP_IMPACT_BACKUP_KEEP": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_dashboard_and_the_command_line_take_turns(loaded, monkeypatch, sign_in):
    from streamlit.testing.v1 import AppTest

    from dashboard import data

    path, next_file = loaded
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    data.clear_caches()
    at = sign_in(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("views/upload.py").run()
    assert not at.exception, [e.value for e in at.exception]
    history = next(d.value for d in at.dataframe if "file_name" in d.value.columns)
    assert next_file.name not in set(history["file_name"])
    # Idle, the dashboard holds no lock: another process can take the writer at once.
    assert writer_is_free(path)
    ingest = _cli_ingest(path, next_file)
    reads = 0
    while ingest.poll() is None:  # the dashboard keeps reading while the command line loads
        at.run()
        reads += 1
        assert not at.exception, [e.value for e in at.exception]
        assert {e.value for e in at.error} <= {WarehouseBusyError.viewer_message}
    out, err = ingest.communicate(timeout=60)
    assert ingest.returncode == 0, out + err
    assert "Traceback" not in err and reads >= 1
    at.run()
    history = next(d.value for d in at.dataframe if "file_name" in d.value.columns)
    assert next_file.name in set(history["file_name"])
    assert data.uploads()["file_name"].iloc[0] == next_file.name


def test_threads_read_and_commit_through_one_on_demand_warehouse(loaded):
    import threading

    path, next_file = loaded
    wh = Warehouse(path, keep_open=False)
    errors, counts = [], []

    def read():
        try:
            for _ in range(5):
                counts.append(int(wh.scalar("SELECT count(*) FROM fct_outcomes")))
        except BaseException as exc:  # reported below; the test fails on it
            errors.append(repr(exc))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    with wh.session(write=True):  # the writer waits for the readers' sessions, then commits
        assert ingest_file(wh, next_file, backup=False).outcome == "loaded"
    for thread in readers:
        thread.join()
    assert errors == [] and len(counts) == 20
    assert set(counts) <= {72, 144}  # before or after the commit, never half of it
    assert wh.scalar("SELECT count(*) FROM fct_outcomes") == 144
    # Idle again: nothing is open, so another process takes the writer at once.
    assert wh._con is None
    assert writer_is_free(path)
