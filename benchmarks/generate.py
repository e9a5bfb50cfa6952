"""National-scale synthetic extracts for the benchmarks, built with the sample generator's machinery.

The sample (`pipelines.sample`) simulates one fictional partnership. This module runs the same
processes (rates, shares, seasonality, the COVID-19 referral dip, the stock model in
`_simulate_stocks`, the planted effect in `planted_multiplier`) vectorised over many fictional
areas and localities:

| scale | areas | localities per area (+ All) | age bands (+ All) | months | outcome rows |
|---|---|---|---|---|---|
| x1 | 153 | 9 (+1) | 5 (+1) | 132 (+3 in the quarterly file) | 1,211,760 |
| x4 | 153 | 39 (+1) | 5 (+1) | 132 (+3) | 4,847,040 |
| x16 | 153 | 159 (+1) | 5 (+1) | 132 (+3) | 19,388,160 |

Area codes are ONS-shaped but fictional (`E06990001` ... `E06990153`, regions `E129999xx`).
Three areas in four roll out Restorative Practice in the sample's three waves (locality *l*
joins wave *l mod 3 + 1*); the rest never do, so staggered DiD has never-treated units.

Files (in `benchmarks/_data/<scale>/`): `areas.csv`, `population.csv`, `rollout.csv`,
`training.csv`, `outcomes_national.csv` (Jul 2015 - Jun 2026, 132 months) and
`outcomes_quarter.csv` (Jul - Sep 2026, the next quarterly extract). A `manifest.json` written
last marks a complete set; a set is reused when its manifest matches.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines import sample as S

GENERATOR_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "_data"
FIRST_MONTH = (2015, 7)
N_HISTORY_MONTHS = 132
N_QUARTER_MONTHS = 3
N_REGIONS = 9
SEED = S.SEED + 8  # issue 8


@dataclass(frozen=True)
class Scale:
    name: str
    n_areas: int
    n_localities: int  # excluding the unit "All"

    @property
    def n_outcome_rows(self) -> int:
        return self.n_areas * (self.n_localities + 1) * (len(S.AGE_BANDS) + 1) * N_HISTORY_MONTHS


SCALES = {
    "tiny": Scale("tiny", 3, 2),
    "x1": Scale("x1", 153, 9),
    "x4": Scale("x4", 153, 39),
    "x16": Scale("x16", 153, 159),
}


def area_codes(n: int) -> list[str]:
    return [f"E0699{i:04d}" for i in range(1, n + 1)]


def locality_names(n: int) -> list[str]:
    return [f"Locality {i:03d}" for i in range(1, n + 1)]


def is_treated(area_index: int) -> bool:
    return area_index % 4 != 3


def _months(n: int) -> list[tuple[int, int]]:
    y, m = FIRST_MONTH
    out = []
    for _ in range(n):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_index(y: int, m: int) -> int:
    return y * 12 + (m - 1)


def folder(scale: Scale, root: Path | None = None) -> Path:
    return (root or DATA_DIR) / scale.name


def files(scale: Scale, root: Path | None = None) -> dict[str, Path]:
    base = folder(scale, root)
    names = ("areas", "population", "rollout", "training", "outcomes_national", "outcomes_quarter")
    return {n: base / f"{n}.csv" for n in names}


def _manifest(scale: Scale) -> dict:
    return {"generator_version": GENERATOR_VERSION, "seed": SEED, **asdict(scale)}


def is_ready(scale: Scale, root: Path | None = None) -> bool:
    path = folder(scale, root) / "manifest.json"
    if not path.exists() or not all(p.exists() for p in files(scale, root).values()):
        return False
    try:
        return json.loads(path.read_text())["spec"] == _manifest(scale)
    except (ValueError, KeyError):
        return False


# -- reference files ---------------------------------------------------------------------------


def _areas_frame(scale: Scale) -> pd.DataFrame:
    codes = area_codes(scale.n_areas)
    return pd.DataFrame(
        {
            "area_code": codes,
            "area_name": [f"Fictional area {i:03d}" for i in range(1, len(codes) + 1)],
            "old_la_code": "",
            "region_code": [f"E129999{(i % N_REGIONS) + 1:02d}" for i in range(len(codes))],
            "region_name": [f"Fictional region {(i % N_REGIONS) + 1}" for i in range(len(codes))],
        }
    )


def _start_months(scale: Scale, areas: range) -> np.ndarray:
    """(areas, localities) month index of each locality's rollout start; NaN if never."""
    out = np.full((len(areas), scale.n_localities), np.nan)
    for i, a in enumerate(areas):
        if not is_treated(a):
            continue
        for j in range(scale.n_localities):
            start, _ = S.WAVES[j % 3 + 1]
            first = start if start.day == 1 else S._add_months(start.replace(day=1), 1)
            out[i, j] = _month_index(first.year, first.month)
    return out


