"""Laney p′ charts: SPC for proportions whose sample size changes from period to period.

Audits completed and survey responses vary a lot by quarter, so a plain p chart (binomial
limits) flags almost every quarter of a big survey as special cause once families differ more
than a coin does, and an XmR chart of the percentages ignores that a quarter of 12 responses
tells us far less than one of 200. Laney's p′ chart keeps the binomial shape of the limits
(wider for small samples) but scales them by the variation actually seen between periods.

Source: D. B. Laney (2002), "Improved control charts for attributes", Quality Engineering
14(4):531-537, in the form used by the R package qicharts2 (``qic(chart = "pp")``, function
``qic.pp``):

- centre line p̄ = Σ successes / Σ trials over the periods of the segment;
- binomial standard error of each period σᵢ = √(p̄(1 − p̄)/nᵢ);
- standardised scores zᵢ = (pᵢ − p̄)/σᵢ;
- σ_z = mean |zᵢ − zᵢ₋₁| / 1.128 (the XmR estimate of the scores' spread; no screening, as
  qicharts2);
- limits p̄ ± 3 σᵢ σ_z, clipped to [0, 1].

σ_z near 1 means the periods differ as binomial sampling alone predicts (the p′ chart is then
the p chart); above 1 means real between-period variation (over-dispersion).

The Making Data Count rules (trend, shift, two of three, outside the limits) come from
:mod:`pipelines.stats.spc` and are applied on the standardised scale, where the limits are the
constant lines ±3 and the near-limit lines ±2, so every rule means the same as on an XmR chart.
Each point also carries its own Wilson interval (:func:`pipelines.stats.rates.proportion_ci`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.stats import spc
from pipelines.stats.errors import StatsInputError
from pipelines.stats.rates import proportion_ci

#: d2 for moving ranges of two points: mean moving range / d2 estimates a standard deviation.
D2 = 1.128
#: Limits sit this many (over-dispersion-scaled) standard errors from the centre line.
SIGMA_MULTIPLE = 3.0
#: Below this many responses in a period, its proportion is too unstable to read on its own.
SMALL_SAMPLE = 30

METHOD = (
    "Laney p′ chart (Laney 2002, as qicharts2 'pp'), Making Data Count rules on the "
    "standardised scale, Wilson 95% interval per period"
)


# --- building blocks (one per step, each pure) -----------------------------------------------


def pooled_proportion(successes: Iterable[float], trials: Iterable[float]) -> float:
    """Centre line p̄: all successes over all trials (not the mean of the proportions)."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    total = n.sum()
    if total <= 0:
        raise StatsInputError("A p′ chart needs at least one response or audit in the segment.")
    return float(x.sum() / total)


def binomial_sigma(p_bar: float, trials: Iterable[float]) -> np.ndarray:
    """Standard error of each period's proportion if only binomial sampling varied it."""
    n = np.asarray(trials, dtype=float)
    return np.sqrt(p_bar * (1.0 - p_bar) / n)


def standardised_scores(
    proportions: Iterable[float], p_bar: float, sigma: Iterable[float]
) -> np.ndarray:
    """zᵢ = (pᵢ − p̄)/σᵢ; zero throughout when p̄ is 0 or 1 (no variation is possible)."""
    p = np.asarray(proportions, dtype=float)
    s = np.asarray(sigma, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (p - p_bar) / s, 0.0)
    return z


def sigma_z(scores: Iterable[float]) -> float:
    """Laney's σ_z: the mean moving range of the scores over d2 (1.128).

    Raises :class:`StatsInputError` with fewer than two scores (no moving range).
    """
    z = np.asarray(scores, dtype=float)
    if z.size < 2:
        raise StatsInputError(
            "A p′ chart needs at least 2 periods in each segment to measure the variation "
            f"between periods; this one has {z.size}."
        )
    return float(np.mean(np.abs(np.diff(z))) / D2)


