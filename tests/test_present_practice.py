"""The Practice page's content on the sample warehouse: the planted change, the gate, the words."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from pipelines import config
from pipelines.present import practice as present
from pipelines.sample import practice as sample_practice
from pipelines.store.warehouse import Warehouse

AREA = "E06999901"
INVOLVED = "statement:I was involved in decisions about my family"


@pytest.fixture(scope="module")
def wh(sample_warehouse_path, tmp_path_factory):
    """A private copy of the shared sample warehouse (opening the shared one would lock it)."""
    target = tmp_path_factory.mktemp("present-practice") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    warehouse = Warehouse(target)
    yield warehouse
    warehouse.close()


def _visible_counts(table: pd.DataFrame, yes: str, asked: str) -> pd.DataFrame:
    shown = table[(table[asked] != "c") & table[asked].notna()]
    return shown.assign(yes=pd.to_numeric(shown[yes]), asked=pd.to_numeric(shown[asked])).assign(
        no=lambda f: f["asked"] - f["yes"]
    )


# --- practice_view: the numbers --------------------------------------------------------------


def test_the_area_headline_states_the_latest_share_and_the_planted_change(wh):
    view = present.practice_view(wh, AREA, "good_or_better")
    assert view.has_data and view.measure.label == "Audits graded good or outstanding"
    row = view.change.plot.set_index("group").loc["All units"]
    planted = sample_practice.PLANTED_PRACTICE["good_or_better"]  # +20 points
    assert row["change_lower"] <= planted <= row["change_upper"]
    assert row["change_lower"] > 0.10  # a clear rise, not one that merely includes it
    latest = view.latest
    assert not latest.hidden and latest.quarters == 4
    assert latest.lower < latest.proportion < latest.upper
    assert 0.55 < latest.proportion < 0.75  # 45% baseline + 20 points planted, with noise
    text = view.headline
    # the Board tile's sentence (practice_summary), graded by practice_verdict
    assert text.startswith(f"{latest.proportion:.0%} of audits were graded good or outstanding")
    assert f"{latest.trials:,} audits" in text
    assert f"{row['change'] * 100:.0f} points higher than before Restorative Practice" in text
    assert "associated with the rollout" in text and "caus" not in text.lower()
    assert "Low confidence: " in text


def test_a_feedback_measure_for_children_keeps_its_planted_change(wh):
    view = present.practice_view(wh, AREA, INVOLVED, respondent="Child or young person")
    assert view.respondent == "Child or young person" and view.who == "children or young people"
    row = view.change.plot.set_index("group").loc["All units"]
    planted = sample_practice.PLANTED_PRACTICE["agree:involved"]
    assert row["change_lower"] <= planted <= row["change_upper"]
    assert "children and young people who answered the family survey agreed" in view.headline
    assert "answers" in view.headline


def test_respondent_is_ignored_for_a_measure_without_one(wh):
    view = present.practice_view(wh, AREA, "fgc_held", respondent="Parent or carer")
    assert view.respondent == "All" and view.has_data


def test_a_unit_without_figures_is_an_empty_view(wh):
    view = present.practice_view(wh, AREA, "good_or_better", unit="Nowhere")
    assert not view.has_data and view.points is None
    assert view.headline == "There are no figures yet for Nowhere."


def test_the_source_line_names_the_source_and_the_period(wh):
    view = present.practice_view(wh, AREA, "good_or_better")
    assert view.source.startswith("Source: case-file audit extracts, Northmoor, Apr–Jun 2018 to ")
    assert view.caveats == (present.analysis.CAVEAT_AUDIT, present.analysis.CAVEAT_NO_COMPARISON)


def test_each_source_has_its_own_caveat_and_fgc_outcomes_none_of_the_two(wh):
    survey, audit = present.analysis.CAVEAT_SURVEY, present.analysis.CAVEAT_AUDIT
    feedback = present.practice_view(wh, AREA, INVOLVED)
    assert survey in feedback.caveats and audit not in feedback.caveats
    fgc = present.practice_view(wh, AREA, "fgc_held")
    assert survey not in fgc.caveats and audit not in fgc.caveats
    assert fgc.caveats == (present.analysis.CAVEAT_NO_COMPARISON,)
    empty = present.practice_view(wh, AREA, "fgc_held", unit="Nowhere")
    assert empty.caveats == fgc.caveats  # the same words with or without figures


# --- practice_view: the gate ------------------------------------------------------------------


def test_a_hidden_share_is_blank_and_the_sentence_says_hidden(wh):
    # Ashby audits about 12 cases a quarter: some quarters have 1-4 graded good or better, or
    # 1-4 not, and the headline pools the latest quarters.
    view = present.practice_view(wh, AREA, "good_or_better", unit="Ashby")
    table = view.points_table()
    hidden = table["per_cent"] == "c"
    assert hidden.any() and not hidden.all()
    assert (table.loc[hidden, ["yes", "asked", "interval_lower", "limit_upper"]] == "c").all().all()
    plotted = view.pprime_figure().data[-1].y
    assert np.isnan(np.asarray(plotted, float)[hidden.to_numpy()]).all()
    assert view.latest.hidden and view.latest.trials is None
    assert "is hidden to protect privacy" in view.headline
    assert "%" not in view.headline.split("privacy")[0]


@pytest.mark.parametrize("measure", ["good_or_better", "grade:Inadequate", "in_network_12m"])
def test_no_count_of_1_to_4_can_be_read_or_subtracted_from_the_quarter_tables(wh, measure):
    threshold = config.suppression_threshold()
    units = ["Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven"]
    frames = {}
    for unit in ["All", *units]:
        table = present.practice_view(wh, AREA, measure, unit=unit).points_table()
        shown = _visible_counts(table, "yes", "asked")
        for column in ("yes", "no", "asked"):
            assert not shown[column].between(1, threshold).any(), (unit, column)
        frames[unit] = table.set_index("quarter_end")["asked"]
    area, parts = frames["All"], pd.DataFrame({u: frames[u] for u in units})
    protected = 0
    for quarter, row in parts.iterrows():
        if area.get(quarter) not in (None, "c"):
            # the area's count less the localities shown must leave two or more unknowns
            assert (row == "c").sum() != 1, quarter
            protected += (row == "c").sum() >= 2
    assert protected  # the check met quarters with hidden localities


def test_change_rows_hide_what_a_small_row_adds_up_into():
    table = pd.DataFrame(
        {
            "group": ["A", "B", "C", "Wave 1", "Wave 2", "All units"],
            "wave": [1, 1, 2, 1, 2, None],
            "before_successes": [3, 40, 50, 43, 50, 93],
            "before_trials": [20, 80, 90, 100, 90, 190],
            "after_successes": [30, 60, 70, 90, 70, 160],
            "after_trials": [40, 90, 100, 130, 100, 230],
        }
    )
    hidden = present.change_hidden_rows(table, 4)
    assert hidden.tolist() == [True, False, False, True, False, True]


def test_the_change_table_shows_no_count_of_1_to_4(wh):
    table = present.practice_view(wh, AREA, "in_network_12m").change_table()
    for asked in ("before_asked", "after_asked"):
        shown = pd.to_numeric(table[asked].replace("c", np.nan))
        assert not shown.between(1, config.suppression_threshold()).any()


# --- words ------------------------------------------------------------------------------------


def test_quarter_label_names_the_three_months():
    assert present.quarter_label("2026-06-30") == "Apr–Jun 2026"


def test_measure_groups_keep_audits_feedback_and_fgcs_apart(wh):
    from pipelines.analysis import practice as analysis

    groups = present.measure_groups(analysis.practice_measures(wh, AREA))
    assert list(groups) == ["Case-file audits", "Family feedback", "Family group conferences"]
    assert groups["Case-file audits"][0].key == "good_or_better"
    assert {m.source for m in groups["Family feedback"]} == {"feedback"}


# --- the p′ chart over the quarters shown --------------------------------------------------------


def test_the_centre_line_rests_on_the_quarters_shown_only():
    """A centre line is the pooled share of every quarter in its segment: with a hidden
    quarter in it, it and the quarters shown would give the hidden one back. `pprime_of`
    leaves the hidden quarters out: the centre line is the pooled share of the others."""
    import datetime as dt

    import pandas as pd

    from pipelines.analysis import practice as analysis

    ends = pd.date_range("2021-03-31", periods=12, freq="QE")
    series = pd.DataFrame({"period_end": ends, "successes": [30.0] * 12, "trials": [60.0] * 12})
    series.loc[5, ["successes", "trials"]] = (3.0, 40.0)  # the quarter the gate hides
    kept = analysis.pprime_of(series, None)
    left_out = analysis.pprime_of(series, None, left_out=[ends[5]])
    assert kept.points["centre"].iloc[0] == pytest.approx((30 * 11 + 3) / (60 * 11 + 40))
    assert left_out.points["centre"].iloc[0] == pytest.approx(0.5)
    assert pd.isna(left_out.points["proportion"].iloc[5])
    rebased = analysis.pprime_of(series, dt.date(2022, 6, 30), left_out=[ends[5]])
    assert rebased.points["centre"].iloc[0] == pytest.approx(0.5)


def test_a_hidden_quarter_is_not_said_to_have_no_responses():
    """The gate's hidden quarters enter the chart with no trials; its warning names only the
    quarters that truly had none (the page says the others are hidden, in its own words)."""
    import pandas as pd

    from pipelines.analysis import practice as analysis

    ends = pd.date_range("2021-03-31", periods=12, freq="QE")
    series = pd.DataFrame({"period_end": ends, "successes": [30.0] * 12, "trials": [60.0] * 12})
    series.loc[2, ["successes", "trials"]] = (0.0, 0.0)  # no audits that quarter
    chart = analysis.pprime_of(series, None, left_out=[ends[5], ends[6]])
    said = [w for w in chart.warnings if "no responses" in w]
    assert said == [
        "1 period(s) have no responses and were left out of the limits and the rules: 2021-09-30."
    ]
    only_hidden = analysis.pprime_of(series.drop(index=2), None, left_out=[ends[5]])
    assert not [w for w in only_hidden.warnings if "no responses" in w]


def test_too_few_quarters_shown_before_the_rollout_give_one_segment_and_say_so():
    import datetime as dt

    import pandas as pd

    from pipelines.analysis import practice as analysis
    from pipelines.stats.errors import StatsInputError

    ends = pd.date_range("2021-03-31", periods=12, freq="QE")
    series = pd.DataFrame({"period_end": ends, "successes": [30.0] * 12, "trials": [60.0] * 12})
    start = dt.date(2021, 12, 31)  # three quarters before it; two of them hidden
    chart = analysis.pprime_of(series, start, left_out=ends[:2])
    assert chart.points["centre"].nunique() == 1
    assert any("one centre line" in w for w in chart.warnings)
    with pytest.raises(StatsInputError):  # one quarter shown in all: no chart to work out
        analysis.pprime_of(series, start, left_out=ends[1:])
