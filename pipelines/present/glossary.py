"""Plain-English definitions of every technical term the dashboard and the report use.

One list, so the Board summary's "What these terms mean", the other pages' glossaries and the
report define a term in the same words. Each :class:`Term` carries the patterns that find it in
a page's text: :func:`terms_in` lists the terms a text uses, and :func:`page_terms` the terms a
page uses (its own fixed terms plus those found in what it drew), in glossary order.

Acronyms (CLA, CPP, SPC...) are matched case-sensitively as whole words; phrases are matched
without regard to case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A glossary entry: its name as the glossary shows it, its definition, and what finds it
    in a text (``phrases`` in any case, ``acronyms`` as whole words in capitals)."""

    name: str
    definition: str
    phrases: tuple[str, ...] = ()
    acronyms: tuple[str, ...] = ()

    def pattern(self) -> re.Pattern[str]:
        # a space or a hyphen between words matches either: "common cause", "common-cause"
        gap = r"[\s-]+"
        words = (re.split(gap, p) for p in self.phrases)
        parts = [rf"(?i:\b{gap.join(map(re.escape, w))})" for w in words]
        parts += [rf"\b{re.escape(a)}\b" for a in self.acronyms]
        return re.compile("|".join(parts))


def _t(name: str, definition: str, *phrases: str, acronyms: tuple[str, ...] = ()) -> Term:
    return Term(name, definition, tuple(phrases), acronyms)


