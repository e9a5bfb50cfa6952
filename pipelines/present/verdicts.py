"""A verdict as both surfaces show it: the Board summary and the annual report read this,
and `rp-impact analyse` prints it (:func:`answer_text`, :func:`answer_json`).

One builder, so the sentence, the range, the grade and the caveats read the same on every page
and in every document (issue 13: "one estimate reads the same everywhere").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.analysis.verdict import Verdict
from pipelines.measures import measure
from pipelines.present.numbers import range_words
from pipelines.present.wording import grade_words, long_date

if TYPE_CHECKING:
    from pipelines.analysis.benchmarks import CouncilAnswer

#: What a board member needs to know before reading any verdict.
VERDICT_INTRO = (
    "Each primary outcome in the council's analysis plan gets one verdict, from the strongest "
    "design the data allow (a comparison between localities that started at different times "
    "comes first). The same sentence appears on every page and in the report."
)


#: A verdict's red/amber/green status in words and a symbol as well as a colour (never colour
#: alone), with the rule the Board summary and the brief both state.
VERDICT_STATUS_WORDS = {
    "green": "▲ Green: fewer, clearly",
    "amber": "● Amber: no clear change yet",
    "red": "▼ Red: more, clearly",
    "grey": "– Grey: no verdict",
}
VERDICT_STATUS_RULE = (
    "Green: the verdict shows a clear fall (its 95% range lies wholly below no change, and it "
    "holds once every primary outcome is allowed for). Red: a clear rise. Amber: the range "
    "includes no change, or the fall or rise is not clear once every primary outcome is "
    "allowed for. Grey: no estimate. Fewer children starting care or a plan is improving."
)


def verdict_status(v: Verdict) -> str:
    """Green, amber, red or grey for a verdict (:data:`VERDICT_STATUS_RULE`): the status agrees
    with the sentence, so "possibly fewer, but not clearly" is amber, not green."""
    if v.rate_ratio is None or v.ci_lower is None or v.ci_upper is None:
        return "grey"
    if v.detected and v.ci_upper < 1:
        return "green"
    if v.detected and v.ci_lower > 1:
        return "red"
    return "amber"


@dataclass(frozen=True)
class VerdictView:
    """A verdict laid out for reading: a title, its sentence, and the detail behind it."""

    key: str
    title: str
    sentence: str
    grade: str
    grade_label: str
    #: Why the grade, from what was measured, as a sentence: "No clear change yet (in
    #: simulation its intervals contained the truth 94% of the time ...)."
    grade_meaning: str
    #: The grade and why in one sentence, for a page: "Low confidence: no clear change yet
    #: (in simulation ...)."
    grade_line: str
    details: tuple[str, ...]
    caveats: tuple[str, ...]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def compared_words(v: Verdict) -> str:
    """What the verdict's design compared: "the council and its 9 statistical neighbours
    over 8 years" for the annual comparison, else "6 localities over 40 periods"."""
    if v.design == "controlled":
        used = next((d for d in v.designs_considered if d.design == v.design), None)
        neighbours = (used.n_units or 1) - 1 if used is not None else 0
        compared = _count(neighbours, "statistical neighbour", "statistical neighbours")
        return f"the council and its {compared} over {_count(v.n_periods, 'year', 'years')}"
    return (
        f"{_count(v.n_localities, 'locality', 'localities')} over "
        f"{_count(v.n_periods, 'period', 'periods')}"
    )


def grade_line(label: str, meaning: str) -> str:
    """ "Low confidence: no clear change yet (...)." — one sentence with one capital letter at
    its start (the reason's own first letter lowered, unless it is an acronym like "DfE")."""
    if not meaning:
        return f"{label}."
    first = meaning.split(" ", 1)[0]
    if not any(char.isupper() for char in first[1:]):
        meaning = meaning[:1].lower() + meaning[1:]
    return f"{label}: {meaning}"


def verdict_view(v: Verdict) -> VerdictView:
    """The words for one verdict (numbers already rounded, no signed zeros, no "+0")."""
    details = [f"Design: {v.design_label}." if v.design_label else "No design could run."]
    if v.ci_lower is not None and v.ci_upper is not None:
        details.append(
            f"Plausible range (95% interval): {range_words(v.ci_lower, v.ci_upper)}; "
            f"{compared_words(v)}."
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
    label, meaning = grade_words(v.grade, v.grade_reason)
    return VerdictView(
        key=v.outcome,
        title=measure(v.outcome).label,
        sentence=v.sentence,
        grade=v.grade,
        grade_label=label,
        grade_meaning=meaning,
        grade_line=grade_line(label, meaning),
        details=tuple(d for d in details if d),
        caveats=tuple(v.caveats),
    )


def verdict_views(verdicts: tuple[Verdict, ...] | list[Verdict]) -> list[VerdictView]:
    """:func:`verdict_view` for each verdict, in the plan's order."""
    return [verdict_view(v) for v in verdicts]


# -- `rp-impact analyse` -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars as numbers, dates as ISO text, NaN as null."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def answer_json(answer: CouncilAnswer) -> str:
    """`rp-impact analyse --json`: the answer with each verdict's fields and its wording."""
    verdicts = []
    for v in answer.verdicts:
        view = verdict_view(v)
        verdicts.append(v.to_dict() | {"title": view.title, "details": list(view.details)})
    out = {
        "area_code": answer.area_code,
        "area_name": answer.area_name,
        "rollout_date": answer.rollout_date,
        "rollout_source": answer.rollout_source,
        "note": answer.note,
        "plan": answer.plan_line,
        "verdicts": verdicts,
        "findings": [
            {"key": key, "text": text, "confidence": confidence}
            for key, text, confidence in answer.findings
        ],
    }
    return json.dumps(_plain(out), indent=2, ensure_ascii=False)


def answer_text(answer: CouncilAnswer) -> str:
    """`rp-impact analyse`: the council, its rollout, each verdict with its detail, the note and
    plan line, then the findings, as plain text."""
    rollout = long_date(answer.rollout_date) if answer.rollout_date else "not known"
    lines = [
        f"{answer.area_name} ({answer.area_code})",
        f"Rollout: {rollout} ({answer.rollout_source}).",
        "",
        "Verdicts",
    ]
    for view in verdict_views(answer.verdicts):
        lines.append(f"- {view.title}: {view.sentence} [{view.grade_label}]")
        lines += [f"    {d}" for d in (*view.details, *view.caveats)]
    if not answer.verdicts:
        lines.append("- None.")
    lines += [line for line in (answer.note, answer.plan_line) if line]
    lines += ["", "Findings"]
    for _key, text, confidence in answer.findings:
        lines.append(f"- {text}" + (f" [{confidence} confidence]" if confidence else ""))
    return "\n".join(lines)