def pprime_limits(
    successes: Iterable[float], trials: Iterable[float]
) -> tuple[float, float, pd.DataFrame]:
    """Centre line, σ_z and per-period lines for one segment.

    Returns ``(p_bar, sigma_z, lines)`` where ``lines`` has one row per period with
    ``proportion``, ``z`` (the standardised score over σ_z, so ±3 are the limits),
    ``lower``, ``upper``, ``near_lower`` and ``near_upper`` (two-thirds of the way).
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    p_bar = pooled_proportion(x, n)
    sigma = binomial_sigma(p_bar, n)
    scores = standardised_scores(x / n, p_bar, sigma)
    s_z = sigma_z(scores)
    width = sigma * s_z
    with np.errstate(divide="ignore", invalid="ignore"):
        z_prime = np.where(width > 0, (x / n - p_bar) / width, 0.0)
    lines = pd.DataFrame(
        {
            "proportion": x / n,
            "z": z_prime,
            "lower": np.clip(p_bar - SIGMA_MULTIPLE * width, 0.0, 1.0),
            "upper": np.clip(p_bar + SIGMA_MULTIPLE * width, 0.0, 1.0),
            "near_lower": np.clip(p_bar - 2.0 * width, 0.0, 1.0),
            "near_upper": np.clip(p_bar + 2.0 * width, 0.0, 1.0),
        }
    )
    return p_bar, s_z, lines


#: The standardised scale's lines, so spc's rules read the same as on an XmR chart.
STANDARD_LINES = spc.XmrLimits(
    mean=0.0,
    mean_moving_range=SIGMA_MULTIPLE / spc.LIMIT_FACTOR,
    upl=SIGMA_MULTIPLE,
    lpl=-SIGMA_MULTIPLE,
    near_upl=2.0,
    near_lpl=-2.0,
    n_points=0,
    n_moving_ranges_screened=0,
)


# --- the whole chart -------------------------------------------------------------------------


@dataclass(frozen=True)
class PPrimeResult:
    """A p′ chart: one row per period, plus σ_z per segment, the icon and warnings.

    ``points`` columns: ``date``, ``successes``, ``trials``, ``proportion``, ``ci_lower``,
    ``ci_upper`` (Wilson 95%), ``segment``, ``centre``, ``lower``, ``upper``,
    ``near_lower``, ``near_upper``, ``z``, ``outside_limits``, ``trend``, ``shift``,
    ``two_of_three``, ``special_cause``, ``point_type``, ``signal``, ``small_sample``.
    """

    method: str
    improvement: spc.Improvement
    points: pd.DataFrame
    centres: tuple[float, ...]
    sigma_z: tuple[float, ...]
    variation_icon: str
    warnings: tuple[str, ...]


def pprime(
    frame: pd.DataFrame,
    date_col: str,
    successes_col: str,
    trials_col: str,
    *,
    improvement: spc.Improvement = "increase",
    rebase_dates: Iterable[Any] | Any = (),
    left_out: Iterable[Any] = (),
) -> PPrimeResult:
    """Build a Laney p′ chart with Making Data Count rules, split at ``rebase_dates``.

    Periods with no trials (nothing audited, no survey sent) are kept as rows with no value
    and left out of the limits and the rules, with a warning. Periods in ``left_out`` (withheld
    by the caller, e.g. to protect small numbers) are treated the same, without that warning:
    they are not empty. ``improvement`` is usually "increase" (more audits graded good, more
    families saying they were listened to).

    Raises :class:`StatsInputError` for missing columns, negative or fractional counts, more
    successes than trials, duplicate dates, or a segment with fewer than 2 periods.
    """
    spc._direction_sign(improvement)  # raises for an unknown direction
    data = _checked(frame, date_col, successes_col, trials_col)
    dates = data["date"].to_numpy()
    x = data["successes"].to_numpy(dtype=float, copy=True)
    n = data["trials"].to_numpy(dtype=float, copy=True)
    withheld = data["date"].isin(pd.to_datetime(list(left_out))).to_numpy()
    x[withheld], n[withheld] = 0.0, 0.0
    warnings: list[str] = []
    observed = n > 0
    empty = ~observed & ~withheld
    if empty.any():
        warnings.append(
            f"{int(empty.sum())} period(s) have no responses and were left out of the "
            "limits and the rules: " + ", ".join(spc._fmt(d) for d in dates[empty]) + "."
        )
    segment = spc._segments(dates, spc._as_list(rebase_dates), warnings)
    columns = {
        name: np.full(x.size, np.nan)
        for name in ("centre", "lower", "upper", "near_lower", "near_upper", "z")
    }
    flags = {
        name: np.zeros(x.size, dtype=bool)
        for name in ("outside_limits", "trend", "shift", "two_of_three")
    }
    direction = np.zeros(x.size, dtype=int)
    centres: list[float] = []
    spreads: list[float] = []
    for seg in np.unique(segment):
        rows = np.flatnonzero((segment == seg) & observed)
        label = spc._segment_label(dates, np.flatnonzero(segment == seg), len(np.unique(segment)))
        try:
            p_bar, s_z, lines = pprime_limits(x[rows], n[rows])
        except StatsInputError as exc:
            raise StatsInputError(f"{label}: {exc}") from None
        centres.append(p_bar)
        spreads.append(s_z)
        columns["centre"][segment == seg] = p_bar
        for name in ("lower", "upper", "near_lower", "near_upper", "z"):
            columns[name][rows] = lines[name].to_numpy()
        z = lines["z"].to_numpy()
        outside = spc.outside_limits(z, STANDARD_LINES.upl, STANDARD_LINES.lpl)
        trend_dir = spc.trend_direction(lines["proportion"].to_numpy())
        shifted = spc.shift(z, 0.0)
        in_two_of_three = spc.two_of_three(z, STANDARD_LINES)
        flags["outside_limits"][rows] = outside
        flags["trend"][rows] = trend_dir != 0
        flags["shift"][rows] = shifted
        flags["two_of_three"][rows] = in_two_of_three
        direction[rows] = spc.signal_direction(z, 0.0, outside, trend_dir, in_two_of_three, shifted)
        if s_z < 1.0 and len(rows) >= spc.TRIAL_LIMITS_MIN_POINTS:
            warnings.append(
                f"{label} varies less than binomial sampling predicts (σ_z = {s_z:.2f}); "
                "check that the periods are independent samples."
            )
    small = observed & (n < SMALL_SAMPLE)
    if small.any():
        warnings.append(
            f"{int(small.sum())} period(s) have fewer than {SMALL_SAMPLE} responses; read "
            "their percentages with their intervals, not on their own."
        )
    ptype = spc.point_types(direction, improvement)
    ptype[~observed] = None
    signal = np.where(direction > 0, "high", np.where(direction < 0, "low", None)).astype(object)
    signal[direction == 0] = None
    wilson = proportion_ci(x, n)
    points = pd.DataFrame(
        {
            "date": dates,
            "successes": x,
            "trials": n,
            "proportion": wilson["proportion"].to_numpy(),
            "ci_lower": wilson["lower"].to_numpy(),
            "ci_upper": wilson["upper"].to_numpy(),
            "segment": segment,
            **columns,
            **flags,
            "special_cause": direction != 0,
            "point_type": ptype,
            "signal": signal,
            "small_sample": small,
        }
    )
    last = int(np.flatnonzero(observed)[-1])
    return PPrimeResult(
        method=METHOD,
        improvement=improvement,
        points=points,
        centres=tuple(centres),
        sigma_z=tuple(spreads),
        variation_icon=spc.variation_icon(ptype[last], int(direction[last])),
        warnings=tuple(warnings),
    )


def _checked(frame: pd.DataFrame, date_col: str, successes_col: str, trials_col: str):
    missing = [c for c in (date_col, successes_col, trials_col) if c not in frame.columns]
    if missing:
        raise StatsInputError(f"Column(s) {missing} are not in the table; it has {list(frame)}.")
    data = pd.DataFrame(
        {
            "date": spc._normalise_dates(pd.Series(frame[date_col].to_numpy())),
            "successes": pd.to_numeric(frame[successes_col], errors="coerce").to_numpy(),
            "trials": pd.to_numeric(frame[trials_col], errors="coerce").to_numpy(),
        }
    )
    counts = data[["successes", "trials"]]
    if counts.isna().any().any() or (counts < 0).any().any() or (counts % 1 != 0).any().any():
        raise StatsInputError(
            f"'{successes_col}' and '{trials_col}' must be whole numbers of zero or more in "
            "every period; use 0 trials for a period with no responses."
        )
    if (data["successes"] > data["trials"]).any():
        first = data.loc[data["successes"] > data["trials"], "date"].iloc[0]
        raise StatsInputError(
            f"In {spc._fmt(first)}, '{successes_col}' is more than '{trials_col}'. Check the "
            "two columns have not been swapped."
        )
    if data["date"].duplicated().any():
        raise StatsInputError("Each period must appear once; aggregate to one row per period.")
    if (data["trials"] > 0).sum() < 2:
        raise StatsInputError("A p′ chart needs at least 2 periods with responses.")
    return data.sort_values("date", kind="stable").reset_index(drop=True)
