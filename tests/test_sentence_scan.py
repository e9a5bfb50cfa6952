"""Every sentence the committed sample can produce, scanned for overclaiming and bad numbers.

Issue 13 ("Done when"): a test scans every sentence that the sample can produce for banned
words, signed zeros and degenerate intervals. The sentences are collected once per module
(one copy of the session's sample warehouse, one read-once view) from every analysis a page,
the report or the board calls: the board summary (verdicts, tiles, findings), Trends for every
locality and measure, Cohorts, the dose-response, the difference in child-years at the
illustrative and at a council's own unit cost, the DfE benchmark sentences, and the Trends
page's "In brief" lines (each supporting figure's label and coverage sentence).

What is left out, for time (each is a slower run of code whose sentences are already
covered): Cohorts at monthly grain, Trends with Newey-West errors beyond the board's own calls,
the 2x2 cross-checks at quarterly grain beyond the board's four measures, and the benchmarks of the other ten DfE councils beyond the board's two
context measures.

The scanner is tested on planted sentences first, so a pattern that stops matching fails here
rather than letting the real scan pass vacuously.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import warnings

import pandas as pd
import pytest

from pipelines import analysis, marts
from pipelines.analysis.calibrated import in_brief
from pipelines.analysis.common import read_once
from pipelines.analysis.verdict import load_calibration
from pipelines.measures import MEASURES
from pipelines.present.verdicts import verdict_views
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
MINUS = "\u2212"

#: name -> pattern. Each is one thing a board must never read.
PATTERNS: dict[str, re.Pattern[str]] = {
    # Causal or money-saving words: "associated with", never "caused" or "costs avoided".
    "banned word": re.compile(
        r"\bcaus(?:ed|es)\b|\bcosts? avoided\b|\bavoided\b|\bsaved\b|for each £1\b", re.I
    ),
    # A signed zero: "-0%", "−0%", "+0 ", "+0%", "+0.0", "-0.0" (but not "-0.09" or a date).
    "signed zero": re.compile(rf"(?<![\w.])[-+{MINUS}]0(?:\.0+)?(?![\d.])"),
    # A difference of nothing given a direction: "0.0 per 10,000 ... lower", "0% lower".
    "zero with a direction": re.compile(
        r"(?<![\d.])0(?:\.0+)? per 10,000[^.;()]*?\b(?:lower|higher|above|below)\b"
        r"|(?<![\d.])0(?:\.0+)?% (?:lower|higher|fewer|more)\b"
    ),
    # An interval whose two ends read the same: "95% CI 12% to 12%", "+1.00 to +1.00".
    "degenerate interval": re.compile(
        rf"95% CI ([-+{MINUS}]?[\d.,]+%?) to \1(?![\d.])"
        rf"|(?<![\w.])([-+{MINUS}][\d.,]*\d%?) to \2(?![\d.%])"
        r"|\brange ([\d.,]*\d) to \3(?![\d.])"
    ),
}


def problems(text: str) -> list[str]:
    """The names of the patterns ``text`` breaks (empty when it is clean)."""
    return [name for name, pattern in PATTERNS.items() if pattern.search(text)]


# -- the scanner catches each pattern -------------------------------------------------------

PLANTED = [
    ("The programme caused a fall in CLA starts.", "banned word"),
    ("Training causes fewer plans.", "banned word"),
    ("That is an estimated £63.4 million of costs avoided.", "banned word"),
    ("Placements avoided since rollout: 634.", "banned word"),
    ("The council saved £2 million.", "banned word"),
    ("Set against the £2.0 million invested, that is £19.03 for each £1.", "banned word"),
    ("CLA rates were -0% on the year.", "signed zero"),
    (f"CLA rates were {MINUS}0% on the year.", "signed zero"),
    ("74% of staff trained, +0 percentage points on a year earlier.", "signed zero"),
    ("A change of +0% against the trend.", "signed zero"),
    ("A step of +0.0 per 10,000.", "signed zero"),
    ("(95% CI -0.5 to -0.0).", "signed zero"),
    (
        "Referrals were 0.0 per 10,000 children a quarter lower than elsewhere.",
        "zero with a direction",
    ),
    ("The rate was 0% lower than before.", "zero with a direction"),
    ("The rate averaged 0.0 per 10,000 above its synthetic comparison.", "zero with a direction"),
    ("CLA starts were 12% lower (95% CI 12% to 12% lower).", "degenerate interval"),
    ("Spearman's rho +1.00 (95% CI +1.00 to +1.00).", "degenerate interval"),
    ("An estimated difference of 630 child-years (range 630 to 630).", "degenerate interval"),
]

CLEAN = [
    "Associated with 12% fewer children starting care (plausible range 2% to 21% fewer).",
    "On an XmR chart the latest period shows only common-cause variation; 3 were special-cause "
    "signals.",
    "Coverage was not clearly different from a year earlier (95% CI -1.8 to +1.9 percentage "
    "points).",
    "Spearman's rho -0.09, 95% CI -0.85 to +0.79, 6 units.",
    "Rollout started on 2019-10-01 in 2019-20; the rate was 0.05 per 10,000 higher.",
    "This shows association, not cause: other changes are not separated out.",
    "Less than 0.05 per 10,000 children a quarter either way (95% CI -9.0 to +9.0).",
]


@pytest.mark.parametrize(("sentence", "pattern"), PLANTED)
def test_the_scanner_catches_each_planted_sentence(sentence: str, pattern: str) -> None:
    assert pattern in problems(sentence), sentence


@pytest.mark.parametrize("sentence", CLEAN)
def test_the_scanner_passes_careful_sentences(sentence: str) -> None:
    assert problems(sentence) == [], sentence


# -- every sentence the sample can produce ----------------------------------------------------


def texts_in(obj, out: list[str]) -> list[str]:
    """Every string reachable in a result: sentences, caveats, notes, reasons, methods."""
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, pd.DataFrame | pd.Series):
        pass  # tables of numbers, not sentences
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            texts_in(getattr(obj, f.name), out)
    elif isinstance(obj, dict):
        for v in obj.values():
            texts_in(v, out)
    elif isinstance(obj, list | tuple):
        for v in obj:
            texts_in(v, out)
    return out


def _collect(wh) -> dict[str, set[str]]:
    """source -> the distinct texts it produced on the sample."""
    found: dict[str, set[str]] = {}

    def keep(source: str, obj) -> None:
        found.setdefault(source, set()).update(t for t in texts_in(obj, []) if t.strip())

    summary = analysis.board_summary(wh, AREA)
    keep("board_summary", summary)
    keep("verdict_views", verdict_views(summary.verdicts))
    units = marts.units(wh, AREA)["unit"].tolist()
    measures = list(MEASURES)
    board_measures = ("cla_starts", "cpp_starts", "cla_at_period_end", "cpp_at_period_end")
    calibration = load_calibration()
    for measure in measures:
        for unit in units:
            trend = analysis.trend_analysis(wh, AREA, measure, unit=unit)
            keep("trend_analysis", trend)
            # What the Trends page shows under the verdict: labels and coverage sentences.
            keep("trends_in_brief", in_brief(trend.findings, calibration))
        for grain in ("month", "financial_year"):
            keep("trend_analysis", analysis.trend_analysis(wh, AREA, measure, grain=grain))
        keep("cohort_analysis", analysis.cohort_analysis(wh, AREA, measure, grain="financial_year"))
        if measure in board_measures:
            # The 2x2 cross-check and wave means at quarterly grain, for the board's measures.
            # The same call without them (`cross_checks=False`) gives a subset of these texts
            # (the same staggered DiD, control note and notes, less the 2x2's), so it is not
            # run again for these four.
            keep("cohort_analysis", analysis.cohort_analysis(wh, AREA, measure, grain="quarter"))
        else:
            keep(
                "cohort_analysis",
                analysis.cohort_analysis(wh, AREA, measure, grain="quarter", cross_checks=False),
            )
        keep("dose_response_analysis", analysis.dose_response_analysis(wh, AREA, measure))
    for unit_cost, investment in ((None, None), (None, 2e6), (60_000, None), (60_000, 2e6)):
        cost = analysis.cost_avoidance_analysis(
            wh, AREA, unit_cost=unit_cost, investment=investment
        )
        keep("cost_avoidance_analysis", cost)
        if unit_cost is None:
            keep("cost_avoidance_analysis:default", cost.findings)
    keep("benchmark_context", analysis.benchmark_context(wh, AREA))
    for measure in analysis.benchmark_measures(wh, AREA):
        keep("benchmark_analysis", analysis.benchmark_analysis(wh, AREA, measure))
    for code in analysis.benchmark_councils(wh)["new_la_code"]:
        for measure in ("cla_at_31_march", "cpp_at_31_march"):
            keep(
                "benchmark_analysis",
                analysis.benchmark_analysis(wh, code, measure, synthetic=False),
            )
    return found


@pytest.fixture(scope="module")
def sample_sentences(sample_warehouse_path, tmp_path_factory) -> dict[str, set[str]]:
    """Collected once for the module: one private copy of the session's sample warehouse."""
    target = tmp_path_factory.mktemp("sentence_scan") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, target)
    with open_warehouse(target) as wh, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # model-fit warnings are not sentences
        return _collect(read_once(wh))