def _rollout_frame(scale: Scale) -> pd.DataFrame:
    rows = []
    codes = area_codes(scale.n_areas)
    for a, code in enumerate(codes):
        if not is_treated(a):
            continue
        for j, unit in enumerate(locality_names(scale.n_localities)):
            wave = j % 3 + 1
            start, _ = S.WAVES[wave]
            rows.append(
                (
                    code,
                    unit,
                    S.PROGRAMME,
                    wave,
                    start.isoformat(),
                    S._add_months(start, 12).isoformat(),
                )
            )
    return pd.DataFrame(
        rows, columns=["area_code", "unit", "programme", "wave", "start_date", "complete_date"]
    )


# -- simulation of one chunk of areas ----------------------------------------------------------


def _population(rng, n_areas: int, n_loc: int) -> np.ndarray:
    """(areas, localities, bands, years) mid-year populations (integers as float)."""
    n_bands, n_years = len(S.AGE_BANDS), len(S.POPULATION_YEARS)
    area_total = rng.uniform(40_000, 260_000, size=n_areas)
    loc_share = rng.dirichlet(np.full(n_loc, 20.0), size=n_areas)
    loc_pop = area_total[:, None] * loc_share
    shares = rng.dirichlet(S._POP_SHARES * 800, size=(n_areas, n_loc))
    growth = S._POP_GROWTH + rng.normal(0, 0.0015, size=(n_areas, n_loc))
    k = np.arange(n_years)
    drift = rng.normal(0, 0.0008, size=(n_areas, n_loc, n_years, n_bands)).cumsum(axis=2)
    s = np.clip(shares[:, :, None, :] + drift, 0.01, None)
    s = s / s.sum(axis=3, keepdims=True)
    total = (
        loc_pop[:, :, None]
        * (1 + growth[:, :, None]) ** k
        * (1 + rng.normal(0, 0.002, size=(n_areas, n_loc, n_years)))
    )
    pop = np.rint(total[:, :, :, None] * s)  # (a, l, y, b)
    return np.maximum(pop, 1).transpose(0, 1, 3, 2)


