"""Data contracts: one declarative definition per dataset that analysts upload.

Validation (`pipelines.load.validate`), the downloadable templates, the warehouse tables and the
contract docs (`docs/data-contracts.md`, the dashboard's contract page) are all generated from
these definitions, so they cannot drift apart. The types and shared columns are in
`pipelines.contract_parts`; the practice evidence's contracts in `pipelines.contracts_practice`.
"""

from __future__ import annotations

from pipelines import contract_parts as parts
from pipelines.contract_parts import (  # noqa: F401  (re-exported: callers import them from here)
    SUPPRESSION_MARKERS,
    Column,
    Contract,
    Rule,
    normalise_header,
)
from pipelines.contracts_practice import PRACTICE_CONTRACTS, PRACTICE_DATASETS
from pipelines.measures import MEASURES, STOCK_MEASURES, UNIT_ALL

_CLA_METHODOLOGY = (
    "DfE, Children looked after in England including adoptions: methodology "
    "(explore-education-statistics.service.gov.uk)"
)
_CIN_METHODOLOGY = "DfE, Characteristics of children in need: methodology"
_YEAR_END = (
    " A year-end measure: counted on 31 March only (other months hold no value), and a count "
    "of looked-after children, not a rate per 10,000 children. Any other period end holds "
    "no value: write `z` (not applicable)."
)

#: Counts that only child-level statutory returns (SSDA903, CIN census) can give; computed by
#: `rp-impact import-903` / `import-cin` (`pipelines.load.returns`), optional in any extract.
RETURN_MEASURES = (
    parts.count_column(
        "cla_reentry_starts",
        "Periods of care started in the period by children who had ceased to be looked after "
        "in the 12 months before (returns to care).",
        ("cla_reentries", "cla_returns_to_care"),
        "1",
        _CLA_METHODOLOGY + ", returns to care",
    ),
    parts.count_column(
        "cla_3plus_placements",
        "Children looked after on 31 March who had three or more separate placements during "
        "the year ending that day (short-term placement stability)." + _YEAR_END,
        ("cla_3_placements",),
        "z",
        _CLA_METHODOLOGY + ", placement stability",
    ),
    parts.count_column(
        "cla_long_term_eligible",
        "Children under 16 on 31 March who had been looked after continuously for at least "
        "2.5 years: the base of the long-term stability measure." + _YEAR_END,
        (),
        "z",
        _CLA_METHODOLOGY + ", long-term stability",
    ),
    parts.count_column(
        "cla_long_term_stable",
        "Of those under 16 looked after for 2.5 years or more on 31 March, those in the same "
        "placement for at least 2 years or placed for adoption (divide by "
        "cla_long_term_eligible for DfE's percentage)." + _YEAR_END,
        (),
        "z",
        _CLA_METHODOLOGY + ", long-term stability",
    ),
    parts.count_column(
        "cpp_repeat_2y_starts",
        "Plans started in the period by children whose previous plan (in the returns read) "
        "ended within the two years before.",
        (),
        "1",
        _CIN_METHODOLOGY + ", second or subsequent plans by time since the previous plan",
    ),
    parts.count_column(
        "cpp_ends_2y_plus",
        "Plans ended in the period that had lasted two years or more (time on plan).",
        (),
        "0",
        _CIN_METHODOLOGY + ", duration of child protection plans",
    ),
)


