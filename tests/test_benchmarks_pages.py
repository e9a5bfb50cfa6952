"""The page benchmark measures the first view after a start, not a cached one (issue #8)."""

from __future__ import annotations

import time

from benchmarks import tasks
from dashboard import data
from pipelines import analysis
from pipelines.store import warehouse as warehouse_module

SLOW = 1.0


def test_every_cold_page_run_recomputes_and_warm_reruns_do_not(sample_copy, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    monkeypatch.setenv("RP_IMPACT_USERS", str(sample_copy.with_suffix(".users.toml")))
    monkeypatch.delenv("RP_IMPACT_DEMO", raising=False)
    calls = []
    original = analysis.board_summary

    def counted(*args, **kwargs):
        calls.append(args[1:])
        time.sleep(SLOW)  # marks the computation in the timings
        return original(*args, **kwargs)

    # The page reads the board through dashboard.data's typed door, which holds the function
    # itself: count the calls there.
    key = (original.__module__, original.__qualname__)
    monkeypatch.setitem(data._CACHED, key, counted)
    result = tasks.pages({"db": str(sample_copy), "runs": 2, "pages": ["views/board.py"]})
    board = result["pages"]["views/board.py"]
    assert board["errors"] == []
    assert len(board["cold"]) == 2 and len(board["warm"]) == 2
    assert min(board["cold"]) >= SLOW  # each timed cold run computed the board itself
    assert max(board["warm"]) < SLOW
    # The untimed warm-up (the default page is the board) and each cold run compute the board;
    # the warm reruns read Streamlit's cache.
    assert len(calls) == 3


def test_restart_state_drops_the_caches_a_server_restart_drops(sample_copy):
    import streamlit as st

    shared = warehouse_module.shared_warehouse(sample_copy)

    @st.cache_data
    def cached(x):
        cached.calls += 1
        return x

    cached.calls = 0
    cached(1)
    tasks._restart_state()
    cached(1)
    assert cached.calls == 2
    assert warehouse_module._shared == {}
    assert warehouse_module.shared_warehouse(sample_copy) is not shared
    tasks._restart_state()