#: Every term, in the order a glossary lists them (the words a board member meets first, first).
TERMS: tuple[Term, ...] = (
    _t(
        "CLA (children looked after)",
        "Children in the council's care: living with foster carers, in a children's home or "
        "elsewhere under a care order or a voluntary arrangement.",
        "children looked after",
        "looked-after",
        acronyms=("CLA",),
    ),
    _t(
        "CPP (child protection plan)",
        "A plan agreed at a child protection conference when a child is judged to be at risk "
        "of significant harm; it sets out how the child will be kept safe.",
        "child protection plan",
        acronyms=("CPP",),
    ),
    _t(
        "CIN (child in need)",
        "A child the council assesses as needing its services to be safe, healthy or to "
        "develop well (Children Act 1989, section 17).",
        "child in need",
        "children in need",
        acronyms=("CIN",),
    ),
    _t(
        "FGC (family group conference)",
        "A meeting where the wider family, with a coordinator, makes a plan for a child's "
        "safety and care; often part of Restorative Practice.",
        "family group conference",
        acronyms=("FGC",),
    ),
    _t(
        "Starts and period end",
        "Starts count the children who began care (or a plan) during a period. Period end counts "
        "the children in care (or on a plan) on its last day, so the same child is counted "
        "again in later periods.",
        "starts",
        "period end",
        "31 March",
    ),
    _t(
        "Rate per 10,000 children",
        "How many children out of every 10,000 aged 0 to 17 living in the area, using the "
        "Office for National Statistics' mid-year population estimate. Rates allow fair "
        "comparison as the child population changes.",
        "per 10,000",
        "mid-year",
    ),
    _t(
        "Financial year and quarter",
        "A financial year runs from 1 April to 31 March (2025-26 is April 2025 to March 2026). "
        "A quarter is three months, e.g. Apr-Jun 2026.",
        "financial year",
        "quarter",
    ),
    _t(
        "Percentage points",
        "The difference between two percentages: 70% to 74% is 4 percentage points (but a 5.7% "
        "increase).",
        "percentage point",
    ),
    _t(
        "Interval (plausible range, 95% CI)",
        "The range the true figure is likely to lie in, allowing for chance: 95 times in 100 a "
        "range worked out this way contains the true value. If the range for a change includes "
        "no change, the change could be chance.",
        "plausible range",
        "confidence interval",
        "95% CI",
        "interval",
    ),
    _t(
        "Confidence grade (high, moderate, low)",
        "How far a finding can be relied on, given the design behind it and how well that kind "
        "of estimate did in simulation. Low means treat it as a pointer, not a result.",
        "high confidence",
        "moderate confidence",
        "low confidence",
    ),
    _t(
        "Coverage",
        "For training: the share of staff in scope who have been trained. For an interval: how "
        "often intervals made the same way contained the true value when tested on simulated "
        "data where the truth is known (95% is the aim).",
        "coverage",
        "contained the truth",
    ),
    _t(
        "Calibration",
        "Testing a method on thousands of simulated councils where the true effect is known, to "
        "measure how often its intervals contain the truth and how often it reports an effect "
        "that is not there (a false positive).",
        "calibrat",
        "false positive",
        "in simulation",
    ),
    _t(
        "Primary outcome",
        "An outcome the council chose in its analysis plan, before looking at the results, as "
        "the main test of Restorative Practice; each gets one verdict.",
        "primary outcome",
        "analysis plan",
    ),
    _t(
        "Statistical neighbours",
        "The ten or so councils the Department for Education judges most similar to this one "
        "(in deprivation, population and other characteristics), used as a fair comparison.",
        "statistical neighbour",
    ),
    _t(
        "DfE and ONS",
        "The Department for Education, which publishes every council's annual figures, and the "
        "Office for National Statistics, which estimates the child population.",
        acronyms=("DfE", "ONS"),
    ),
    _t(
        "SPC and XmR chart (statistical process control)",
        "A chart of a figure over time with limits showing its normal ups and downs (an XmR "
        "chart plots each value and the moving range between values). A point outside the "
        "limits, or a run of points on one side of the average, signals real change.",
        "statistical process control",
        "control chart",
        "process limit",
        acronyms=("SPC", "XmR"),
    ),
    _t(
        "p′ chart (Laney)",
        "A control chart for a percentage, such as the share of audits graded good or better. "
        "Its limits are wider in a quarter with fewer cases, and widened further when the "
        "quarters vary more than chance alone would make them.",
        "p′ chart",
        "p-prime",
        "laney",
    ),
    _t(
        "Common cause variation",
        "The normal ups and downs of a figure: no sign of real change.",
        "common cause",
    ),
    _t(
        "Special cause variation",
        "A change larger or longer-lasting than the normal ups and downs, so probably real. "
        "'Improvement' or 'concern' says whether it is in the better or worse direction.",
        "special cause",
    ),
    _t(
        "Making Data Count icons",
        "NHS England's symbols for SPC charts: ≈ no significant change, ▲ or ▼ special cause "
        "variation; ✔, ✘ or ? whether a target will be met.",
        "making data count",
    ),
    _t(
        "Rate ratio",
        "One rate divided by another: 0.90 means 10% lower, 1.10 means 10% higher.",
        "rate ratio",
    ),
    _t(
        "Before/after comparison",
        "The rate in the periods after the rollout against the same number of periods before "
        "it. It does not allow for what would have happened anyway.",
        "before/after",
        "before rollout",
        "before the rollout",
    ),
    _t(
        "Interrupted time series",
        "A model of the trend before the rollout, projected forward to show what might have "
        "happened without it; the gap between the projection and what happened is the estimate.",
        "interrupted time series",
        acronyms=("ITS",),
    ),
    _t(
        "Poisson and quasi-Poisson models",
        "Models made for counts (of children). Quasi-Poisson allows the counts to vary more "
        "than a simple Poisson model expects.",
        "poisson",
    ),
    _t(
        "Newey-West (autocorrelation-robust) errors",
        "A way of widening an interval because neighbouring months or quarters tend to be "
        "alike, so they carry less independent information.",
        "newey-west",
        "autocorrelation",
        acronyms=("HAC",),
    ),
    _t(
        "Difference-in-differences",
        "Compares the change in localities that started Restorative Practice with the change "
        "over the same time in localities that had not started yet, so that changes affecting "
        "everyone cancel out.",
        "difference-in-differences",
        "differences-in-differences",
        acronyms=("DiD",),
    ),
    _t(
        "Staggered difference-in-differences",
        "Difference-in-differences when localities start at different times (in waves): each "
        "wave is compared with localities yet to start (Callaway and Sant'Anna's method).",
        "staggered",
        "callaway",
        "wave",
    ),
    _t(
        "Event study",
        "The estimated effect year by year (or quarter by quarter) before and after each "
        "locality started; the years before should show no effect if the comparison is fair.",
        "event study",
        "event time",
        "pre-trend",
        "parallel trend",
    ),
    _t(
        "Randomisation inference",
        "Reshuffling which localities started when, many times, to see how often a difference "
        "as large as the real one appears by chance alone.",
        "randomisation inference",
        "randomization inference",
        "permutation",
    ),
    _t(
        "Synthetic control",
        "A weighted blend of other councils built to match this council's figures before the "
        "rollout; after it, the gap between the council and its blend is the estimate.",
        "synthetic control",
        "synthetic comparison",
        "donor",
    ),
    _t(
        "RMSPE (root mean squared prediction error)",
        "How far, on average, the synthetic control missed the council's real figures. The "
        "after/before ratio of RMSPE shows whether the gap grew after the rollout.",
        acronyms=("RMSPE",),
    ),
    _t(
        "Placebo in space",
        "Re-running the synthetic control pretending each comparison council had started "
        "instead; if many placebos show gaps as large as the council's, the gap could be chance.",
        "placebo",
    ),
    _t(
        "Holm adjustment",
        "A correction to the chance of a false alarm when several outcomes are tested at once.",
        "holm",
    ),
    _t(
        "Smallest detectable change",
        "The smallest effect the design would show 4 times in 5; smaller real changes could be "
        "missed.",
        "smallest change",
        "minimum detectable",
    ),
    _t(
        "Wilson interval",
        "A 95% interval for a percentage (such as the share of staff trained) that stays "
        "sensible near 0% and 100%. Newcombe's method gives the interval for a change between "
        "two percentages.",
        "wilson",
        "newcombe",
    ),
    _t(
        "Dose-response",
        "Whether localities with more staff trained saw larger changes; a link is consistent "
        "with an effect but does not prove one.",
        "dose-response",
        "dose response",
    ),
    _t(
        "Spearman's rho",
        "A measure from -1 to +1 of how closely two things rise and fall together in rank "
        "order; 0 means no link.",
        "spearman",
    ),
    _t(
        "Child-years",
        "One child in care for one year; two children for six months each is also one child-year.",
        "child-year",
    ),
    _t(
        "Suppressed figures (c)",
        "Counts from 1 to 4, and figures that would reveal them, are shown as 'c' to protect "
        "children's privacy.",
        "suppressed",
    ),
)

