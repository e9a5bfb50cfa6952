"""Numbers in words for verdicts and findings: no signed zeros, no "+0", no degenerate ranges.

Every effect a board reads is a rate ratio turned into "about 12% fewer" and a plausible range
"2% to 21% fewer". The rules, each tested in ``tests/test_numbers.py``:

- a change that rounds to zero is "about the same", never "0% fewer", "-0%" or "+0%";
- a range whose ends round to the same figure gets one more decimal place (up to two), and
  only then is written as a single figure;
- a range that crosses no change reads "5% fewer to 8% more", one that stays on one side
  "2% to 21% fewer";
- an end the data cannot bound (``inf`` or 0 for a ratio) reads "no clear upper limit";
- counts such as child-years are rounded to two significant figures and money to a sensible
  unit ("about £1.2 million"), because three-figure precision from a model is false precision
  (ONS, "Communicating uncertainty and change", Government Analysis Function guidance, 2023).

:func:`pct` in :mod:`pipelines.present.wording` formats proportions; this module formats
changes.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

#: Below this (in percentage points of change) a rounded change is "about the same".
_ZERO = 0.5


def clean_zero(value: float) -> float:
    """-0.0 (and anything that rounds to 0 at 12 decimals) becomes 0.0."""
    return 0.0 if abs(value) < 1e-12 else float(value)


def percent_change(rate_ratio: float) -> float:
    """Rate ratio -> signed % change: 0.88 -> -12.0, 1.05 -> 5.0 (never -0.0)."""
    return clean_zero(100 * (rate_ratio - 1))


def _figure(value: float, decimals: int) -> str:
    """The size of a figure, without its sign (the words carry the direction)."""
    return f"{abs(value):.{decimals}f}"


def signed_percent(value: float, decimals: int = 0) -> str:
    """+12% / −3% (a true minus sign), and "0%" without a sign when it rounds to zero."""
    rounded = round(value, decimals)
    if rounded == 0:
        return f"{0:.{decimals}f}%"
    sign = "+" if rounded > 0 else "\u2212"
    return f"{sign}{_figure(rounded, decimals)}%"


def change_words(rate_ratio: float, *, more: str = "more", fewer: str = "fewer") -> str:
    """0.88 -> "about 12% fewer"; 1.004 -> "about the same"; 1.3 -> "about 30% more"."""
    change = percent_change(rate_ratio)
    if abs(change) < _ZERO:
        return "about the same"
    decimals = 0 if abs(change) >= 1 else 1
    return f"about {_figure(change, decimals)}% {fewer if change < 0 else more}"


def range_words(
    lower_ratio: float, upper_ratio: float, *, more: str = "more", fewer: str = "fewer"
) -> str:
    """A rate-ratio interval in words.

    (0.79, 0.98) -> "2% to 21% fewer"; (0.95, 1.08) -> "5% fewer to 8% more";
    (1.02, 1.3) -> "2% to 30% more"; (0.7, inf) -> "30% fewer to no clear upper limit".
    """
    if not lower_ratio <= upper_ratio:
        raise ValueError("The lower end of a range must not exceed the upper end.")
    if math.isinf(upper_ratio) or lower_ratio <= 0:
        low = "no clear lower limit" if lower_ratio <= 0 else _one_figure(lower_ratio, more, fewer)
        high = (
            "no clear upper limit"
            if math.isinf(upper_ratio)
            else _one_figure(upper_ratio, more, fewer)
        )
        return f"{low} to {high}"
    lo, hi = percent_change(lower_ratio), percent_change(upper_ratio)
    for decimals in (0, 1, 2):
        lo_r, hi_r = round(lo, decimals), round(hi, decimals)
        if lo_r != hi_r:
            break
    else:
        return f"about {change_words(lower_ratio, more=more, fewer=fewer).removeprefix('about ')}"
    if hi_r <= 0 and lo_r < 0:  # both below no change: smaller reduction first
        if hi_r == 0:
            return f"no change to {_figure(lo_r, decimals)}% {fewer}"
        return f"{_figure(hi_r, decimals)}% to {_figure(lo_r, decimals)}% {fewer}"
    if lo_r >= 0 and hi_r > 0:
        if lo_r == 0:
            return f"no change to {_figure(hi_r, decimals)}% {more}"
        return f"{_figure(lo_r, decimals)}% to {_figure(hi_r, decimals)}% {more}"
    return f"{_figure(lo_r, decimals)}% {fewer} to {_figure(hi_r, decimals)}% {more}"


def _one_figure(ratio: float, more: str, fewer: str) -> str:
    change = round(percent_change(ratio))
    if change == 0:
        return "no change"
    return f"{abs(change):.0f}% {fewer if change < 0 else more}"


def significant_figures(value: float, figures: int = 2) -> float:
    """634.2 -> 630.0, 12.34 -> 12.0, 0.0456 -> 0.046 (never -0.0)."""
    if value == 0 or not math.isfinite(value):
        return clean_zero(value) if math.isfinite(value) else value
    digits = figures - int(math.floor(math.log10(abs(value)))) - 1
    # Half up, as published statistics round (Python's round() rounds half to even).
    quantum = Decimal(1).scaleb(-digits)
    return clean_zero(float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)))


def count_words(value: float, figures: int = 2) -> str:
    """A modelled count, rounded: 634.2 -> "630", 1234 -> "1,200", 8.6 -> "8.6"."""
    rounded = significant_figures(value, figures)
    if abs(rounded) >= 10 or rounded == int(rounded):
        return f"{rounded:,.0f}"
    return f"{rounded:g}"


def money_words(pounds: float) -> str:
    """£ to two significant figures: 63_412_000 -> "£63 million", 1_234_567 -> "£1.2 million",
    48_500 -> "£49,000"."""
    rounded = significant_figures(pounds, 2)
    if abs(rounded) >= 1_000_000:
        millions = rounded / 1_000_000
        text = f"{millions:.1f}".removesuffix(".0") if abs(millions) < 10 else f"{millions:.0f}"
        return f"£{text} million"
    return f"£{rounded:,.0f}"
