"""`rp-impact decide` started behind the pages: at server start, and again after every commit
or import, because a flow's disclosure decision is keyed by its cells, so new data makes the
kept ones stale and the next Trends view or report would otherwise decide every flow again
while a viewer waits (about a minute and a half on the sample after one new quarter).

The process runs at the lowest priority, so pages served meanwhile are not slowed. Its output
and its exit code go to `decide.log` in the decisions folder, so a start that failed (a busy
warehouse for longer than the busy wait, a fault) can be seen afterwards. At most one runs at
a time: a newer change stops the older process, whose remaining decisions would be of cells
that are no longer current (those it finished are kept and still used where they match).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from pipelines import config
from pipelines.present import decision_store

ROOT = Path(__file__).resolve().parent.parent
LOG_NAME = "decide.log"
LOG_LIMIT_BYTES = 256 * 1024

_lock = threading.Lock()
_running: subprocess.Popen | None = None


def decisions_wanted() -> bool:
    """False when warming is off (`RP_IMPACT_WARM=0`) or decisions are not kept
    (`RP_IMPACT_DECISIONS` empty)."""
    if os.environ.get("RP_IMPACT_WARM") == "0":
        return False
    return decision_store.folder_for(config.warehouse_path()) is not None


def decide_command(areas: Sequence[str] = ()) -> list[str]:
    """The command line: the given areas, or the area the dashboard opens on."""
    command = [sys.executable, "-m", "pipelines.cli", "decide"]
    for code in dict.fromkeys(areas):  # once each, in order
        command += ["--area", code]
    return command


def log_path() -> Path | None:
    folder = decision_store.folder_for(config.warehouse_path())
    return None if folder is None else folder / LOG_NAME


def _lowest_priority() -> None:  # runs in the child, before the command
    os.nice(19)


def _record_exit(process: subprocess.Popen, log) -> None:
    code = process.wait()
    try:
        log.write(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} decide exited with code {code}\n")
    finally:
        log.close()


def decide_in_background(areas: Sequence[str] = ()) -> subprocess.Popen | None:
    """Start `rp-impact decide` for `areas` at the lowest priority, stopping one still running.
    None when decisions are not wanted (see :func:`decisions_wanted`)."""
    global _running
    if not decisions_wanted():
        return None
    path = log_path()
    with _lock:
        if _running is not None and _running.poll() is None:
            _running.terminate()  # its cells are stale; what it finished is kept
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A short history is enough to see why a start failed; the log never grows large.
            fresh = path.exists() and path.stat().st_size > LOG_LIMIT_BYTES
            log = path.open("w" if fresh else "a", encoding="utf-8")
        except OSError:
            return None  # no room to keep decisions either: the pages decide as they need
        log.write(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {' '.join(decide_command(areas)[1:])}\n")
        log.flush()
        _running = subprocess.Popen(
            decide_command(areas),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_lowest_priority,
        )
        threading.Thread(target=_record_exit, args=(_running, log), daemon=True).start()
        return _running