def test_the_scan_reaches_every_source(sample_sentences) -> None:
    expected = {
        "board_summary",
        "verdict_views",
        "trend_analysis",
        "trends_in_brief",
        "cohort_analysis",
        "dose_response_analysis",
        "cost_avoidance_analysis",
        "cost_avoidance_analysis:default",
        "benchmark_context",
        "benchmark_analysis",
    }
    assert set(sample_sentences) == expected
    assert all(sample_sentences[s] for s in expected), "a source produced no text"
    assert sum(len(v) for v in sample_sentences.values()) > 800


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_no_sentence_the_sample_can_produce_breaks_a_rule(sample_sentences, pattern) -> None:
    offending = sorted(
        f"[{source}] {text}"
        for source, texts in sample_sentences.items()
        for text in texts
        if PATTERNS[pattern].search(text)
    )
    assert not offending, f"{len(offending)} with a {pattern}:\n" + "\n".join(offending[:20])


def test_no_pound_figure_appears_at_the_illustrative_unit_cost(sample_sentences) -> None:
    """A money value appears only at the council's own unit cost (issue 13)."""
    default = sample_sentences["cost_avoidance_analysis:default"]
    assert default and not any("£" in t for t in default)
    council = sample_sentences["cost_avoidance_analysis"]
    assert any("worth about £" in t for t in council)
