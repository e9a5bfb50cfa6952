"""The sample's data process: population, monthly outcomes, training, comparators, England.

Every function takes its own ``numpy`` random generator, so the file generator and the
in-memory simulator draw exactly the same numbers for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipelines.sample.dates import (
    _add_months,
    _fy_end,
    _month_end,
    _months,
    _months_since,
    _pop_year,
    rollout_start,
)
from pipelines.sample.params import (
    _AGENCY_COVERAGE,
    _CARE_SEASON,
    _CIN_RATE,
    _CIN_SHARES,
    _CLA_CEASE_P,
    _CLA_SHARES,
    _CLA_START_RATE,
    _CLA_TREND,
    _COURSE_COVERAGE,
    _COURSE_MIDPOINT,
    _CPP_END_P,
    _CPP_REPEAT_P,
    _CPP_SHARES,
    _CPP_START_RATE,
    _CPP_TREND,
    _FGC_AFTER,
    _FGC_BEFORE,
    _LOCALITY_COVERAGE,
    _LOCALITY_NEED,
    _LOCALITY_POP_2014,
    _POP_GROWTH,
    _POP_SHARES,
    _REF_SHARES,
    _REFERRAL_RATE,
    _REFERRAL_SEASON,
    _REFERRAL_TREND,
    _REREFERRAL_P,
    _SCOPE_RANGES,
    AGE_BANDS,
    AGENCIES,
    AREA_CODE,
    COMPARATOR_CODES,
    COURSES,
    COVID_REFERRAL_FACTORS,
    DFE_YEARS,
    LOCALITIES,
    OUTCOME_MEASURES,
    POPULATION_YEARS,
    RAMP_MONTHS,
    SAMPLE_END,
    TRAINING_START,
)


def current_planted_effects() -> Mapping[str, float]:
    """The planted effects as ``pipelines.sample.PLANTED_EFFECTS`` holds them now.

    Read from the package at call time, so the package attribute stays the one switch for
    the file generator (tests turn the effect off by setting it).
    """
    import pipelines.sample as package  # at call time: the package imports this module

    return package.PLANTED_EFFECTS


def planted_multiplier(
    months_since_rollout, measure: str, effects: Mapping[str, float] | None = None
):
    """Multiplier applied to the expected monthly count of ``measure``.

    ``months_since_rollout`` counts months from the locality's start month (month 0 is the
    first month on or after the start date; negative means before rollout). The multiplier is
    ``1 + effect * min(1, months / RAMP_MONTHS)`` from month 0 on and 1 before, so the full
    effect is reached at month 12, i.e. after 4 quarters. Measures without a planted effect
    get 1. ``effects`` (measure -> proportional change at full ramp) defaults to the planted
    ones. Accepts a number or a numpy array.
    """
    effects = current_planted_effects() if effects is None else effects
    effect = effects.get(measure, 0.0)
    m = np.asarray(months_since_rollout, dtype=float)
    ramp = np.clip(m / RAMP_MONTHS, 0.0, 1.0)
    out = 1.0 + effect * ramp
    if out.ndim == 0:
        return float(out)
    return out


def _simulate_population(rng: np.random.Generator) -> pd.DataFrame:
    """Mid-year population per locality and age band (integers)."""
    rows = []
    n_years = len(POPULATION_YEARS)
    for i, unit in enumerate(LOCALITIES):
        shares = rng.dirichlet(_POP_SHARES * 800)
        growth = _POP_GROWTH + rng.normal(0, 0.0015)
        drift = rng.normal(0, 0.0008, size=(n_years, len(AGE_BANDS))).cumsum(axis=0)
        for k, year in enumerate(POPULATION_YEARS):
            total = _LOCALITY_POP_2014[i] * (1 + growth) ** k * (1 + rng.normal(0, 0.002))
            s = np.clip(shares + drift[k], 0.01, None)
            s = s / s.sum()
            for b, band in enumerate(AGE_BANDS):
                rows.append((year, unit, band, int(round(total * s[b]))))
    return pd.DataFrame(rows, columns=["year", "unit", "age_band", "population_0_17"])


def _season(months: list[tuple[int, int]], factors: np.ndarray) -> np.ndarray:
    return np.array([factors[m - 1] for _, m in months])


def _simulate_stocks(
    rng: np.random.Generator,
    starts_mean: np.ndarray,
    exit_p: np.ndarray,
    initial_mean: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly stock process: stock_t = stock_{t-1} + starts_t - exits_t.

    ``starts_mean`` is cells x months; ``exit_p`` and ``initial_mean`` are per cell.
    exits_t ~ Binomial(stock_{t-1}, exit_p). Returns (stock, starts, exits), all int64.
    """
    n_cells, n_months = starts_mean.shape
    stock = np.zeros((n_cells, n_months), dtype=np.int64)
    starts = np.zeros_like(stock)
    exits = np.zeros_like(stock)
    prev = rng.poisson(initial_mean).astype(np.int64)
    for t in range(n_months):
        starts[:, t] = rng.poisson(starts_mean[:, t])
        exits[:, t] = rng.binomial(prev, exit_p)
        stock[:, t] = prev + starts[:, t] - exits[:, t]
        prev = stock[:, t]
    return stock, starts, exits


