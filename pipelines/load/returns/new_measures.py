"""The measures only child-level returns can give, as data, ready to extend the outcomes contract.

The `outcomes` contract (`pipelines.contracts`) does not hold them yet, so the returns import
computes and previews them but writes only the contract's own columns. Each entry is what the
contract needs to add a count column: name, label, description and the DfE source of its
definition (`pipelines.load.returns.definitions`).

Measures marked `at_year_end` are DfE's year-end measures: they are computed on each 31 March
only (other months hold no value), as DfE publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass

CLA_METHODOLOGY = (
    "DfE, Children looked after in England including adoptions: methodology "
    "(explore-education-statistics.service.gov.uk)"
)
CIN_METHODOLOGY = "DfE, Characteristics of children in need: methodology"


@dataclass(frozen=True)
class NewMeasure:
    name: str
    label: str
    description: str
    source: str
    return_name: str  # "ssda903" | "cin"
    at_year_end: bool = False
    aliases: tuple[str, ...] = ()


NEW_MEASURES: tuple[NewMeasure, ...] = (
    NewMeasure(
        "cla_reentry_starts",
        "Children returning to care within 12 months",
        "Periods of care started in the period by children who had ceased to be looked after "
        "in the 12 months before.",
        CLA_METHODOLOGY + ", returns to care",
        "ssda903",
    ),
    NewMeasure(
        "cla_3plus_placements",
        "Children looked after with 3 or more placements in the year",
        "Children looked after on 31 March who had three or more separate placements during "
        "the year ending that day (short-term placement stability).",
        CLA_METHODOLOGY + ", placement stability",
        "ssda903",
        at_year_end=True,
    ),
    NewMeasure(
        "cla_long_term_eligible",
        "Children under 16 looked after for 2.5 years or more",
        "Children under 16 on 31 March who had been looked after continuously for at least "
        "2.5 years: the base of the long-term stability measure.",
        CLA_METHODOLOGY + ", long-term stability",
        "ssda903",
        at_year_end=True,
    ),
    NewMeasure(
        "cla_long_term_stable",
        "Children in a long-term stable placement",
        "Of those under 16 looked after for 2.5 years or more on 31 March, those in the same "
        "placement for at least 2 years or placed for adoption.",
        CLA_METHODOLOGY + ", long-term stability",
        "ssda903",
        at_year_end=True,
    ),
    NewMeasure(
        "cpp_repeat_2y_starts",
        "Child protection plans starting within 2 years of a previous plan",
        "Plans started in the period by children whose previous plan (in the returns read) "
        "ended within the two years before.",
        CIN_METHODOLOGY + ", second or subsequent plans by time since the previous plan",
        "cin",
    ),
    NewMeasure(
        "cpp_ends_2y_plus",
        "Child protection plans ending after 2 years or more",
        "Plans ended in the period that had lasted two years or more (time on plan).",
        CIN_METHODOLOGY + ", duration of child protection plans",
        "cin",
    ),
)

NEW_MEASURE_NAMES = tuple(m.name for m in NEW_MEASURES)


def new_measures_markdown() -> str:
    """The new measures as a Markdown table (docs/returns.md, the contract's documentation)."""
    lines = ["| measure | label | definition | source |", "|---|---|---|---|"]
    for m in NEW_MEASURES:
        when = " Computed on 31 March only." if m.at_year_end else ""
        lines.append(f"| `{m.name}` | {m.label} | {m.description}{when} | {m.source} |")
    return "\n".join(lines) + "\n"
