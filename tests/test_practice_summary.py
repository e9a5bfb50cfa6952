"""The Board's "Working with families" figures (issue 18): the sample's planted rises, the gate
and the sentence (`pipelines.present.practice_summary`)."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from pipelines.analysis import practice as analysis
from pipelines.present import practice_summary as ps
from pipelines.present.practice import LatestShown
from pipelines.store.warehouse import Warehouse

AREA = "E06999901"
#: The sample's planted change at full effect (data/sample/README.md), in proportion points.
PLANTED = {"good_or_better": 0.20, "statement:I was listened to": 0.15}


@pytest.fixture(scope="module")
def summary_wh(sample_warehouse_path, tmp_path_factory):
    """A private copy of the sample warehouse (opening the shared one would lock it)."""
    target = tmp_path_factory.mktemp("practice-summary") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    wh = Warehouse(target)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def summary(summary_wh):
    return ps.practice_summary(summary_wh, AREA)


# -- practice_summary on the sample ------------------------------------------------------------


def test_the_tile_has_audits_then_listened_to(summary):
    assert summary is not None
    assert [f.key for f in summary.figures] == list(PLANTED)
    assert summary.caveats == analysis.CAVEATS


def test_the_planted_change_lies_inside_the_pooled_interval(summary):
    for figure in summary.figures:
        assert not figure.hidden and not figure.change_hidden
        assert figure.change_lower < PLANTED[figure.key] < figure.change_upper, figure.key
        assert figure.change_lower > 0  # the rise is clear on the sample


def test_the_latest_share_is_the_pooled_latest_four_quarters(summary_wh, summary):
    latest = {f.measure.key: f for f in analysis.working_with_families(summary_wh, AREA)}
    for figure in summary.figures:
        pooled = latest[figure.key]
        assert figure.n == pooled.trials > 30
        assert figure.proportion == pytest.approx(pooled.successes / pooled.trials)
        assert figure.lower < figure.proportion < figure.upper
        months = (figure.last_quarter_end - figure.first_quarter_end).days
        assert 270 <= months <= 275  # four quarters: three quarter-ends apart


def test_the_sentence_says_share_interval_period_n_and_change(summary):
    audits = summary.figures[0]
    pct = round(100 * audits.proportion)
    lo, hi = round(100 * audits.lower), round(100 * audits.upper)
    points = round(100 * audits.change)
    assert audits.sentence.startswith(
        f"{pct}% of audits were graded good or outstanding in {audits.period} "
        f"(95% interval {lo}% to {hi}%, {audits.n:,} audits); {points} points higher than "
        "before Restorative Practice started ("
    )
    assert "associated with the rollout. Low confidence: in simulation" in audits.sentence
    assert "no comparison group" in audits.sentence
    assert audits.grade == "low" and audits.grade_label == "Low confidence"
    assert audits.sentence.endswith(audits.grade_reason)
    assert "“I was listened to”" in summary.figures[1].sentence
    assert "caused" not in " ".join(summary.sentences)
    assert analysis.CAVEAT_SURVEY in summary.figures[1].caveats
    assert analysis.CAVEAT_AUDIT in summary.figures[0].caveats


def test_none_for_an_area_without_practice_data(summary_wh):
    assert ps.practice_summary(summary_wh, "E09999999") is None


def test_a_high_threshold_hides_every_figure(summary_wh, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_SUPPRESSION_THRESHOLD", "100000")
    hidden = ps.practice_summary(summary_wh, AREA)
    for figure in hidden.figures:
        assert figure.hidden and figure.change_hidden
        assert figure.proportion is None and figure.n is None and figure.change is None
        assert figure.value_text == "Hidden"
        assert "hidden to protect privacy" in figure.sentence
        assert "%" not in figure.sentence


# -- period_words --------------------------------------------------------------------------------


def test_period_words_names_the_first_and_last_months():
    assert ps.period_words(dt.date(2025, 9, 30), dt.date(2026, 6, 30)) == "Jul 2025 to Jun 2026"


# -- summarise: the gate on a tiny figure ---------------------------------------------------------


def _latest(proportion, trials, small=False):
    return LatestShown(
        dt.date(2025, 9, 30), dt.date(2026, 6, 30), 4, proportion, 0.1, 0.9, trials, small
    )


def _change(x0, n0, x1, n1):
    table = analysis.change_table(
        {},
        pd.DataFrame(columns=["unit", "wave", "start_date"]),
    )
    row = analysis._change_row("All units", None, None, x0, n0, x1, n1)
    return pd.concat([table, pd.DataFrame([row])], ignore_index=True).iloc[0]


MEASURE = analysis.describe("good_or_better", "audit")


@pytest.mark.parametrize(("successes", "trials"), [(3, 40), (37, 40), (2, 2)])
def test_a_share_with_a_small_count_is_hidden(successes, trials):
    figure = ps.summarise(
        MEASURE,
        _latest(successes / trials, trials),
        successes,
        trials,
        _change(20, 50, 35, 50),
        False,
        threshold=4,
    )
    assert figure.hidden and figure.value_text == "Hidden"
    assert figure.proportion is None and figure.n is None
    assert "1 to 4 audits" in figure.hidden_reason
    assert f"{successes / trials:.0%}" not in figure.sentence
    # the change's own counts are large, so the change is still shown
    assert figure.change == pytest.approx(0.30)
    assert "30 points higher" in figure.sentence


@pytest.mark.parametrize(
    ("key", "subject"),
    [
        ("good_or_better", "The share of audits graded good or outstanding in"),
        ("grade:Outstanding", "The share of audits graded outstanding in"),
        ("principle:Respect", "The share of audits meeting the principle Respect in"),
    ],
)
def test_a_hidden_audit_figure_names_its_own_measure(key, subject):
    hidden = LatestShown(dt.date(2025, 9, 30), dt.date(2026, 6, 30), 4, *[None] * 4, False)
    measure = analysis.describe(key, "audit")
    figure = ps.summarise(measure, hidden, 30, 60, None, False, threshold=4)
    assert figure.sentence.startswith(subject), (measure.label, figure.sentence)


def test_a_figure_hidden_by_the_practice_page_gate_stays_hidden():
    hidden = LatestShown(dt.date(2025, 9, 30), dt.date(2026, 6, 30), 4, *[None] * 4, False)
    figure = ps.summarise(MEASURE, hidden, 30, 60, None, False, threshold=4)
    assert figure.hidden and figure.n is None


def test_a_small_sample_gets_a_caution():
    figure = ps.summarise(
        MEASURE,
        _latest(0.5, 20, small=True),
        10,
        20,
        _change(20, 50, 35, 50),
        False,
        threshold=4,
    )
    assert not figure.hidden and figure.small_sample
    assert figure.caveats[0].startswith("Fewer than 30 audits completed")


def test_a_hidden_change_says_so_and_no_clear_change_is_worded():
    hidden = ps.summarise(MEASURE, _latest(0.5, 40), 20, 40, None, True, threshold=4)
    assert hidden.change is None and "change since Restorative Practice started is hidden" in (
        hidden.sentence
    )
    flat = ps.summarise(
        MEASURE, _latest(0.5, 40), 20, 40, _change(25, 50, 26, 50), False, threshold=4
    )
    assert "no clear change since Restorative Practice started" in flat.sentence
