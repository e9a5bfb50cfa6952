"""Calibration harness: how often each estimate the Board shows contains the truth.

``python -m benchmarks.calibrate [--replicates N] [--no-write]`` re-simulates the sample's
data process (:func:`pipelines.sample.simulate`) N times with the planted effect and N times
with none, runs every verdict exactly as :func:`pipelines.analysis.verdict.verdicts` does
(the same pure core, :func:`~pipelines.analysis.verdict.verdicts_from_panels`, on the same
locality x quarter panels the warehouse gives), the Board's supporting estimates across
localities as :func:`~pipelines.analysis.board.board_findings` runs them (the staggered DiD by
financial year and the training dose-response: :mod:`benchmarks.calibrate_supporting`), and
the Board's earlier estimates by calling the existing functions in ``pipelines.stats`` on the
simulated series. Each replicate's panels are built once and shared by the estimates that read
them, and the replicates run on two worker processes. For each estimate it reports:

- coverage: the share of 95% intervals that contain the true effect (the estimand of
  :mod:`pipelines.sample.simulate`, over the cells the estimate averages), with the effect,
  without it, and pooled;
- the false-positive rate: the share of no-effect replicates called a change (for a verdict,
  ``detected``, i.e. Holm-adjusted across the primary outcomes; for the rest, an interval
  that excludes no change);
- bias (mean log ratio of estimate to truth; a difference, such as child-years, rate per
  10,000 or Spearman's rho, in its own unit) and median width;
- power at the planted effect; and for each verdict the MDE check: its stated minimum
  detectable effect (median over the no-effect replicates), then N more replicates planted at
  exactly that size, detection should be 70-90%.

It writes ``pipelines/analysis/calibration.json`` (the grades read it) and appends a dated
table to ``docs/calibration.md``. Targets (issue 13): every primary verdict covers the truth
in 90-98% of replicates, and is called a change in at most 7% without an effect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import calibrate_practice as practice
from benchmarks import calibrate_supporting as supporting
from pipelines.analysis.plan import DEFAULT_PLAN, AnalysisPlan
from pipelines.analysis.verdict import CALIBRATION_FILE, verdicts_from_panels
from pipelines.sample import PLANTED_EFFECTS, WAVES, SimulatedPanel, simulate
from pipelines.stats.before_after import before_after
from pipelines.stats.errors import StatsInputError
from pipelines.stats.findings import its_relative_effect
from pipelines.stats.its import interrupted_time_series, newey_west_lags

DOC = Path(__file__).resolve().parent.parent / "docs" / "calibration.md"
#: The warehouse holds the sample up to here (the last quarter is left unloaded).
DATA_END = pd.Timestamp("2026-06-30")
FIRST_WAVE = pd.Timestamp(min(start for start, _ in WAVES.values()))
BASE_SEED = 13_000


#: Each difference scale's unit, as the table gives its bias and width, and the decimals.
DIFFERENCE_UNITS = {
    "child-years": ("child-years", 0),
    "rate per 10,000": ("per 10,000 a year", 1),
    "Spearman rho": ("rho", 2),
    "percentage points": ("points", 1),
}


@dataclass
class Tally:
    """Running counts for one estimate."""

    label: str
    kind: str  # "verdict", "supporting" or "before"
    scale: str = "ratio"  # "ratio", or a difference: one of DIFFERENCE_UNITS
    covered: dict[str, list[bool]] = field(default_factory=lambda: {"effect": [], "none": []})
    called: dict[str, list[bool]] = field(default_factory=lambda: {"effect": [], "none": []})
    error: dict[str, list[float]] = field(default_factory=lambda: {"effect": [], "none": []})
    width: list[float] = field(default_factory=list)
    failed: int = 0
    mde: list[float] = field(default_factory=list)
    mde_detected: list[bool] = field(default_factory=list)

    def add(self, condition: str, estimate, lower, upper, truth, called=None) -> None:
        if estimate is None or lower is None or upper is None:
            self.failed += 1
            return
        self.covered[condition].append(bool(lower <= truth <= upper))
        null = 1.0 if self.scale == "ratio" else 0.0
        self.called[condition].append(
            bool(called) if called is not None else not (lower <= null <= upper)
        )
        if self.scale == "ratio":
            self.error[condition].append(math.log(estimate / truth))
            self.width.append(100 * (upper - lower) if math.isfinite(upper) else math.inf)
        else:  # a difference from no change (child-years, rate per 10,000, Spearman's rho)
            self.error[condition].append(estimate - truth)
            self.width.append(upper - lower)

    def merge(self, other: Tally) -> None:
        """Add another tally's replicates (from a worker process) to this one."""
        for c in ("effect", "none"):
            self.covered[c] += other.covered[c]
            self.called[c] += other.called[c]
            self.error[c] += other.error[c]
        self.width += other.width
        self.failed += other.failed
        self.mde += other.mde
        self.mde_detected += other.mde_detected

    def summary(self) -> dict[str, float | int | str | None]:
        def mean(xs) -> float | None:
            return float(np.mean(xs)) if len(xs) else None

        pooled = self.covered["effect"] + self.covered["none"]
        finite = [w for w in self.width if math.isfinite(w)]
        return {
            "label": self.label,
            "kind": self.kind,
            "scale": self.scale,
            "replicates": len(self.covered["effect"]),
            "coverage": mean(pooled),
            "coverage_effect": mean(self.covered["effect"]),
            "coverage_no_effect": mean(self.covered["none"]),
            "false_positive_rate": mean(self.called["none"]),
            "power": mean(self.called["effect"]),
            "bias": mean(self.error["effect"] + self.error["none"]),
            "mean_width": float(np.median(finite)) if finite else None,
            "unbounded_share": float(np.mean([not math.isfinite(w) for w in self.width]))
            if self.width
            else None,
            "failed": self.failed,
            "mde_percent": float(np.median(self.mde)) if self.mde else None,
            "mde_detection": mean(self.mde_detected),
        }


