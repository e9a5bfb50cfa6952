"""The Board's supporting estimates that read localities, for the calibration harness.

:func:`pipelines.analysis.board.board_findings` shows two interval estimates across localities
besides the verdicts: the staggered difference-in-differences on starts by financial year
(:func:`pipelines.analysis.cohorts.cohort_analysis` with ``grain="financial_year"``,
``cross_checks=False``: Callaway & Sant'Anna through ``differences``' ATTgt, not-yet-treated
comparison) and the training dose-response on CPP starts
(:func:`pipelines.analysis.training.dose_response_analysis`: Spearman's rho of each locality's
training coverage against its relative change in rate over 4 quarters each side of its own
start, Fisher-z interval). Both read the warehouse; here they run on one simulated replicate
through the same pure steps, on panels built to the warehouse's shape
(``tests/test_calibration.py`` checks that on the committed sample they give the Board's
numbers exactly).

**The truths.** For the DiD, the finding's estimate is the simple ATT in rate per 10,000 a
year: the average over the post-rollout (cohort, year) cells the estimator could compute,
weighted by cohort size, of the cohort's mean difference in expected rate with and without the
effect (:func:`staggered_did_truth`; exact expectations from :mod:`pipelines.sample.simulate`).
For the dose-response, the truth is no association (rho 0): the sample's process plants the
same effect in every locality whatever its training coverage, so any rho an interval excludes
zero for is a link training did not make.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.analysis.cohorts import DID_FREQ
from pipelines.analysis.training import dose_table
from pipelines.measures import measure as measure_of
from pipelines.sample import LOCALITIES, SimulatedPanel
from pipelines.sample.process import _simulate_training
from pipelines.stats import findings as fnd
from pipelines.stats.did import StaggeredDiDResult, period_index, staggered_did
from pipelines.stats.dose_response import dose_response
from pipelines.stats.rates import proportion_ci

#: What the Board passes (``board_findings``, ``cohort_analysis``, ``dose_response_analysis``).
DID_GRAIN = "financial_year"
DID_CONTROL = "not_yet_treated"
DOSE_WINDOW = 4
#: The generator's random streams (:func:`pipelines.sample.write.generate`): training is the
#: third of six spawned from the seed.
_STREAMS, _TRAINING_STREAM = 6, 2


def _financial_year_end(dates: pd.DatetimeIndex) -> np.ndarray:
    """31 March ending the financial year of each date (the warehouse's ``_FINANCIAL_YEAR_END``)."""
    year = dates.year.to_numpy() + (dates.month.to_numpy() >= 4)
    return pd.to_datetime(pd.DataFrame({"year": year, "month": 3, "day": 31})).to_numpy()


def _by_unit(cells: np.ndarray) -> np.ndarray:
    """Locality x month totals from the simulator's (locality x age band) x month arrays."""
    return cells.reshape(len(LOCALITIES), -1, cells.shape[-1]).sum(axis=1)


def financial_year_panel(sim: SimulatedPanel, measure: str, end: pd.Timestamp) -> pd.DataFrame:
    """The locality x financial-year panel of a flow up to ``end``, in the shape of
    :func:`pipelines.analysis.cohorts.unit_panel` at ``grain="financial_year"``.

    As the warehouse builds it: complete years only (twelve months), each year's total, and
    the population of the latest mid-year estimate at or before 31 March (the March month's);
    each locality's cohort is its first year ending on or after its start.
    """
    months = sim._month_ends
    keep = np.asarray(months <= end)
    year_end = _financial_year_end(months)[keep]
    years, first, n_months = np.unique(year_end, return_index=True, return_counts=True)
    complete = n_months == 12
    totals = np.add.reduceat(_by_unit(sim._values[measure])[:, keep], first, axis=1)
    march = first + n_months - 1  # a complete year's last month is its March
    population = _by_unit(sim._population)[:, keep][:, march]
    years, totals, population = years[complete], totals[:, complete], population[:, complete]
    rollout = sim.rollout.set_index("unit").loc[list(LOCALITIES)]
    n_years = len(years)
    panel = pd.DataFrame(
        {
            "unit": np.repeat(list(LOCALITIES), n_years),
            "period_end": np.tile(years, len(LOCALITIES)),
            "wave": np.repeat(rollout["wave"].to_numpy(), n_years),
            "start_date": np.repeat(rollout["start_date"].to_numpy(), n_years),
            "value": totals.reshape(-1).astype("float64"),
            "population": population.reshape(-1).astype("int64"),
        }
    )
    panel["rate_per_10k"] = panel["value"] / panel["population"] * 10_000
    times = dict(zip(years, period_index(pd.Series(years), DID_FREQ[DID_GRAIN]), strict=True))
    panel["time"] = panel["period_end"].map(times).astype("int64")
    after = panel["time"].where(panel["period_end"] >= panel["start_date"])
    panel["cohort"] = after.groupby(panel["unit"]).transform("min").astype("Int64")
    cols = ["unit", "period_end", "time", "cohort", "wave", "start_date", "value", "population"]
    return panel[[*cols, "rate_per_10k"]]


def staggered_did_estimate(
    panel: pd.DataFrame, measure: str
) -> tuple[StaggeredDiDResult, fnd.Finding]:
    """The Board's financial-year staggered DiD on ``panel`` and the finding it shows."""
    did = staggered_did(
        panel.assign(cohort=panel["cohort"].astype("float64")),
        "unit",
        "time",
        "rate_per_10k",
        "cohort",
        control=DID_CONTROL,
    )
    finding = fnd.from_staggered_did(
        did, label=measure, place="the localities", period="year", measure=measure
    )
    return did, finding


def staggered_did_truth(
    sim: SimulatedPanel, measure: str, panel: pd.DataFrame, did: StaggeredDiDResult
) -> float:
    """The estimand of ``did.simple``: the cohort-size-weighted mean, over the post-rollout
    cells the estimator computed, of the cohort's mean difference in expected rate per 10,000
    with the effect and without it (0 with no effect planted)."""
    if measure not in sim._expected:
        return 0.0
    with_fx, without = sim._expected[measure]
    year_end = _financial_year_end(sim._month_ends)
    years, first = np.unique(year_end, return_index=True)
    gap = np.add.reduceat(_by_unit(with_fx - without), first, axis=1)  # locality x year
    column = {y: k for k, y in enumerate(years)}
    row = {u: k for k, u in enumerate(LOCALITIES)}
    cells = panel.assign(
        gap=gap[panel["unit"].map(row).to_numpy(), panel["period_end"].map(column).to_numpy()]
    )
    cells["rate_gap"] = cells["gap"] / cells["population"] * 10_000
    mean_gap = cells.groupby(["cohort", "time"])["rate_gap"].mean()
    post = did.group_time[did.group_time["relative_period"] >= 0]
    sizes = np.array([did.cohort_sizes[int(c)] for c in post["cohort"]], dtype="float64")
    gaps = np.array(
        [mean_gap[(int(c), int(t))] for c, t in zip(post["cohort"], post["time"], strict=True)]
    )
    return float(sizes @ gaps / sizes.sum()) if sizes.sum() else 0.0


def training_coverage(sim: SimulatedPanel, end: pd.Timestamp) -> pd.DataFrame:
    """Each locality's training coverage per quarter up to ``end``, as
    :func:`pipelines.marts.training_coverage` with ``by=("unit",)`` reads it: the generator's
    own training draw for this replicate's seed, summed over agencies and courses."""
    rng = np.random.default_rng(sim.seed).spawn(_STREAMS)[_TRAINING_STREAM]
    raw = _simulate_training(rng)
    raw["period_end"] = pd.to_datetime(raw["period_end"])
    raw = raw[raw["period_end"] <= end]
    frame = raw.groupby(["period_end", "unit"], as_index=False)[
        ["staff_in_scope", "staff_trained"]
    ].sum()
    ci = proportion_ci(frame["staff_trained"].astype(float), frame["staff_in_scope"].astype(float))
    frame["coverage"] = ci["proportion"].to_numpy()
    return frame


def dose_response_estimate(
    coverage: pd.DataFrame, quarterly: pd.DataFrame, measure: str
) -> fnd.Finding:
    """The Board's dose-response finding from training ``coverage`` and a flow's quarterly
    locality panel (:meth:`SimulatedPanel.locality_panel`, cut at the data's end), through
    the steps of :func:`pipelines.analysis.training.dose_response_analysis`."""
    panel = quarterly.rename(columns={"series": "unit"})
    panel = panel.assign(rate_per_10k=panel["value"] / panel["population"] * 10_000)
    rollouts = panel.groupby("unit")["start_date"].first()
    table = dose_table(coverage, panel, rollouts, coverage["period_end"].max(), DOSE_WINDOW)
    table["relative_change"] = table["change"] / table["rate_before"].where(
        table["rate_before"] > 0
    )
    result = dose_response(table, "coverage", "relative_change", unit_col="unit")
    return fnd.from_dose_response(
        result, label=measure, improvement=measure_of(measure).improvement, measure=measure
    )


def called_a_change(finding: fnd.Finding) -> bool:
    """Whether the finding claims a change: its interval has width and excludes none (a
    degenerate interval, as a perfect rank correlation in six localities gives, claims none)."""
    lower, upper = finding.ci
    return bool(fnd.interval_has_width(lower, upper, 2) and fnd.interval_excludes(lower, upper, 0))
