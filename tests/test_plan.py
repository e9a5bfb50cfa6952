"""The analysis plan: defaults, the plan file, the hash and recorded changes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines.analysis.plan import DEFAULT_PLAN, PLAN_TABLE_DDL, load_plan, plan_change
from pipelines.stats import before_after, its, synth
from pipelines.stats.covid import COVID_END, COVID_START, covid_reporting_years


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
    assert all(column in PLAN_TABLE_DDL for column in row)