def _area(panel: pd.DataFrame) -> pd.DataFrame:
    return panel.groupby("period_end", as_index=False)[["value", "population"]].sum()


def _truncate(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["period_end"] <= DATA_END].reset_index(drop=True)


def _board_its(series: pd.DataFrame, season: int):
    """The Board's ITS: quasi-Poisson, one harmonic pair, Newey-West lags by rule of thumb."""
    return interrupted_time_series(
        series,
        "period_end",
        "value",
        "population",
        intervention_date=FIRST_WAVE,
        family="quasipoisson",
        seasonality_harmonics=1,
        season_length=season,
        hac_lags=newey_west_lags(len(series)),
    )


def _before_after_tile(series: pd.DataFrame):
    """The tile: the latest 4 quarters against the 4 before the first wave."""
    pre = series[series["period_end"] < FIRST_WAVE].tail(4)
    post = series[series["period_end"] >= FIRST_WAVE].tail(4)
    use = pd.concat([pre, post])
    return before_after(
        use, "period_end", "value", "population", post["period_end"].iloc[0], window=None
    )


def _safe(fn: Callable, *args):
    try:
        return fn(*args)
    except (StatsInputError, ValueError, OverflowError, np.linalg.LinAlgError):
        return None


#: The harness's parts: the verdicts (with their supporting designs and the controlled
#: comparison), the Board's supporting estimates across localities, and the "before" rows.
PARTS = ("verdicts", "supporting", "before", "practice")


def run_replicate(
    sim: SimulatedPanel,
    condition: str,
    tallies: dict[str, Tally],
    plan: AnalysisPlan,
    parts: tuple[str, ...] = PARTS,
) -> dict[str, float | None]:
    """Every estimate of ``parts`` on one replicate, each simulated panel built once and shared
    by the estimates that read it; returns each verdict's stated MDE (percent)."""
    panels = {m: _truncate(sim.locality_panel(m)) for m in plan.primary}
    mdes: dict[str, float | None] = {}
    if "verdicts" in parts:
        mdes = _verdict_rows(sim, condition, tallies, plan, panels)
    if "supporting" in parts:
        _supporting_rows(sim, condition, tallies, plan, panels)
    if "before" in parts:
        _before_rows(sim, condition, tallies, plan)
    return mdes