@dataclass(frozen=True)
class OutcomeArrays:
    """One draw of the monthly outcome process, as cells x months arrays.

    ``cells`` are (locality, age band) pairs in :data:`LOCALITIES` x :data:`AGE_BANDS` order;
    ``months`` are (year, month) pairs from :data:`SAMPLE_START` to :data:`SAMPLE_END`.
    ``expected`` holds the expected monthly starts with and without the effect
    (``"<measure>"`` and ``"<measure>:untreated"``) and the mean of each stock's starting
    value (``"cla_initial"``, ``"cpp_initial"``): the inputs of the estimand.
    """

    months: tuple[tuple[int, int], ...]
    cells: tuple[tuple[str, str], ...]
    population: np.ndarray
    months_since: np.ndarray
    values: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]


def _simulate_outcome_arrays(
    rng: np.random.Generator,
    population: pd.DataFrame,
    effects: Mapping[str, float] | None = None,
) -> OutcomeArrays:
    """Draw the monthly outcomes of every locality x age band cell (the sample's process).

    The draws happen in a fixed order, so the same ``rng`` gives the committed sample.
    ``effects`` as in :func:`planted_multiplier` (None = the planted ones).
    """
    months = _months()
    n_months = len(months)
    cells = [(unit, band) for unit in LOCALITIES for band in AGE_BANDS]
    n_cells = len(cells)

    # One plain-dict lookup per cell and month (a pandas MultiIndex lookup each is 70x slower).
    pop_lookup = dict(
        zip(
            zip(population["year"], population["unit"], population["age_band"], strict=True),
            population["population_0_17"],
            strict=True,
        )
    )
    pop_years = [_pop_year(y, m) for (y, m) in months]
    pop = np.array(
        [[pop_lookup[(year, unit, band)] for year in pop_years] for unit, band in cells],
        dtype=float,
    )
    band_idx = np.array([AGE_BANDS.index(b) for _, b in cells])
    loc_idx = np.array([LOCALITIES.index(u) for u, _ in cells])
    need = np.array(_LOCALITY_NEED)[loc_idx][:, None]
    years_elapsed = (np.arange(n_months) / 12.0)[None, :]

    def monthly_mean(rate_per_10k_year: float, shares: np.ndarray) -> np.ndarray:
        per_child = rate_per_10k_year / 10000 / 12 * shares[band_idx] / _POP_SHARES[band_idx]
        return pop * per_child[:, None] * need

    months_since = np.array(
        [[_months_since(y, m, rollout_start(unit)) for (y, m) in months] for unit, _ in cells]
    )
    care_season = _season(months, _CARE_SEASON)[None, :]

    # Referrals: seasonality (August and December dips), COVID-19 dip, gentle trend.
    covid = np.array([COVID_REFERRAL_FACTORS.get(ym, 1.0) for ym in months])[None, :]
    ref_mean = (
        monthly_mean(_REFERRAL_RATE, _REF_SHARES)
        * _season(months, _REFERRAL_SEASON)[None, :]
        * covid
        * (1 + _REFERRAL_TREND) ** years_elapsed
    )
    referrals = rng.poisson(ref_mean)
    rereferrals = rng.binomial(referrals, _REREFERRAL_P)

    def care_mean(start_rate: float, shares: np.ndarray, trend: float, measure: str):
        """The base and expected monthly starts of a care measure (seasonal, trend, effect)."""
        base = monthly_mean(start_rate, shares)
        mean = (
            base
            * care_season
            * (1 + trend) ** years_elapsed
            * planted_multiplier(months_since, measure, effects)
        )
        return base, mean

    # Children looked after.
    cla_base, cla_mean = care_mean(_CLA_START_RATE, _CLA_SHARES, _CLA_TREND, "cla_starts")
    cla_exit = np.full(n_cells, _CLA_CEASE_P)
    cla_stock, cla_starts, cla_ceased = _simulate_stocks(
        rng, cla_mean, cla_exit, cla_base[:, 0] / _CLA_CEASE_P
    )

    # Child protection plans.
    cpp_base, cpp_mean = care_mean(_CPP_START_RATE, _CPP_SHARES, _CPP_TREND, "cpp_starts")
    cpp_exit = np.full(n_cells, _CPP_END_P)
    cpp_stock, cpp_starts, cpp_ends = _simulate_stocks(
        rng, cpp_mean, cpp_exit, cpp_base[:, 0] / _CPP_END_P
    )
    cpp_repeat = rng.binomial(cpp_starts, _CPP_REPEAT_P)

    # Children in need: Poisson around a slowly varying level per locality.
    phase = rng.uniform(0, 2 * np.pi, size=len(LOCALITIES))[loc_idx][:, None]
    level = 1 + 0.06 * np.sin(2 * np.pi * np.arange(n_months)[None, :] / 72 + phase)
    cin = rng.poisson(monthly_mean(_CIN_RATE * 12, _CIN_SHARES) * level)

    # Family group conferences: a process measure that rises with the rollout.
    ramp = np.clip(months_since / RAMP_MONTHS, 0, 1) * (months_since >= 0)
    fgc_rate = (_FGC_BEFORE + (_FGC_AFTER - _FGC_BEFORE) * ramp) * _CPP_SHARES[band_idx][:, None]
    fgc = rng.poisson(fgc_rate)

    values = {
        "cla_at_period_end": cla_stock,
        "cla_starts": cla_starts,
        "cla_ceased": cla_ceased,
        "cpp_at_period_end": cpp_stock,
        "cpp_starts": cpp_starts,
        "cpp_ends": cpp_ends,
        "cpp_repeat_starts": cpp_repeat,
        "cin_at_period_end": cin,
        "referrals": referrals,
        "rereferrals": rereferrals,
        "fgc_held": fgc,
    }
    untreated = {
        "cla_starts:untreated": cla_base * care_season * (1 + _CLA_TREND) ** years_elapsed,
        "cpp_starts:untreated": cpp_base * care_season * (1 + _CPP_TREND) ** years_elapsed,
    }
    return OutcomeArrays(
        months=tuple(months),
        cells=tuple(cells),
        population=pop,
        months_since=months_since,
        values=values,
        expected={
            "cla_starts": cla_mean,
            "cpp_starts": cpp_mean,
            **untreated,
            "cla_initial": cla_base[:, 0] / _CLA_CEASE_P,
            "cpp_initial": cpp_base[:, 0] / _CPP_END_P,
        },
    )


