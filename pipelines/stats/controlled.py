"""A controlled comparison for a council with only DfE annual figures: difference-in-differences
of its log annual rate against its statistical neighbours' mean, with placebo-in-space
inference across the neighbours.

Estimate: ``tau = mean_post(g_t) - mean_pre(g_t)`` with ``g_t = log r_ct - mean_j log r_jt``,
the council's log rate minus the neighbours' mean log rate in reporting year ``t`` (post: the
rollout year on). Placebo in space (Abadie, Diamond & Hainmueller 2010, JASA 105:493-505,
s. 4; Conley & Taber 2011, "Inference with 'difference in differences' with a small number
of policy changes", Rev Econ Stat 93:113-125): each neighbour in turn is treated as if it had
started, against the other neighbours, giving placebo estimates ``tau_k`` of the noise in
``tau``. The permutation p-value is ``(1 + #{|tau_k| >= |tau|}) / (1 + K)`` (with 10
neighbours it can be no smaller than 1/11, so it alone can never show a change at 5%); the
interval is ``tau +/- t_{K-1} sd(tau_k)``, which treats the placebos as draws of the
estimator's error (Conley & Taber 2011, s. III, in its normal-approximation form), and its
p-value is the matching t-test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.stats.errors import StatsInputError
from pipelines.stats.rates import t_ratio_fields

METHOD = (
    "Difference-in-differences of the council's annual rate against its statistical "
    "neighbours' mean, placebo-in-space inference across the neighbours"
)
MIN_NEIGHBOURS = 4


@dataclass(frozen=True)
class ControlledResult:
    """``estimate`` is the log rate ratio; ``ci_lower``/``ci_upper`` of the ratio;
    ``p_value`` the t-test matching the interval, ``p_permutation`` the placebo rank;
    ``placebo_estimates`` one per neighbour; ``england_estimate`` the same DiD against England
    (``None`` without England)."""

    method: str
    estimate: float
    rate_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    p_permutation: float
    n_neighbours: int
    n_years_pre: int
    n_years_post: int
    placebo_estimates: tuple[float, ...]
    england_estimate: float | None


def log_rates(frame: pd.DataFrame, key: str | None = None) -> pd.DataFrame | pd.Series:
    """log(value / population) by ``year`` (and ``key`` columns when given)."""
    rate = np.log(frame["value"].astype(float).clip(lower=0.5) / frame["population"])
    out = frame.assign(log_rate=rate)
    if key is None:
        return out.set_index("year")["log_rate"].sort_index()
    return out.pivot(index="year", columns=key, values="log_rate").sort_index()


def did_gap(treated: pd.Series, comparison: pd.DataFrame, rollout_year: int) -> float:
    """``mean_post(g) - mean_pre(g)``, ``g`` the treated log rate minus the comparison mean."""
    gap = treated - comparison.mean(axis=1)
    post = gap.index >= rollout_year
    return float(gap[post].mean() - gap[~post].mean())


def controlled_did(
    council: pd.DataFrame,
    neighbours: pd.DataFrame,
    rollout_year: int,
    *,
    england: pd.DataFrame | None = None,
    confidence: float = 0.95,
) -> ControlledResult:
    """``council``: ``year``, ``value``, ``population``; ``neighbours`` the same with
    ``area_code``; ``rollout_year`` the first reporting year counted as after. Only years
    every series has are used."""
    c = log_rates(council)
    n = log_rates(neighbours, "area_code")
    years = c.index.intersection(n.dropna().index)
    c, n = c.loc[years], n.loc[years].dropna(axis=1)
    pre, post = int((years < rollout_year).sum()), int((years >= rollout_year).sum())
    if pre < 2 or post < 1:
        raise StatsInputError(
            "The comparison with statistical neighbours needs at least two years before the "
            "rollout and one after."
        )
    k = n.shape[1]
    if k < MIN_NEIGHBOURS:
        raise StatsInputError(f"At least {MIN_NEIGHBOURS} statistical neighbours are needed.")
    tau = did_gap(c, n, rollout_year)
    placebos = np.array([did_gap(n[col], n.drop(columns=col), rollout_year) for col in n.columns])
    sd = float(np.std(placebos, ddof=1))
    p_t = float(2 * stats.t.sf(abs(tau) / sd, k - 1)) if sd > 0 else float("nan")
    p_perm = float((1 + np.sum(np.abs(placebos) >= abs(tau))) / (1 + k))
    eng = None
    if england is not None:
        e = log_rates(england).reindex(years)
        if e.notna().all():
            eng = did_gap(c, e.to_frame(), rollout_year)
    return ControlledResult(
        method=METHOD,
        estimate=tau,
        **t_ratio_fields(tau, sd, k - 1, confidence),
        p_value=p_t,
        p_permutation=p_perm,
        n_neighbours=k,
        n_years_pre=pre,
        n_years_post=post,
        placebo_estimates=tuple(float(v) for v in placebos),
        england_estimate=eng,
    )
