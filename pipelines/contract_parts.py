"""The building blocks every data contract is made of: the column, rule and contract types, the
columns most datasets share (period end, area, unit, age band) and the rules several check.

The contracts themselves are in `pipelines.contracts` (outcomes, training, rollout, population,
areas) and `pipelines.contracts_practice` (practice audits, family feedback, FGCs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pipelines.measures import UNIT_ALL

ColumnKind = Literal["date", "area", "text", "count", "year", "wave"]
Severity = Literal["error", "warning"]

# Markers that mean "suppressed or missing": stored as NULL with the marker as the reason.
SUPPRESSION_MARKERS = (
    "c",
    "x",
    "z",
    "u",
    "k",
    "low",
    ":",
    "*",
    "<5",
    "[c]",
    "[x]",
    "[z]",
    "[u]",
    "[k]",
    "[low]",
    "",
)


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    description: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    default: str | None = None
    example: str = ""
    #: Where the definition comes from (the docs show it after the description).
    source: str = ""

    @property
    def sql_type(self) -> str:
        return {
            "date": "DATE",
            "area": "VARCHAR",
            "text": "VARCHAR",
            "count": "BIGINT",
            "year": "INTEGER",
            "wave": "INTEGER",
        }[self.kind]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    description: str


@dataclass(frozen=True)
class Contract:
    dataset: str
    title: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[Rule, ...]
    min_value_columns: int = 0
    value_columns: tuple[str, ...] = field(default=())

    @property
    def table(self) -> str:
        return f"fct_{self.dataset}"

    @property
    def history_table(self) -> str:
        return f"hist_{self.dataset}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def nullable_value_columns(self) -> tuple[str, ...]:
        """Value columns that may hold a suppression marker (stored as NULL plus a reason)."""
        return tuple(c.name for c in self.columns if c.kind == "count" and c.name not in self.key)

    def rule(self, code: str) -> Rule:
        return next(r for r in self.rules if r.code == code)


def normalise_header(text: str) -> str:
    """Headers match case-, space-, hyphen- and underscore-insensitively."""
    return re.sub(r"[\s_\-]+", "", str(text).strip().lstrip("\ufeff").lower())


PERIOD_END = Column(
    "period_end",
    "date",
    "Last day of the month or quarter the figures describe (YYYY-MM-DD or DD/MM/YYYY).",
    required=True,
    aliases=("period", "period_ending", "month_end", "quarter_end", "date"),
    example="2024-06-30",
)
AREA = Column(
    "area_code",
    "area",
    "ONS code of the council area (e.g. E06000021); DfE's three-digit old_la_code is accepted.",
    required=True,
    aliases=("la_code", "new_la_code", "old_la_code", "ons_code", "lad_code", "area"),
    example="E06999901",
)
UNIT = Column(
    "unit",
    "text",
    "Locality or team. Leave empty (or All) for the whole area.",
    aliases=("locality", "team", "district", "hub"),
    default=UNIT_ALL,
    example="Ashby",
)
AGE_BAND = Column(
    "age_band",
    "text",
    "Age band of the children counted (e.g. Under 1, 1-4, 5-9, 10-15, 16-17), or All.",
    aliases=("age", "age_group", "ageband"),
    default=UNIT_ALL,
    example="All",
)


def count_column(
    name: str,
    description: str,
    aliases: tuple[str, ...] = (),
    example: str = "12",
    source: str = "",
):
    return Column(name, "count", description, aliases=aliases, example=example, source=source)


# Rules several contracts share, written once (each contract lists the ones it checks).
MISSING_COLUMN = Rule("missing_column", "error", "Every required column is present.")
COUNT_NOT_INTEGER = Rule("count_not_integer", "error", "Counts are whole numbers, 0 or more.")
COUNT_NEGATIVE = Rule("count_negative", "error", "Counts are not negative.")
DATE_INVALID = Rule("date_invalid", "error", "Dates are YYYY-MM-DD or DD/MM/YYYY.")
PERIOD_NOT_END = Rule(
    "period_not_end", "error", "period_end is the last day of a month or quarter."
)
PERIOD_IN_FUTURE = Rule("period_in_future", "error", "period_end is not in the future.")
AREA_INVALID = Rule(
    "area_invalid", "error", "area_code is an ONS code or a known three-digit LA code."
)
UNKNOWN_COLUMN = Rule(
    "unknown_column", "warning", "Columns that are not in the contract are ignored."
)
COLUMN_MISSPELT = Rule(
    "column_misspelt",
    "error",
    "A column whose name is close to a contract column is refused with the name it "
    "probably means (did you mean ...?).",
)
UNIT_UNKNOWN = Rule(
    "unit_unknown",
    "warning",
    "A unit the warehouse has never seen for an area that already has named units is "
    "named (a misspelt locality starts a new series).",
)
#: The checks of a periodic count extract (outcomes, training), in the order they run.
PERIODIC_COUNT_RULES = (
    COUNT_NOT_INTEGER,
    COUNT_NEGATIVE,
    DATE_INVALID,
    PERIOD_NOT_END,
    PERIOD_IN_FUTURE,
    AREA_INVALID,
)