def _simulate_outcomes(rng: np.random.Generator, population: pd.DataFrame) -> pd.DataFrame:
    """Monthly outcomes for every locality x age band cell, plus the All rows."""
    draw = _simulate_outcome_arrays(rng, population)
    n_months = len(draw.months)
    period_ends = [_month_end(y, m).isoformat() for (y, m) in draw.months]
    frame = pd.DataFrame(
        {
            "period_end": np.tile(period_ends, len(draw.cells)),
            "unit": np.repeat([u for u, _ in draw.cells], n_months),
            "age_band": np.repeat([b for _, b in draw.cells], n_months),
            **{k: v.reshape(-1).astype(np.int64) for k, v in draw.values.items()},
        }
    )
    return _add_all_rows(frame, list(OUTCOME_MEASURES))


def _add_all_rows(frame: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """Add age_band 'All' (sum of bands) and unit 'All' (sum of localities) rows, sorted."""
    full = _with_total(frame, ["period_end", "unit"], measures, "age_band")
    full = _with_total(full, ["period_end", "age_band"], measures, "unit")
    full["area_code"] = AREA_CODE
    return _sort(full, ["period_end", "unit", "age_band"])


def _with_total(frame: pd.DataFrame, by: list[str], values, total_col: str) -> pd.DataFrame:
    """Append rows summing ``values`` within ``by``, labelled 'All' in ``total_col``."""
    total = frame.groupby(by, as_index=False)[values].sum().assign(**{total_col: "All"})
    return pd.concat([frame, total], ignore_index=True)


def _sort(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sort with 'All' first, then localities and age bands in their canonical order."""
    order = {
        "unit": ("All", *LOCALITIES),
        "age_band": ("All", *AGE_BANDS),
        "agency": AGENCIES,
        "course": COURSES,
    }
    sort_cols = []
    tmp = frame.copy()
    for key in keys:
        if key in order:
            tmp[f"_{key}"] = tmp[key].map({v: i for i, v in enumerate(order[key])})
            if tmp[f"_{key}"].isna().any():
                raise ValueError(f"unexpected value in {key}")
            sort_cols.append(f"_{key}")
        else:
            sort_cols.append(key)
    tmp = tmp.sort_values(sort_cols, kind="mergesort")
    return tmp.drop(columns=[c for c in sort_cols if c.startswith("_")]).reset_index(drop=True)


def _simulate_training(rng: np.random.Generator) -> pd.DataFrame:
    """Quarterly cumulative training per locality x agency x course."""
    quarters = []
    d = TRAINING_START
    while d <= SAMPLE_END:
        quarters.append(d)
        nxt = _add_months(d.replace(day=1), 3)
        d = _month_end(nxt.year, nxt.month)
    rows = []
    for i, unit in enumerate(LOCALITIES):
        start = rollout_start(unit)
        first_training_q = _add_months(date(start.year, start.month, 1), -6)  # 2 quarters before
        for agency in AGENCIES:
            for c, course in enumerate(COURSES):
                lo, hi = _SCOPE_RANGES[agency][c]
                scope = float(rng.integers(lo, hi + 1))
                final = _LOCALITY_COVERAGE[i] * _AGENCY_COVERAGE[agency] * _COURSE_COVERAGE[course]
                final = min(0.97, max(0.3, final + rng.normal(0, 0.03)))
                trained = 0
                for q in quarters:
                    scope *= 1 + rng.normal(0.002, 0.012)
                    in_scope = max(1, int(round(scope)))
                    q_since = _months_since(q.year, q.month, first_training_q) // 3
                    if q_since >= 0:
                        frac = 1 / (1 + math.exp(-(q_since - _COURSE_MIDPOINT[course]) / 1.1))
                        target = int(round(in_scope * final * frac))
                        trained = max(trained, min(target, in_scope))
                    in_scope = max(in_scope, trained)
                    rows.append((q.isoformat(), unit, agency, course, in_scope, trained))
    frame = pd.DataFrame(
        rows, columns=["period_end", "unit", "agency", "course", "staff_in_scope", "staff_trained"]
    )
    frame["area_code"] = AREA_CODE
    return _sort(frame, ["period_end", "unit", "agency", "course"])


def _annual_from_monthly(
    period_end: Sequence[str],
    stock_cla: np.ndarray,
    starts_cla: np.ndarray,
    ceased_cla: np.ndarray,
    stock_cpp: np.ndarray,
    starts_cpp: np.ndarray,
    repeat_cpp: np.ndarray,
) -> dict[int, dict[str, int]]:
    """Financial-year figures (year ending 31 March) from one area's monthly series."""
    out: dict[int, dict[str, int]] = {}
    for k, pe in enumerate(period_end):
        y, m = int(pe[:4]), int(pe[5:7])
        fy = _fy_end(y, m)
        if fy not in DFE_YEARS:
            continue
        rec = out.setdefault(
            fy, {"cla_starts": 0, "cla_ceased": 0, "cpp_starts": 0, "cpp_repeat_starts": 0}
        )
        rec["cla_starts"] += int(starts_cla[k])
        rec["cla_ceased"] += int(ceased_cla[k])
        rec["cpp_starts"] += int(starts_cpp[k])
        rec["cpp_repeat_starts"] += int(repeat_cpp[k])
        if m == 3:
            rec["cla_at_31_march"] = int(stock_cla[k])
            rec["cpp_at_31_march"] = int(stock_cpp[k])
    return out


def _simulate_comparators(rng: np.random.Generator) -> tuple[dict, dict]:
    """Monthly CLA/CPP processes for each comparator council (no effect), summarised by year.

    Returns (population by code -> {mid-year: n}, annual figures by code -> {fy: {...}}).
    """
    months = _months()
    n_months = len(months)
    codes = list(COMPARATOR_CODES)
    n = len(codes)
    base_pop = rng.integers(85_000, 150_000, size=n)
    growth = rng.uniform(-0.003, 0.009, size=n)
    populations = {}
    for j, code in enumerate(codes):
        populations[code] = {
            year: int(round(base_pop[j] * (1 + growth[j]) ** k * (1 + rng.normal(0, 0.002))))
            for k, year in enumerate(POPULATION_YEARS)
        }
    pop = np.array(
        [[populations[c][_pop_year(y, m)] for (y, m) in months] for c in codes], dtype=float
    )
    years_elapsed = (np.arange(n_months) / 12.0)[None, :]
    care_season = _season(months, _CARE_SEASON)[None, :]

    cla_rate = rng.uniform(21, 34, size=n)[:, None]
    cla_trend = rng.uniform(-0.01, 0.035, size=n)[:, None]
    cla_exit = rng.uniform(1 / 34, 1 / 27, size=n)
    cla_base = pop * cla_rate / 10000 / 12
    cla_mean = cla_base * care_season * (1 + cla_trend) ** years_elapsed
    cla_stock, cla_starts, cla_ceased = _simulate_stocks(
        rng, cla_mean, cla_exit, cla_base[:, 0] / cla_exit
    )

    cpp_rate = rng.uniform(40, 62, size=n)[:, None]
    cpp_trend = rng.uniform(-0.02, 0.025, size=n)[:, None]
    cpp_exit = rng.uniform(1 / 10, 1 / 8, size=n)
    cpp_base = pop * cpp_rate / 10000 / 12
    cpp_mean = cpp_base * care_season * (1 + cpp_trend) ** years_elapsed
    cpp_stock, cpp_starts, _ = _simulate_stocks(rng, cpp_mean, cpp_exit, cpp_base[:, 0] / cpp_exit)
    repeat_p = rng.uniform(0.18, 0.27, size=n)[:, None]
    cpp_repeat = rng.binomial(cpp_starts, np.broadcast_to(repeat_p, cpp_starts.shape))

    period_end = [_month_end(y, m).isoformat() for (y, m) in months]
    annual = {
        code: _annual_from_monthly(
            period_end,
            cla_stock[j],
            cla_starts[j],
            cla_ceased[j],
            cpp_stock[j],
            cpp_starts[j],
            cpp_repeat[j],
        )
        for j, code in enumerate(codes)
    }
    return populations, annual


def _simulate_national(rng: np.random.Generator) -> tuple[dict, dict]:
    """Fictional 'England' figures: plausible in size, but synthetic (not DfE's numbers)."""
    populations = {
        year: int(round(11_700_000 * 1.0055 ** (year - 2014) * (1 + rng.normal(0, 0.0005))))
        for year in POPULATION_YEARS
    }

    def cla_rate(y: int) -> float:
        return 60 + 2.2 * (min(y, 2021) - 2016) - 0.6 * max(0, y - 2021)

    annual: dict[int, dict[str, float]] = {}
    prev_stock = cla_rate(2015) * populations[2014] / 10000
    for y in DFE_YEARS:
        p = populations[y - 1]
        stock = (cla_rate(y) + rng.normal(0, 0.4)) * p / 10000
        starts = (27.5 - 0.25 * (y - 2016) + rng.normal(0, 0.3)) * p / 10000
        ceased = starts - (stock - prev_stock)
        prev_stock = stock
        cpp_start = (55.0 - 0.4 * (y - 2016) + rng.normal(0, 0.8)) * p / 10000
        annual[y] = {
            "cla_at_31_march": stock,
            "cla_starts": starts,
            "cla_ceased": ceased,
            "cpp_at_31_march": (43.0 + rng.normal(0, 0.8)) * p / 10000,
            "cpp_starts": cpp_start,
            "cpp_repeat_starts": cpp_start * (0.21 + 0.003 * (y - 2016) + rng.normal(0, 0.004)),
        }
    return populations, annual
