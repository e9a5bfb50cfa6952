"""Dose-response: does a larger change in outcome go with higher training coverage?

Spearman's rank correlation between each unit's coverage and its change in outcome rate,
with a confidence interval either from Fisher's z with the Spearman variance
1.06/(n - 3) (Fieller EC, Hartley HO, Pearson ES. "Tests for rank correlation coefficients. I".
Biometrika 1957;44:470-481) or a seeded percentile bootstrap over units (Efron & Tibshirani,
"An Introduction to the Bootstrap", 1993, ch. 13). The p-value is scipy's ``spearmanr``
(t approximation). A correlation across units is an association, not evidence of cause.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.stats.errors import StatsInputError, check_confidence, require_columns

FIELLER_VARIANCE_FACTOR = 1.06
MIN_UNITS = 4
FEW_UNITS = 10


@dataclass(frozen=True)
class DoseResponseResult:
    """Result of :func:`dose_response`. ``points`` has ``unit`` (if given), ``coverage``,
    ``change`` and their ranks, ready to plot."""

    method: str
    n: int
    warnings: tuple[str, ...]
    rho: float
    ci_lower: float
    ci_upper: float
    p_value: float
    confidence: float
    ci_method: str
    points: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "n": self.n,
            "warnings": list(self.warnings),
            "rho": self.rho,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "p_value": self.p_value,
            "confidence": self.confidence,
            "ci_method": self.ci_method,
            "points": self.points.to_dict(orient="records"),
        }


def fisher_z_interval(rho: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Fisher-z interval for Spearman's rho with variance 1.06/(n-3) (Fieller et al. 1957)."""
    if n <= 3:
        raise StatsInputError("A Fisher-z interval needs at least 4 units.")
    if abs(rho) >= 1:
        return (float(rho), float(rho))
    z = math.atanh(rho)
    se = math.sqrt(FIELLER_VARIANCE_FACTOR / (n - 3))
    q = stats.norm.ppf(0.5 + confidence / 2)
    return (math.tanh(z - q * se), math.tanh(z + q * se))