BY_NAME: dict[str, Term] = {term.name: term for term in TERMS}

#: Terms each page uses whatever its data (its fixed labels and explanations); the terms in
#: the findings and verdicts it draws are found by :func:`page_terms` from their text.
PAGE_TERMS: dict[str, tuple[str, ...]] = {
    "board": (
        "CLA (children looked after)",
        "CPP (child protection plan)",
        "Rate per 10,000 children",
        "Interval (plausible range, 95% CI)",
        "Common cause variation",
        "Special cause variation",
        "Making Data Count icons",
        "Primary outcome",
    ),
    "trends": (
        "Rate per 10,000 children",
        "SPC and XmR chart (statistical process control)",
        "Before/after comparison",
        "Interrupted time series",
        "Poisson and quasi-Poisson models",
        "Newey-West (autocorrelation-robust) errors",
    ),
    "cohorts": (
        "Staggered difference-in-differences",
        "Difference-in-differences",
        "Event study",
        "Randomisation inference",
    ),
    "training": ("Coverage", "Wilson interval", "Dose-response", "Spearman's rho"),
    "practice": (
        "FGC (family group conference)",
        "p′ chart (Laney)",
        "Common cause variation",
        "Special cause variation",
        "Wilson interval",
        "Percentage points",
    ),
    "benchmarks": (
        "Statistical neighbours",
        "DfE and ONS",
        "Synthetic control",
        "RMSPE (root mean squared prediction error)",
        "Placebo in space",
    ),
    "quality": ("Suppressed figures (c)", "Calibration", "Coverage"),
    "report": (),
}


def terms_in(*texts: str) -> list[Term]:
    """The glossary terms the texts use, in glossary order."""
    text = "\n".join(t for t in texts if t)
    return [term for term in TERMS if term.pattern().search(text)]


def page_terms(page: str, texts: Iterable[str] = ()) -> list[Term]:
    """The terms a page uses: its fixed terms (:data:`PAGE_TERMS`) and every term found in
    ``texts`` (what the page drew: findings, verdicts, captions), in glossary order."""
    wanted = set(PAGE_TERMS.get(page, ())) | {term.name for term in terms_in(*texts)}
    return [term for term in TERMS if term.name in wanted]


def glossary_lines(terms: Iterable[Term]) -> list[str]:
    """Each term as one Markdown line: "**Name**: definition"."""
    return [f"**{term.name}**: {term.definition}" for term in terms]