OUTCOME_MEASURES = (
    parts.count_column(
        "cla_at_period_end",
        "Children looked after on the last day of the period.",
        ("cla", "looked_after", "cla_count", "cla_end"),
        "64",
    ),
    parts.count_column(
        "cla_starts", "Children who started to be looked after in the period.", ("cla_start",), "3"
    ),
    parts.count_column(
        "cla_ceased", "Children who ceased to be looked after in the period.", ("cla_ceases",), "2"
    ),
    parts.count_column(
        "cpp_at_period_end",
        "Children on a child protection plan on the last day of the period.",
        ("cpp", "cp_plans", "cpp_count", "cpp_end"),
        "40",
    ),
    parts.count_column(
        "cpp_starts", "Child protection plans started in the period.", ("cpp_start",), "6"
    ),
    parts.count_column(
        "cpp_ends", "Child protection plans ended in the period.", ("cpp_ended",), "5"
    ),
    parts.count_column(
        "cpp_repeat_starts",
        "Plans started in the period that were a second or subsequent plan.",
        ("cpp_subsequent", "cpp_repeats"),
        "1",
    ),
    parts.count_column(
        "cin_at_period_end",
        "Children in need on the last day of the period.",
        ("cin", "cin_count"),
        "300",
    ),
    parts.count_column(
        "referrals", "Referrals to children's social care in the period.", ("referral",), "40"
    ),
    parts.count_column(
        "rereferrals", "Re-referrals within 12 months in the period.", ("re_referrals",), "9"
    ),
    parts.count_column(
        "fgc_held", "Family group conferences held in the period.", ("fgcs", "fgc"), "2"
    ),
    *RETURN_MEASURES,
)


