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
  (ONS, "Communicating uncertainty and change", Government Analysis Function guidance, 2023);
- a signed figure (a difference in rate, a correlation) never reads "+0.0" or "-0.0": a value
  that rounds to zero is written "0.0" without a sign, and an interval quoted as "95% CI a to
  b" gets more decimals until its ends differ (:func:`ci_words`);
- a difference that rounds to zero is "less than 0.05 ... either way", never "0.0 per 10,000
  lower".

Every generated sentence goes through these helpers (``pipelines.stats.findings`` too), and
``tests/test_sentence_scan.py`` scans every sentence the sample can produce for the patterns
they exist to prevent.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

#: Below this (in percentage points of change) a rounded change is "about the same".
_ZERO = 0.5


def pct(fraction: float, digits: int = 0) -> str:
    """0.143 -> '14%'; under 1% one decimal ('0.4%'); under 0.05% 'under 0.1%' (never '0.0%').

    The sign is the caller's: the words around it ("lower", "higher") carry the direction.
    """
    value = abs(fraction) * 100
    if digits == 0 and 0 < value < 1:
        return "under 0.1%" if value < 0.05 else f"{value:.1f}%"
    return f"{value:.{digits}f}%"


def signed_number(value: float, decimals: int = 1) -> str:
    """+1.9 / -1.8 (ASCII hyphen, as the findings have always read); a value that rounds to
    zero is "0.0" without a sign, never "+0.0" or "-0.0"."""
    rounded = round(float(value), decimals)
    if rounded == 0:
        return f"{0:.{decimals}f}"
    return f"{rounded:+.{decimals}f}"


def _distinct_decimals(lower: float, upper: float, decimals: int, extra: int = 2) -> int:
    """The fewest decimals from ``decimals`` (up to ``extra`` more) at which the ends differ."""
    for d in range(decimals, decimals + extra + 1):
        if round(lower, d) != round(upper, d):
            return d
    return decimals + extra


def interval_has_width(lower: float, upper: float, decimals: int = 1, extra: int = 2) -> bool:
    """Whether an interval's ends differ once written with up to ``extra`` more decimals than
    ``decimals``: (-1.0, -0.9999999) has none, so it is no interval to quote or to grade by."""
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return False
    return round(lower, decimals + extra) != round(upper, decimals + extra)


def ci_words(
    lower: float, upper: float, decimals: int = 1, *, signed: bool = True, suffix: str = ""
) -> str:
    """ "95% CI -1.8 to +1.9" with no signed zero; ends that round alike get more decimals
    ("95% CI 0.87 to 0.89" rather than "0.9 to 0.9"). An interval of no width is not an
    interval: it reads "no usable 95% interval"."""
    if not interval_has_width(lower, upper, decimals):
        return "no usable 95% interval"
    d = _distinct_decimals(lower, upper, decimals)
    if signed:
        low, high = signed_number(lower, d), signed_number(upper, d)
    else:
        low, high = f"{clean_zero(round(lower, d)):.{d}f}", f"{clean_zero(round(upper, d)):.{d}f}"
    return f"95% CI {low}{suffix} to {high}{suffix}"


def relative_words(fraction: float, *, lower: str = "lower", higher: str = "higher") -> str:
    """-0.14 -> "14% lower", 0.05 -> "5% higher", 0 -> "no change"."""
    if fraction == 0 or not math.isfinite(fraction):
        return "no change" if fraction == 0 else "a change that could not be measured"
    return f"{pct(fraction)} {lower if fraction < 0 else higher}"


def ratio_change_phrase(ratio: float, lower: float, upper: float, noun: str = "") -> str:
    """A rate ratio and its interval: "14% lower (95% CI 6% to 21% lower)".

    When the interval includes 1: "no clear change (2% lower; 95% CI 16% lower to 15%
    higher)". ``noun`` follows lower/higher/change ("than expected"). Ends that round alike get
    one more decimal, so no interval reads "6% to 6% lower".
    """
    tail = f" {noun}" if noun else ""
    if not all(math.isfinite(v) for v in (ratio, lower, upper)):
        return "a change that could not be measured"
    digits = 0
    if upper < 1 or lower > 1:
        low, high = sorted((abs(1 - lower), abs(1 - upper)))
        while digits < 2 and pct(low, digits) == pct(high, digits) and low != high:
            digits += 1
        lo_text, hi_text = pct(low, digits), pct(high, digits)
        if upper < 1:
            return f"{pct(1 - ratio)} lower{tail} (95% CI {lo_text} to {hi_text} lower)"
        return f"{pct(ratio - 1)} higher{tail} (95% CI {lo_text} to {hi_text} higher)"
    centre = "about the same" if abs(ratio - 1) < 0.0005 else relative_words(ratio - 1)
    return (
        f"no clear change{tail} ({centre}; 95% CI {relative_words(lower - 1)} to "
        f"{relative_words(upper - 1)})"
    )


def difference_words(
    value: float, unit: str, *, decimals: int = 1, lower: str = "lower", higher: str = "higher"
) -> str:
    """A difference in a rate: "2.3 per 10,000 children a quarter lower"; one that rounds to
    zero is "less than 0.05 per 10,000 children a quarter either way", never "0.0 ... lower"."""
    if round(abs(value), decimals) == 0:
        return f"less than {0.5 * 10**-decimals:g} {unit} either way"
    return f"{abs(value):.{decimals}f} {unit} {lower if value < 0 else higher}"


def count_range_words(lower: float, upper: float, figures: int = 2) -> str:
    """A modelled range of counts, rounded: (539, 731) -> "540 to 730". Ends that round alike
    get another significant figure (up to 4), so no range reads "630 to 630"."""
    for f in range(figures, figures + 3):
        low, high = count_words(lower, f), count_words(upper, f)
        if low != high:
            return f"{low} to {high}"
    return f"about {count_words(lower, figures + 2)}"


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


def date_words(value) -> str:
    """The one date style people read on screen: 2026-12-01 -> "1 December 2026" (no leading
    zero, the month in full); a datetime loses its time; missing -> "–". ISO dates are for
    CSV downloads only."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    stamp = pd.Timestamp(value)
    return f"{stamp.day} {stamp:%B %Y}"


def date_columns_as_words(frame, columns=None):
    """A copy of ``frame`` with its date columns (``columns``, else every datetime or date
    column) written as :func:`date_words`, for a table shown to people (not for a download)."""
    out = frame.copy()
    if columns is None:
        columns = [
            c
            for c in out.columns
            if pd.api.types.is_datetime64_any_dtype(out[c])
            or (
                out[c].dtype == object
                and len(out[c].dropna())
                and all(isinstance(v, dt.date) for v in out[c].dropna())
            )
        ]
    for column in columns:
        out[column] = out[column].map(date_words)
    return out
