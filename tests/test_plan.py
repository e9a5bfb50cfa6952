"""The analysis plan: defaults, the plan file, the hash and recorded changes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines.analysis.plan import DEFAULT_PLAN, load_plan, plan_change, plan_history
from pipelines.load.plan_record import record_plans
from pipelines.stats import before_after, its, synth
from pipelines.stats.covid import COVID_END, COVID_START, covid_reporting_years
from pipelines.store.models import sql_file
from pipelines.store.warehouse import Warehouse


def test_default_plan_names_flows_as_primary_and_one_covid_window() -> None:
    assert DEFAULT_PLAN.primary == ("cla_starts", "cpp_starts")
    assert DEFAULT_PLAN.role("cla_at_period_end") == "secondary"
    assert DEFAULT_PLAN.role("referrals") == "exploratory"
    window = (DEFAULT_PLAN.covid_start, DEFAULT_PLAN.covid_end)
    assert window == (pd.Timestamp("2020-03-01"), pd.Timestamp("2021-03-31"))
    # its.py, before_after.py and synth.py flag the same window.
    assert window == (its.COVID_START, its.COVID_END)
    assert window == (before_after.COVID_START, before_after.COVID_END)
    assert synth.COVID_YEARS == covid_reporting_years(COVID_START, COVID_END) == (2020, 2021)


def test_hash_is_stable_and_changes_with_a_choice_only() -> None:
    again = load_plan(path="/nonexistent/plan.toml")
    assert again.plan_hash == DEFAULT_PLAN.plan_hash
    assert len(DEFAULT_PLAN.plan_hash) == 64
    assert json.loads(DEFAULT_PLAN.canonical())["primary"] == ["cla_starts", "cpp_starts"]
    from dataclasses import replace

    assert replace(DEFAULT_PLAN, fixed_on=pd.Timestamp("2030-01-01").date()).plan_hash == (
        DEFAULT_PLAN.plan_hash
    )
    assert replace(DEFAULT_PLAN, primary=("cla_starts",)).plan_hash != DEFAULT_PLAN.plan_hash


def test_plan_file_layers_default_then_area(tmp_path) -> None:
    path = tmp_path / "analysis_plan.toml"
    path.write_text(
        '[default]\nfixed_on = 2026-11-02\nprimary = ["cpp_starts"]\n\n'
        "[area.E06999901]\ncovid_end = 2021-06-30\n",
        encoding="utf-8",
    )
    other = load_plan("E06000001", path=path)
    mine = load_plan("E06999901", path=path)
    assert other.primary == mine.primary == ("cpp_starts",)
    assert other.covid_end == COVID_END
    assert mine.covid_end == pd.Timestamp("2021-06-30")
    assert mine.fixed_on.isoformat() == "2026-11-02"
    assert mine.source == str(path)
    path.write_text("[default]\nprimry = []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Unknown setting"):
        load_plan(path=path)


def test_changes_after_fixing_are_recorded_with_what_changed(tmp_path) -> None:
    first = plan_change(DEFAULT_PLAN, None, "E06999901", "ana")
    assert first["change"] == "first plan"
    assert plan_change(DEFAULT_PLAN, first, "E06999901", "ana") is None
    from dataclasses import replace

    later = replace(DEFAULT_PLAN, covid_end=pd.Timestamp("2022-03-31"))
    row = plan_change(later, first, "E06999901", "ana")
    assert row["plan_hash"] == later.plan_hash
    assert "covid_end from '2021-03-31' to '2022-03-31'" in row["change"]
    assert set(row) == {
        "area_code",
        "plan_hash",
        "plan_json",
        "fixed_on",
        "recorded_at",
        "recorded_by",
        "change",
    }
    assert all(column in sql_file("meta_analysis_plan.sql") for column in row)


# --- recording in the warehouse (pipelines.load.plan_record, plan_history) ---------------------


def _write_plan(tmp_path, name: str, body: str):
    path = tmp_path / name
    path.write_text("[default]\nfixed_on = 2026-10-01\n" + body, encoding="utf-8")
    return path


def test_the_warehouse_records_the_first_plan_once_and_each_later_change(tmp_path, monkeypatch):
    area = "E06999901"
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        status = plan_history(wh, area)
        assert status.history == () and not status.recorded
        assert "not yet recorded" in status.lines()[-1]

        monkeypatch.setenv("RP_IMPACT_ANALYSIS_PLAN", str(_write_plan(tmp_path, "a.toml", "")))
        assert [r["change"] for r in record_plans(wh, [area], user="ana")] == ["first plan"]
        assert record_plans(wh, [area], user="ana") == []  # unchanged: nothing new
        status = plan_history(wh, area)
        assert status.recorded and len(status.history) == 1
        assert status.lines() == [status.plan.describe()]

        changed = _write_plan(tmp_path, "b.toml", 'primary = ["cla_starts"]\n')
        monkeypatch.setenv("RP_IMPACT_ANALYSIS_PLAN", str(changed))
        pending = plan_history(wh, area)
        assert not pending.recorded
        assert "now differs from the plan last recorded" in pending.lines()[-1]
        written = record_plans(wh, [area], user="bo")
        assert len(written) == 1 and written[0]["change"].startswith("changed: primary from")
        status = plan_history(wh, area)
        assert [v.recorded_by for v in status.history] == ["ana", "bo"]
        assert status.recorded
        assert status.lines()[1].startswith("Plan changed on ") and " by bo " in status.lines()[1]


def test_a_plan_that_returns_to_an_earlier_version_is_recorded_again(tmp_path, monkeypatch):
    area = "E06999901"
    first = _write_plan(tmp_path, "a.toml", "")
    second = _write_plan(tmp_path, "b.toml", 'primary = ["cpp_starts"]\n')
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        for path in (first, second, first):
            monkeypatch.setenv("RP_IMPACT_ANALYSIS_PLAN", str(path))
            record_plans(wh, [area], user="ana")
        status = plan_history(wh, area)
        assert status.recorded
        assert status.history[-1].plan_hash == load_plan(area, path=first).plan_hash
        # Append-only: three rows, the return to the first plan recorded as a change.
        assert len(status.history) == 3
        assert status.history[2].change.startswith("changed: primary from")


def test_each_committed_outcomes_upload_records_the_plan(sample_wh):
    status = plan_history(sample_wh, "E06999901")
    assert status.recorded, status.lines()
    assert status.history[0].change == "first plan"
    assert status.lines() == [status.plan.describe()]  # the sample's plan was never changed