def _verdict_rows(
    sim: SimulatedPanel,
    condition: str,
    tallies: dict[str, Tally],
    plan: AnalysisPlan,
    panels: Mapping[str, pd.DataFrame],
) -> dict[str, float | None]:
    """Each verdict, its supporting designs and the controlled comparison."""
    mdes: dict[str, float | None] = {}
    for v in verdicts_from_panels(dict(panels), plan, {}):
        truth = sim.truth[v.outcome]
        tallies[f"ri_did:{v.outcome}"].add(
            condition, v.rate_ratio, v.ci_lower, v.ci_upper, truth, called=v.detected
        )
        mdes[v.outcome] = v.mde_percent
        ba = next(d for d in v.designs_considered if d.design == "area_before_after")
        latest = panels[v.outcome]["period_end"].max()
        ba_truth = sim.area_rate_ratio(
            v.outcome, latest - pd.offsets.QuarterEnd(4) + pd.Timedelta(days=1), latest
        )
        tallies[f"area_before_after:{v.outcome}"].add(
            condition, ba.rate_ratio, ba.ci_lower, ba.ci_upper, ba_truth
        )
        its = next(d for d in v.designs_considered if d.design == "its_pooled")
        tallies[f"its_pooled:{v.outcome}"].add(
            condition,
            its.rate_ratio,
            its.ci_lower,
            its.ci_upper,
            sim.true_rate_ratio(v.outcome, end=DATA_END),
        )
        _controlled_row(sim, v.outcome, condition, tallies, plan)
    return mdes


#: The flow the Board's dose-response finding reads (``board_findings``).
DOSE_MEASURES = ("cpp_starts",)


def _supporting_rows(
    sim: SimulatedPanel,
    condition: str,
    tallies: dict[str, Tally],
    plan: AnalysisPlan,
    panels: Mapping[str, pd.DataFrame],
) -> None:
    """The Board's staggered DiD by financial year on each primary flow, and the training
    dose-response (:mod:`benchmarks.calibrate_supporting`), as the Board calls them."""
    for measure in plan.primary:
        key = f"staggered_did:{measure}"
        year_panel = supporting.financial_year_panel(sim, measure, DATA_END)
        found = _safe(supporting.staggered_did_estimate, year_panel, measure)
        if found is None:
            tallies[key].failed += 1
            continue
        did, finding = found
        truth = supporting.staggered_did_truth(sim, measure, year_panel, did)
        tallies[key].add(condition, finding.estimate, *finding.ci, truth)
    coverage = supporting.training_coverage(sim, DATA_END)
    for measure in DOSE_MEASURES:
        key = f"dose_response:{measure}"
        quarterly = panels.get(measure)
        if quarterly is None:
            quarterly = _truncate(sim.locality_panel(measure))
        finding = _safe(supporting.dose_response_estimate, coverage, quarterly, measure)
        if finding is None:
            tallies[key].failed += 1
            continue
        # No association is the truth: the effect is the same whatever a locality's training.
        tallies[key].add(
            condition,
            finding.estimate,
            *finding.ci,
            0.0,
            called=supporting.called_a_change(finding),
        )


#: The first reporting year (ending 31 March) that contains the first wave's start.
ROLLOUT_YEAR = FIRST_WAVE.year + (1 if FIRST_WAVE.month > 3 else 0)


def _financial_year(dates: pd.Series) -> pd.Series:
    return dates.dt.year + (dates.dt.month > 3).astype(int)


def council_annual(sim: SimulatedPanel, measure: str) -> pd.DataFrame:
    """The council's DfE-style annual figures from the monthly panel: ``year`` (ending 31
    March), ``value`` (the year's total), ``population`` (the year's mean exposure)."""
    month = sim.locality_panel(measure, grain="month")
    area = month.groupby("period_end", as_index=False)[["value", "population"]].sum()
    area["year"] = _financial_year(pd.to_datetime(area["period_end"]))
    out = area.groupby("year").agg(value=("value", "sum"), population=("population", "mean"))
    out = out.reset_index()
    return out[(out["year"] >= 2016) & (out["year"] <= 2026)].reset_index(drop=True)


@functools.lru_cache(maxsize=4)
def _comparators(seed: int):
    from pipelines.sample.process import _simulate_comparators

    return _simulate_comparators(np.random.default_rng(seed))


def neighbour_annual(seed: int, measure: str) -> pd.DataFrame:
    """Ten statistical neighbours' annual figures from the sample's comparator process
    (:func:`pipelines.sample.process._simulate_comparators`, no effect)."""
    populations, annual = _comparators(seed)
    rows = [
        (
            code,
            fy,
            rec[measure],
            populations[code].get(fy - 1, populations[code][min(populations[code])]),
        )
        for code, years in annual.items()
        for fy, rec in years.items()
    ]
    return pd.DataFrame(rows, columns=["area_code", "year", "value", "population"])


