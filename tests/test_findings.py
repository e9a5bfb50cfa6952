"""Plain-English findings: wording, the confidence rule, caveats and association language."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.stats import (
    BANNED_PHRASES,
    banned_phrases_in,
    cost_avoidance,
    grade_confidence,
    interrupted_time_series,
    xmr,
)
from pipelines.stats import findings as fnd
from pipelines.stats.before_after import before_after
from pipelines.stats.dose_response import dose_response


def quarterly(start: str, n: int, rate: float, step_at: int | None = None, ratio: float = 1.0):
    """Seeded Poisson quarterly counts on a population of 100,000 (rate per 10,000)."""
    dates = pd.date_range(start, periods=n, freq="QE")
    mean = np.full(n, rate * 10.0)
    if step_at is not None:
        mean[step_at:] *= ratio
    counts = np.random.default_rng(20240101).poisson(mean)
    return pd.DataFrame({"period_end": dates, "value": counts, "population": 100_000})


# --- the confidence rule -----------------------------------------------------------------------


def test_interval_including_no_effect_is_low_whatever_else():
    assert grade_confidence(False, ())[0] == "low"
    assert grade_confidence(False, ("covid",))[0] == "low"
    assert grade_confidence(None, ())[0] == "low"


def test_clear_interval_with_a_downgrading_caveat_is_moderate_and_says_why():
    grade, reason = grade_confidence(True, ("covid", "short"))
    assert grade == "moderate"
    assert "COVID-19" in reason and "short" in reason


def test_clear_interval_without_caveats_is_high():
    assert grade_confidence(True, ())[0] == "high"


# --- wording -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "lower", "upper", "expected"),
    [
        (0.86, 0.79, 0.94, "14% lower (95% CI 6% to 21% lower)"),
        (1.20, 1.05, 1.37, "20% higher (95% CI 5% to 37% higher)"),
        (0.98, 0.84, 1.15, "no clear change (2% lower; 95% CI 16% lower to 15% higher)"),
    ],
)
def test_change_phrase(ratio, lower, upper, expected):
    assert fnd.change_phrase(ratio, lower, upper) == expected


def test_small_percentages_keep_a_decimal():
    assert fnd.pct(-0.004) == "0.4%"
    assert fnd.pct(0.14) == "14%"


# --- one finding per result type -----------------------------------------------------------------


def test_before_after_finding_clear_drop_outside_covid_is_high():
    data = quarterly("2010-03-31", 16, rate=30, step_at=8, ratio=0.7)
    result = before_after(data, "period_end", "value", "population", "2012-01-01", window=4)
    f = fnd.from_before_after(result, fnd.Subject("CLA starts", "Northmoor", measure="cla_starts"))
    assert f.confidence == "high", f.confidence_reason
    assert "CLA starts in Northmoor" in f.text and "lower" in f.text
    assert f.scale == "rate ratio" and f.ci[0] < f.estimate < f.ci[1] < 1


def test_before_after_finding_for_a_stock_measure_is_moderate_with_the_repeated_count_caveat():
    data = quarterly("2010-03-31", 16, rate=30, step_at=8, ratio=0.7)
    result = before_after(data, "period_end", "value", "population", "2012-01-01", window=4)
    f = fnd.from_before_after(result, fnd.Subject("Children looked after", "X", stock=True))
    assert f.confidence == "moderate"
    assert fnd.CAVEAT_STOCK in f.caveats


def test_before_after_finding_over_covid_says_so():
    data = quarterly("2018-03-31", 16, rate=30, step_at=8, ratio=0.7)
    result = before_after(data, "period_end", "value", "population", "2020-01-01", window=4)
    f = fnd.from_before_after(result, fnd.Subject("CPP starts", "X"))
    assert fnd.CAVEAT_COVID in f.caveats and f.confidence == "moderate"


def test_before_after_finding_with_no_change_is_low_and_says_no_clear_change():
    data = quarterly("2010-03-31", 16, rate=30)
    result = before_after(data, "period_end", "value", "population", "2012-01-01", window=4)
    f = fnd.from_before_after(result, fnd.Subject("Referrals", "X"))
    assert f.confidence == "low" and "no clear change" in f.text


def _step_its(n: int, step_at: int, intervention_date: str):
    """A quasi-Poisson ITS (no slope change) of quarterly data with a 0.8 step at ``step_at``."""
    data = quarterly("2008-03-31", n, rate=30, step_at=step_at, ratio=0.8)
    return interrupted_time_series(
        data, "period_end", "value", "population", intervention_date=intervention_date,
        family="quasipoisson", slope_change=False,
    )  # fmt: skip


def test_its_finding_reports_post_period_against_counterfactual_and_the_step():
    result = _step_its(40, 20, "2013-01-01")
    f = fnd.from_its(result, fnd.Subject("CPP starts", "Northmoor", measure="cpp_starts"))
    assert "lower than the pre-rollout trend projected" in f.text
    assert "over the 20 quarters after rollout" in f.text
    assert "step at rollout" in f.text
    assert f.estimate == pytest.approx(0.8, abs=0.03)
    assert f.confidence == "high", f.confidence_reason


def test_its_finding_flags_a_short_window():
    result = _step_its(12, 6, "2009-07-01")
    f = fnd.from_its(result, fnd.Subject("CPP starts", "X"))
    assert any("at least 8" in c for c in f.caveats)
    assert f.confidence in ("moderate", "low")


def test_dose_response_finding_without_a_clear_link():
    table = pd.DataFrame(
        {"unit": list("ABCDEF"), "coverage": [0.6, 0.7, 0.8, 0.65, 0.75, 0.9],
         "change": [-0.1, 0.05, -0.02, 0.03, -0.08, 0.01]}
    )  # fmt: skip
    result = dose_response(table, "coverage", "change", unit_col="unit")
    f = fnd.from_dose_response(result, label="CPP starts")
    assert f.confidence == "low"
    assert "no clear link" in f.text and "6 units" in f.text
    assert fnd.CAVEAT_ASSOCIATION_UNITS in f.caveats


def test_cost_finding_labels_the_default_unit_cost_as_illustrative():
    result = cost_avoidance(100.0, 80.0, counterfactual_lower=90.0, counterfactual_upper=110.0)
    f = fnd.from_cost_avoidance(result, since="Oct 2019")
    assert "spent fewer years in care than the pre-rollout trend projected" in f.text
    # Issue 13: no pound figure at all until the council has set its own unit cost.
    assert "an estimated difference of 20 child-years (range 10 to 30)" in f.text
    assert "£" not in f.all_text and "No money value" in f.text
    assert fnd.CAVEAT_ILLUSTRATIVE_COST in f.caveats
    assert f.confidence == "moderate"
    assert f.ci == (10.0, 30.0)


def test_cost_finding_at_the_councils_unit_cost_is_worth_about_rounded_money():
    result = cost_avoidance(
        700.0, 70.0, 60_000, investment=2e6, counterfactual_lower=600.0,
        counterfactual_upper=800.0, unit_cost_source="the council's figure, as entered",
    )  # fmt: skip
    f = fnd.from_cost_avoidance(result, since="Oct 2019")
    assert "an estimated difference of 630 child-years (range 530 to 730)" in f.text
    assert "worth about £38 million at your unit cost of £60,000 a child-year" in f.text
    assert "for each £1" not in f.text and fnd.CAVEAT_ILLUSTRATIVE_COST not in f.caveats
    # Never high: a money value rests on a projected counterfactual and a unit cost.
    assert f.confidence == "moderate", f.confidence_reason
    for word in ("avoided", "saved", "caused"):
        assert word not in f.all_text.lower()


def test_cost_finding_with_no_saving_says_so():
    result = cost_avoidance(80.0, 100.0)
    f = fnd.from_cost_avoidance(result, since="Apr 2021")
    # Issue 13: no "cost avoidance" framing; a difference the other way gets no money value.
    assert "more years in care" in f.text and "no money value" in f.text
    assert f.confidence == "low"


def test_change_phrase_never_writes_a_degenerate_interval():
    assert fnd.change_phrase(0.94, 0.938, 0.942) == "6% lower (95% CI 5.8% to 6.2% lower)"
    assert fnd.change_phrase(1.0, 0.9, 1.1) == (
        "no clear change (about the same; 95% CI 10% lower to 10% higher)"
    )


def test_dose_response_with_an_interval_of_no_width_has_no_interval():
    # A perfect rank correlation: Fisher's z gives an interval of (almost) no width.
    table = pd.DataFrame(
        {"unit": list("ABCDE"), "coverage": [0.6, 0.7, 0.8, 0.9, 0.95],
         "change": [-0.1, -0.2, -0.3, -0.4, -0.5]}
    )  # fmt: skip
    result = dose_response(table, "coverage", "change", unit_col="unit")
    f = fnd.from_dose_response(result, label="CPP starts")
    assert "no usable 95% interval" in f.text and f.confidence == "low", f.text
    assert "-1.00 to -1.00" not in f.text


def test_spc_finding_describes_the_latest_signal_in_words():
    values = [10, 11, 9, 10, 11, 10, 9, 10, 11, 10, 6, 5, 6, 5, 6, 5, 6, 5, 6]
    data = pd.DataFrame(
        {"date": pd.date_range("2015-03-31", periods=len(values), freq="QE"), "v": values}
    )
    result = xmr(data, "date", "v", improvement="decrease")
    f = fnd.from_spc(result, fnd.Subject("the CLA rate", "Northmoor"))
    assert "improving direction" in f.text
    assert f.confidence == "moderate" and f.estimate is None


# --- association language ----------------------------------------------------------------------


@pytest.mark.parametrize("phrase", BANNED_PHRASES)
def test_banned_phrase_detector_finds_each_phrase(phrase):
    assert banned_phrases_in(f"The programme {phrase.upper()} a fall.") == [phrase]


def test_banned_phrase_detector_ignores_causation_and_association():
    assert banned_phrases_in("This shows association, not causation.") == []


def test_no_generated_finding_uses_causal_language():
    texts = []
    for ratio in (0.7, 1.0, 1.3):
        data = quarterly("2017-03-31", 40, rate=30, step_at=20, ratio=ratio)
        ba = before_after(data, "period_end", "value", "population", "2022-01-01", window=4)
        its = interrupted_time_series(
            data, "period_end", "value", "population", intervention_date="2022-01-01",
            family="quasipoisson",
        )  # fmt: skip
        spc = xmr(data.assign(rate=data["value"] / 10), "period_end", "rate")
        texts += [
            fnd.from_before_after(ba, fnd.Subject("CLA starts", "X", stock=True)).all_text,
            fnd.from_its(its, fnd.Subject("CLA starts", "X")).all_text,
            fnd.from_spc(spc, fnd.Subject("CLA", "X")).all_text,
        ]
    for cf in (50.0, 150.0):
        texts.append(fnd.from_cost_avoidance(cost_avoidance(cf, 100.0), since="2020").all_text)
    texts.append(fnd.CONFIDENCE_RULE)
    offending = {t: banned_phrases_in(t) for t in texts if banned_phrases_in(t)}
    assert not offending
