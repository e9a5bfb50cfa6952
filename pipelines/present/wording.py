"""One vocabulary for numbers, dates and confidence, shared by every page and the report.

Each helper exists once here; the dashboard, the report, the findings and the CLI import it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

# Numbers are formatted in one place; ``pct`` is re-exported for the callers that word dates
# and percentages together.
from pipelines.present.numbers import date_words, pct, signed_number, signed_percent

__all__ = [
    "CONFIDENCE_LABEL",
    "CONFIDENCE_MEANING",
    "grade_words",
    "fy_label",
    "is_missing",
    "long_date",
    "month_label",
    "ordinal",
    "pct",
    "plural",
    "slug",
]

#: The grade a finding carries → (the label shown beside it, what it means in plain English).
_CONFIDENCE_WORDS = {
    "high": ("High confidence", "We can be fairly confident in this."),
    "moderate": ("Moderate confidence", "Treat this with some caution."),
    "low": ("Low confidence", "The estimate is too uncertain to rely on yet."),
}
CONFIDENCE_LABEL = {grade: label for grade, (label, _) in _CONFIDENCE_WORDS.items()}
CONFIDENCE_MEANING = {grade: meaning for grade, (_, meaning) in _CONFIDENCE_WORDS.items()}


def grade_words(confidence: Any, reason: str | None = None) -> tuple[str, str]:
    """A finding's grade as the label shown and the reason beside it, the same on the Board and
    in the report: the finding's own reason (for a graded-down estimate, its measured coverage
    in simulation) without the label repeated, else what the grade means in plain English."""
    grade = str(confidence).lower()
    label = CONFIDENCE_LABEL.get(grade, str(confidence).capitalize())
    reason = reason or ""
    if reason.lower().startswith(label.lower()):
        reason = reason[len(label) :].lstrip(" :.")
    elif reason.lower().startswith(f"{grade}:"):  # a verdict's "Low: no clear change yet"
        reason = reason[len(grade) + 1 :].lstrip(" .")
    reason = reason[:1].upper() + reason[1:]
    return label, reason or CONFIDENCE_MEANING.get(grade, "")


def is_missing(value: Any) -> bool:
    """None, NaN and pandas' NA/NaT (a date is never missing)."""
    if value is None or value is pd.NaT:  # NaT is a datetime subclass, so test it first
        return True
    if isinstance(value, dt.date):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fy_label(year: int) -> str:
    """DfE's time_period 2026 (the year ending 31 March 2026) as '2025-26'."""
    return f"{int(year) - 1}-{int(year) % 100:02d}"


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plural(n: int, word: str) -> str:
    """3, 'quarter' -> '3 quarters'; 1, 'quarter' -> '1 quarter'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def long_date(value: Any) -> str:
    """2026-12-01 -> '1 December 2026'; missing -> '–' (the one date style:
    :func:`pipelines.present.numbers.date_words`)."""
    return "–" if is_missing(value) else date_words(value)


def month_label(value: Any) -> str:
    """2026-06-30 -> 'Jun 2026'; missing -> '–'."""
    return "–" if is_missing(value) else f"{pd.Timestamp(value):%b %Y}"


def slug(text: str, fallback: str) -> str:
    """A name for an id or a file: lower case, hyphens, at most 60 characters; `fallback` when
    nothing is left ("data" for a download, "item" for an element of the report)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or fallback


def its_step_title(scale: str, estimate: float, lower: float, upper: float) -> str:
    """The ITS chart's title: the step at rollout and its 95% interval, with no signed zero.

    ``scale`` is the level change's scale: "rate ratio" (a ratio, 0.88 is a 12% step down) or
    a difference in the series' own units.
    """
    if scale == "rate ratio":
        change = (estimate - 1) * 100
        if round(change) == 0:
            step = "After the rollout the rate showed no step against the trend"
        else:
            step = (
                f"After the rollout the rate stepped {'down' if change < 0 else 'up'} by "
                f"{abs(change):.0f}% against the trend"
            )
        return (
            f"{step} (95% CI {signed_percent((lower - 1) * 100)} to "
            f"{signed_percent((upper - 1) * 100)})"
        )
    return (
        f"Level change at rollout {signed_number(estimate)} "
        f"(95% CI {signed_number(lower)} to {signed_number(upper)})"
    )