def _controlled_row(
    sim: SimulatedPanel, measure: str, condition: str, tallies, plan: AnalysisPlan
) -> None:
    """The controlled comparison with statistical neighbours on this replicate's annual data."""
    from pipelines.analysis.verdict import verdict_from_annual

    v = verdict_from_annual(
        council_annual(sim, measure),
        neighbour_annual(sim.seed + 7, measure),
        ROLLOUT_YEAR,
        plan,
        {},
        outcome=measure,
    )
    start = pd.Timestamp(f"{ROLLOUT_YEAR - 1}-04-01")
    truth = sim.area_rate_ratio(measure, start, pd.Timestamp("2026-03-31"))
    tallies[f"controlled:{measure}"].add(condition, v.rate_ratio, v.ci_lower, v.ci_upper, truth)


def _before_rows(
    sim: SimulatedPanel, condition: str, tallies: dict[str, Tally], plan: AnalysisPlan
) -> None:
    """The Board before issue 13: whole-area ITS and tile on stocks, child-years difference."""
    for stock in ("cla_at_period_end", "cpp_at_period_end"):
        series = _area(_truncate(sim.locality_panel(stock)))
        its = _safe(_board_its, series, 4)
        rel = its_relative_effect(its) if its is not None else None
        truth = sim.area_rate_ratio(stock, FIRST_WAVE, DATA_END)
        tallies[f"before_its_hac:{stock}"].add(condition, *(rel or (None, None, None)), truth)
        tile = _safe(_before_after_tile, series)
        latest = series["period_end"].max()
        tile_truth = sim.area_rate_ratio(
            stock, latest - pd.offsets.QuarterEnd(4) + pd.Timedelta(days=1), latest
        )
        tallies[f"before_tile:{stock}"].add(
            condition,
            *(
                (tile.rate_ratio, tile.rate_ratio_lower, tile.rate_ratio_upper)
                if tile is not None
                else (None, None, None)
            ),
            tile_truth,
        )
    monthly = _area(_truncate(sim.locality_panel("cla_at_period_end", grain="month")))
    its = _safe(_board_its, monthly, 12)
    with_fx, without = sim.expected_totals("cla_at_period_end", FIRST_WAVE, DATA_END)
    truth_years = (without - with_fx) / 12
    if its is not None and its.post_totals:
        t = its.post_totals
        obs = t["observed"]
        tallies["before_child_years:cla_at_period_end"].add(
            condition,
            (t["counterfactual"] - obs) / 12,
            (t["counterfactual_lower"] - obs) / 12,
            (t["counterfactual_upper"] - obs) / 12,
            truth_years,
        )
    else:
        tallies["before_child_years:cla_at_period_end"].failed += 1
    for flow in plan.primary:
        series = _area(_truncate(sim.locality_panel(flow)))
        its = _safe(_board_its, series, 4)
        rel = its_relative_effect(its) if its is not None else None
        truth = sim.area_rate_ratio(flow, FIRST_WAVE, DATA_END)
        tallies[f"before_its_hac:{flow}"].add(condition, *(rel or (None, None, None)), truth)


LABELS = {
    "ri_did": ("Verdict: staggered DiD, randomisation inference", "verdict", "ratio"),
    "its_pooled": (
        "Verdict, second design: ITS at each locality's own start, AR(1), pooled",
        "verdict",
        "ratio",
    ),
    "controlled": (
        "Verdict (annual data only): DiD v 10 statistical neighbours, placebo in space",
        "verdict",
        "ratio",
    ),
    "area_before_after": (
        "Supporting: whole-area before/after (4 v 4 quarters), placebo-calibrated",
        "supporting",
        "ratio",
    ),
    "before_its_hac": (
        "Before: whole-area ITS, quasi-Poisson + HAC (tile/finding)",
        "before",
        "ratio",
    ),
    "before_tile": ("Before: tile rate ratio (latest 4 quarters v 4 before)", "before", "ratio"),
    "before_child_years": (
        "Before: child-years difference (monthly ITS + HAC)",
        "before",
        "child-years",
    ),
    "staggered_did": (
        "Supporting: staggered DiD by financial year (Callaway & Sant'Anna, not-yet-treated), "
        "ATT in rate per 10,000 a year",
        "supporting",
        "rate per 10,000",
    ),
    "dose_response": (
        "Supporting: training dose-response across localities (Spearman's rho, Fisher z; "
        "truth: no association)",
        "supporting",
        "Spearman rho",
    ),
    "practice_change": (
        "Practice: change since rollout, all units pooled (year 1 left out; Newcombe), "
        "in percentage points",
        "supporting",
        "percentage points",
    ),
    "practice_latest": (
        "Practice: latest four quarters pooled (Wilson; Board tile), in per cent; "
        "a change is called when the interval excludes the pre-rollout level",
        "supporting",
        "percentage points",
    ),
}


