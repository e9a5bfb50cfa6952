"""One vocabulary: the outcome measures, the time grains, the whole-area unit, the age bands.

Every module that names a measure, a grain, `All` or the order of the age bands imports it from
here, so the contracts, the warehouse, the analysis, the pages and the report say the same
thing. This module imports nothing from the project (the contracts import it), so it can never
be part of an import cycle. `pipelines.contracts` checks that `MEASURES` names exactly the
outcome contract's value columns.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The unit (locality or team) and the age band that mean "the whole area, all ages".
UNIT_ALL = "All"

#: Time grains of the materialised outcome periods, finest first.
GRAINS = ("month", "quarter", "financial_year")
GRAIN_LABELS = {"month": "Month", "quarter": "Quarter", "financial_year": "Financial year"}
#: The grain as a word in a sentence ("too few quarters").
PERIOD_WORD = {"month": "month", "quarter": "quarter", "financial_year": "financial year"}
#: Periods in a seasonal cycle (None: a financial year has no within-year season).
SEASON_LENGTH = {"month": 12, "quarter": 4, "financial_year": None}
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "financial_year": 1}

#: Age bands in the order tables and charts show them (the outcomes contract's bands).
AGE_BAND_ORDER = ("All", "Under 1", "1-4", "5-9", "10-15", "16-17")

#: DfE's year-end measures from the statutory returns: children looked after on 31 March,
#: counted on that day only (every other month, quarter and year end holds no value).
YEAR_END_MEASURES = ("cla_3plus_placements", "cla_long_term_eligible", "cla_long_term_stable")

#: Measured on the last day of the period; every other outcome measure is a flow within it.
#: The year-end measures are stocks too: a quarter or financial year ending 31 March takes
#: the value on that day, as `cla_at_period_end` does.
STOCK_MEASURES = (
    "cla_at_period_end",
    "cpp_at_period_end",
    "cin_at_period_end",
    *YEAR_END_MEASURES,
)


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    short: str
    improvement: str  # "decrease" | "increase" | "neutral"

    @property
    def is_stock(self) -> bool:
        return self.name in STOCK_MEASURES

    @property
    def is_year_end(self) -> bool:
        """Counted on 31 March only (DfE's year-end measures from the returns)."""
        return self.name in YEAR_END_MEASURES


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("cla_at_period_end", "Children looked after (at period end)", "CLA", "decrease"),
        Measure("cla_starts", "Children starting to be looked after", "CLA starts", "decrease"),
        Measure("cla_ceased", "Children ceasing to be looked after", "CLA ceased", "neutral"),
        Measure(
            "cpp_at_period_end",
            "Children on a child protection plan (at period end)",
            "CPP",
            "decrease",
        ),
        Measure("cpp_starts", "Child protection plans started", "CPP starts", "decrease"),
        Measure("cpp_ends", "Child protection plans ended", "CPP ends", "neutral"),
        Measure(
            "cpp_repeat_starts",
            "Second or subsequent child protection plans",
            "Repeat CPP",
            "decrease",
        ),
        Measure("cin_at_period_end", "Children in need (at period end)", "CIN", "neutral"),
        Measure("referrals", "Referrals to children's social care", "Referrals", "neutral"),
        Measure("rereferrals", "Re-referrals within 12 months", "Re-referrals", "decrease"),
        Measure("fgc_held", "Family group conferences held", "FGCs", "increase"),
        # From the statutory returns (SSDA903, CIN census): `pipelines.load.returns`.
        Measure(
            "cla_reentry_starts",
            "Children returning to care within 12 months",
            "CLA re-entries",
            "decrease",
        ),
        Measure(
            "cla_3plus_placements",
            "Children looked after with 3+ placements in the year (on 31 March; a count, "
            "not a rate)",
            "3+ placements",
            "decrease",
        ),
        Measure(
            "cla_long_term_eligible",
            "Children under 16 looked after 2.5+ years (on 31 March; a count, not a rate)",
            "Long-term CLA",
            "neutral",
        ),
        Measure(
            "cla_long_term_stable",
            "Children looked after 2.5+ years in a stable placement (on 31 March; a count, "
            "not a rate)",
            "Long-term stable",
            "increase",
        ),
        Measure(
            "cpp_repeat_2y_starts",
            "Child protection plans starting within 2 years of a previous plan",
            "Repeat CPP <2y",
            "decrease",
        ),
        Measure(
            "cpp_ends_2y_plus",
            "Child protection plans ending after 2 years or more",
            "CPP ends 2y+",
            "neutral",
        ),
    )
}


def measure(name: str) -> Measure:
    """The measure called `name`; a plain-English `ValueError` for an unknown one."""
    try:
        return MEASURES[name]
    except KeyError:
        raise ValueError(f"Unknown measure '{name}'. Known: {', '.join(MEASURES)}.") from None


def check_grain(grain: str) -> None:
    """Raise a plain-English `ValueError` unless `grain` is one of `GRAINS`."""
    if grain not in GRAINS:
        raise ValueError(f"Unknown grain '{grain}'. Use one of: {', '.join(GRAINS)}.")
