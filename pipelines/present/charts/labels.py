"""The words on charts and tiles: titles wrapped for a phone, source lines, SPC icon text.

Making Data Count's variation and assurance icons are given as a symbol and a sentence, so the
meaning never rests on an icon's colour or shape alone (NHS England, "Making data count:
strengthening your decisions", 2019; WCAG 2.2, success criterion 1.4.1).
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap

from pipelines.present.numbers import ci_words, signed_number
from pipelines.present.wording import long_date

TITLE_WIDTH = 40  # characters per title line: fits a 390 px phone screen

VARIATION_TEXT = {
    "common_cause": ("≈", "Common cause variation: no significant change"),
    "special_cause_improvement_high": ("▲", "Special cause variation: improvement (higher)"),
    "special_cause_improvement_low": ("▼", "Special cause variation: improvement (lower)"),
    "special_cause_concern_high": ("▲", "Special cause variation: concern (higher)"),
    "special_cause_concern_low": ("▼", "Special cause variation: concern (lower)"),
    "special_cause_neutral_high": ("▲", "Special cause variation: higher (neither good nor bad)"),
    "special_cause_neutral_low": ("▼", "Special cause variation: lower (neither good nor bad)"),
}
ASSURANCE_TEXT = {
    "consistent_pass": ("✔", "The target will consistently be met"),
    "consistent_fail": ("✘", "The target will consistently be missed"),
    "hit_or_miss": ("?", "The target may or may not be met (hit and miss)"),
}


def _icon_text(icon: str, table: dict[str, tuple[str, str]]) -> str:
    symbol, text = table.get(icon, ("•", icon.replace("_", " ")))
    return f"{symbol} {text}"


def variation_label(icon: str | None) -> str:
    """Plain-English text with a symbol for a Making Data Count variation icon."""
    return _icon_text(icon, VARIATION_TEXT) if icon else "No SPC assessment"


def variation_with_change(
    icon: str | None,
    change: float | None,
    lower: float | None,
    upper: float | None,
    unit: str = "",
) -> str:
    """A tile's SPC line, read beside the change it sits under.

    A special-cause signal is what the SPC rules saw in the points (a point beyond a limit, a
    run, a trend), not an estimate of change: when the change's 95% interval includes zero
    (+0.1 points, 95% CI -1.8 to +1.9), the signal is not worded as an improvement or a
    concern, and the line says the change is within its interval. Otherwise it is
    :func:`variation_label`.
    """
    label = variation_label(icon)
    spans_zero = (
        change is not None
        and lower is not None
        and upper is not None
        and all(math.isfinite(float(v)) for v in (change, lower, upper))
        and float(lower) <= 0 <= float(upper)
    )
    if not icon or not icon.startswith("special_cause") or not spans_zero:
        return label
    direction = "higher" if icon.endswith("_high") else "lower"
    symbol = label.split(" ", 1)[0]
    unit_text = f" {unit}" if unit else ""
    return (
        f"{symbol} Special cause variation ({direction}): the SPC rules flag the recent points "
        f"as unusual, but the change of {signed_number(float(change))}{unit_text} "
        f"({ci_words(float(lower), float(upper))}) is within the range of chance (its interval "
        "includes no change), so it is not a clear improvement or concern"
    )


def assurance_label(icon: str | None) -> str:
    """Plain-English text with a symbol for a Making Data Count assurance icon."""
    return _icon_text(icon, ASSURANCE_TEXT) if icon else "No target set"


def headline_value(rate: float | None, unit_label: str = "") -> str:
    """A tile's big number: '70.4' (the unit goes in the label) or '74.3%'; 'No figure'."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "No figure"
    if unit_label.startswith("%"):
        return f"{rate:.1f}%"
    return f"{rate:,.1f}"


def source_line(
    dataset: str = "",
    last_upload: dt.date | dt.datetime | str | None = None,
    population: str | None = None,
) -> str:
    """'Source: ... · last upload 3 July 2026 · mid-year population 2024' for a chart footer."""
    parts = [f"Source: {dataset}" if dataset else "Source: rp-impact warehouse"]
    if last_upload:
        when = last_upload
        if isinstance(when, dt.datetime | dt.date):
            when = long_date(when)
        parts.append(f"last upload {when}")
    if population:
        parts.append(population)
    return " · ".join(parts)


def wrap(text: str, width: int = TITLE_WIDTH) -> str:
    """Wrap a title into `<br>`-separated lines so it fits narrow screens."""
    return "<br>".join(textwrap.wrap(text, width=width)) or text
