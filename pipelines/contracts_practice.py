"""Data contracts for the practice evidence: practice framework, case-file audits, family
feedback and Family Group Conference outcomes (registered in `pipelines.contracts`).

Restorative Practice is a claim about how practitioners work, so these datasets measure the
mechanism between training and outcomes. Principles and survey statements are the council's
own (`practice_framework`); Devon's Five Rs and four standard statements are the defaults.
Every dataset is counts only: the guard refuses free-text comments.
"""

from __future__ import annotations

from pipelines import contract_parts as parts
from pipelines.contract_parts import Column, Contract, Rule
from pipelines.measures import UNIT_ALL

#: The four Ofsted-style grades a case-file audit gives (the `judgement` values that are grades).
AUDIT_GRADES = ("Outstanding", "Good", "Requires improvement", "Inadequate")
#: Devon's "Five Rs": the practice principles an audit judges when a council sets none.
DEFAULT_PRINCIPLES = ("Relational", "Respect", "Responsibility", "Resilience", "Reflective")
#: The survey statements families are asked to agree with when a council sets none.
DEFAULT_STATEMENTS = (
    "I was listened to",
    "I understood what was happening and why",
    "I was involved in decisions about my family",
    "I was treated with respect",
)
#: Who answered a family feedback survey (`respondent` values; `All` is both together).
RESPONDENTS = ("Parent or carer", "Child or young person")
_SMALL_SAMPLE_NOTE = (
    "Counts of 1-4 are suppressed wherever a viewer sees them, so small teams should report "
    "by quarter rather than by month."
)

