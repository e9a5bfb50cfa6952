"""An in-memory replicate of the sample's data process, with its true effect, for calibration.

:func:`simulate` draws the same process as the committed sample (seasonality, trend, the
COVID-19 dip in referrals, the ramp-in over :data:`RAMP_MONTHS` after each locality's wave,
stock dynamics) with any seed and any planted effect, and returns the locality x month x age
band counts and populations as DataFrames. ``simulate(SEED)`` reproduces the committed sample's
outcomes exactly: it spawns the same random streams in the same order as
:func:`pipelines.sample.write.generate`.

**The estimand** (what "the true effect" means here). For a measure ``m`` and a set ``A`` of
treated locality-months (months on or after the locality's start month)::

    theta_m(A) = sum_{(i,t) in A} E[Y_it | effect] / sum_{(i,t) in A} E[Y_it | no effect]

the exposure-weighted average rate ratio over the treated locality-months, each month weighted
by its expected count without the effect (Borusyak, Jaravel & Spiess 2024, "Revisiting event
study designs", Rev Econ Stud 91:3253-3285, call this a weighted average of the cell-level
effects; with one multiplier per cell it is the ratio of expected totals). Expectations are
exact: starts from their Poisson means, stocks and exits from the linear recursion
``E[S_t] = (1 - p) E[S_{t-1}] + E[starts_t]``. The default ``A`` (:attr:`SimulatedPanel.truth`)
is every treated locality-month before the last wave's start, the cells a staggered
difference-in-differences with not-yet-treated comparisons can estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from pipelines.sample.dates import _month_end
from pipelines.sample.params import (
    _CLA_CEASE_P,
    _CPP_END_P,
    _CPP_REPEAT_P,
    LOCALITIES,
    OUTCOME_MEASURES,
    PLANTED_EFFECTS,
    POPULATION_YEARS,
    WAVES,
)
from pipelines.sample.process import _simulate_outcome_arrays, _simulate_population

#: Measures whose expected value the effect on starts changes (the rest have ratio 1).
_EXIT_P = {"cla": _CLA_CEASE_P, "cpp": _CPP_END_P}


@dataclass(frozen=True)
class SimulatedPanel:
    """One replicate: counts, populations, rollout and the true effects.

    ``counts``: one row per locality x age band x month (``period_end`` the month end, as a
    Timestamp), one column per outcome measure. ``population``: the same keys with
    ``population`` (the mid-year estimate a rate for that month uses). ``rollout``: ``unit``,
    ``wave``, ``start_date``. ``effects``: the proportional change at full ramp that was
    planted. ``truth``: measure -> the estimand (see the module docstring) over every treated
    locality-month before the last wave's start.
    """

    seed: int
    effects: Mapping[str, float]
    counts: pd.DataFrame
    population: pd.DataFrame
    rollout: pd.DataFrame
    truth: Mapping[str, float]
    _expected: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(repr=False)
    _months_since: np.ndarray = field(repr=False)
    _month_ends: pd.DatetimeIndex = field(repr=False)
    _values: Mapping[str, np.ndarray] = field(repr=False)
    _population: np.ndarray = field(repr=False)

    def true_rate_ratio(
        self, measure: str, *, end: date | pd.Timestamp | None = None, units=None
    ) -> float:
        """The estimand for ``measure`` over treated locality-months up to ``end``.

        ``end`` defaults to the day before the last wave's start; ``units`` (localities)
        defaults to all. Measures the effect does not reach give 1.0.
        """
        if measure not in self._expected:
            return 1.0
        treated_arr, untreated_arr = self._expected[measure]
        end_ts = pd.Timestamp(end) if end is not None else _last_wave_start() - pd.Timedelta(days=1)
        cells = self.counts.drop_duplicates(["unit", "age_band"])["unit"].to_numpy()
        keep_unit = np.ones(len(cells), bool) if units is None else np.isin(cells, list(units))
        mask = (self._months_since >= 0) & (self._month_ends <= end_ts)[None, :]
        mask &= keep_unit[:, None]
        den = untreated_arr[mask].sum()
        return float(treated_arr[mask].sum() / den) if den > 0 else 1.0

    def expected_totals(self, measure: str, start, end) -> tuple[float, float]:
        """Expected totals over the whole area for months ending in [start, end]: (with the
        effect, without it). For a stock, the sum of month-end expectations."""
        months = (self._month_ends >= pd.Timestamp(start)) & (self._month_ends <= pd.Timestamp(end))
        if measure not in self._expected:
            total = float(
                self.counts.loc[
                    self.counts["period_end"].isin(self._month_ends[months]), measure
                ].sum()
            )
            return total, total
        treated_arr, untreated_arr = self._expected[measure]
        return float(treated_arr[:, months].sum()), float(untreated_arr[:, months].sum())

    def area_rate_ratio(self, measure: str, start, end) -> float:
        """The whole area's true rate ratio over months ending in [start, end], treated or not
        (the estimand of a whole-area before/after or ITS)."""
        with_fx, without = self.expected_totals(measure, start, end)
        return with_fx / without if without > 0 else 1.0

    def locality_panel(self, measure: str, grain: str = "quarter") -> pd.DataFrame:
        """Locality x period panel in the shape of :func:`pipelines.marts.outcome_panel`.

        Columns ``period_end``, ``series`` (the locality), ``value``, ``population``, ``wave``,
        ``start_date``. A quarter (ending March, June, September, December; complete quarters
        only) sums a flow's months and takes a stock (``*_at_period_end``) at its last month,
        as the warehouse does; its population is the latest mid-year estimate at or before its
        end.
        """
        if grain not in ("month", "quarter"):
            raise ValueError("grain must be 'month' or 'quarter'.")
        n_units, n_months = len(LOCALITIES), len(self._month_ends)
        by_unit = self._values[measure].reshape(n_units, -1, n_months).sum(axis=1)
        population = self._population.reshape(n_units, -1, n_months).sum(axis=1)
        ends = self._month_ends
        if grain == "quarter":
            quarter = ends + pd.offsets.QuarterEnd(0)
            last_month = np.flatnonzero(ends == quarter)
            last_month = last_month[last_month >= 2]  # complete quarters only
            first_month = last_month - 2
            if measure.endswith("_at_period_end"):
                by_unit = by_unit[:, last_month]
            else:  # the quarter's three months
                by_unit = sum(by_unit[:, first_month + k] for k in range(3))
            population, ends = population[:, last_month], ends[last_month]
        starts = self.rollout.set_index("unit").loc[list(LOCALITIES)]
        return pd.DataFrame(
            {
                "period_end": np.tile(ends.to_numpy(), n_units),
                "series": np.repeat(list(LOCALITIES), len(ends)),
                "value": by_unit.reshape(-1).astype(np.int64),
                "population": population.reshape(-1).astype(np.int64),
                "wave": np.repeat(starts["wave"].to_numpy(), len(ends)),
                "start_date": np.repeat(starts["start_date"].to_numpy(), len(ends)),
            }
        )


def _last_wave_start() -> pd.Timestamp:
    return pd.Timestamp(max(start for start, _ in WAVES.values()))


def _expected_stock(starts: np.ndarray, exit_p: float, initial: np.ndarray) -> np.ndarray:
    """E[S_t] = (1 - p) E[S_{t-1}] + E[starts_t] (the stock process in ``_simulate_stocks``)."""
    out = np.empty_like(starts)
    prev = initial
    for t in range(starts.shape[1]):
        prev = (1 - exit_p) * prev + starts[:, t]
        out[:, t] = prev
    return out


def _expected_values(
    expected: Mapping[str, np.ndarray],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Measure -> (expected with the effect, expected without), cells x months."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind in ("cla", "cpp"):
        with_fx = expected[f"{kind}_starts"]
        without = expected[f"{kind}_starts:untreated"]
        p = _EXIT_P[kind]
        initial = expected[f"{kind}_initial"]
        stock = _expected_stock(with_fx, p, initial), _expected_stock(without, p, initial)
        prev = [np.column_stack([initial, s[:, :-1]]) for s in stock]
        stock_name = "cla_at_period_end" if kind == "cla" else "cpp_at_period_end"
        exit_name = "cla_ceased" if kind == "cla" else "cpp_ends"
        out[f"{kind}_starts"] = (with_fx, without)
        out[stock_name] = stock
        out[exit_name] = (p * prev[0], p * prev[1])
    out["cpp_repeat_starts"] = tuple(_CPP_REPEAT_P * a for a in out["cpp_starts"])
    return out


def _mart_population_year(month_ends: pd.DatetimeIndex) -> np.ndarray:
    """Latest mid-year (30 June) estimate at or before each date, within the years held."""
    year = month_ends.year.to_numpy() - (month_ends.month.to_numpy() < 6)
    return np.clip(year, POPULATION_YEARS[0], POPULATION_YEARS[-1])


def simulate(seed: int, effects: Mapping[str, float] | None = None) -> SimulatedPanel:
    """Draw one replicate of the sample's outcome process.

    ``effects``: measure -> proportional change at full ramp (``{"cla_starts": -0.15}``);
    ``None`` plants :data:`PLANTED_EFFECTS`, ``{}`` plants nothing. Only ``cla_starts`` and
    ``cpp_starts`` carry an effect in this process; stocks, exits and repeat plans follow
    from the starts. No files are written; one call takes a few tens of milliseconds.
    """
    effects = dict(PLANTED_EFFECTS if effects is None else effects)
    rng_pop, rng_out, *_ = np.random.default_rng(seed).spawn(6)
    pop_table = _simulate_population(rng_pop)
    draw = _simulate_outcome_arrays(rng_out, pop_table, effects)
    month_ends = pd.DatetimeIndex([pd.Timestamp(_month_end(y, m)) for y, m in draw.months])
    units = np.array([u for u, _ in draw.cells])
    bands = np.array([b for _, b in draw.cells])
    n_months = len(month_ends)
    keys = {
        "period_end": np.tile(month_ends.to_numpy(), len(draw.cells)),
        "unit": np.repeat(units, n_months),
        "age_band": np.repeat(bands, n_months),
    }
    counts = pd.DataFrame(
        {**keys, **{m: draw.values[m].reshape(-1).astype(np.int64) for m in OUTCOME_MEASURES}}
    )
    # The exposure for a month, as the warehouse joins it (not the generator's July switch).
    lookup = pop_table.set_index(["year", "unit", "age_band"])["population_0_17"]
    pop_year = np.tile(_mart_population_year(month_ends), len(draw.cells))
    index = pd.MultiIndex.from_arrays([pop_year, keys["unit"], keys["age_band"]])
    population = pd.DataFrame({**keys, "population": lookup.reindex(index).to_numpy()})
    rollout = (
        pd.DataFrame(
            [(u, w, pd.Timestamp(start)) for w, (start, us) in WAVES.items() for u in us],
            columns=["unit", "wave", "start_date"],
        )
        .set_index("unit")
        .loc[list(LOCALITIES)]
        .reset_index()
    )
    expected = _expected_values(draw.expected)
    panel = SimulatedPanel(
        seed=seed,
        effects=effects,
        counts=counts,
        population=population,
        rollout=rollout,
        truth={},
        _expected=expected,
        _months_since=draw.months_since,
        _month_ends=month_ends,
        _values=draw.values,
        _population=population["population"].to_numpy().reshape(len(draw.cells), n_months),
    )
    truth = {m: panel.true_rate_ratio(m) for m in OUTCOME_MEASURES}
    object.__setattr__(panel, "truth", truth)
    return panel
