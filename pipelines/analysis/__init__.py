"""The analysis layer: warehouse reads (``pipelines.marts``) + statistics (``pipelines.stats``).

The dashboard, the annual report and the notebooks call these functions; pages hold no
statistics, so every number a page shows comes from here. Each function is a pure function of
(warehouse, area code, options) that returns a frozen dataclass. Nothing is cached here (the
dashboard caches on ``Warehouse.data_version()``).

When a method cannot run, the reason is recorded in ``notes`` (method -> plain-English
reason) and the result field is None; a :class:`~pipelines.stats.errors.StatsInputError`
never reaches the page as a traceback.

One question per module:

- :mod:`.trend`: :func:`trend_analysis`, one series with before/after, interrupted time
  series and SPC;
- :mod:`.headlines`: :func:`headlines`, the board's tiles (CLA rate, CPP rate, training
  coverage);
- :mod:`.cohorts`: :func:`cohort_analysis`, localities by rollout wave: staggered DiD, event
  study, 2x2;
- :mod:`.comparisons`: :func:`unit_comparison`, :func:`age_band_comparison`, small multiples;
- :mod:`.training`: :func:`dose_response_analysis`, training coverage against change in
  outcome;
- :mod:`.cost`: :func:`cost_avoidance_analysis`, child-years in care avoided against the ITS
  counterfactual;
- :mod:`.benchmarks` (sentences in :mod:`.benchmark_text`): :func:`benchmark_analysis`, a
  council against England, its region and its DfE statistical neighbours;
- :mod:`.board`: :func:`board_summary`, :func:`board_findings`, 5 to 8 plain-English findings,
  most important first.

Shared helpers live in :mod:`.common`; wording (dates, financial years, ordinals) in
:mod:`pipelines.present.wording`.
"""

from __future__ import annotations

from pipelines.analysis.benchmarks import (
    BENCHMARK_MEASURES,
    BenchmarkAnalysis,
    benchmark_analysis,
    benchmark_context,
    benchmark_council_code,
    benchmark_councils,
    benchmark_measures,
    benchmark_revisions,
    first_treatment_year,
)
from pipelines.analysis.board import (
    BoardSummary,
    VerdictSummary,
    board_findings,
    board_summary,
    verdict_summary,
)
from pipelines.analysis.cohorts import DID_FREQ, CohortAnalysis, cohort_analysis, unit_panel
from pipelines.analysis.common import RATE_COLUMNS, measure_label, source_line
from pipelines.analysis.comparisons import Comparison, age_band_comparison, unit_comparison
from pipelines.analysis.cost import CostAvoidanceAnalysis, cost_avoidance_analysis
from pipelines.analysis.headlines import Headline, headlines
from pipelines.analysis.training import DoseResponseAnalysis, dose_response_analysis, dose_table
from pipelines.analysis.trend import TrendAnalysis, trend_analysis

# Kept for tests/test_analysis.py and the impact notebook, which read the two formulas from
# here; they live in pipelines.stats, and new code imports them from there.
from pipelines.stats.its import newey_west_lags
from pipelines.stats.rates import newcombe_difference

__all__ = [
    "BENCHMARK_MEASURES",
    "DID_FREQ",
    "RATE_COLUMNS",
    "BenchmarkAnalysis",
    "BoardSummary",
    "CohortAnalysis",
    "Comparison",
    "CostAvoidanceAnalysis",
    "DoseResponseAnalysis",
    "Headline",
    "TrendAnalysis",
    "age_band_comparison",
    "benchmark_analysis",
    "benchmark_context",
    "benchmark_council_code",
    "benchmark_councils",
    "benchmark_measures",
    "benchmark_revisions",
    "board_findings",
    "board_summary",
    "VerdictSummary",
    "verdict_summary",
    "cohort_analysis",
    "cost_avoidance_analysis",
    "dose_response_analysis",
    "dose_table",
    "first_treatment_year",
    "headlines",
    "measure_label",
    "newcombe_difference",
    "newey_west_lags",
    "source_line",
    "trend_analysis",
    "unit_comparison",
    "unit_panel",
]
