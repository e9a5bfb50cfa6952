"""The caveat texts findings carry, and which of them lower a grade from high to moderate.

Kept apart from :mod:`pipelines.stats.findings` so the wording can be read (and reviewed by a
practitioner) in one place; ``findings`` re-exports every name, so ``findings.CAVEAT_COVID``
still reads the same text.
"""

from __future__ import annotations

# Caveat texts. Those keyed in _DOWNGRADING_KEYS lower the grade from high to moderate.
CAVEAT_COVID = (
    "The comparison includes the COVID-19 period, when services and referrals changed for "
    "reasons unrelated to Restorative Practice."
)
CAVEAT_AUTOCORRELATION = (
    "Neighbouring periods are correlated (residual autocorrelation), so the interval may be "
    "too narrow; Newey-West (HAC) errors would allow for it."
)
CAVEAT_OVERDISPERSION = (
    "The counts vary more than a Poisson model expects (overdispersion), so the interval is "
    "too narrow; a quasi-Poisson model would allow for it."
)
CAVEAT_STOCK_ITS = (
    "Children looked after or on a plan are counted at every period end, so the same children "
    "appear in many periods; the model treats each count as new, so even with its corrections "
    "this interval is likely too narrow. Read the size of the change more than its precision."
)
CAVEAT_STOCK = (
    "Children looked after or on a plan are counted at every period end, so the same "
    "children appear in many periods; the rate-ratio test treats them as independent and its "
    "interval is too narrow. Prefer the interrupted time series (quasi-Poisson with HAC errors)."
)
CAVEAT_PARALLEL = (
    "Before rollout the localities were already moving differently (the parallel-trends check "
    "failed for some periods), so the comparison may be biased."
)
CAVEAT_ILLUSTRATIVE_COST = (
    "The unit cost is an illustrative default, not the council's own figure, so no money value "
    "is shown: enter the council's own cost of a year in care to see one."
)
CAVEAT_MONEY = (
    "A money value is only as good as the child-years estimate and the unit cost behind it, "
    "and it carries every caveat of that estimate."
)
CAVEAT_ASSOCIATION_UNITS = (
    "This is an association across units: units with more training may differ in other ways."
)
CAVEAT_NO_CAUSE = (
    "This shows association, not cause: other changes at the same time are not separated out."
)

_DOWNGRADING_KEYS = (
    "short",
    "small",
    "covid",
    "autocorrelation",
    "overdispersion",
    "stock",
    "parallel",
    "few_units",
    "illustrative_cost",
)


#: How each downgrading caveat reads in a confidence reason.
_DOWNGRADE_LABELS = {
    "short": "the window is short",
    "small": "numbers are small",
    "covid": "the period includes COVID-19",
    "autocorrelation": "the residuals are autocorrelated",
    "overdispersion": "the counts are overdispersed",
    "stock": "the same children are counted repeatedly",
    "parallel": "parallel trends are in doubt",
    "few_units": "there are few units",
    "illustrative_cost": "the unit cost is illustrative",
}
