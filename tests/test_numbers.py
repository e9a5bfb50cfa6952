"""Numbers in words: no signed zeros, no '+0', no degenerate ranges, sensible rounding."""

from __future__ import annotations

import math

import pytest

from pipelines.present import numbers
from pipelines.present.wording import grade_words


def test_signed_zero_is_cleaned() -> None:
    assert str(numbers.clean_zero(-0.0)) == "0.0"
    assert str(numbers.percent_change(1.0)) == "0.0"
    assert numbers.signed_percent(-0.3) == "0%"
    assert numbers.signed_percent(0.2) == "0%"
    assert numbers.signed_percent(12.4) == "+12%"
    assert numbers.signed_percent(-3.6) == "\u22124%"


@pytest.mark.parametrize(
    ("ratio", "words"),
    [
        (0.88, "about 12% fewer"),
        (1.3, "about 30% more"),
        (1.004, "about the same"),
        (0.996, "about the same"),
        (0.993, "about 0.7% fewer"),
    ],
)
def test_change_words(ratio: float, words: str) -> None:
    assert numbers.change_words(ratio) == words


@pytest.mark.parametrize(
    ("low", "high", "words"),
    [
        (0.79, 0.98, "2% to 21% fewer"),
        (0.95, 1.08, "5% fewer to 8% more"),
        (1.02, 1.3, "2% to 30% more"),
        (0.7, math.inf, "30% fewer to no clear upper limit"),
        (0.8, 1.0, "no change to 20% fewer"),
        (0.881, 0.884, "11.6% to 11.9% fewer"),  # one more decimal, not "12% to 12%"
    ],
)
def test_range_words(low: float, high: float, words: str) -> None:
    assert numbers.range_words(low, high) == words


def test_a_range_that_rounds_to_one_figure_is_not_written_twice() -> None:
    text = numbers.range_words(0.88, 0.88)
    assert text == "about 12% fewer"
    with pytest.raises(ValueError):
        numbers.range_words(1.1, 0.9)


def test_counts_and_money_are_rounded_to_two_significant_figures() -> None:
    assert numbers.significant_figures(634.2) == 630
    assert numbers.count_words(634.2) == "630"
    assert numbers.count_words(1234) == "1,200"
    assert numbers.count_words(8.64) == "8.6"
    assert numbers.money_words(63_412_000) == "£63 million"
    assert numbers.money_words(1_234_567) == "£1.2 million"
    assert numbers.money_words(48_500) == "£49,000"


def test_no_output_carries_a_signed_zero_or_plus_zero() -> None:
    ratios = [x / 1000 for x in range(500, 1600, 7)]
    for low in ratios:
        for high in (low, low * 1.001, low * 1.05, low * 1.5):
            for text in (numbers.change_words(low), numbers.range_words(low, high)):
                assert "-0" not in text and "+0" not in text and "\u22120" not in text, text
                assert " 0% " not in f" {text} ", text


def test_signed_numbers_and_intervals_never_read_a_signed_zero() -> None:
    assert numbers.signed_number(-0.04, 1) == "0.0" and numbers.signed_number(0.04, 1) == "0.0"
    assert numbers.signed_number(1.94, 1) == "+1.9" and numbers.signed_number(-1.79, 1) == "-1.8"
    assert numbers.ci_words(-1.79, 1.94) == "95% CI -1.8 to +1.9"
    assert numbers.ci_words(-0.5, -0.04) == "95% CI -0.5 to 0.0"
    # Ends that round alike get more decimals; an interval of no width is not quoted.
    assert numbers.ci_words(0.871, 0.889, 1, signed=False) == "95% CI 0.87 to 0.89"
    assert numbers.ci_words(1.0, 1.0, 2) == "no usable 95% interval"
    assert numbers.ci_words(-1.0, -0.9999999, 2) == "no usable 95% interval"
    assert not numbers.interval_has_width(1.0, 1.0) and numbers.interval_has_width(0.1, 0.2)


def test_percentages_and_differences_that_round_to_zero_carry_no_direction() -> None:
    assert (
        numbers.pct(0.0003) == "under 0.1%"
        and numbers.pct(-0.004) == "0.4%"
        and numbers.pct(0.14) == "14%"
    )
    assert (
        numbers.relative_words(-0.14) == "14% lower" and numbers.relative_words(0.0) == "no change"
    )
    unit = "per 10,000 children a quarter"
    assert numbers.difference_words(-0.04, unit) == f"less than 0.05 {unit} either way"
    assert numbers.difference_words(-2.34, unit) == f"2.3 {unit} lower"
    assert numbers.difference_words(0.5, "per 10,000", lower="below", higher="above") == (
        "0.5 per 10,000 above"
    )


def test_ratio_change_phrase_and_count_ranges_are_never_degenerate() -> None:
    assert numbers.ratio_change_phrase(0.86, 0.79, 0.94) == "14% lower (95% CI 6% to 21% lower)"
    assert numbers.ratio_change_phrase(0.94, 0.938, 0.942) == "6% lower (95% CI 5.8% to 6.2% lower)"
    assert numbers.ratio_change_phrase(1.0, 0.9, 1.1) == (
        "no clear change (about the same; 95% CI 10% lower to 10% higher)"
    )
    assert numbers.count_range_words(539, 731) == "540 to 730"
    assert numbers.count_range_words(631, 634) == "631 to 634"  # not "630 to 630"


# --- its_step_title (pipelines.present.wording) -----------------------------------------------


def test_the_its_title_has_no_signed_zero_and_says_no_step_when_there_is_none():
    from pipelines.present.wording import its_step_title

    assert its_step_title("rate ratio", 0.88, 0.80, 0.97) == (
        "After the rollout the rate stepped down by 12% against the trend (95% CI \u221220% to "
        "\u22123%)"
    )
    flat = its_step_title("rate ratio", 1.002, 0.97, 1.004)
    assert flat.startswith("After the rollout the rate showed no step") and "+0%" not in flat
    assert "to 0%)" in flat
    assert its_step_title("difference", -0.02, -1.5, 1.2) == (
        "Level change at rollout 0.0 (95% CI -1.5 to +1.2)"
    )


# -- grade_words -----------------------------------------------------------------------------


def test_grade_words_gives_the_findings_own_reason_without_the_label_again():
    reason = "Low confidence: in simulation, intervals like this one contained the truth 80%."
    assert grade_words("low", reason) == (
        "Low confidence",
        "In simulation, intervals like this one contained the truth 80%.",
    )


def test_grade_words_falls_back_to_what_the_grade_means():
    assert grade_words("high", None) == ("High confidence", "We can be fairly confident in this.")
    assert grade_words("moderate", "") == ("Moderate confidence", "Treat this with some caution.")