def _tally(key: str) -> Tally:
    design, subject = key.split(":", 1)  # a practice measure may hold a colon of its own
    label, kind, scale = LABELS[design]
    return Tally(label=f"{label}: {subject}", kind=kind, scale=scale)


def _mde_effects(mde_percent: Mapping[str, float], planted: SimulatedPanel) -> dict[str, float]:
    """Full-ramp effects whose estimand equals each stated MDE (the estimand is linear in
    the planted effect to within 0.1 point, so one planted replicate scales it)."""
    out = {}
    for m, mde in mde_percent.items():
        slope = (1 - planted.truth[m]) / -PLANTED_EFFECTS[m]
        out[m] = -(mde / 100) / slope
    return out


class _Auto(dict):
    """Tallies created on first use."""

    def __missing__(self, key):
        self[key] = _tally(key)
        return self[key]


def _pair_job(job) -> tuple[dict[str, Tally], dict[str, float | None]]:
    """One replicate with the planted effect and one without (a worker's unit of work)."""
    seed, i, plan, parts = job
    part = _Auto()
    outcome_parts = tuple(p for p in parts if p != "practice")
    mdes: dict[str, float | None] = {}
    if outcome_parts:
        run_replicate(simulate(seed + i, None), "effect", part, plan, outcome_parts)
        mdes = run_replicate(simulate(seed + 100_000 + i, {}), "none", part, plan, outcome_parts)
    if "practice" in parts:
        _practice_rows(seed + i, part)
    return dict(part), mdes


def _practice_rows(seed: int, tallies: dict[str, Tally]) -> None:
    """The practice evidence's change and latest figure, with the planted change and without
    (:mod:`benchmarks.calibrate_practice`)."""
    for condition, planted, offset in (("effect", True, 0), ("none", False, 100_000)):
        for key, (estimate, lower, upper), truth in practice.replicate(seed + offset, planted):
            called = None
            if key.startswith("practice_latest:"):
                baseline = 100 * practice.baseline_of(key)
                called = not (lower <= baseline <= upper)
            tallies[key].add(condition, estimate, lower, upper, truth, called=called)


def _mde_job(job) -> dict[str, bool]:
    """One replicate planted at the stated MDE: was a change detected, per outcome."""
    seed, i, plan, effects = job
    sim = simulate(seed + 200_000 + i, effects)
    panels = {m: _truncate(sim.locality_panel(m)) for m in plan.primary}
    return {v.outcome: v.detected for v in verdicts_from_panels(panels, plan, {})}


def _map(fn, jobs, processes: int):
    """``map(fn, jobs)`` in order, over ``processes`` worker processes when above 1."""
    if processes <= 1 or len(jobs) < 2:
        yield from map(fn, jobs)
        return
    import multiprocessing as mp

    with mp.get_context("fork").Pool(processes, initializer=_freeze_heap) as pool:
        yield from pool.imap(fn, jobs, chunksize=2)


def _freeze_heap() -> None:
    """Move a worker's inherited objects (pandas, statsmodels, ``differences``: some 170,000)
    out of the garbage collector's reach. statsmodels' Holm correction calls ``gc.collect()``
    on every verdict, which otherwise walks them all each time (0.1-0.2 s a call)."""
    gc.collect()
    gc.freeze()


