"""Placebo interruption dates: a design's empirical false-positive rate on a series, and
intervals widened by empirical calibration where that rate exceeds the nominal 5%.

A design is run at dates in the series' own pre-period, where nothing happened. Each such
*placebo* estimate of a log rate ratio is systematic error plus noise. Following the
negative-control method of OHDSI (Schuemie, Ryan, DuMouchel, Suchard & Madigan 2014,
"Interpreting observational studies: why empirical calibration is needed to correct
p-values", Stat Med 33:209-218; Schuemie, Hripcsak, Ryan, Madigan & Suchard 2018, "Empirical
confidence interval calibration for population-level effect estimation studies in
observational healthcare data", PNAS 115:2571-2577), the systematic error is modelled as
``N(mu, sigma^2)``, fitted by maximum likelihood with each placebo estimate ``b_j ~ N(mu,
sigma^2 + se_j^2)``. The calibrated interval of an estimate ``b`` with standard error ``se``
is ``b - mu +/- z sqrt(se^2 + sigma^2)``.

Pure functions on arrays and DataFrames; no Streamlit, no warehouse.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

#: The nominal false-positive rate of a 95% interval; calibration applies above it.
NOMINAL_RATE = 0.05
#: Fewer placebo dates than this cannot estimate a false-positive rate.
MIN_PLACEBOS = 4

#: (pre-window, post-window) -> (rate ratio, lower, upper) or None when it cannot run.
Estimator = Callable[[pd.DataFrame, pd.DataFrame], "tuple[float, float, float] | None"]


@dataclass(frozen=True)
class PlaceboCalibration:
    """What the placebo dates show about a design on one series.

    ``n_placebos`` dates were tried; ``false_positive_rate`` is the share whose 95% interval
    excluded no change; ``mu``/``sigma`` the fitted systematic error on the log scale;
    ``applied`` whether intervals are widened (only when the rate exceeds 5%).
    """

    n_placebos: int
    false_positive_rate: float
    mu: float
    sigma: float
    applied: bool

    def note(self) -> str:
        """One plain sentence for the caveats."""
        share = f"{self.false_positive_rate:.0%}"
        text = (
            f"Tried at {self.n_placebos} dates before the rollout, when nothing changed, this "
            f"comparison showed a change {share} of the time"
        )
        if self.applied:
            return text + "; its interval has been widened to allow for that."
        return text + "."


def log_se_from_interval(lower: float, upper: float, z: float = 1.959964) -> float:
    """The standard error of a log ratio implied by a symmetric-on-log 95% interval."""
    return (math.log(upper) - math.log(lower)) / (2 * z)


def fit_systematic_error(estimates: np.ndarray, ses: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood ``(mu, sigma)`` of ``b_j ~ N(mu, sigma^2 + se_j^2)`` (Schuemie et al.
    2014, s. 2.2). ``sigma`` is searched on the log scale and floored at zero."""
    b = np.asarray(estimates, float)
    s2 = np.asarray(ses, float) ** 2

    def nll(theta: np.ndarray) -> float:
        var = s2 + math.exp(2 * theta[1])
        return float(0.5 * np.sum(np.log(var) + (b - theta[0]) ** 2 / var))

    start = np.array([float(np.mean(b)), math.log(max(float(np.std(b)), 1e-3))])
    fit = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-6})
    sigma = math.exp(fit.x[1])
    return float(fit.x[0]), (0.0 if sigma < 1e-4 else float(sigma))


def calibrated_interval(
    log_estimate: float, se: float, mu: float, sigma: float, confidence: float = 0.95
) -> tuple[float, float]:
    """``b - mu +/- z sqrt(se^2 + sigma^2)`` on the log scale (Schuemie et al. 2018, eq. 2)."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    half = z * math.sqrt(se**2 + sigma**2)
    return log_estimate - mu - half, log_estimate - mu + half


def placebo_indices(n_pre: int, before: int, after: int) -> list[int]:
    """Placebo interruption positions in a pre-period of ``n_pre`` points, each with
    ``before`` points before it and ``after`` from it, all inside the pre-period."""
    return list(range(before, n_pre - after + 1))


def placebo_calibration(
    pre: pd.DataFrame, estimator: Estimator, before: int, after: int
) -> PlaceboCalibration | None:
    """Run ``estimator`` at every placebo date of the (sorted) pre-period ``pre``; ``None``
    when fewer than :data:`MIN_PLACEBOS` dates fit or ran."""
    b, s, called = [], [], []
    for k in placebo_indices(len(pre), before, after):
        res = estimator(pre.iloc[k - before : k], pre.iloc[k : k + after])
        if res is None:
            continue
        ratio, low, high = res
        if not (ratio > 0 and low > 0 and math.isfinite(high)):
            continue
        b.append(math.log(ratio))
        s.append(log_se_from_interval(low, high))
        called.append(not low <= 1 <= high)
    if len(b) < MIN_PLACEBOS:
        return None
    rate = float(np.mean(called))
    mu, sigma = fit_systematic_error(np.array(b), np.array(s))
    return PlaceboCalibration(len(b), rate, mu, sigma, applied=rate > NOMINAL_RATE)


def apply_calibration(
    ratio: float, lower: float, upper: float, cal: PlaceboCalibration | None
) -> tuple[float, float, float]:
    """The (ratio, lower, upper) widened by ``cal`` when it applies, else unchanged."""
    if cal is None or not cal.applied:
        return ratio, lower, upper
    b = math.log(ratio)
    low, high = calibrated_interval(b, log_se_from_interval(lower, upper), cal.mu, cal.sigma)
    return math.exp(b - cal.mu), math.exp(low), math.exp(high)