PRACTICE_FRAMEWORK = Contract(
    dataset="practice_framework",
    title="Practice framework: the principles audits judge and the statements families rate",
    description=(
        "A council's own practice principles and survey statements. Without this file, audits "
        "are judged against Devon's Five Rs (" + ", ".join(DEFAULT_PRINCIPLES) + ") and the "
        "survey uses four statements (" + "; ".join(DEFAULT_STATEMENTS) + "). Loading it "
        "replaces the defaults for the area; renaming a principle starts a new series."
    ),
    columns=(
        parts.AREA,
        Column(
            "kind",
            "text",
            "principle (judged in case-file audits) or statement (rated by families).",
            required=True,
            aliases=("type", "item_type"),
            example="principle",
        ),
        Column(
            "name",
            "text",
            "The principle or statement as it should be shown, e.g. Relational.",
            required=True,
            aliases=("principle", "statement", "label"),
            example="Relational",
        ),
        parts.count_column(
            "position",
            "Order to show it in (1, 2, 3...); without it, principles are shown by name.",
            ("order", "rank"),
            "1",
        ),
    ),
    key=("area_code", "kind", "name"),
    value_columns=("position",),
    rules=(
        parts.MISSING_COLUMN,
        parts.AREA_INVALID,
        parts.COUNT_NOT_INTEGER,
        Rule("kind_unknown", "error", "kind is principle or statement."),
        Rule("duplicate_key", "error", "Each principle or statement appears once per area."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
    ),
)

PRACTICE_AUDIT = Contract(
    dataset="practice_audit",
    title="Practice audits: case-file audit grades and practice principles met",
    description=(
        "Case-file audits completed in each period and unit, one row per judgement: each of "
        "the four grades (" + ", ".join(AUDIT_GRADES) + ") with the audits given it, and each "
        "practice principle with the audits judged to meet it. " + _SMALL_SAMPLE_NOTE
    ),
    columns=(
        parts.PERIOD_END,
        parts.AREA,
        parts.UNIT,
        Column(
            "judgement",
            "text",
            "A grade (" + ", ".join(AUDIT_GRADES) + ") or a practice principle of the "
            "council's framework (default: " + ", ".join(DEFAULT_PRINCIPLES) + ").",
            required=True,
            aliases=("grade", "principle", "criterion"),
            example="Good",
        ),
        parts.count_column(
            "audits_completed",
            "Case-file audits completed in the period and unit (the same on every row of it).",
            ("audits", "cases_audited"),
            "12",
        ),
        parts.count_column(
            "audits_judged",
            "Audits given this grade, or judged to meet this principle.",
            ("audits_meeting", "count", "number"),
            "5",
        ),
    ),
    key=("period_end", "area_code", "unit", "judgement"),
    value_columns=("audits_completed", "audits_judged"),
    min_value_columns=2,
    rules=(
        parts.MISSING_COLUMN,
        *parts.PERIODIC_COUNT_RULES,
        Rule("duplicate_key", "error", "Each period, area, unit and judgement appears once."),
        Rule(
            "judgement_unknown",
            "error",
            "judgement is one of the four grades or a principle of the area's framework.",
        ),
        Rule("judged_above_completed", "error", "audits_judged is not more than audits_completed."),
        Rule(
            "completed_differs",
            "error",
            "audits_completed is the same on every row of a period and unit.",
        ),
        Rule("grades_not_total", "warning", "The four grades add up to audits_completed."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
        parts.UNIT_UNKNOWN,
    ),
)

FAMILY_FEEDBACK = Contract(
    dataset="family_feedback",
    title="Family feedback: survey responses and agreement with each statement",
    description=(
        "Responses to the family feedback survey in each period and unit, by who answered "
        "(" + ", ".join(RESPONDENTS) + ", or All), one row per statement, with how many "
        "agreed. Counts only: free-text comments are never accepted. " + _SMALL_SAMPLE_NOTE
    ),
    columns=(
        parts.PERIOD_END,
        parts.AREA,
        parts.UNIT,
        Column(
            "respondent",
            "text",
            "Who answered: " + ", ".join(RESPONDENTS) + ", or All.",
            aliases=("respondent_type", "who_responded"),
            default=UNIT_ALL,
            example="Parent or carer",
        ),
        Column(
            "statement",
            "text",
            "A statement of the council's framework (default: "
            + "; ".join(DEFAULT_STATEMENTS)
            + ").",
            required=True,
            aliases=("question", "item"),
            example="I was listened to",
        ),
        parts.count_column(
            "responses",
            "People who answered this statement.",
            ("respondents", "answered"),
            "25",
        ),
        parts.count_column(
            "agreed",
            "Of them, those who agreed or strongly agreed.",
            ("agree", "agreed_count"),
            "18",
        ),
    ),
    key=("period_end", "area_code", "unit", "respondent", "statement"),
    value_columns=("responses", "agreed"),
    min_value_columns=2,
    rules=(
        parts.MISSING_COLUMN,
        *parts.PERIODIC_COUNT_RULES,
        Rule(
            "duplicate_key",
            "error",
            "Each period, area, unit, respondent and statement appears once.",
        ),
        Rule(
            "statement_unknown",
            "error",
            "statement is one of the area's framework statements.",
        ),
        Rule(
            "respondent_unknown",
            "error",
            "respondent is Parent or carer, Child or young person, or All.",
        ),
        Rule("agreed_above_responses", "error", "agreed is not more than responses."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
        parts.UNIT_UNKNOWN,
    ),
)

_FGC_FOLLOW_UP = (
    " Leave it empty until the time has passed, or where the council does not record it."
)
FGC_OUTCOMES = Contract(
    dataset="fgc_outcomes",
    title="Family Group Conferences: offered, held, plans agreed and children still at home",
    description=(
        "Family Group Conferences (FGCs) in each period and unit: offered, held, and with a "
        "family plan agreed, and, where the council follows children up, how many of the "
        "children whose conference was held in the period were still living in their family "
        "network 6 and 12 months later. " + _SMALL_SAMPLE_NOTE
    ),
    columns=(
        parts.PERIOD_END,
        parts.AREA,
        parts.UNIT,
        parts.count_column(
            "fgc_offered", "FGCs offered to families in the period.", ("offered",), "6"
        ),
        parts.count_column("fgc_held", "FGCs held in the period.", ("held", "fgcs_held"), "4"),
        parts.count_column(
            "family_plan_agreed",
            "FGCs held in the period that ended with a family plan agreed.",
            ("plan_agreed", "plans_agreed"),
            "3",
        ),
        parts.count_column(
            "children_in_fgcs",
            "Children the conferences held in the period were about.",
            ("children",),
            "7",
        ),
        parts.count_column(
            "children_followed_6m",
            "Of those children, those whose living situation is known 6 months after the "
            "conference." + _FGC_FOLLOW_UP,
            ("followed_up_6m",),
            "7",
        ),
        parts.count_column(
            "in_network_6m",
            "Of those followed up at 6 months, those living with their family or family "
            "network (not looked after)." + _FGC_FOLLOW_UP,
            ("living_in_network_6m",),
            "6",
        ),
        parts.count_column(
            "children_followed_12m",
            "Of those children, those whose living situation is known 12 months after the "
            "conference." + _FGC_FOLLOW_UP,
            ("followed_up_12m",),
            "7",
        ),
        parts.count_column(
            "in_network_12m",
            "Of those followed up at 12 months, those living with their family or family "
            "network (not looked after)." + _FGC_FOLLOW_UP,
            ("living_in_network_12m",),
            "5",
        ),
    ),
    key=("period_end", "area_code", "unit"),
    value_columns=(
        "fgc_offered",
        "fgc_held",
        "family_plan_agreed",
        "children_in_fgcs",
        "children_followed_6m",
        "in_network_6m",
        "children_followed_12m",
        "in_network_12m",
    ),
    min_value_columns=2,
    rules=(
        parts.MISSING_COLUMN,
        *parts.PERIODIC_COUNT_RULES,
        Rule("duplicate_key", "error", "Each period, area and unit appears once."),
        Rule(
            "fgc_not_nested",
            "error",
            "Each count is not more than the one it is part of: held <= offered, plan agreed "
            "<= held, followed up <= children, in network <= followed up.",
        ),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
        parts.UNIT_UNKNOWN,
    ),
)

#: Each nested FGC count and the count it is part of (rule `fgc_not_nested`).
FGC_NESTING = (
    ("fgc_held", "fgc_offered"),
    ("family_plan_agreed", "fgc_held"),
    ("children_followed_6m", "children_in_fgcs"),
    ("in_network_6m", "children_followed_6m"),
    ("children_followed_12m", "children_in_fgcs"),
    ("in_network_12m", "children_followed_12m"),
)


PRACTICE_CONTRACTS = (PRACTICE_FRAMEWORK, PRACTICE_AUDIT, FAMILY_FEEDBACK, FGC_OUTCOMES)
PRACTICE_DATASETS = ("practice_framework", "practice_audit", "family_feedback", "fgc_outcomes")
