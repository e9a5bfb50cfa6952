"""The DfE-format annual files and statistical neighbours of the synthetic sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.sample.dates import _fmt_num, _round10
from pipelines.sample.params import (
    _D5_BANDS,
    _D5_SHARES,
    _GEO_COLS_A,
    _GEO_COLS_B,
    _NOT_AVAILABLE,
    _SUPPRESS_CLA_C,
    _SUPPRESS_D3_C,
    AREA_CODE,
    AREA_NAME,
    COMPARATOR_CODES,
    COMPARATORS,
    COUNTRY_CODE,
    COUNTRY_NAME,
    DFE_CLA_TYPES,
    DFE_YEARS,
    OLD_LA_CODE,
    POPULATION_YEARS,
    REGION_CODE,
    REGION_NAME,
)


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