def calibrate(
    replicates: int,
    plan: AnalysisPlan = DEFAULT_PLAN,
    seed: int = BASE_SEED,
    progress=print,
    *,
    parts: tuple[str, ...] = PARTS,
    mde_check: bool = True,
    processes: int = 2,
):
    """Run the harness; returns ({estimate key: summary}, seconds). ``parts``: which of
    :data:`PARTS` to run; ``mde_check=False`` skips the replicates planted at the MDE (which
    needs the verdicts)."""
    tallies: dict[str, Tally] = {}

    def tally(key: str) -> Tally:
        if key not in tallies:
            tallies[key] = _tally(key)
        return tallies[key]

    stated: dict[str, list[float]] = {m: [] for m in plan.primary}
    start = time.perf_counter()
    jobs = [(seed, i, plan, tuple(parts)) for i in range(replicates)]
    for k, (part, mdes) in enumerate(_map(_pair_job, jobs, processes)):
        for key, t in part.items():
            tally(key).merge(t)
        for m, v in mdes.items():
            if v is not None and math.isfinite(v):
                stated[m].append(v)
        if progress and (k + 1) % max(1, replicates // 10) == 0:
            progress(f"  {k + 1}/{replicates} replicates, {time.perf_counter() - start:.0f} s")
    mde = {m: float(np.median(v)) for m, v in stated.items() if v}
    effects = _mde_effects(mde, simulate(seed, None))
    check = mde_check and "verdicts" in parts
    mde_jobs = [(seed, i, plan, effects) for i in range(replicates if check else 0)]
    for detected in _map(_mde_job, mde_jobs, processes):
        for m, d in detected.items():
            tally(f"ri_did:{m}").mde_detected.append(d)
    for m, values in stated.items():
        if values:
            tally(f"ri_did:{m}").mde = values
    return {k: t.summary() for k, t in sorted(tallies.items())}, time.perf_counter() - start


def _fmt(value, kind: str = "pct") -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * value:.0f}%"
    if kind == "bias":
        return f"{value:+.3f}".replace("-", "\u2212")
    return f"{value:.1f}"


def table(results: Mapping[str, Mapping], replicates: int, seconds: float, load: str = "") -> str:
    """The Markdown table appended to docs/calibration.md (``load``: the machine's load
    averages during the run, in words, so a wall time can be read against them)."""
    lines = [
        f"### {dt.date.today().isoformat()}: {replicates} replicates with the planted effect "
        f"and {replicates} without ({seconds:.0f} s{'; ' + load if load else ''})",
        "",
        "| estimate | coverage (effect / none / pooled) | called a change with no effect | "
        "power at the planted effect | bias | median width | MDE stated → detected |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        unit, digits = DIFFERENCE_UNITS.get(r["scale"], ("pts", 0))
        width = "–" if r["mean_width"] is None else f"{r['mean_width']:.{digits}f} {unit}"
        bias = _fmt(r["bias"], "bias") + (" (log)" if r["scale"] == "ratio" else f" {unit}")
        mde = (
            f"{r['mde_percent']:.0f}% → {_fmt(r['mde_detection'])}"
            if r.get("mde_percent") is not None
            else "–"
        )
        lines.append(
            f"| {r['label']} | {_fmt(r['coverage_effect'])} / {_fmt(r['coverage_no_effect'])} / "
            f"{_fmt(r['coverage'])} | {_fmt(r['false_positive_rate'])} | {_fmt(r['power'])} | "
            f"{bias} | {width} | {mde} |"
        )
    return "\n".join(lines) + "\n"


def write_results(
    results: Mapping[str, Mapping],
    replicates: int,
    path: Path = CALIBRATION_FILE,
    *,
    keep_others: bool = False,
) -> None:
    """Write ``calibration.json``. ``keep_others``: a run of some parts only replaces the
    estimates it measured and keeps the rest (every estimate records its own replicates)."""
    kept = {}
    if keep_others and path.is_file():
        kept = json.loads(path.read_text(encoding="utf-8")).get("estimates", {})
    payload = {
        "generated": dt.date.today().isoformat(),
        "replicates": replicates,
        "process": "pipelines.sample.simulate (the sample's data process)",
        "estimates": kept
        | {
            k: {
                "coverage": r["coverage"],
                "coverage_effect": r["coverage_effect"],
                "coverage_no_effect": r["coverage_no_effect"],
                "false_positive_rate": r["false_positive_rate"],
                "power": r["power"],
                "bias": r["bias"],
                "mde_percent": r["mde_percent"],
                "mde_detection": r["mde_detection"],
                "replicates": r["replicates"],
            }
            for k, r in results.items()
            if r["coverage"] is not None
        },
    }
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.calibrate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="comma-separated parts to run (default all: %(default)s); a partial run replaces "
        "only its own estimates in calibration.json",
    )
    args = parser.parse_args(argv)
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {unknown[0]!r}; choose from {', '.join(PARTS)}.")
    before = os.getloadavg()[0]
    results, seconds = calibrate(args.replicates, parts=parts)
    load = f"load average {before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    text = table(results, args.replicates, seconds, load)
    print(text)
    if not args.no_write:
        write_results(results, args.replicates, keep_others=parts != PARTS)
        with DOC.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
