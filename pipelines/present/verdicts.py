"""A verdict as both surfaces show it: the Board summary and the annual report read this.

One builder, so the sentence, the range, the grade and the caveats read the same on every page
and in every document (issue 13: "one estimate reads the same everywhere").
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.analysis.verdict import Verdict
from pipelines.measures import measure
from pipelines.present.numbers import range_words
from pipelines.present.wording import CONFIDENCE_LABEL, CONFIDENCE_MEANING

#: What a board member needs to know before reading any verdict.
VERDICT_INTRO = (
    "Each primary outcome in the council's analysis plan gets one verdict, from the strongest "
    "design the data allow (a comparison between localities that started at different times "
    "comes first). The same sentence appears on every page and in the report."
)


@dataclass(frozen=True)
class VerdictView:
    """A verdict laid out for reading: a title, its sentence, and the detail behind it."""

    key: str
    title: str
    sentence: str
    grade: str
    grade_label: str
    grade_meaning: str
    details: tuple[str, ...]
    caveats: tuple[str, ...]


def verdict_view(v: Verdict) -> VerdictView:
    """The words for one verdict (numbers already rounded, no signed zeros, no "+0")."""
    details = [f"Design: {v.design_label}." if v.design_label else "No design could run."]
    if v.ci_lower is not None and v.ci_upper is not None:
        details.append(
            f"Plausible range (95% interval): {range_words(v.ci_lower, v.ci_upper)}; "
            f"{v.n_localities} localities over {v.n_periods} periods."
        )
    if v.p_adjusted is not None:
        details.append(
            f"Chance of a difference this large with no change at all: {v.p_adjusted:.2f}, "
            "allowing for every primary outcome (Holm)."
        )
    if v.mde_percent is not None:
        details.append(
            f"Smallest change this design would show 4 times in 5: about {v.mde_percent:.0f}%."
        )
    details.append(v.grade_reason)
    return VerdictView(
        key=v.outcome,
        title=measure(v.outcome).label,
        sentence=v.sentence,
        grade=v.grade,
        grade_label=CONFIDENCE_LABEL.get(v.grade, v.grade.capitalize()),
        grade_meaning=CONFIDENCE_MEANING.get(v.grade, ""),
        details=tuple(d for d in details if d),
        caveats=tuple(v.caveats),
    )


def verdict_views(verdicts: tuple[Verdict, ...] | list[Verdict]) -> list[VerdictView]:
    """:func:`verdict_view` for each verdict, in the plan's order."""
    return [verdict_view(v) for v in verdicts]
