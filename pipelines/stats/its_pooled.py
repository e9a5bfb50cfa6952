"""Interrupted time series at each locality's own start, pooled across localities.

For each locality ``i`` the quarterly log rate ``y_it = log((count_it + 0.5) / pop_it)`` (the
+0.5 as in :mod:`pipelines.stats.randomisation`, Cox 1970) is regressed on a constant, a
linear trend, quarter-of-year indicators, a COVID-19 indicator (the plan's one window,
:mod:`pipelines.stats.covid`) and ``post_it`` = 1 from the locality's own start: a level
change at its own wave (Bernal, Cummins & Gasparrini 2017, "Interrupted time series
regression for the evaluation of public health interventions: a tutorial", Int J Epidemiol
46:348-355). Errors are AR(1), fitted by feasible GLS (statsmodels ``GLSAR`` with iterative
Cochrane-Orcutt estimation of rho; Cochrane & Orcutt 1949), not Newey-West: at 40-50 points
HAC errors are too narrow without a small-sample correction (issue 13 measured 41-58%
coverage). The localities' level changes are aligned by event time (each at its own start)
and pooled by inverse-variance weights (a fixed-effect meta-analysis; Borenstein et al. 2009,
*Introduction to Meta-Analysis*, ch. 11), with a t reference on the smallest residual degrees
of freedom. The estimate is a log rate ratio averaged over the post-start quarters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.stats.covid import COVID_END, COVID_START
from pipelines.stats.errors import StatsInputError
from pipelines.stats.rates import t_ratio_fields

METHOD = (
    "Interrupted time series at each locality's own start (log rate, trend, quarter of year, "
    "COVID-19 indicator, AR(1) errors by feasible GLS), pooled across localities by "
    "inverse-variance weights"
)
MIN_PRE = 8
MIN_POST = 4


@dataclass(frozen=True)
class PooledITSResult:
    """``estimate`` (log rate ratio), ``rate_ratio``, ``ci_lower``/``ci_upper`` (of the ratio),
    ``p_value``; ``by_unit``: locality -> (log estimate, standard error, rho); ``df`` the t
    reference's degrees of freedom."""

    method: str
    estimate: float
    std_error: float
    rate_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    n_units: int
    n_periods: int
    df: int
    by_unit: dict[str, tuple[float, float, float]]
    warnings: tuple[str, ...]


def design_matrix(
    dates: pd.DatetimeIndex, start: pd.Timestamp, covid: tuple[pd.Timestamp, pd.Timestamp]
) -> np.ndarray:
    """Columns: constant, trend (years), quarter 2-4 indicators, COVID-19, post (last)."""
    t = np.arange(len(dates)) / 4.0
    q = dates.quarter.to_numpy()
    cols = [np.ones(len(dates)), t] + [(q == k).astype(float) for k in (2, 3, 4)]
    in_covid = np.asarray((dates >= covid[0]) & (dates <= covid[1]), float)
    if 0 < in_covid.sum() < len(dates):
        cols.append(in_covid)
    cols.append(np.asarray(dates >= start, float))
    return np.column_stack(cols)


def unit_level_change(
    y: np.ndarray, x: np.ndarray, maxiter: int = 6
) -> tuple[float, float, float, int]:
    """(coefficient of the last column, its standard error, rho, residual df) by GLSAR(1)."""
    import statsmodels.api as sm

    model = sm.GLSAR(y, x, rho=1)
    fit = model.iterative_fit(maxiter=maxiter)
    rho = float(np.clip(model.rho[0], -0.95, 0.95))
    return float(fit.params[-1]), float(fit.bse[-1]), rho, int(fit.df_resid)


def pool(estimates: np.ndarray, ses: np.ndarray) -> tuple[float, float]:
    """Inverse-variance weighted mean and its standard error."""
    w = 1 / np.asarray(ses, float) ** 2
    return float(np.sum(w * estimates) / w.sum()), float(1 / math.sqrt(w.sum()))


def pooled_its(
    panel: pd.DataFrame,
    *,
    covid: tuple[pd.Timestamp, pd.Timestamp] = (COVID_START, COVID_END),
    confidence: float = 0.95,
) -> PooledITSResult:
    """The pooled ITS of a locality x quarter panel (``period_end``, ``series``, ``value``,
    ``population``, ``start_date``); see the module docstring."""
    need = {"period_end", "series", "value", "population", "start_date"}
    if not need <= set(panel.columns):
        raise StatsInputError(f"The panel needs columns {', '.join(sorted(need))}.")
    data = panel[panel["series"] != "All"].dropna(subset=["value", "population"])
    data = data[data["population"] > 0]
    by_unit: dict[str, tuple[float, float, float]] = {}
    dfs, n_periods, warnings = [], 0, []
    for unit, g in data.groupby("series", sort=True):
        g = g.sort_values("period_end")
        dates = pd.DatetimeIndex(pd.to_datetime(g["period_end"]))
        start = pd.Timestamp(g["start_date"].iloc[0])
        pre, post = int((dates < start).sum()), int((dates >= start).sum())
        if pre < MIN_PRE or post < MIN_POST:
            warnings.append(f"{unit}: too few quarters before or after its start; left out.")
            continue
        y = np.log((g["value"].to_numpy(float) + 0.5) / g["population"].to_numpy(float))
        est, se, rho, df = unit_level_change(y, design_matrix(dates, start, covid))
        by_unit[str(unit)] = (est, se, rho)
        dfs.append(df)
        n_periods = max(n_periods, len(dates))
    if len(by_unit) < 2:
        raise StatsInputError("Fewer than two localities have enough quarters either side.")
    est, se = pool(
        np.array([v[0] for v in by_unit.values()]), np.array([v[1] for v in by_unit.values()])
    )
    df = min(dfs)
    p = float(2 * stats.t.sf(abs(est / se), df))
    return PooledITSResult(
        method=METHOD,
        estimate=est,
        std_error=se,
        **t_ratio_fields(est, se, df, confidence),
        p_value=p,
        n_units=len(by_unit),
        n_periods=n_periods,
        df=df,
        by_unit=by_unit,
        warnings=tuple(warnings),
    )
