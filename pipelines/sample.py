"""Deterministic synthetic sample data for rp-impact.

Run ``python -m pipelines.sample data/sample`` (or call :func:`generate`) to (re)write the
whole sample folder. Everything is synthetic: a fictional partnership ("Northmoor"), six
fictional localities, ten fictional comparator councils and fictional England and regional
figures. A known effect is planted in CLA starts and CPP starts after each locality's
Restorative Practice rollout, so the estimators can be checked against it.

Reproducibility: one fixed seed (:data:`SEED`), numpy ``default_rng``, a constant end date
(:data:`SAMPLE_END`, never today's date), sorted rows, fixed column order, ``\\n`` line
endings. Two runs give byte-identical files (for a given numpy version: numpy may change
the algorithms behind its random distributions between releases).
"""

from __future__ import annotations

import argparse
import calendar
import math
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# Public constants
# ---------------------------------------------------------------------------------------------

SEED = 20191001
SAMPLE_START = date(2015, 4, 1)
#: Last day covered: the latest full quarter when the sample was written. A constant, so the
#: sample never depends on the day it is generated.
SAMPLE_END = date(2026, 9, 30)

PARTNERSHIP_NAME = "Northmoor Safeguarding Children Partnership"
AREA_CODE = "E06999901"
AREA_NAME = "Northmoor"
OLD_LA_CODE = 991
REGION_CODE = "E12999901"
REGION_NAME = "North Fictional"
COUNTRY_CODE = "E92000001"
COUNTRY_NAME = "England"
PROGRAMME = "Restorative Practice"

LOCALITIES = ("Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven")
#: wave -> (start date, units). complete_date = start + 12 months.
WAVES = {
    1: (date(2019, 10, 1), ("Ashby", "Brookfield")),
    2: (date(2021, 4, 1), ("Castleton", "Dunmore")),
    3: (date(2023, 4, 1), ("Elmwood", "Fairhaven")),
}
AGE_BANDS = ("Under 1", "1-4", "5-9", "10-15", "16-17")
#: Proportional change in the expected monthly count at full effect.
PLANTED_EFFECTS = {"cla_starts": -0.15, "cpp_starts": -0.20}
#: Months over which the planted effect ramps in linearly (full effect from month 12 on).
RAMP_MONTHS = 12

#: Ten fictional comparator councils (area_code -> (name, old_la_code)).
COMPARATORS = {
    "E06999902": ("Southvale", 981),
    "E06999903": ("Eastbridge", 982),
    "E06999904": ("Westford", 983),
    "E06999905": ("Kingsholme", 984),
    "E06999906": ("Oakley Vale", 985),
    "E06999907": ("Redmarsh", 986),
    "E06999908": ("Stonebury", 987),
    "E06999909": ("Thornwick", 988),
    "E06999910": ("Greyhaven", 989),
    "E06999911": ("Millbrook", 990),
}
COMPARATOR_CODES = tuple(COMPARATORS)

AGENCIES = (
    "Children's social care",
    "Early help",
    "Police",
    "Health",
    "Education",
    "Voluntary sector",
)
COURSES = ("Awareness", "Practitioner", "Leadership")

POPULATION_YEARS = tuple(range(2014, 2026))  # mid-year estimates
DFE_YEARS = tuple(range(2016, 2027))  # reporting years ending 31 March
TRAINING_START = date(2019, 6, 30)  # first training extract (quarter end)

OUTCOME_COLUMNS = (
    "period_end",
    "area_code",
    "unit",
    "age_band",
    "cla_at_period_end",
    "cla_starts",
    "cla_ceased",
    "cpp_at_period_end",
    "cpp_starts",
    "cpp_ends",
    "cpp_repeat_starts",
    "cin_at_period_end",
    "referrals",
    "rereferrals",
    "fgc_held",
)
OUTCOME_MEASURES = OUTCOME_COLUMNS[4:]
TRAINING_COLUMNS = (
    "period_end",
    "area_code",
    "unit",
    "agency",
    "course",
    "staff_in_scope",
    "staff_trained",
)

# ---------------------------------------------------------------------------------------------
# Simulation parameters (documented in the generated README)
# ---------------------------------------------------------------------------------------------

# Children aged 0-17 per locality at mid-2014, and a need factor applied to every measure.
_LOCALITY_POP_2014 = (21000, 15500, 22500, 14000, 19000, 14500)
_LOCALITY_NEED = (1.12, 0.92, 1.04, 1.18, 0.86, 0.95)
_LOCALITY_COVERAGE = (0.86, 0.68, 0.78, 0.62, 0.88, 0.72)  # final training coverage
_POP_GROWTH = 0.005

_POP_SHARES = np.array([0.05, 0.21, 0.28, 0.33, 0.13])
_CLA_SHARES = np.array([0.06, 0.14, 0.18, 0.38, 0.24])
_CPP_SHARES = np.array([0.11, 0.26, 0.28, 0.29, 0.06])
_REF_SHARES = np.array([0.09, 0.20, 0.26, 0.33, 0.12])
_CIN_SHARES = np.array([0.05, 0.17, 0.26, 0.36, 0.16])