OUTCOMES = Contract(
    dataset="outcomes",
    title="Outcomes: CLA, CPP and related counts",
    description=(
        "Monthly or quarterly counts of children looked after, child protection plans, children "
        "in need, referrals and family group conferences, for the area or for each locality."
    ),
    columns=(parts.PERIOD_END, parts.AREA, parts.UNIT, parts.AGE_BAND, *OUTCOME_MEASURES),
    key=("period_end", "area_code", "unit", "age_band"),
    value_columns=tuple(c.name for c in OUTCOME_MEASURES),
    min_value_columns=1,
    rules=(
        parts.MISSING_COLUMN,
        Rule("no_value_columns", "error", "At least one count column is present."),
        *parts.PERIODIC_COUNT_RULES,
        Rule("duplicate_key", "error", "Each period, area, unit and age band appears once."),
        Rule("unit_sum_above_all", "warning", "Localities do not add up to more than the All row."),
        Rule("age_bands_not_all", "warning", "Age bands add up to the All row."),
        Rule("jump_over_50pct", "warning", "No count changes by more than 50% quarter on quarter."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
        Rule(
            "period_cadence",
            "error",
            "Periods are monthly, or quarterly ending in March, June, September or December: "
            "annual or irregular rows (such as DfE's 31 March figures) are refused and pointed "
            "to `rp-impact import-dfe`.",
        ),
        Rule(
            "period_gap",
            "warning",
            "No months are missing inside the file, or between the warehouse's latest period "
            "for the area and the file's first.",
        ),
        parts.UNIT_UNKNOWN,
    ),
)

TRAINING = Contract(
    dataset="training",
    title="Training: staff trained in Restorative Practice",
    description=(
        "Cumulative number of staff trained, against staff in scope, by locality, agency and course."
    ),
    columns=(
        parts.PERIOD_END,
        parts.AREA,
        parts.UNIT,
        Column(
            "agency",
            "text",
            "Agency, e.g. Children's social care, Early help, Police, Health, Education, "
            "Voluntary sector.",
            aliases=("organisation", "partner", "sector"),
            default=UNIT_ALL,
            example="Police",
        ),
        Column(
            "course",
            "text",
            "Course, e.g. Awareness, Practitioner, Leadership.",
            aliases=("training", "course_name", "level"),
            default=UNIT_ALL,
            example="Practitioner",
        ),
        parts.count_column(
            "staff_in_scope", "Staff who should complete the course.", ("in_scope",), "40"
        ),
        parts.count_column(
            "staff_trained",
            "Staff who have completed it so far (cumulative).",
            ("trained", "completed"),
            "25",
        ),
    ),
    key=("period_end", "area_code", "unit", "agency", "course"),
    value_columns=("staff_in_scope", "staff_trained"),
    min_value_columns=2,
    rules=(
        parts.MISSING_COLUMN,
        *parts.PERIODIC_COUNT_RULES,
        Rule("duplicate_key", "error", "Each period, area, unit, agency and course appears once."),
        Rule("trained_above_scope", "error", "staff_trained is not more than staff_in_scope."),
        Rule("trained_fell", "warning", "Cumulative staff_trained does not fall."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
        parts.UNIT_UNKNOWN,
    ),
)

ROLLOUT = Contract(
    dataset="rollout",
    title="Rollout: when each locality started",
    description="The date each locality or team started (and completed) the programme, and its wave.",
    columns=(
        parts.AREA,
        parts.UNIT,
        Column(
            "programme",
            "text",
            "Programme name.",
            aliases=("program", "intervention"),
            default="Restorative Practice",
            example="Restorative Practice",
        ),
        Column("wave", "wave", "Rollout wave (1, 2, 3...).", aliases=("cohort",), example="1"),
        Column(
            "start_date",
            "date",
            "Date the locality started the programme.",
            required=True,
            aliases=("start", "rollout_date", "go_live"),
            example="2019-10-01",
        ),
        Column(
            "complete_date",
            "date",
            "Date rollout was complete (optional).",
            aliases=("complete", "end_date", "completed"),
            example="2020-09-30",
        ),
    ),
    key=("area_code", "unit", "programme"),
    value_columns=("wave", "start_date", "complete_date"),
    rules=(
        parts.MISSING_COLUMN,
        parts.DATE_INVALID,
        Rule("date_ambiguous", "warning", "Dates like 03/04/2023 are read as day/month (UK)."),
        parts.AREA_INVALID,
        Rule("wave_invalid", "error", "wave is a whole number, 1 or more."),
        Rule("complete_before_start", "error", "start_date is on or before complete_date."),
        Rule("duplicate_key", "error", "One start per unit and programme."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
    ),
)

POPULATION = Contract(
    dataset="population",
    title="Population: children aged 0-17",
    description=(
        "Mid-year estimates of children aged 0-17. The rate for a period uses the latest "
        "mid-year estimate at or before it; the year ending 31 March Y uses mid-(Y-1), as DfE does."
    ),
    columns=(
        Column(
            "year",
            "year",
            "Mid-year (30 June) of the estimate.",
            required=True,
            aliases=("mid_year", "time_period"),
            example="2023",
        ),
        parts.AREA,
        parts.UNIT,
        parts.AGE_BAND,
        Column(
            "population_0_17",
            "count",
            "Children aged 0-17 (or in the age band).",
            required=True,
            aliases=("population", "population_estimate", "children", "pop"),
            example="18250",
        ),
    ),
    key=("year", "area_code", "unit", "age_band"),
    value_columns=("population_0_17",),
    rules=(
        parts.MISSING_COLUMN,
        Rule("count_not_integer", "error", "Counts are whole numbers."),
        parts.COUNT_NEGATIVE,
        Rule("population_not_positive", "error", "population_0_17 is more than 0."),
        Rule("year_invalid", "error", "year is a four-digit year, not in the future."),
        parts.AREA_INVALID,
        Rule("duplicate_key", "error", "Each year, area, unit and age band appears once."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
    ),
)

AREAS = Contract(
    dataset="areas",
    title="Areas: council codes and names",
    description="Council areas with their ONS code, DfE three-digit code and region.",
    columns=(
        Column(
            "area_code",
            "area",
            "ONS code of the council (E06000021).",
            required=True,
            aliases=("new_la_code", "la_code", "ons_code"),
            example="E06999901",
        ),
        Column(
            "area_name",
            "text",
            "Council name.",
            required=True,
            aliases=("la_name", "name"),
            example="Northmoor",
        ),
        Column(
            "old_la_code", "text", "DfE three-digit LA code.", aliases=("la_number",), example="991"
        ),
        Column("region_code", "text", "ONS region code.", example="E12999901"),
        Column(
            "region_name", "text", "Region name.", aliases=("region",), example="North Fictional"
        ),
    ),
    key=("area_code",),
    value_columns=("area_name", "old_la_code", "region_code", "region_name"),
    rules=(
        parts.MISSING_COLUMN,
        Rule("area_invalid", "error", "area_code is an ONS code (a letter and eight digits)."),
        Rule("old_code_invalid", "error", "old_la_code is three digits."),
        Rule("duplicate_key", "error", "Each area appears once."),
        parts.UNKNOWN_COLUMN,
        parts.COLUMN_MISSPELT,
    ),
)


CONTRACTS: dict[str, Contract] = {
    c.dataset: c
    for c in (
        OUTCOMES,
        TRAINING,
        ROLLOUT,
        POPULATION,
        AREAS,
        *PRACTICE_CONTRACTS,
    )
}

# The vocabulary (`pipelines.measures`) and the contract name the same outcome measures.
if set(MEASURES) != set(OUTCOMES.value_columns) or not set(STOCK_MEASURES) <= set(MEASURES):
    raise AssertionError("pipelines.measures.MEASURES must name the outcomes contract's counts.")

# Load order for a folder: reference data first so codes and populations are known.
LOAD_ORDER = ("areas", "population", "rollout", "outcomes", "training", *PRACTICE_DATASETS)


def contract_for(dataset: str) -> Contract:
    try:
        return CONTRACTS[dataset]
    except KeyError:
        known = ", ".join(CONTRACTS)
        raise ValueError(f"Unknown dataset '{dataset}'. Known datasets: {known}.") from None


def template_csv(dataset: str) -> str:
    """A CSV template with the header and one example row, generated from the contract."""
    contract = contract_for(dataset)
    header = ",".join(contract.column_names)
    example = ",".join(c.example for c in contract.columns)
    return f"{header}\n{example}\n"


def contracts_markdown() -> str:
    """The data contracts as Markdown; `docs/data-contracts.md` is this text."""
    lines = [
        "# Data contracts",
        "",
        "Generated from `pipelines/contracts.py` by `rp-impact contracts`; do not edit by hand.",
        "",
        "General rules for every extract:",
        "",
        "- CSV (UTF-8 with or without BOM, or Windows-1252; comma, semicolon or tab) or XLSX "
        "(the header row may sit below a title block).",
        "- Headers match case-, space- and underscore-insensitively; aliases are listed below.",
        "- Dates are `YYYY-MM-DD` or UK `DD/MM/YYYY`.",
        "- Suppressed or missing values ("
        + ", ".join(f"`{m}`" for m in SUPPRESSION_MARKERS if m)
        + ", or empty) are stored as NULL with the marker as the reason, never as 0.",
        "- `unit` is a locality or team; empty means the whole area (`All`).",
        "- Notes below an XLSX table (text in the first column only, after the data rows) are "
        "skipped, with a note saying which rows.",
        "- Every message names the file, the row as Excel counts it and the column; a warning "
        "about a row also names its area, unit, age band and period. Loading a file that is "
        "already loaded changes nothing and names the upload that loaded it.",
        "",
    ]
    for contract in CONTRACTS.values():
        lines += [f"## `{contract.dataset}`: {contract.title}", "", contract.description, ""]
        lines += [f"Key: {', '.join(f'`{k}`' for k in contract.key)}.", ""]
        lines += ["| column | type | required | aliases | description |", "|---|---|---|---|---|"]
        for c in contract.columns:
            required = "yes" if c.required else (f"default `{c.default}`" if c.default else "no")
            aliases = ", ".join(f"`{a}`" for a in c.aliases)
            text = f"{c.description} Source: {c.source}." if c.source else c.description
            lines.append(f"| `{c.name}` | {c.kind} | {required} | {aliases} | {text} |")
        lines += ["", "| rule | severity | what it checks |", "|---|---|---|"]
        for r in contract.rules:
            lines.append(f"| `{r.code}` | {r.severity} | {r.description} |")
        lines.append("")
    return "\n".join(lines)
