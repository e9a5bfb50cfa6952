"""Numbers in words: no signed zeros, no '+0', no degenerate ranges, sensible rounding."""

from __future__ import annotations

import math

import pytest

from pipelines.present.numbers import (
    change_words,
    clean_zero,
    count_words,
    money_words,
    percent_change,
    range_words,
    signed_percent,
    significant_figures,
)


def test_signed_zero_is_cleaned() -> None:
    assert str(clean_zero(-0.0)) == "0.0"
    assert str(percent_change(1.0)) == "0.0"
    assert signed_percent(-0.3) == "0%"
    assert signed_percent(0.2) == "0%"
    assert signed_percent(12.4) == "+12%"
    assert signed_percent(-3.6) == "\u22124%"


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
    assert change_words(ratio) == words


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
    assert range_words(low, high) == words


def test_a_range_that_rounds_to_one_figure_is_not_written_twice() -> None:
    text = range_words(0.88, 0.88)
    assert text == "about 12% fewer"
    with pytest.raises(ValueError):
        range_words(1.1, 0.9)


def test_counts_and_money_are_rounded_to_two_significant_figures() -> None:
    assert significant_figures(634.2) == 630
    assert count_words(634.2) == "630"
    assert count_words(1234) == "1,200"
    assert count_words(8.64) == "8.6"
    assert money_words(63_412_000) == "£63 million"
    assert money_words(1_234_567) == "£1.2 million"
    assert money_words(48_500) == "£49,000"


def test_no_output_carries_a_signed_zero_or_plus_zero() -> None:
    ratios = [x / 1000 for x in range(500, 1600, 7)]
    for low in ratios:
        for high in (low, low * 1.001, low * 1.05, low * 1.5):
            for text in (change_words(low), range_words(low, high)):
                assert "-0" not in text and "+0" not in text and "\u22120" not in text, text
                assert " 0% " not in f" {text} ", text