_REFERRAL_RATE = 450.0  # per 10,000 children per year
_REREFERRAL_P = 0.22
_CLA_START_RATE = 27.0  # per 10,000 per year
_CLA_TREND = 0.02  # per year
_CLA_CEASE_P = 1 / 30
_CPP_START_RATE = 50.0
_CPP_TREND = 0.01
_CPP_END_P = 1 / 9
_CPP_REPEAT_P = 0.23
_CIN_RATE = 330.0  # per 10,000, a stock
_REFERRAL_TREND = 0.005
_FGC_BEFORE = 0.3  # per locality per month
_FGC_AFTER = 2.0

# Month-of-year factors (Jan..Dec), each normalised to mean 1.
_REFERRAL_SEASON = np.array(
    [1.03, 1.05, 1.06, 0.98, 1.04, 1.05, 1.02, 0.80, 1.02, 1.08, 1.04, 0.84]
)
_CARE_SEASON = np.array([1.02, 1.03, 1.05, 1.00, 1.00, 1.02, 1.00, 0.95, 0.98, 1.02, 1.00, 0.93])
_REFERRAL_SEASON = _REFERRAL_SEASON / _REFERRAL_SEASON.mean()
_CARE_SEASON = _CARE_SEASON / _CARE_SEASON.mean()
#: COVID-19 multiplier on referrals (about -25% April-June 2020, recovering by October 2020).
COVID_REFERRAL_FACTORS = {
    (2020, 4): 0.75,
    (2020, 5): 0.74,
    (2020, 6): 0.76,
    (2020, 7): 0.85,
    (2020, 8): 0.92,
    (2020, 9): 0.97,
}

# Staff in scope ranges per agency and course (Awareness, Practitioner, Leadership).
_SCOPE_RANGES = {
    "Children's social care": ((80, 120), (45, 60), (7, 10)),
    "Early help": ((50, 80), (30, 50), (4, 8)),
    "Police": ((60, 110), (10, 25), (3, 6)),
    "Health": ((50, 100), (10, 25), (2, 5)),
    "Education": ((80, 120), (15, 35), (4, 10)),
    "Voluntary sector": ((20, 50), (10, 20), (2, 4)),
}
_AGENCY_COVERAGE = {
    "Children's social care": 1.08,
    "Early help": 1.05,
    "Police": 0.90,
    "Health": 0.88,
    "Education": 0.95,
    "Voluntary sector": 0.92,
}
_COURSE_COVERAGE = {"Awareness": 1.0, "Practitioner": 0.95, "Leadership": 1.05}
_COURSE_MIDPOINT = {"Awareness": 3.0, "Practitioner": 4.0, "Leadership": 2.0}  # quarters

DFE_CLA_TYPES = (
    "Children ceasing to be looked after each year",
    "Children looked after on 31 March each year",
    "Children starting to be looked after each year",
)
_D5_BANDS = (
    "3_months_or_less",
    "more_than_3_months_6_months",
    "more_than_6_months_less_than_1_year",
    "1_year_less_than_2_years",
    "2_years_or_more",
)
_D5_SHARES = np.array([0.32, 0.25, 0.26, 0.14, 0.03])

_GEO_COLS_A = (  # cla file: la_name before new_la_code
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "la_name",
    "new_la_code",
)
_GEO_COLS_B = (  # d3, d5, ONS: new_la_code before la_name
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
)

#: Cells deliberately suppressed in the DfE-format files, to exercise the importer:
#: (file stem, reporting year, area_code, what) - described in the README.
_NOT_AVAILABLE = ("E06999907", 2016)  # Redmarsh 2016: CLA and CPP returns not available ("x")
_SUPPRESS_CLA_C = ("E06999909", 2019)  # Thornwick 2019 ceasing: "c"
_SUPPRESS_D3_C = ("E06999910", 2018)  # Greyhaven 2018 subsequent plans: "c"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def planted_multiplier(months_since_rollout, measure: str):
    """Multiplier applied to the expected monthly count of ``measure``.

    ``months_since_rollout`` counts months from the locality's start month (month 0 is the
    first month on or after the start date; negative means before rollout). The multiplier is
    ``1 + effect * min(1, months / RAMP_MONTHS)`` from month 0 on and 1 before, so the full
    effect is reached at month 12, i.e. after 4 quarters. Measures without a planted effect
    get 1. Accepts a number or a numpy array.
    """
    effect = PLANTED_EFFECTS.get(measure, 0.0)
    m = np.asarray(months_since_rollout, dtype=float)
    ramp = np.clip(m / RAMP_MONTHS, 0.0, 1.0)
    out = 1.0 + effect * ramp
    if out.ndim == 0:
        return float(out)
    return out


def wave_of(unit: str) -> int:
    """The rollout wave of a locality."""
    for wave, (_, units) in WAVES.items():
        if unit in units:
            return wave
    raise KeyError(unit)