def _simulate_chunk(rng, scale: Scale, areas: range) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Populations (a, l, b, years) and monthly measures (a, l, b, months) for some areas."""
    n_a, n_l, n_b = len(areas), scale.n_localities, len(S.AGE_BANDS)
    months = _months(N_HISTORY_MONTHS + N_QUARTER_MONTHS)
    n_m = len(months)
    pop_years = _population(rng, n_a, n_l)
    year_idx = np.array([S._pop_year(y, m) - S.POPULATION_YEARS[0] for y, m in months])
    pop = pop_years[..., year_idx]  # (a, l, b, m)
    band = np.arange(n_b)[None, None, :, None]
    need = rng.uniform(0.82, 1.22, size=(n_a, n_l))[:, :, None, None]
    years_elapsed = (np.arange(n_m) / 12.0)[None, None, None, :]
    month_idx = np.array([_month_index(y, m) for y, m in months])
    start = _start_months(scale, areas)
    since = month_idx[None, None, :] - start[:, :, None]  # (a, l, m)
    since = np.where(np.isnan(since), -1e6, since)[:, :, None, :]
    care_season = S._season(months, S._CARE_SEASON)[None, None, None, :]
    ref_season = S._season(months, S._REFERRAL_SEASON)[None, None, None, :]
    covid = np.array([S.COVID_REFERRAL_FACTORS.get(ym, 1.0) for ym in months])

    def monthly_mean(rate: float, shares: np.ndarray) -> np.ndarray:
        per_child = rate / 10000 / 12 * shares[band] / S._POP_SHARES[band]
        return pop * per_child * need

    def flat(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, (n_a, n_l, n_b, n_m)).reshape(-1, n_m)

    def unflat(x: np.ndarray) -> np.ndarray:
        return x.reshape(n_a, n_l, n_b, n_m)

    ref_mean = (
        monthly_mean(S._REFERRAL_RATE, S._REF_SHARES)
        * ref_season
        * covid[None, None, None, :]
        * (1 + S._REFERRAL_TREND) ** years_elapsed
    )
    referrals = rng.poisson(ref_mean)
    rereferrals = rng.binomial(referrals, S._REREFERRAL_P)

    out: dict[str, np.ndarray] = {"referrals": referrals, "rereferrals": rereferrals}
    for prefix, rate, shares, trend, exit_p, measure in (
        ("cla", S._CLA_START_RATE, S._CLA_SHARES, S._CLA_TREND, S._CLA_CEASE_P, "cla_starts"),
        ("cpp", S._CPP_START_RATE, S._CPP_SHARES, S._CPP_TREND, S._CPP_END_P, "cpp_starts"),
    ):
        base = monthly_mean(rate, shares)
        mean = base * care_season * (1 + trend) ** years_elapsed
        mean = mean * S.planted_multiplier(since, measure)
        exits = np.full(n_a * n_l * n_b, exit_p)
        stock, starts, ended = S._simulate_stocks(rng, flat(mean), exits, flat(base)[:, 0] / exit_p)
        out[f"{prefix}_at_period_end"] = unflat(stock)
        out[f"{prefix}_starts"] = unflat(starts)
        out["cla_ceased" if prefix == "cla" else "cpp_ends"] = unflat(ended)
    out["cpp_repeat_starts"] = rng.binomial(out["cpp_starts"], S._CPP_REPEAT_P)
    phase = rng.uniform(0, 2 * np.pi, size=(n_a, n_l))[:, :, None, None]
    level = 1 + 0.06 * np.sin(2 * np.pi * np.arange(n_m)[None, None, None, :] / 72 + phase)
    out["cin_at_period_end"] = rng.poisson(monthly_mean(S._CIN_RATE * 12, S._CIN_SHARES) * level)
    ramp = np.clip(since / S.RAMP_MONTHS, 0, 1) * (since >= 0)
    fgc_rate = (S._FGC_BEFORE + (S._FGC_AFTER - S._FGC_BEFORE) * ramp) * S._CPP_SHARES[band]
    out["fgc_held"] = rng.poisson(np.broadcast_to(fgc_rate, (n_a, n_l, n_b, n_m)))
    return pop_years, {k: out[k].astype(np.int64) for k in S.OUTCOME_MEASURES}


def _with_totals(x: np.ndarray) -> np.ndarray:
    """(a, l, b, ...) -> (a, l+1, b+1, ...) with 'All' first on both axes (sums)."""
    x = np.concatenate([x.sum(axis=2, keepdims=True), x], axis=2)
    return np.concatenate([x.sum(axis=1, keepdims=True), x], axis=1)


def _long_frame(codes: list[str], units: list[str], bands: list[str], last_axis: list, arrays):
    """Arrays shaped (a, l+1, b+1, last) to a long frame, in that nested order."""
    n_a, n_u, n_b, n_t = len(codes), len(units), len(bands), len(last_axis)
    n = n_a * n_u * n_b * n_t
    frame = pd.DataFrame(
        {
            "area_code": np.repeat(np.array(codes, dtype=object), n // n_a),
            "unit": np.tile(np.repeat(np.array(units, dtype=object), n_b * n_t), n_a),
            "age_band": np.tile(np.repeat(np.array(bands, dtype=object), n_t), n_a * n_u),
            "_t": np.tile(np.array(last_axis), n_a * n_u * n_b),
        }
    )
    for name, arr in arrays.items():
        frame[name] = arr.reshape(-1)
    return frame


def _training_chunk(rng, scale: Scale, areas: range, codes: list[str]) -> pd.DataFrame:
    quarters = []
    d = S.TRAINING_START
    last = date(2026, 6, 30)
    while d <= last:
        quarters.append(d)
        nxt = S._add_months(d.replace(day=1), 3)
        d = S._month_end(nxt.year, nxt.month)
    n_a, n_l, n_g, n_c, n_q = len(areas), scale.n_localities, len(S.AGENCIES), 3, len(quarters)
    lo = np.array([[S._SCOPE_RANGES[g][c][0] for c in range(n_c)] for g in S.AGENCIES])
    hi = np.array([[S._SCOPE_RANGES[g][c][1] for c in range(n_c)] for g in S.AGENCIES])
    scope0 = rng.integers(lo, hi + 1, size=(n_a, n_l, n_g, n_c)).astype(float)
    walk = np.cumprod(1 + rng.normal(0.002, 0.012, size=(n_a, n_l, n_g, n_c, n_q)), axis=4)
    in_scope = np.maximum(1, np.rint(scope0[..., None] * walk))
    loc_cov = rng.uniform(0.6, 0.9, size=(n_a, n_l))
    agency_cov = np.array([S._AGENCY_COVERAGE[g] for g in S.AGENCIES])
    course_cov = np.array([S._COURSE_COVERAGE[c] for c in S.COURSES])
    final = loc_cov[:, :, None, None] * agency_cov[None, None, :, None] * course_cov
    final = np.clip(final + rng.normal(0, 0.03, size=final.shape), 0.3, 0.97)
    start = _start_months(scale, areas) - 6  # training starts two quarters before rollout
    q_idx = np.array([_month_index(q.year, q.month) for q in quarters])
    q_since = np.floor((q_idx[None, None, :] - start[:, :, None]) / 3)  # (a, l, q), NaN never
    midpoint = np.array([S._COURSE_MIDPOINT[c] for c in S.COURSES])
    with np.errstate(invalid="ignore", over="ignore"):
        frac = 1 / (
            1 + np.exp(-(q_since[:, :, None, None, :] - midpoint[None, None, None, :, None]) / 1.1)
        )
    frac = np.where(q_since[:, :, None, None, :] >= 0, frac, 0.0)
    target = np.rint(in_scope * final[..., None] * frac)
    trained = np.maximum.accumulate(np.minimum(target, in_scope), axis=4)
    in_scope = np.maximum(in_scope, trained)
    n = n_a * n_l * n_g * n_c * n_q
    units = locality_names(scale.n_localities)
    frame = pd.DataFrame(
        {
            "period_end": np.tile(np.array([q.isoformat() for q in quarters]), n // n_q),
            "area_code": np.repeat(np.array(codes, dtype=object), n // n_a),
            "unit": np.tile(np.repeat(np.array(units, dtype=object), n_g * n_c * n_q), n_a),
            "agency": np.tile(np.repeat(np.array(S.AGENCIES, dtype=object), n_c * n_q), n_a * n_l),
            "course": np.tile(np.repeat(np.array(S.COURSES, dtype=object), n_q), n_a * n_l * n_g),
            "staff_in_scope": in_scope.reshape(-1).astype(np.int64),
            "staff_trained": trained.reshape(-1).astype(np.int64),
        }
    )
    return frame


# -- writing -------------------------------------------------------------------------------------


def _copy_csv(con, sql: str, path: Path) -> None:
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT csv, HEADER true, DELIMITER ',')")


def generate(scale: Scale, root: Path | None = None, *, log=print) -> dict[str, Path]:
    """Write the whole set for `scale` (reusing it when its manifest matches)."""
    if is_ready(scale, root):
        return files(scale, root)
    out = folder(scale, root)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    started = time.perf_counter()
    paths = files(scale, root)
    codes = area_codes(scale.n_areas)
    units = ["All", *locality_names(scale.n_localities)]
    bands = ["All", *S.AGE_BANDS]
    months = _months(N_HISTORY_MONTHS + N_QUARTER_MONTHS)
    month_ends = [S._month_end(y, m) for y, m in months]

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    measures = ", ".join(f"{m} BIGINT" for m in S.OUTCOME_MEASURES)
    con.execute(
        "CREATE TABLE outcomes (period_end DATE, area_code VARCHAR, unit VARCHAR, "
        f"age_band VARCHAR, {measures})"
    )
    con.execute(
        "CREATE TABLE population (year INTEGER, area_code VARCHAR, unit VARCHAR, "
        "age_band VARCHAR, population_0_17 BIGINT)"
    )
    con.execute(
        "CREATE TABLE training (period_end VARCHAR, area_code VARCHAR, unit VARCHAR, "
        "agency VARCHAR, course VARCHAR, staff_in_scope BIGINT, staff_trained BIGINT)"
    )
    chunk = max(1, 1500 // scale.n_localities)
    seeds = np.random.SeedSequence(SEED).spawn((scale.n_areas + chunk - 1) // chunk)
    month_end_values = pd.to_datetime(pd.Series(month_ends)).to_numpy()
    measure_names = ", ".join(S.OUTCOME_MEASURES)
    for k, first in enumerate(range(0, scale.n_areas, chunk)):
        areas = range(first, min(first + chunk, scale.n_areas))
        rng_out, rng_train = np.random.default_rng(seeds[k]).spawn(2)
        pop_years, values = _simulate_chunk(rng_out, scale, areas)
        chunk_codes = codes[areas.start : areas.stop]
        frame = _long_frame(
            chunk_codes,
            units,
            bands,
            list(range(len(months))),
            {k2: _with_totals(v) for k2, v in values.items()},
        )
        frame.insert(0, "period_end", month_end_values[frame.pop("_t").to_numpy()])
        con.register("_chunk", frame)
        con.execute(
            f"INSERT INTO outcomes SELECT period_end::DATE, area_code, unit, age_band, "
            f"{measure_names} FROM _chunk"
        )
        con.unregister("_chunk")
        del frame, values
        pop = _long_frame(
            chunk_codes,
            units,
            bands,
            list(S.POPULATION_YEARS),
            {"population_0_17": _with_totals(pop_years).astype(np.int64)},
        )
        con.register("_chunk", pop)
        con.execute(
            "INSERT INTO population SELECT _t, area_code, unit, age_band, population_0_17 "
            "FROM _chunk"
        )
        con.unregister("_chunk")
        training = _training_chunk(rng_train, scale, areas, chunk_codes)
        con.register("_chunk", training)
        con.execute("INSERT INTO training SELECT * FROM _chunk")
        con.unregister("_chunk")
        log(f"  generated {scale.name}: areas {areas.stop}/{scale.n_areas}")

    last_history = month_ends[N_HISTORY_MONTHS - 1]
    order = "ORDER BY period_end, area_code, unit, age_band"
    _copy_csv(
        con,
        f"SELECT * FROM outcomes WHERE period_end <= DATE '{last_history}' {order}",
        paths["outcomes_national"],
    )
    _copy_csv(
        con,
        f"SELECT * FROM outcomes WHERE period_end > DATE '{last_history}' {order}",
        paths["outcomes_quarter"],
    )
    _copy_csv(
        con,
        "SELECT * FROM population ORDER BY year, area_code, unit, age_band",
        paths["population"],
    )
    _copy_csv(
        con,
        "SELECT * FROM training ORDER BY period_end, area_code, unit, agency, course",
        paths["training"],
    )
    con.close()
    _areas_frame(scale).to_csv(paths["areas"], index=False, lineterminator="\n")
    _rollout_frame(scale).to_csv(paths["rollout"], index=False, lineterminator="\n")
    sizes = {k: p.stat().st_size for k, p in paths.items()}
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "spec": _manifest(scale),
                "bytes": sizes,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )
    log(
        f"  wrote {scale.name} in {time.perf_counter() - started:.0f} s "
        f"(outcomes {sizes['outcomes_national'] / 1e6:.0f} MB)"
    )
    return paths
