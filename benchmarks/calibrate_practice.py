"""The practice evidence's intervals, for the calibration harness (``--parts practice``).

Two estimates reach the Board and the Practice page (:mod:`pipelines.analysis.practice`):

- **change since rollout**, every unit pooled: the quarters before each unit's start against
  those from a year after it, Newcombe's 95% interval for the difference in proportions;
- **the latest figure**: the latest four quarters pooled, Wilson's 95% interval.

Each replicate re-simulates the sample's practice data (:mod:`pipelines.sample.practice`, its
quarter-to-quarter variation included) with the planted change and without it, and runs the
same pure steps (:func:`~pipelines.analysis.practice.change_table`,
:func:`~pipelines.analysis.practice.pooled_latest`) on series built to the mart's shape.

**The truths.** After the bedding-in year every unit is at full effect, so the pooled change's
truth is the planted change (0 without it). The latest figure's truth is the expected share
at full effect (baseline + planted; the baseline without it). Both are on the scale the page
shows: percentage points.
"""

from __future__ import annotations

import pandas as pd

from pipelines.analysis.practice import change_table, pooled_latest
from pipelines.sample import practice as sample
from pipelines.sample.params import WAVES
from pipelines.stats.rates import proportion_ci

#: Estimates measured: analysis measure key -> (the sample's planted key, how to count it).
MEASURES = {
    "good_or_better": "good_or_better",
    "statement:I was listened to": "agree:listened_to",
    "statement:I was involved in decisions about my family": "agree:involved",
    "fgc_held": "fgc_held",
    "in_network_6m": "in_network_6m",
}
#: The latest-figure rows (the Board tile's two measures).
LATEST = ("good_or_better", "statement:I was listened to")


def rollout_table() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"unit": unit, "wave": wave, "start_date": start}
            for wave, (start, units) in WAVES.items()
            for unit in units
        ]
    )


def _counts(data: sample.PracticeSample, measure: str) -> pd.DataFrame:
    """``unit, period_end, successes, trials`` for one measure from the simulated frames."""
    if measure == "good_or_better":
        a = data.practice_audit
        return a.assign(successes=a.graded_outstanding + a.graded_good, trials=a.audits_completed)
    if measure.startswith("statement:"):
        key = MEASURES[measure].split(":")[1]
        f = data.family_feedback.groupby(["unit", "period_end"], as_index=False)[
            [f"agree_{key}", "responses"]
        ].sum()
        return f.rename(columns={f"agree_{key}": "successes", "responses": "trials"})
    g = data.fgc_outcomes
    whole = {"fgc_held": "fgc_offered", "in_network_6m": "children_followed_6m"}[measure]
    return g.assign(successes=g[measure], trials=g[whole]).dropna(subset=["trials"])


def unit_series(data: sample.PracticeSample, measure: str) -> dict[str, pd.DataFrame]:
    frame = _counts(data, measure)[["unit", "period_end", "successes", "trials"]].copy()
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    frame[["successes", "trials"]] = frame[["successes", "trials"]].astype(float)
    return {u: part.drop(columns="unit") for u, part in frame.groupby("unit")}


def estimates(data: sample.PracticeSample, planted: bool) -> list[tuple[str, tuple, float]]:
    """(key, (estimate, lower, upper), truth) for every measured estimate, in points."""
    out = []
    rollout = rollout_table()
    for measure, planted_key in MEASURES.items():
        series = unit_series(data, measure)
        change = change_table(series, rollout).set_index("group").loc["All units"]
        truth = 100 * sample.PLANTED_PRACTICE[planted_key] if planted else 0.0
        found = tuple(100 * change[c] for c in ("change", "change_lower", "change_upper"))
        out.append((f"practice_change:{measure}", found, truth))
        if measure in LATEST:
            area = pd.concat(series.values()).groupby("period_end", as_index=False).sum()
            latest = pooled_latest(area)
            ci = proportion_ci(latest["successes"].sum(), latest["trials"].sum())
            share = sample.BASELINE[planted_key] + (
                sample.PLANTED_PRACTICE[planted_key] if planted else 0.0
            )
            found = tuple(100 * float(ci[c].iloc[0]) for c in ("proportion", "lower", "upper"))
            out.append((f"practice_latest:{measure}", found, 100 * share))
    return out


def baseline_of(key: str) -> float:
    """The pre-rollout expected share behind an estimate key (``practice_latest:<measure>``)."""
    return sample.BASELINE[MEASURES[key.split(":", 1)[1]]]


def replicate(seed: int, planted: bool) -> list[tuple[str, tuple, float]]:
    """One simulated practice dataset, with the planted change or without it."""
    data = sample.simulate_practice(seed=seed, effects=None if planted else {})
    return estimates(data, planted)