def rollout_start(unit: str) -> date:
    return WAVES[wave_of(unit)][0]


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months() -> list[tuple[int, int]]:
    out = []
    y, m = SAMPLE_START.year, SAMPLE_START.month
    while (y, m) <= (SAMPLE_END.year, SAMPLE_END.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _months_since(year: int, month: int, start: date) -> int:
    """Months from the first month on/after ``start`` (month 0) to (year, month)."""
    first = start if start.day == 1 else _add_months(start.replace(day=1), 1)
    return (year - first.year) * 12 + (month - first.month)


def _quarter_end_month(month: int) -> int:
    return ((month - 1) // 3 + 1) * 3


def _fy_end(year: int, month: int) -> int:
    return year + 1 if month >= 4 else year


def _pop_year(year: int, month: int) -> int:
    """Latest mid-year estimate at or before the month (capped at the last estimate)."""
    y = year if month >= 7 else year - 1
    return min(max(y, POPULATION_YEARS[0]), POPULATION_YEARS[-1])


def _round_half_up(x: float, ndigits: int = 0) -> float:
    f = 10**ndigits
    return math.floor(x * f + 0.5 + 1e-9) / f


def _fmt_num(x: float, ndigits: int) -> str:
    """DfE style: rounded half up, no trailing '.0' (e.g. 13, 24.5)."""
    v = _round_half_up(x, ndigits)
    if ndigits == 0 or v == int(v):
        return str(int(v))
    return f"{v:.{ndigits}f}"


def _round10(x: float) -> int:
    return int(_round_half_up(x / 10) * 10)


def _write_csv(df: pd.DataFrame, path: Path, columns: Sequence[str], bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.loc[:, list(columns)].to_csv(
        path,
        index=False,
        lineterminator="\n",
        encoding="utf-8-sig" if bom else "utf-8",
    )
    return path


# ---------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------


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


def _simulate_outcomes(rng: np.random.Generator, population: pd.DataFrame) -> pd.DataFrame:
    """Monthly outcomes for every locality x age band cell, plus the All rows."""
    months = _months()
    n_months = len(months)
    cells = [(unit, band) for unit in LOCALITIES for band in AGE_BANDS]
    n_cells = len(cells)

    pop_lookup = population.set_index(["year", "unit", "age_band"])["population_0_17"]
    pop = np.array(
        [[pop_lookup[(_pop_year(y, m), unit, band)] for (y, m) in months] for unit, band in cells],
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

    # Children looked after.
    cla_base = monthly_mean(_CLA_START_RATE, _CLA_SHARES)
    cla_mean = (
        cla_base
        * care_season
        * (1 + _CLA_TREND) ** years_elapsed
        * planted_multiplier(months_since, "cla_starts")
    )
    cla_exit = np.full(n_cells, _CLA_CEASE_P)
    cla_stock, cla_starts, cla_ceased = _simulate_stocks(
        rng, cla_mean, cla_exit, cla_base[:, 0] / _CLA_CEASE_P
    )

    # Child protection plans.
    cpp_base = monthly_mean(_CPP_START_RATE, _CPP_SHARES)
    cpp_mean = (
        cpp_base
        * care_season
        * (1 + _CPP_TREND) ** years_elapsed
        * planted_multiplier(months_since, "cpp_starts")
    )
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
    period_ends = [_month_end(y, m).isoformat() for (y, m) in months]
    frame = pd.DataFrame(
        {
            "period_end": np.tile(period_ends, n_cells),
            "unit": np.repeat([u for u, _ in cells], n_months),
            "age_band": np.repeat([b for _, b in cells], n_months),
            **{k: v.reshape(-1).astype(np.int64) for k, v in values.items()},
        }
    )
    return _add_all_rows(frame, list(OUTCOME_MEASURES))


def _add_all_rows(frame: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """Add age_band 'All' (sum of bands) and unit 'All' (sum of localities) rows, sorted."""
    by_band = frame.groupby(["period_end", "unit"], as_index=False)[measures].sum()
    by_band["age_band"] = "All"
    full = pd.concat([frame, by_band], ignore_index=True)
    by_unit = full.groupby(["period_end", "age_band"], as_index=False)[measures].sum()
    by_unit["unit"] = "All"
    full = pd.concat([full, by_unit], ignore_index=True)
    full["area_code"] = AREA_CODE
    return _sort(full, ["period_end", "unit", "age_band"])


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


# ---------------------------------------------------------------------------------------------
# DfE-format files
# ---------------------------------------------------------------------------------------------


def _geo(level: str, code: str | None, year: int) -> dict[str, str]:
    base = {
        "time_period": str(year),
        "time_identifier": "Reporting year",
        "geographic_level": level,
        "country_code": COUNTRY_CODE,
        "country_name": COUNTRY_NAME,
        "region_code": "",
        "region_name": "",
        "old_la_code": "",
        "la_name": "",
        "new_la_code": "",
    }
    if level in ("Regional", "Local authority"):
        base["region_code"] = REGION_CODE
        base["region_name"] = REGION_NAME
    if level == "Local authority":
        name, old = _area_names()[code]
        base.update(old_la_code=str(old), la_name=name, new_la_code=code)
    return base


def _area_names() -> dict[str, tuple[str, int]]:
    return {AREA_CODE: (AREA_NAME, OLD_LA_CODE), **COMPARATORS}


def _dfe_frames(
    rng: np.random.Generator,
    populations: dict[str | None, dict[int, int]],
    annual: dict[str | None, dict[int, dict[str, float]]],
) -> dict[str, tuple[pd.DataFrame, tuple[str, ...], bool]]:
    """Build the five DfE-style tables. Keys of the dicts: area code, 'REGION' or 'NATIONAL'."""
    areas = [("National", "NATIONAL"), ("Regional", "REGION")]
    areas += [("Local authority", c) for c in (AREA_CODE, *COMPARATOR_CODES)]

    def is_agg(level: str) -> bool:
        return level != "Local authority"

    def count(level: str, x: float) -> int:
        return _round10(x) if is_agg(level) else int(x)

    cla_rows, d5_rows, d3_rows, ons_rows = [], [], [], []
    for year in sorted(DFE_YEARS, reverse=True):
        for level, key in areas:
            code = key if level == "Local authority" else None
            rec = annual[key][year]
            pop = populations[key][year - 1]
            not_available = (code, year) == _NOT_AVAILABLE
            # CLA: number and rate per 10,000 (rate on the previous mid-year population).
            for ptype, field in zip(
                DFE_CLA_TYPES, ("cla_ceased", "cla_at_31_march", "cla_starts"), strict=True
            ):
                row = _geo(level, code, year)
                row["population_type"] = ptype
                row["population_estimate"] = str(pop)
                if not_available:
                    row["children_count"] = "x"
                    row["rate_per_10000"] = "x"
                elif (code, year) == _SUPPRESS_CLA_C and field == "cla_ceased":
                    row["children_count"] = "c"
                    row["rate_per_10000"] = "c"
                else:
                    row["children_count"] = str(count(level, rec[field]))
                    row["rate_per_10000"] = _fmt_num(rec[field] / pop * 10000, 0)
                cla_rows.append(row)
            # CPP at 31 March by length of plan.
            row = _geo(level, code, year)
            row["category"] = "Child Protection Plans by length of time"
            if not_available:
                row["CPP_At31"] = "x"
                for band in _D5_BANDS:
                    row[band] = "x"
                    row[f"{band}_percent"] = "z"
            else:
                total = count(level, rec["cpp_at_31_march"])
                split = rng.multinomial(total, _D5_SHARES)
                if is_agg(level):
                    split = np.array([_round10(v) for v in split])
                    split[0] += total - split.sum()
                row["CPP_At31"] = str(total)
                order = np.argsort(split, kind="stable")
                suppressed = set(order[:2]) if (not is_agg(level) and split.min() < 10) else set()
                for b, band in enumerate(_D5_BANDS):
                    if b in suppressed:
                        row[band] = row[f"{band}_percent"] = "c"
                    else:
                        row[band] = str(int(split[b]))
                        row[f"{band}_percent"] = _fmt_num(100 * split[b] / max(total, 1), 1)
            d5_rows.append(row)
            # CPP starts and second or subsequent plans.
            row = _geo(level, code, year)
            row["category"] = "Child Protection Plans which are a second or subsequent plan"
            if not_available:
                row["CPP_start"] = row["CPP_subsequent"] = row["CPP_subsequent_percent"] = "x"
            else:
                starts = count(level, rec["cpp_starts"])
                sub = count(level, rec["cpp_repeat_starts"])
                row["CPP_start"] = str(starts)
                if (code, year) == _SUPPRESS_D3_C:
                    row["CPP_subsequent"] = row["CPP_subsequent_percent"] = "c"
                else:
                    row["CPP_subsequent"] = str(sub)
                    row["CPP_subsequent_percent"] = _fmt_num(
                        100 * rec["cpp_repeat_starts"] / rec["cpp_starts"], 1
                    )
            d3_rows.append(row)

    for year in sorted(POPULATION_YEARS, reverse=True):
        for level, key in areas:
            code = key if level == "Local authority" else None
            row = _geo(level, code, year)
            row["age_group"] = "Children aged 0 to 17 years"
            row["population_estimate"] = str(populations[key][year])
            ons_rows.append(row)

    def frame(rows: list[dict], extra_key: str | None) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        df["_lvl"] = df["geographic_level"].map(
            {"National": 0, "Regional": 1, "Local authority": 2}
        )
        df["_yr"] = -df["time_period"].astype(int)
        keys = ["_yr", "_lvl", "new_la_code"] + ([extra_key] if extra_key else [])
        return df.sort_values(keys, kind="mergesort").drop(columns=["_lvl", "_yr"])

    d5_cols = [*_GEO_COLS_B, "category", "CPP_At31"]
    for band in _D5_BANDS:
        d5_cols += [band, f"{band}_percent"]
    first, last = DFE_YEARS[0], DFE_YEARS[-1]
    return {
        "cla_number_and_rate_per_10k_children.csv": (
            frame(cla_rows, "population_type"),
            (
                *_GEO_COLS_A,
                "population_type",
                "population_estimate",
                "children_count",
                "rate_per_10000",
            ),
            True,
        ),
        f"d5_cpps_at31march_by_duration_{first}_to_{last}.csv": (
            frame(d5_rows, None),
            tuple(d5_cols),
            False,
        ),
        f"d3_cpps_subsequent_plan_{first}_to_{last}.csv": (
            frame(d3_rows, None),
            (
                *_GEO_COLS_B,
                "category",
                "CPP_start",
                "CPP_subsequent",
                "CPP_subsequent_percent",
            ),
            False,
        ),
        (
            f"ons_mid-year_population_estimates_{POPULATION_YEARS[0]}_to_{POPULATION_YEARS[-1]}.csv"
        ): (
            frame(ons_rows, None),
            (*_GEO_COLS_B, "age_group", "population_estimate"),
            False,
        ),
    }


def _sn_frame(rng: np.random.Generator) -> pd.DataFrame:
    """Statistical neighbours (DfE 2025 wide format) for the 11 fictional councils."""
    names = _area_names()
    codes = [AREA_CODE, *COMPARATOR_CODES]
    features = rng.normal(0, 1, size=(len(codes), 3))
    features[0] = features[1:].mean(axis=0)  # Northmoor sits in the middle of its neighbours
    rows = []
    for i, code in enumerate(codes):
        dist = np.sqrt(((features - features[i]) ** 2).sum(axis=1))
        others = [j for j in np.argsort(dist, kind="stable") if j != i]
        row = {
            "old_la_code": str(names[code][1]),
            "la_name": names[code][0],
            "region_ind": "99",
            "region_name": REGION_NAME,
        }
        for rank, j in enumerate(others[:10], start=1):
            row[f"SN_{rank}"] = str(names[codes[j]][1])
            row[f"SN_{rank}P"] = "Close" if rank <= 5 else "Somewhat close"
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.sort_values("old_la_code", kind="mergesort")


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------

_GENERATED_DIRS = ("outcomes", "training", "unloaded", "dfe")


def _clean(out_dir: Path) -> None:
    """Delete previously generated CSVs (only where the generator writes; README is rewritten)."""
    for path in sorted(out_dir.glob("*.csv")):
        path.unlink()
    for sub in _GENERATED_DIRS:
        folder = out_dir / sub
        if folder.is_dir():
            for path in sorted(folder.glob("*.csv")):
                path.unlink()


def _quarter_label(period_end: str) -> str:
    y, m = int(period_end[:4]), int(period_end[5:7])
    return f"{y:04d}-{_quarter_end_month(m):02d}"


def generate(out_dir: Path) -> list[Path]:
    """Write the whole synthetic sample into ``out_dir``; return the files written (sorted)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    rng_pop, rng_out, rng_train, rng_cmp, rng_nat, rng_dfe = np.random.default_rng(SEED).spawn(6)
    written: list[Path] = []

    # areas.csv
    areas = pd.DataFrame(
        [
            (code, name, old, REGION_CODE, REGION_NAME)
            for code, (name, old) in _area_names().items()
        ],
        columns=["area_code", "area_name", "old_la_code", "region_code", "region_name"],
    ).sort_values("area_code")
    written.append(_write_csv(areas, out_dir / "areas.csv", areas.columns))

    # population.csv
    pop_loc = _simulate_population(rng_pop)
    pop = pd.concat(
        [
            pop_loc,
            pop_loc.groupby(["year", "unit"], as_index=False)["population_0_17"]
            .sum()
            .assign(age_band="All"),
        ],
        ignore_index=True,
    )
    pop = pd.concat(
        [
            pop,
            pop.groupby(["year", "age_band"], as_index=False)["population_0_17"]
            .sum()
            .assign(unit="All"),
        ],
        ignore_index=True,
    )
    pop["area_code"] = AREA_CODE
    pop = _sort(pop, ["year", "unit", "age_band"])
    written.append(
        _write_csv(
            pop,
            out_dir / "population.csv",
            ["year", "area_code", "unit", "age_band", "population_0_17"],
        )
    )

    # rollout.csv
    rollout = pd.DataFrame(
        [
            (
                AREA_CODE,
                unit,
                PROGRAMME,
                wave,
                start.isoformat(),
                _add_months(start, 12).isoformat(),
            )
            for wave, (start, units) in WAVES.items()
            for unit in units
        ],
        columns=["area_code", "unit", "programme", "wave", "start_date", "complete_date"],
    )
    written.append(_write_csv(rollout, out_dir / "rollout.csv", rollout.columns))

    # outcomes, one file per quarter; the last quarter goes to unloaded/.
    outcomes = _simulate_outcomes(rng_out, pop_loc)
    last_q = _quarter_label(SAMPLE_END.isoformat())
    for label, part in outcomes.groupby(outcomes["period_end"].map(_quarter_label), sort=True):
        folder = "unloaded" if label == last_q else "outcomes"
        written.append(
            _write_csv(part, out_dir / folder / f"outcomes_{label}.csv", OUTCOME_COLUMNS)
        )

    # training, one file per quarter from 2019-06.
    training = _simulate_training(rng_train)
    for label, part in training.groupby(training["period_end"].map(_quarter_label), sort=True):
        folder = "unloaded" if label == last_q else "training"
        written.append(
            _write_csv(part, out_dir / folder / f"training_{label}.csv", TRAINING_COLUMNS)
        )

    # DfE-format annual comparator data.
    total = outcomes[(outcomes["unit"] == "All") & (outcomes["age_band"] == "All")]
    total = total.sort_values("period_end")
    nm_annual = _annual_from_monthly(
        total["period_end"].tolist(),
        total["cla_at_period_end"].to_numpy(),
        total["cla_starts"].to_numpy(),
        total["cla_ceased"].to_numpy(),
        total["cpp_at_period_end"].to_numpy(),
        total["cpp_starts"].to_numpy(),
        total["cpp_repeat_starts"].to_numpy(),
    )
    nm_pop_rows = pop[(pop["unit"] == "All") & (pop["age_band"] == "All")]
    nm_pop = {
        int(y): int(n)
        for y, n in zip(nm_pop_rows["year"], nm_pop_rows["population_0_17"], strict=True)
    }
    cmp_pop, cmp_annual = _simulate_comparators(rng_cmp)
    nat_pop, nat_annual = _simulate_national(rng_nat)
    populations: dict = {AREA_CODE: nm_pop, **cmp_pop, "NATIONAL": nat_pop}
    annual: dict = {AREA_CODE: nm_annual, **cmp_annual, "NATIONAL": nat_annual}
    la_codes = [AREA_CODE, *COMPARATOR_CODES]
    populations["REGION"] = {y: sum(populations[c][y] for c in la_codes) for y in POPULATION_YEARS}
    annual["REGION"] = {
        y: {k: sum(annual[c][y][k] for c in la_codes) for k in nm_annual[y]} for y in DFE_YEARS
    }
    for name, (df, cols, bom) in _dfe_frames(rng_dfe, populations, annual).items():
        written.append(_write_csv(df, out_dir / "dfe" / name, cols, bom=bom))
    sn = _sn_frame(rng_dfe)
    sn_cols = ["old_la_code", "la_name", "region_ind", "region_name"]
    for rank in range(1, 11):
        sn_cols += [f"SN_{rank}", f"SN_{rank}P"]
    written.append(_write_csv(sn, out_dir / "dfe" / "sn_model_2025_wide.csv", sn_cols, bom=True))

    # Keep git from touching line endings, so a checkout stays byte-identical to the generator.
    attributes = out_dir / ".gitattributes"
    attributes.write_text("* -text\n", encoding="utf-8")
    written.append(attributes)

    readme = out_dir / "README.md"
    readme.write_text(_readme(out_dir, written, pop, outcomes, training), encoding="utf-8")
    written.append(readme)
    return sorted(written)


# ---------------------------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------------------------


def _readme(
    out_dir: Path,
    written: list[Path],
    pop: pd.DataFrame,
    outcomes: pd.DataFrame,
    training: pd.DataFrame,
) -> str:
    def rows(path: Path) -> int:
        with path.open(encoding="utf-8-sig") as fh:
            return sum(1 for _ in fh) - 1

    def count_files(folder: str, prefix: str) -> int:
        return sum(1 for p in written if p.parent.name == folder and p.name.startswith(prefix))

    total = outcomes[(outcomes["unit"] == "All") & (outcomes["age_band"] == "All")].copy()
    total["fy"] = [_fy_end(int(p[:4]), int(p[5:7])) for p in total["period_end"]]
    fy = total[total["fy"] == DFE_YEARS[-1]]
    pop_all = pop[(pop["unit"] == "All") & (pop["age_band"] == "All")].set_index("year")
    pop_prev = int(pop_all.loc[DFE_YEARS[-1] - 1, "population_0_17"])
    last_training = training[training["period_end"] == training["period_end"].max()]
    coverage = (
        last_training.groupby("unit")[["staff_trained", "staff_in_scope"]]
        .sum()
        .pipe(lambda d: d["staff_trained"] / d["staff_in_scope"])
    )

    def per10k(x: float) -> str:
        return _fmt_num(x / pop_prev * 10000, 1)

    fy_label = f"{DFE_YEARS[-1] - 1}-{str(DFE_YEARS[-1])[2:]}"
    annual_lines = []
    for col, label in (
        ("referrals", "Referrals"),
        ("rereferrals", "Re-referrals"),
        ("cla_starts", "CLA starts"),
        ("cla_ceased", "CLA ceased"),
        ("cpp_starts", "CPP starts"),
        ("cpp_repeat_starts", "CPP second or subsequent plans"),
        ("cpp_ends", "CPP ends"),
        ("fgc_held", "Family group conferences held"),
    ):
        n = int(fy[col].sum())
        annual_lines.append(f"| {label} | {n:,} | {per10k(n)} |")
    march = fy[fy["period_end"].str[5:7] == "03"].iloc[0]
    for col, label in (
        ("cla_at_period_end", "Children looked after on 31 March"),
        ("cpp_at_period_end", "Children on a CPP on 31 March"),
        ("cin_at_period_end", "Children in need on 31 March"),
    ):
        n = int(march[col])
        annual_lines.append(f"| {label} | {n:,} | {per10k(n)} |")

    wave_lines = [
        f"| {w} | {', '.join(units)} | {start.isoformat()} | {_add_months(start, 12).isoformat()} |"
        f" {_add_months(start, RAMP_MONTHS).isoformat()} |"
        for w, (start, units) in WAVES.items()
    ]
    coverage_lines = [
        f"| {u} | {wave_of(u)} | {_fmt_num(100 * coverage[u], 0)}% |" for u in LOCALITIES
    ]
    comparator_lines = [f"| {c} | {n} | {o} |" for c, (n, o) in COMPARATORS.items()]
    file_lines = []
    for p in sorted(written):
        rel = p.relative_to(out_dir).as_posix()
        if rel.startswith(("outcomes/", "training/", ".")):
            continue
        file_lines.append(f"| `{rel}` | {rows(p):,} |")
    outcome_files = count_files("outcomes", "outcomes_")
    training_files = count_files("training", "training_")
    first_q = _quarter_label(SAMPLE_START.isoformat())
    pop_first = int(pop_all.loc[POPULATION_YEARS[0], "population_0_17"])
    pop_last = int(pop_all.loc[POPULATION_YEARS[-1], "population_0_17"])
    last_q = _quarter_label(SAMPLE_END.isoformat())
    penultimate_q = _quarter_label(_add_months(SAMPLE_END.replace(day=1), -3).isoformat())

    return f"""# Sample data (synthetic)

> **EVERYTHING IN THIS FOLDER IS SYNTHETIC.** Northmoor, its localities, the comparator
> councils, the "North Fictional" region and the "England" figures are invented. No number
> here describes a real child, team, council or country. The codes (`E06999901`...,
> `E12999901`, old LA codes 981-991) were chosen not to exist. The national rows reuse
> England's real code `E92000001` only so that the DfE importer treats them as national;
> their numbers are made up.

This file is written by the generator too. Do not edit it or the CSVs by hand: change
`pipelines/sample.py` and run

```
python -m pipelines.sample data/sample
```

`tests/test_sample.py` regenerates the folder and checks every file is byte-identical.

## How the data were made

- Seed `{SEED}` (numpy `default_rng`, split into independent streams per component), fixed
  column order, sorted rows, `\\n` line endings. Byte-identical on every run with the same
  numpy version (numpy may change its random algorithms between releases; if it does,
  regenerate and commit).
- Period: {SAMPLE_START.isoformat()} to {SAMPLE_END.isoformat()}. `SAMPLE_END` is the latest
  full quarter when the sample was written: a constant, never today's date.
- {PARTNERSHIP_NAME}:
  council {AREA_NAME} (`{AREA_CODE}`, old LA code {OLD_LA_CODE}),
  region {REGION_NAME} (`{REGION_CODE}`),
  six localities: {", ".join(LOCALITIES)}.
- Children aged 0-17: {pop_first:,} at mid-{POPULATION_YEARS[0]},
  {pop_last:,} at mid-{POPULATION_YEARS[-1]} (about {_POP_GROWTH:.1%} growth a year).
- Every locality x age band cell is its own monthly process, so the age band `All` rows
  (sum of the bands) and the unit `All` rows (sum of the localities) add up exactly.
  Rates vary by age band and locality (a fixed "need" factor per locality).
  - **Referrals**: Poisson, about {_REFERRAL_RATE:.0f} per 10,000 children a year,
    +{_REFERRAL_TREND:.1%} a year, dips in August and December, and a COVID-19 dip (about
    -25% April-June 2020, recovering through September 2020). **Re-referrals**:
    Binomial(referrals, {_REREFERRAL_P}).
  - **CLA starts**: Poisson, about {_CLA_START_RATE:.0f} per 10,000 a year,
    +{_CLA_TREND:.0%} a year, mild seasonality, times the planted multiplier.
    **CLA ceased**: Binomial(previous month's stock, 1/30).
    **CLA at period end**: previous stock + starts - ceased, starting near steady state.
  - **CPP starts**: Poisson, about {_CPP_START_RATE:.0f} per 10,000 a year,
    +{_CPP_TREND:.0%} a year, mild seasonality, times the planted multiplier.
    **CPP ends**: Binomial(previous stock, 1/9). **CPP repeat starts** (second or
    subsequent plan): Binomial(CPP starts, {_CPP_REPEAT_P}).
  - **CIN at period end**: Poisson around about {_CIN_RATE:.0f} per 10,000 with a slow
    six-year wave per locality.
  - **FGC held**: about {_FGC_BEFORE} a month per locality before rollout, ramping to about
    {_FGC_AFTER:.0f} a month over the {RAMP_MONTHS} months after the locality's start (a
    process measure that moves with the rollout by design).
  - Age bands: {", ".join(AGE_BANDS)}. Counts per age band are often small (1-4), which
    exercises disclosure control.
- **Training**: per locality x agency x course, staff in scope drift slightly; cumulative
  staff trained starts 2 quarters before the locality's wave start and rises along a
  logistic curve to a coverage that differs by locality, agency and course. Coverage does
  **not** change the planted effect (the effect is the same in every locality).

## Planted effects

The expected monthly count is multiplied by `1 + effect x min(1, m / {RAMP_MONTHS})` from
month `m = 0` (the locality's start month) on, and by 1 before. The full effect is reached
{RAMP_MONTHS} months (4 quarters) after the start.

| measure | effect at full ramp | applies to |
|---|---|---|
| CLA starts (`cla_starts`) | {PLANTED_EFFECTS["cla_starts"]:+.0%} | each locality, from its rollout start |
| CPP starts (`cpp_starts`) | {PLANTED_EFFECTS["cpp_starts"]:+.0%} | each locality, from its rollout start |
| CLA and CPP stocks, CLA ceased, CPP ends, repeat plans | none planted; they follow from fewer starts | - |
| Referrals, re-referrals, CIN | none (but referrals have the COVID-19 dip) | - |
| Comparator councils, region, England | none | - |

| wave | localities | start_date | complete_date | full effect from |
|---|---|---|---|---|
{chr(10).join(wave_lines)}

Training coverage (all agencies and courses) at {training["period_end"].max()}:

| locality | wave | staff trained / in scope |
|---|---|---|
{chr(10).join(coverage_lines)}

## Rough annual figures (Northmoor, financial year {fy_label})

Rates per 10,000 children use the mid-{DFE_YEARS[-1] - 1} population ({pop_prev:,}).

| measure | count | per 10,000 |
|---|---|---|
{chr(10).join(annual_lines)}

## Files

| file | rows |
|---|---|
{chr(10).join(file_lines)}
| `outcomes/outcomes_YYYY-MM.csv` | {outcome_files} quarterly files, {first_q} to {penultimate_q}, monthly rows |
| `training/training_YYYY-MM.csv` | {training_files} quarterly files, {_quarter_label(TRAINING_START.isoformat())} to {penultimate_q} |

`YYYY-MM` is the quarter's last month. Outcome files hold monthly rows (`period_end` is the
month end) for each locality x age band, age band `All` and unit `All`. Training files hold
one row per locality x agency x course at the quarter end (no unit `All`: sum the localities).

## Left unloaded

`unloaded/outcomes_{last_q}.csv` and `unloaded/training_{last_q}.csv` are the last quarter
(July-September {SAMPLE_END.year}). `rp-impact build` loads everything else, so a new user
can try the Upload page (or `rp-impact ingest`) with a real-looking quarterly extract.

## DfE-format comparator data (`dfe/`)

Annual figures in the layout of DfE's published CSVs (headers copied, data invented) for
reporting years {DFE_YEARS[0]}-{DFE_YEARS[-1]} (year ending 31 March), and ONS-style mid-year
populations {POPULATION_YEARS[0]}-{POPULATION_YEARS[-1]}. Rows: National ("England",
synthetic), Regional ({REGION_NAME}: the sum of the 11 councils) and Local authority rows for
{AREA_NAME} and the comparators:

| area_code | name | old_la_code |
|---|---|---|
{chr(10).join(comparator_lines)}

- {AREA_NAME}'s figures equal what its monthly outcomes imply: CLA and CPP on 31 March are the
  March `cla_at_period_end` / `cpp_at_period_end` (unit `All`, age band `All`); starts,
  ceased, CPP starts and subsequent plans are sums over April-March; populations are
  `population.csv` (unit `All`, age band `All`).
- Comparators are simulated the same monthly way with their own rates, trends and noise and
  no effect.
- Rates per 10,000 use the previous mid-year population and are rounded half up like DfE's
  (CLA rates to whole numbers, percentages to 1 d.p.). National and regional counts are
  rounded to the nearest 10, as DfE does; local authority counts are exact.
- CPP durations (`d5`) are a random split of the 31 March count (the monthly data have no
  plan lengths); small cells are suppressed with the next smallest (`c`).
- Deliberately suppressed cells, to exercise the importer: Redmarsh 2016 is "not available"
  (`x` counts and rates, `z` CPP duration percentages); Thornwick 2019 CLA ceasing is `c`;
  Greyhaven 2018 CPP subsequent plans are `c`.
- `cla_number_and_rate_per_10k_children.csv` and `sn_model_2025_wide.csv` start with a UTF-8
  BOM, as DfE's do. `sn_model_2025_wide.csv` gives each council ten neighbours (Northmoor's are
  the ten comparators; each comparator's are the other nine and Northmoor), ranks 1-5
  "Close", 6-10 "Somewhat close"; `region_ind` 99 is fictional.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.sample",
        description="Write the deterministic synthetic sample data.",
    )
    parser.add_argument("out_dir", nargs="?", default="data/sample", type=Path)
    args = parser.parse_args(argv)
    files = generate(args.out_dir)
    print(f"wrote {len(files)} files to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
