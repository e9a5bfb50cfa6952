"""Rates and proportions with confidence intervals.

Both functions follow the Office for Health Improvement and Disparities (formerly Public Health
England) R package PHEindicatormethods, so the numbers match what analysts in local
government already publish:

- :func:`rate_ci` follows ``phe_rate``: an exact Poisson interval when the count is below 10
  and Byar's approximation otherwise.
- :func:`proportion_ci` follows ``phe_proportion``: the Wilson score interval.

Both are vectorised: pass scalars, lists, NumPy arrays or pandas Series, and get back a
DataFrame with one row per input value (a Series input keeps its index).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.stats.errors import StatsInputError

#: Counts below this use the exact Poisson interval; counts at or above it use Byar's method.
BYAR_THRESHOLD = 10


def rate_ci(
    count: Any,
    denominator: Any,
    multiplier: float = 10_000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Rate per ``multiplier`` with a confidence interval, as PHEindicatormethods ``phe_rate``.

    Source: PHEindicatormethods (OHID), ``phe_rate`` and its technical guidance
    "Confidence intervals for rates": for a count x and denominator n,

    - x < 10: exact Poisson limits from the chi-square (gamma) distribution,
      L = χ²(α/2; 2x)/2 and U = χ²(1−α/2; 2x+2)/2, with L = 0 when x = 0;
    - x ≥ 10: Byar's method, L = x(1 − 1/(9x) − z/(3√x))³ and
      U = (x+1)(1 − 1/(9(x+1)) + z/(3√(x+1)))³;

    both scaled by ``multiplier / n``. z is the standard normal quantile for ``confidence``.

    A missing (NULL/NaN, e.g. suppressed) count or denominator gives NaN in every output column
    for that row, never zero.

    Returns a DataFrame with columns ``count``, ``denominator``, ``rate``, ``lower``, ``upper``
    and ``ci_method`` ("exact Poisson" or "Byar", or missing when the row is NaN).

    Raises :class:`StatsInputError` for negative or fractional counts, a denominator that is zero
    or negative, a non-positive multiplier, or a confidence level outside (0, 1).
    """
    _check_confidence(confidence)
    if not np.isfinite(multiplier) or multiplier <= 0:
        raise StatsInputError(
            f"The multiplier must be a positive number (for example 10000 for a rate per 10,000 "
            f"children); got {multiplier!r}."
        )
    x, index = _as_float_array(count, "count")
    n, index_n = _as_float_array(denominator, "denominator")
    x, n = _broadcast(x, n, "count", "denominator")
    index = _pick_index(index, index_n, x.size)
    _check_counts(x, "count")
    bad_denominator = ~np.isnan(n) & (n <= 0)
    if bad_denominator.any():
        raise StatsInputError(
            "A rate needs a denominator (population) above zero, but "
            f"{int(bad_denominator.sum())} value(s) are zero or negative. Check the population "
            "figures, or leave the denominator empty (NULL) if it is unknown."
        )

    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    alpha = 1 - confidence
    ok = ~np.isnan(x) & ~np.isnan(n)
    exact = ok & (x < BYAR_THRESHOLD)
    byar = ok & (x >= BYAR_THRESHOLD)

    lower_count = np.full(x.shape, np.nan)
    upper_count = np.full(x.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower_count[exact] = np.where(
            x[exact] == 0, 0.0, stats.chi2.ppf(alpha / 2, 2 * x[exact]) / 2
        )
        upper_count[exact] = stats.chi2.ppf(1 - alpha / 2, 2 * x[exact] + 2) / 2
        xb = x[byar]
        lower_count[byar] = xb * (1 - 1 / (9 * xb) - z / (3 * np.sqrt(xb))) ** 3
        xb1 = xb + 1
        upper_count[byar] = xb1 * (1 - 1 / (9 * xb1) + z / (3 * np.sqrt(xb1))) ** 3

    scale = np.where(ok, multiplier / n, np.nan)
    method = np.full(x.shape, None, dtype=object)
    method[exact] = "exact Poisson"
    method[byar] = "Byar"
    return pd.DataFrame(
        {
            "count": x,
            "denominator": n,
            "rate": x * scale,
            "lower": lower_count * scale,
            "upper": upper_count * scale,
            "ci_method": method,
        },
        index=index,
    )


def proportion_ci(successes: Any, trials: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Proportion with a Wilson score interval, as PHEindicatormethods ``phe_proportion``.

    Source: Wilson E.B. (1927) "Probable inference, the law of succession, and statistical
    inference", JASA 22:209-212, in the closed form used by PHEindicatormethods
    ``phe_proportion``: for x successes out of n trials and p = x/n,

        (2x + z² ∓ z√(z² + 4x(1 − p))) / (2(n + z²)).

    A missing (NULL/NaN) value gives NaN in every output column for that row. Zero trials gives
    NaN too (there is nothing to measure, e.g. a team with nobody eligible for training).

    Returns a DataFrame with columns ``successes``, ``trials``, ``proportion``, ``lower`` and
    ``upper`` (all on the 0-1 scale; multiply by 100 for a percentage).

    Raises :class:`StatsInputError` for negative or fractional values, more successes than
    trials, or a confidence level outside (0, 1).
    """
    _check_confidence(confidence)
    x, index = _as_float_array(successes, "successes")
    n, index_n = _as_float_array(trials, "trials")
    x, n = _broadcast(x, n, "successes", "trials")
    index = _pick_index(index, index_n, x.size)
    _check_counts(x, "successes")
    _check_counts(n, "trials")
    too_many = ~np.isnan(x) & ~np.isnan(n) & (x > n)
    if too_many.any():
        raise StatsInputError(
            f"{int(too_many.sum())} row(s) have more successes than trials (for example more "
            "staff trained than staff in post). Check the two columns have not been swapped "
            "and that both cover the same people and period."
        )

    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    ok = ~np.isnan(x) & ~np.isnan(n) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(ok, x / n, np.nan)
        half_width = z * np.sqrt(z**2 + 4 * x * (1 - p))
        denom = 2 * (n + z**2)
        lower = np.where(ok, (2 * x + z**2 - half_width) / denom, np.nan)
        upper = np.where(ok, (2 * x + z**2 + half_width) / denom, np.nan)
    return pd.DataFrame(
        {
            "successes": x,
            "trials": n,
            "proportion": p,
            # The limits are exactly 0 at x = 0 and exactly 1 at x = n; pin them so rounding
            # cannot leave them a hair inside the proportion or outside [0, 1].
            "lower": np.where(ok & (x == 0), 0.0, np.clip(lower, 0.0, 1.0)),
            "upper": np.where(ok & (x == n), 1.0, np.clip(upper, 0.0, 1.0)),
        },
        index=index,
    )


# --- helpers ---------------------------------------------------------------------------------


def t_ratio_fields(
    log_estimate: float, std_error: float, df: float, confidence: float
) -> dict[str, float]:
    """A log-scale estimate as result fields: ``rate_ratio`` and its Student-t ``ci_lower`` and
    ``ci_upper`` on ``df`` degrees of freedom."""
    crit = stats.t.ppf(0.5 + confidence / 2, df)
    return {
        "rate_ratio": math.exp(log_estimate),
        "ci_lower": math.exp(log_estimate - crit * std_error),
        "ci_upper": math.exp(log_estimate + crit * std_error),
    }


def _check_confidence(confidence: float) -> None:
    if not (0 < confidence < 1):
        raise StatsInputError(
            f"The confidence level must be between 0 and 1 (for example 0.95 for 95%); "
            f"got {confidence!r}."
        )


def _as_float_array(values: Any, name: str) -> tuple[np.ndarray, pd.Index | None]:
    """Turn a scalar, list, array or Series into a 1-D float array (NULL -> NaN)."""
    index = values.index if isinstance(values, pd.Series) else None
    series = pd.Series(np.atleast_1d(np.asarray(values, dtype=object)).ravel())
    try:
        numeric = pd.to_numeric(series, errors="raise")
    except (ValueError, TypeError) as exc:
        raise StatsInputError(
            f"The {name} values must be numbers (empty cells are allowed); found text that is "
            f"not a number ({exc}). Check the column holds figures, not labels."
        ) from None
    return numeric.astype("float64").to_numpy(na_value=np.nan), index


def _broadcast(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str):
    try:
        return np.broadcast_arrays(a, b)
    except ValueError:
        raise StatsInputError(
            f"The {name_a} and {name_b} inputs have different lengths ({a.size} and {b.size}); "
            "give one value of each per row."
        ) from None


def _pick_index(first: pd.Index | None, second: pd.Index | None, size: int) -> pd.Index | None:
    """Keep the index of whichever input was a Series, if it fits the output."""
    for index in (first, second):
        if index is not None and len(index) == size:
            return index
    return None


def _check_counts(x: np.ndarray, name: str) -> None:
    present = x[~np.isnan(x)]
    if (present < 0).any():
        raise StatsInputError(
            f"The {name} values must not be negative; {int((present < 0).sum())} are. "
            "Check the extract for data-entry errors."
        )
    if np.isinf(present).any() or (present != np.round(present)).any():
        raise StatsInputError(
            f"The {name} values must be whole numbers of children or people; some are "
            "fractions or infinite. Use the original counts, not rates or averages."
        )


def newcombe_difference(
    x1: float, n1: float, x0: float, n0: float, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Difference of two proportions p1 - p0 with Newcombe's hybrid score interval.

    Source: Newcombe RG (1998), "Interval estimation for the difference between independent
    proportions: comparison of eleven methods", Stat Med 17:873-890, method 10 (from the two
    Wilson intervals): L = d - sqrt((p1-l1)^2 + (u0-p0)^2), U = d + sqrt((u1-p1)^2 + (p0-l0)^2).
    """
    ci = proportion_ci([x1, x0], [n1, n0], confidence)
    p1, p0 = ci["proportion"].to_numpy()
    l1, l0 = ci["lower"].to_numpy()
    u1, u0 = ci["upper"].to_numpy()
    d = p1 - p0
    return (
        float(d),
        float(d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)),
        float(d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)),
    )
