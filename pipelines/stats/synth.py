"""Synthetic control of one council against a pool of donor councils (annual DfE rates).

Source: Abadie & Gardeazabal (2003), "The economic costs of conflict: a case study of the Basque
Country", and Abadie, Diamond & Hainmueller (2010, 2015) for the RMSPE ratio and the
placebo-in-space test; fitted with the `pysyncon` package (``pysyncon.Synth``).

The synthetic council is a weighted average of donors (weights >= 0, summing to 1) chosen to
track the treated council's outcome in every pre-period year. The outcome in each pre-period
year is a predictor, with equal importance (a fixed identity V matrix), which is the usual
choice when the only data are the outcome series; set ``optimise_v=True`` for pysyncon's nested
optimisation of V as in the original paper.

Inference is by placebo in space: each donor in turn is treated as if it had the programme,
with the other donors as its pool, and the ratio of post- to pre-period RMSPE is compared. The
treated council's rank r among the n_donors + 1 ratios (1 = largest) gives p = r / (n_donors + 1).

Refusals (``StatsInputError``): fewer than ``min_pre_points`` (5) pre-period years, no
post-period year, fewer than 2 usable donors, or a poor pre-period fit: a pre-period RMSPE above
``max_pre_rmspe_relative`` (10%) of the treated council's pre-period mean, because the gap after
the programme would then mostly reflect a bad match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pysyncon import Synth

from pipelines.stats.covid import covid_reporting_years
from pipelines.stats.errors import StatsInputError

METHOD = (
    "Synthetic control (Abadie & Gardeazabal 2003; Abadie, Diamond & Hainmueller 2010), "
    "pysyncon.Synth; placebo-in-space inference on the post/pre RMSPE ratio"
)
#: A pre-period RMSPE above this share of the treated pre-period mean is refused as a poor fit.
MAX_PRE_RMSPE_RELATIVE = 0.10
MIN_PRE_POINTS = 5
#: DfE reporting years overlapping the one COVID-19 window (pipelines.stats.covid): 2020, 2021.
COVID_YEARS = covid_reporting_years()


@dataclass(frozen=True)
class SyntheticControlResult:
    """Donor weights, the gap series (treated - synthetic) and the placebo test."""

    method: str
    n: int
    warnings: tuple[str, ...]
    treated: str
    treatment_year: int
    n_pre: int
    n_post: int
    n_donors: int
    weights: pd.Series
    path: pd.DataFrame
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    treated_pre_mean: float
    pre_rmspe_relative: float
    mean_post_gap: float
    placebos: pd.DataFrame = field(repr=False)
    placebo_rank: int | None
    p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "n": self.n,
            "warnings": list(self.warnings),
            "treated": self.treated,
            "treatment_year": self.treatment_year,
            "n_pre": self.n_pre,
            "n_post": self.n_post,
            "n_donors": self.n_donors,
            "weights": {str(k): float(v) for k, v in self.weights.items()},
            "path": self.path.to_dict(orient="records"),
            "pre_rmspe": self.pre_rmspe,
            "post_rmspe": self.post_rmspe,
            "rmspe_ratio": self.rmspe_ratio,
            "treated_pre_mean": self.treated_pre_mean,
            "pre_rmspe_relative": self.pre_rmspe_relative,
            "mean_post_gap": self.mean_post_gap,
            "placebos": self.placebos.to_dict(orient="records"),
            "placebo_rank": self.placebo_rank,
            "p_value": self.p_value,
        }


def fit_weights(
    Z0: pd.DataFrame, Z1: pd.Series, *, optimise_v: bool = False, X0=None, X1=None
) -> pd.Series:
    """Donor weights from pysyncon.Synth: Z0 has one column per donor, rows are pre-period years.

    With `X0`/`X1` (predictor matrices, one row per predictor) the weights match the predictors
    and V is optimised on the pre-period outcomes, as in the Basque study; without them the
    pre-period outcomes are the predictors.
    """
    X0 = Z0 if X0 is None else X0
    X1 = Z1 if X1 is None else X1
    synth = Synth()
    if optimise_v or X0 is not Z0:
        synth.fit(X0=X0, X1=X1, Z0=Z0, Z1=Z1, optim_method="Nelder-Mead", optim_initial="equal")
    else:
        synth.fit(X0=X0, X1=X1, Z0=Z0, Z1=Z1, custom_V=np.ones(len(X0)))
    weights = pd.Series(np.asarray(synth.W, dtype=float), index=Z0.columns, name="weight")
    weights = weights.clip(lower=0)
    return weights / weights.sum()


def _rmspe(gap: pd.Series) -> float:
    return float(math.sqrt(float((gap**2).mean()))) if len(gap) else float("nan")


def _fit_unit(
    wide: pd.DataFrame, unit, pool: list, pre: pd.Index, post: pd.Index, optimise_v: bool
) -> tuple[pd.Series, pd.Series, float, float]:
    weights = fit_weights(wide.loc[pre, pool], wide.loc[pre, unit], optimise_v=optimise_v)
    synthetic = wide[pool] @ weights
    gap = wide[unit] - synthetic
    return weights, synthetic, _rmspe(gap.loc[pre]), _rmspe(gap.loc[post])


def synthetic_control(
    annual_df: pd.DataFrame,
    treated,
    donors: list | tuple,
    outcome: str,
    time_col: str = "time_period",
    treatment_year: int | None = None,
    *,
    unit_col: str = "area_code",
    max_pre_rmspe_relative: float = MAX_PRE_RMSPE_RELATIVE,
    min_pre_points: int = MIN_PRE_POINTS,
    placebo: bool = True,
    optimise_v: bool = False,
) -> SyntheticControlResult:
    """Synthetic control for `treated` from `donors` on an annual long table.

    `annual_df` has one row per unit and year with columns `unit_col`, `time_col` and
    `outcome` (for example DfE rates per 10,000). `treatment_year` is the first year counted as
    after the programme started; earlier years are the pre-period.

    Returns weights (donor -> weight), `path` (columns time, treated, synthetic, gap, period),
    pre- and post-period RMSPE, their ratio, and the placebo-in-space rank and p-value.
    """
    if treatment_year is None:
        raise StatsInputError("Give the treatment year: the first year after the programme began.")
    for column in (unit_col, time_col, outcome):
        if column not in annual_df:
            raise StatsInputError(f"The table has no column '{column}'.")
    donors = [d for d in dict.fromkeys(donors) if d != treated]
    warnings: list[str] = []
    data = annual_df[[unit_col, time_col, outcome]].copy()
    data[outcome] = pd.to_numeric(data[outcome], errors="coerce")
    if data.duplicated([unit_col, time_col]).any():
        raise StatsInputError(f"The table has more than one row for a {unit_col} and year.")
    wide = data.pivot(index=time_col, columns=unit_col, values=outcome).sort_index()
    if treated not in wide:
        raise StatsInputError(f"The treated unit {treated} is not in the table.")
    wide = wide.loc[wide[treated].notna()]

    missing = [d for d in donors if d not in wide]
    incomplete = [d for d in donors if d in wide and wide[d].isna().any()]
    if missing or incomplete:
        left_out = missing + incomplete
        warnings.append(
            f"{len(left_out)} donor(s) left out for missing or suppressed years: "
            + ", ".join(str(d) for d in left_out)
            + "."
        )
    donors = [d for d in donors if d not in missing and d not in incomplete]
    if len(donors) < 2:
        raise StatsInputError(
            f"Synthetic control needs at least 2 donors with every year published; "
            f"{len(donors)} usable."
        )
    pre = wide.index[wide.index < treatment_year]
    post = wide.index[wide.index >= treatment_year]
    if len(pre) < min_pre_points:
        raise StatsInputError(
            f"Only {len(pre)} pre-period year(s) before {treatment_year}; synthetic control "
            f"needs at least {min_pre_points} to build a credible comparison."
        )
    if len(post) == 0:
        raise StatsInputError(f"There is no year from {treatment_year} on to compare.")

    weights, synthetic, pre_rmspe, post_rmspe = _fit_unit(
        wide, treated, donors, pre, post, optimise_v
    )
    treated_pre_mean = float(wide.loc[pre, treated].mean())
    relative = pre_rmspe / abs(treated_pre_mean) if treated_pre_mean else float("inf")
    if relative > max_pre_rmspe_relative:
        raise StatsInputError(
            f"The synthetic comparison does not track {treated} before {treatment_year}: "
            f"pre-period RMSPE {pre_rmspe:.3g} is {relative:.1%} of the pre-period mean "
            f"({treated_pre_mean:.3g}), above the {max_pre_rmspe_relative:.0%} threshold. "
            "The gap after the programme would mostly reflect a poor match; use another method "
            "or a different donor pool."
        )
    ratio = post_rmspe / max(pre_rmspe, 1e-12)

    gap = wide[treated] - synthetic
    path = pd.DataFrame(
        {
            "time": wide.index.astype(int),
            "treated": wide[treated].to_numpy(dtype=float),
            "synthetic": synthetic.to_numpy(dtype=float),
            "gap": gap.to_numpy(dtype=float),
            "period": np.where(wide.index < treatment_year, "pre", "post"),
        }
    )

    placebo_rows = [
        {"unit": treated, "treated": True, "pre_rmspe": pre_rmspe, "post_rmspe": post_rmspe}
    ]
    rank = p_value = None
    if placebo:
        for donor in donors:
            pool = [d for d in donors if d != donor]
            _, _, d_pre, d_post = _fit_unit(wide, donor, pool, pre, post, optimise_v)
            placebo_rows.append(
                {"unit": donor, "treated": False, "pre_rmspe": d_pre, "post_rmspe": d_post}
            )
    placebos = pd.DataFrame(placebo_rows)
    placebos["rmspe_ratio"] = placebos["post_rmspe"] / placebos["pre_rmspe"].clip(lower=1e-12)
    if placebo:
        # rank 1 = the largest ratio; ties count against the treated unit (conservative).
        rank = int((placebos.loc[~placebos["treated"], "rmspe_ratio"] >= ratio).sum()) + 1
        p_value = rank / (len(donors) + 1)
        if len(donors) + 1 < 20:
            warnings.append(
                f"With {len(donors)} donors the smallest possible placebo p-value is "
                f"{1 / (len(donors) + 1):.2f}."
            )
    if len(post) < 3:
        warnings.append(f"Only {len(post)} year(s) after the programme began: an early look.")
    covid = [y for y in COVID_YEARS if y in set(wide.index)]
    if covid:
        warnings.append(
            "The window includes the COVID-19 years "
            + ", ".join(str(y) for y in covid)
            + ", when services and recording changed everywhere."
        )
    if weights.max() > 0.8:
        warnings.append(
            f"One donor ({weights.idxmax()}) carries {weights.max():.0%} of the weight: the "
            "comparison rests largely on a single council."
        )

    return SyntheticControlResult(
        method=METHOD,
        n=len(wide.index),
        warnings=tuple(warnings),
        treated=str(treated),
        treatment_year=int(treatment_year),
        n_pre=len(pre),
        n_post=len(post),
        n_donors=len(donors),
        weights=weights.sort_values(ascending=False),
        path=path,
        pre_rmspe=pre_rmspe,
        post_rmspe=post_rmspe,
        rmspe_ratio=float(ratio),
        treated_pre_mean=treated_pre_mean,
        pre_rmspe_relative=float(relative),
        mean_post_gap=float(gap.loc[post].mean()),
        placebos=placebos,
        placebo_rank=rank,
        p_value=p_value,
    )
