"""`dashboard.background`: the flow decisions made again behind the pages after new data.

The real child process is started here (a short `python -c` in place of `rp-impact decide`)
so the log, the exit code and the stopping of a stale run are the ones users get."""

from __future__ import annotations

import sys
import time

import pytest

from dashboard import background, data


@pytest.fixture
def kept(monkeypatch, tmp_path):
    monkeypatch.delenv("RP_IMPACT_WARM", raising=False)
    monkeypatch.setenv("RP_IMPACT_DECISIONS", str(tmp_path / "decisions"))
    monkeypatch.setattr(background, "_running", None)
    return tmp_path / "decisions"


def _instead(monkeypatch, code: str) -> None:
    monkeypatch.setattr(background, "decide_command", lambda areas=(): [sys.executable, "-c", code])


def _log_when(path, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in (found := path.read_text()):
            return found
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never reached {path}")


# -- decide_command ----------------------------------------------------------------------------------


def test_the_command_names_each_area_once_in_order():
    assert background.decide_command([])[1:] == ["-m", "pipelines.cli", "decide"]
    assert background.decide_command(["E2", "E1", "E2"])[-4:] == ["--area", "E2", "--area", "E1"]


# -- decisions_wanted --------------------------------------------------------------------------------


def test_no_decide_when_warming_is_off_or_decisions_are_not_kept(kept, monkeypatch):
    assert background.decisions_wanted()
    monkeypatch.setenv("RP_IMPACT_WARM", "0")
    assert not background.decisions_wanted()
    assert background.decide_in_background() is None
    monkeypatch.delenv("RP_IMPACT_WARM")
    monkeypatch.setenv("RP_IMPACT_DECISIONS", "")
    assert background.decide_in_background() is None


# -- decide_in_background ----------------------------------------------------------------------------


def test_its_output_and_exit_code_are_kept_in_the_log(kept, monkeypatch):
    _instead(monkeypatch, "import sys; print('no outcomes here'); sys.exit(3)")
    process = background.decide_in_background(["E06999901"])
    assert process.wait(timeout=20) == 3
    log = _log_when(kept / background.LOG_NAME, "exited with code 3")
    assert "no outcomes here" in log


def test_a_newer_change_stops_the_run_still_deciding_the_old_cells(kept, monkeypatch):
    _instead(monkeypatch, "import time; time.sleep(60)")
    old = background.decide_in_background()
    _instead(monkeypatch, "print('new cells')")
    new = background.decide_in_background()
    assert old.wait(timeout=20) != 0  # stopped, not left to finish
    assert new.wait(timeout=20) == 0
    _log_when(kept / background.LOG_NAME, "new cells")


def test_a_long_log_is_started_again_rather_than_grown(kept, monkeypatch):
    kept.mkdir()
    (kept / background.LOG_NAME).write_text("x" * (background.LOG_LIMIT_BYTES + 1))
    _instead(monkeypatch, "print('fresh')")
    background.decide_in_background().wait(timeout=20)
    log = _log_when(kept / background.LOG_NAME, "exited with code 0")
    assert "xxx" not in log and "fresh" in log


def test_no_room_for_the_log_starts_nothing_and_raises_nothing(kept, monkeypatch):
    kept.parent.joinpath("decisions").write_text("a file where the folder should be")
    _instead(monkeypatch, "print('never')")
    assert background.decide_in_background() is None


# -- data.data_changed -------------------------------------------------------------------------------


def test_a_commit_starts_the_decide_for_the_area_viewed(kept, monkeypatch):
    started, warmed = [], []
    monkeypatch.setattr(data, "warming_wanted", lambda: True)
    monkeypatch.setattr(data.background, "decide_in_background", started.append)
    monkeypatch.setattr(data, "warm", lambda: warmed.append(True))
    data.data_changed("E06999901")
    data.data_changed(None)
    assert started == [["E06999901"], []]
    deadline = time.monotonic() + 10
    while len(warmed) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(warmed) == 2  # the Board's reads of the new data, made behind the pages


def test_under_apptest_a_commit_only_clears_the_caches(kept, monkeypatch):
    started = []
    monkeypatch.setattr(data, "warming_wanted", lambda: False)
    monkeypatch.setattr(data.background, "decide_in_background", started.append)
    data.data_changed("E06999901")
    assert started == []