def dose_response(
    units_df: pd.DataFrame,
    coverage_col: str,
    change_col: str,
    method: Literal["fisher", "bootstrap"] = "fisher",
    confidence: float = 0.95,
    seed: int | None = 20240101,
    *,
    unit_col: str | None = None,
    n_boot: int = 2000,
) -> DoseResponseResult:
    """Spearman's rho between coverage and change in outcome across units, with its interval.

    ``method="fisher"`` uses Fisher's z with variance 1.06/(n-3); ``"bootstrap"`` resamples
    units with replacement ``n_boot`` times (seeded) and takes percentiles.
    """
    if method not in ("fisher", "bootstrap"):
        raise StatsInputError("method must be 'fisher' or 'bootstrap'.")
    check_confidence(confidence)
    cols = [coverage_col, change_col] + ([unit_col] if unit_col else [])
    require_columns(units_df, cols)
    data = units_df[cols].copy()
    for c in (coverage_col, change_col):
        data[c] = pd.to_numeric(data[c], errors="coerce")
    warnings: list[str] = []
    na = data[[coverage_col, change_col]].isna().any(axis=1)
    if na.any():
        warnings.append(
            f"{int(na.sum())} unit(s) without both a coverage and a change value were left out."
        )
        data = data.loc[~na]
    n = len(data)
    if n < MIN_UNITS:
        raise StatsInputError(
            f"Only {n} unit(s) have both coverage and outcome change; a rank correlation needs "
            f"at least {MIN_UNITS}."
        )
    x = data[coverage_col].to_numpy(dtype=float)
    y = data[change_col].to_numpy(dtype=float)
    if np.ptp(x) == 0:
        raise StatsInputError(
            "Every unit has the same training coverage, so coverage cannot be related to the "
            "outcome. A dose-response needs units with different coverage."
        )
    if np.ptp(y) == 0:
        raise StatsInputError(
            "Every unit has the same change in outcome, so there is nothing to relate to coverage."
        )
    res = stats.spearmanr(x, y)
    rho = float(res.statistic)
    p = float(res.pvalue)
    if method == "fisher":
        lo, hi = fisher_z_interval(rho, n, confidence)
        ci_method = "Fisher z with variance 1.06/(n-3) (Fieller, Hartley & Pearson 1957)"
    else:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_boot, n))
        xr = stats.rankdata(x[idx], axis=1)
        yr = stats.rankdata(y[idx], axis=1)
        xr -= xr.mean(axis=1, keepdims=True)
        yr -= yr.mean(axis=1, keepdims=True)
        denom = np.sqrt((xr**2).sum(axis=1) * (yr**2).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            boots = (xr * yr).sum(axis=1) / denom
        boots = boots[np.isfinite(boots)]
        if len(boots) < n_boot * 0.9:
            warnings.append(
                "Many bootstrap resamples had no variation and were discarded; the interval is rough."
            )
        a = (1 - confidence) / 2
        lo, hi = (float(v) for v in np.quantile(boots, [a, 1 - a]))
        ci_method = f"percentile bootstrap over units, {n_boot} resamples, seed {seed}"
    if n < FEW_UNITS:
        warnings.append(
            f"Only {n} units: a rank correlation from so few units is very uncertain; read the "
            "interval, not the point estimate."
        )
    warnings.append(
        "This is an association across units: units with more training may differ in other ways."
    )
    points = pd.DataFrame(
        {
            "coverage": x,
            "change": y,
            "coverage_rank": stats.rankdata(x),
            "change_rank": stats.rankdata(y),
        }
    )
    if unit_col:
        points.insert(0, "unit", data[unit_col].to_numpy())
    return DoseResponseResult(
        method=(
            "Spearman rank correlation of coverage with change in outcome; interval by "
            + ci_method
            + "."
        ),
        n=n,
        warnings=tuple(warnings),
        rho=rho,
        ci_lower=float(lo),
        ci_upper=float(hi),
        p_value=p,
        confidence=confidence,
        ci_method=method,
        points=points,
    )


def build_dose_response_table(
    coverage: pd.DataFrame,
    outcome: pd.DataFrame,
    rollout_dates: Mapping[Any, Any] | pd.Series,
    *,
    coverage_date: Any,
    window_periods: int = 4,
    unit_col: str = "unit",
    date_col: str = "date",
    coverage_col: str = "coverage",
    rate_col: str = "rate",
) -> pd.DataFrame:
    """Per-unit table for :func:`dose_response`.

    ``coverage``: long table ``unit, date, coverage`` (e.g. share of staff trained).
    ``outcome``: long table ``unit, date, rate`` (e.g. CLA rate per 10,000), one row per period.
    ``rollout_dates``: each unit's rollout date.
    For each unit: coverage = the latest coverage on or before ``coverage_date``;
    ``rate_before`` = mean rate over the ``window_periods`` periods before rollout,
    ``rate_after`` = mean over the ``window_periods`` periods from rollout on;
    ``change = rate_after - rate_before``. Units without data on a side get NaN (which
    :func:`dose_response` drops with a warning).
    Returns columns ``unit, coverage, rate_before, rate_after, change, n_before, n_after``.
    """
    if window_periods < 1:
        raise StatsInputError("The window must be at least one period each side.")
    for name, frame, need in (
        ("coverage", coverage, [unit_col, date_col, coverage_col]),
        ("outcome", outcome, [unit_col, date_col, rate_col]),
    ):
        miss = [c for c in need if c not in frame.columns]
        if miss:
            raise StatsInputError(f"The {name} table has no column(s) {', '.join(miss)}.")
    cov = coverage[[unit_col, date_col, coverage_col]].copy()
    out = outcome[[unit_col, date_col, rate_col]].copy()
    cov[date_col] = pd.to_datetime(cov[date_col])
    out[date_col] = pd.to_datetime(out[date_col])
    cut = pd.Timestamp(coverage_date)
    roll = pd.Series(rollout_dates)
    rows = []
    for unit in sorted(set(out[unit_col]) | set(cov[unit_col]), key=str):
        c = cov[(cov[unit_col] == unit) & (cov[date_col] <= cut)].sort_values(date_col)
        c_val = float(c[coverage_col].iloc[-1]) if len(c) else float("nan")
        o = out[out[unit_col] == unit].dropna(subset=[rate_col]).sort_values(date_col)
        r = roll.get(unit) if unit in roll.index else None
        if r is None or pd.isna(r):
            before = after = o.iloc[0:0]
        else:
            rd = pd.Timestamp(r)
            before = o[o[date_col] < rd].tail(window_periods)
            after = o[o[date_col] >= rd].head(window_periods)
        rb = float(before[rate_col].mean()) if len(before) else float("nan")
        ra = float(after[rate_col].mean()) if len(after) else float("nan")
        rows.append(
            {
                "unit": unit,
                "coverage": c_val,
                "rate_before": rb,
                "rate_after": ra,
                "change": ra - rb,
                "n_before": int(len(before)),
                "n_after": int(len(after)),
            }
        )
    return pd.DataFrame(rows)
