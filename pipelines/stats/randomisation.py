"""Staggered difference-in-differences with randomisation inference over rollout orders.

**Estimator.** The imputation estimator of Borusyak, Jaravel & Spiess (2024), "Revisiting
event-study designs: robust and efficient estimation", Rev Econ Stud 91(6):3253-3285, on the
log rate ``y_it = log((count_it + 0.5) / population_it)`` of a locality x period panel:

1. fit ``y_it = alpha_i + beta_t`` by population-weighted least squares on the untreated
   cells only (every locality before its start, in periods before the last wave starts,
   so each period has a not-yet-treated comparison);
2. impute each treated cell's untreated outcome ``alpha_i + beta_t`` and average the
   differences ``y_it - alpha_i - beta_t`` over the treated cells, weighted by population.

The estimate is a log rate ratio. Because step 1 uses untreated cells only, no treated
cell serves as a comparison (the "forbidden comparison" of two-way fixed effects with
staggered timing, Goodman-Bacon 2021). The +0.5 cancels the first-order bias of the log
of a Poisson count (``E log(Y + 1/2) = log mu + O(mu^-2)``; Cox 1970, *The Analysis of
Binary Data*, s. 3.2).

**Inference.** The estimate is linear in ``y`` (``tau = c_D . y``), so for every assignment
``D`` of the observed start dates to the localities (6 localities in waves of 2: 6!/(2!2!2!)
= 90 assignments) the statistic is one dot product. The p-value is the share of assignments
whose statistic is at least as far from zero as the observed one: an exact permutation test
of the sharp null of no effect, valid when the order of rollout is as good as random
(Fisher 1935; Imbens & Rubin 2015, *Causal Inference*, ch. 5; MacKinnon & Webb 2020,
"Randomization inference for difference-in-differences with few treated clusters",
J Econometrics 218:435-450). The 95% interval inverts the test (Imbens & Rubin s. 5.7):
under ``H0: tau = d`` every treated cell's untreated outcome is ``y - d``, so the statistic
of assignment ``D'`` is ``a' - d b'`` with ``a' = c_D' . y`` and ``b' = c_D' . D_obs``; the
interval is every ``d`` whose p-value exceeds 5%, found exactly from the roots of
``(a' - d b')^2 = (a - d)^2``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.stats.errors import StatsInputError, check_confidence

METHOD = (
    "Staggered difference-in-differences, imputation estimator (Borusyak, Jaravel & Spiess "
    "2024) on log rates, with randomisation inference over rollout orders (exact permutation "
    "test, interval by test inversion)"
)
#: The smallest number of distinct assignments that can give a p-value below 5%.
MIN_ASSIGNMENTS = 20


@dataclass(frozen=True)
class RandomisationDiDResult:
    """Result of :func:`randomisation_did`.

    ``estimate`` is the log rate ratio, ``rate_ratio`` its exponential and
    ``ci_lower``/``ci_upper`` the 95% interval of the rate ratio (``inf`` when the test
    cannot exclude large effects). ``null_distribution`` holds the statistic for every
    assignment (the observed one included) and ``shift_weights`` how much of a shift of the
    observed treated cells each assignment's statistic picks up (1 for the observed one);
    ``shift_matrix[j][k]`` the same for a shift of assignment ``j``'s treated cells (its row 0
    is ``shift_weights``), which :func:`detection_power` needs to take each assignment in turn
    as the true one.
    ``n_units`` x ``n_periods`` is the panel used;
    ``n_treated_cells`` the cells the estimate averages over; ``window_end`` the last period.
    """

    method: str
    n: int
    warnings: tuple[str, ...]
    estimate: float
    rate_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    n_assignments: int
    n_units: int
    n_periods: int
    n_treated_cells: int
    window_end: pd.Timestamp
    confidence: float
    null_distribution: tuple[float, ...]
    shift_weights: tuple[float, ...]
    shift_matrix: tuple[tuple[float, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["warnings"] = list(self.warnings)
        out["null_distribution"] = list(self.null_distribution)
        out["shift_weights"] = list(self.shift_weights)
        out["shift_matrix"] = [list(row) for row in self.shift_matrix]
        out["window_end"] = self.window_end.date().isoformat()
        return out


def distinct_assignments(labels: np.ndarray) -> np.ndarray:
    """Every distinct arrangement of ``labels`` (one per unit), the observed one first.

    ``labels`` such as the units' start periods ``[3, 3, 9, 9, 17, 17]`` give the 90
    multiset permutations ``6!/(2!2!2!)``. Returns an (assignments x units) array.
    """
    labels = np.asarray(labels)
    seen = {tuple(labels.tolist())}
    rows = [labels]
    for perm in itertools.permutations(range(len(labels))):
        candidate = tuple(labels[list(perm)].tolist())
        if candidate not in seen:
            seen.add(candidate)
            rows.append(labels[list(perm)])
    return np.array(rows)


def imputation_weights(treated: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The vector ``c`` with ``tau_hat = sum(c * y)`` for the imputation estimator.

    ``treated`` and ``weights`` are (units x periods). The two-way fixed-effects model is
    fitted by weighted least squares on the untreated cells; ``c`` is ``v`` on the treated
    cells (``v`` = their weights over the sum) and ``-v' X1 (X0' W0 X0)^-1 X0' W0`` on the
    untreated cells (Borusyak, Jaravel & Spiess 2024, Theorem 1). Returned as (units x periods).
    """
    n_units, n_periods = treated.shape
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    x = np.zeros((n_units * n_periods, n_units + n_periods - 1))
    x[np.arange(len(unit)), unit] = 1.0
    has_period = period > 0  # the first period's effect is the reference
    x[np.flatnonzero(has_period), n_units + period[has_period] - 1] = 1.0
    d = treated.reshape(-1).astype(bool)
    w = weights.reshape(-1).astype(float)
    x0, w0, x1 = x[~d], w[~d], x[d]
    v = w[d] / w[d].sum()
    gram = x0.T @ (x0 * w0[:, None])
    try:
        coef = np.linalg.solve(gram, x1.T @ v)
    except np.linalg.LinAlgError as exc:
        raise StatsInputError(
            "Every locality needs periods before its start, and every period a locality not "
            "yet started, to estimate what would have happened without the programme."
        ) from exc
    c = np.zeros(len(d))
    c[d] = v
    c[~d] = -(x0 @ coef) * w0
    return c.reshape(n_units, n_periods)


def _p_values(a: np.ndarray, b: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """p(d) = share of assignments with |a' - d b'| >= |a_obs - d| (the observed is row 0)."""
    stat = np.abs(a[None, :] - shifts[:, None] * b[None, :])
    observed = np.abs(a[0] - shifts * b[0])
    # A relative tolerance, so the observed assignment always counts itself.
    return (stat >= observed[:, None] * (1 - 1e-12) - 1e-15).mean(axis=1)


def invert_test(a: np.ndarray, b: np.ndarray, alpha: float) -> tuple[float, float]:
    """The interval of shifts ``d`` whose permutation p-value exceeds ``alpha``.

    The p-value only changes where ``(a' - d b')^2 = (a_0 - d b_0)^2`` for some assignment,
    so it is evaluated at every root and between consecutive roots. At a root the assignment
    ties and counts as extreme, so the p-value there is at least that on either side and the
    accepted region's ends are roots. The interval is the hull of the accepted points
    (``-inf``/``inf`` when the acceptance region is unbounded).
    """
    qa = b**2 - b[0] ** 2
    qb = -2 * (a * b - a[0] * b[0])
    qc = a**2 - a[0] ** 2
    roots: list[float] = []
    for ka, kb, kc in zip(qa[1:], qb[1:], qc[1:], strict=True):
        if abs(ka) < 1e-12:
            if abs(kb) > 1e-12:
                roots.append(-kc / kb)
            continue
        disc = kb**2 - 4 * ka * kc
        if disc >= 0:
            sq = np.sqrt(disc)
            roots += [(-kb - sq) / (2 * ka), (-kb + sq) / (2 * ka)]
    pts = np.unique(np.array([a[0] / b[0], *roots]))
    mids = (pts[:-1] + pts[1:]) / 2 if len(pts) > 1 else np.array([])
    span = max(1.0, float(np.ptp(pts))) if len(pts) else 1.0
    probes = np.concatenate([pts, mids, [pts.min() - 10 * span, pts.max() + 10 * span]])
    accepted = probes[_p_values(a, b, probes) > alpha]
    if accepted.size == 0:  # cannot happen: the estimate itself has p = 1
        return float(a[0]), float(a[0])
    low = -np.inf if accepted.min() <= pts.min() - 10 * span else float(accepted.min())
    high = np.inf if accepted.max() >= pts.max() + 10 * span else float(accepted.max())
    return low, high


def _panel_arrays(
    panel: pd.DataFrame, unit_col: str, date_col: str, count_col: str, pop_col: str, start_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DatetimeIndex, list[str], list[str]]:
    """Wide (units x periods) counts and populations, the periods and each unit's start index."""
    needed = [unit_col, date_col, count_col, pop_col, start_col]
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise StatsInputError(f"The panel has no column(s) {', '.join(missing)}.")
    data = panel[needed].copy()
    data[date_col] = pd.to_datetime(data[date_col])
    data[start_col] = pd.to_datetime(data[start_col])
    if data[start_col].isna().any():
        raise StatsInputError("Every locality needs a rollout start date for this comparison.")
    if data.duplicated([unit_col, date_col]).any():
        raise StatsInputError("The panel repeats a locality and period: give one row for each.")
    counts = data.pivot(index=unit_col, columns=date_col, values=count_col).astype(float)
    pops = data.pivot(index=unit_col, columns=date_col, values=pop_col).astype(float)
    warnings: list[str] = []
    gaps = counts.isna().any(axis=0) | pops.isna().any(axis=0) | (pops <= 0).any(axis=0)
    if gaps.any():
        warnings.append(
            f"{int(gaps.sum())} period(s) with a missing or suppressed value in some locality "
            "were left out for every locality."
        )
        counts, pops = counts.loc[:, ~gaps], pops.loc[:, ~gaps]
    starts = data.groupby(unit_col)[start_col].min().reindex(counts.index)
    periods = pd.DatetimeIndex(counts.columns)
    # A period is treated when it ends on or after the start (periods end on their last day).
    start_idx = np.searchsorted(periods.to_numpy(), starts.to_numpy(), side="left")
    return (
        counts.to_numpy(float),
        pops.to_numpy(float),
        start_idx,
        periods,
        list(counts.index),
        warnings,
    )


def randomisation_did(
    panel: pd.DataFrame,
    *,
    unit_col: str = "series",
    date_col: str = "period_end",
    count_col: str = "value",
    population_col: str = "population",
    start_col: str = "start_date",
    confidence: float = 0.95,
) -> RandomisationDiDResult:
    """Imputation DiD on a locality x period panel, with an exact randomisation test.

    ``panel``: one row per locality and period (the shape of
    :func:`pipelines.marts.outcome_panel`), counts of a flow (e.g. CLA starts) with the
    population as exposure and each locality's ``start_date``. Periods from the last
    wave's start on are left out: no locality is untreated there, so nothing can be
    imputed (a comparison with not-yet-treated localities only). See the module docstring
    for the estimator, the test and the interval.
    """
    check_confidence(confidence)
    counts, pops, start_idx, periods, units, warnings = _panel_arrays(
        panel, unit_col, date_col, count_col, population_col, start_col
    )
    n_units = len(units)
    if n_units < 3 or len(set(start_idx.tolist())) < 2:
        raise StatsInputError(
            "A comparison across rollout waves needs at least 3 localities starting at two or "
            "more different dates."
        )
    last = int(start_idx.max())
    if int(start_idx.min()) < 2:
        raise StatsInputError(
            "Every locality needs at least two periods of data before the first wave starts."
        )
    if last >= len(periods):
        raise StatsInputError("No period of data follows the last wave's start date.")
    counts, pops, periods = counts[:, :last], pops[:, :last], periods[:last]
    y = np.log((counts + 0.5) / pops)
    time = np.arange(len(periods))[None, :]
    assignments = distinct_assignments(start_idx)
    if len(assignments) < MIN_ASSIGNMENTS:
        warnings.append(
            f"Only {len(assignments)} distinct rollout orders exist, so no p-value can fall "
            "below 5%; the interval cannot exclude no change."
        )
    observed = time >= start_idx[:, None]
    cs = np.stack(
        [imputation_weights(time >= starts[:, None], pops) for starts in assignments], axis=0
    )
    a = np.einsum("kut,ut->k", cs, y)
    # shifts[j, k]: how much of a unit shift of assignment j's treated cells assignment k's
    # statistic picks up. The estimator is linear in y, so this is c_k . D_j exactly.
    treated_by_assignment = np.stack(
        [(time >= starts[:, None]).astype(float) for starts in assignments], axis=0
    )
    shifts = np.einsum("kut,jut->jk", cs, treated_by_assignment)
    b = shifts[0]  # assignment 0 is the observed one
    alpha = 1 - confidence
    p_value = float(_p_values(a, b, np.array([0.0]))[0])
    low, high = invert_test(a, b, alpha)
    return RandomisationDiDResult(
        method=METHOD,
        n=int(counts.sum()),
        warnings=tuple(warnings),
        estimate=float(a[0]),
        rate_ratio=float(np.exp(a[0])),
        ci_lower=float(np.exp(low)),
        ci_upper=float(np.exp(high)),
        p_value=p_value,
        n_assignments=len(assignments),
        n_units=n_units,
        n_periods=len(periods),
        n_treated_cells=int(observed.sum()),
        window_end=pd.Timestamp(periods[-1]),
        confidence=confidence,
        null_distribution=tuple(float(v) for v in a),
        shift_weights=tuple(float(v) for v in b),
        shift_matrix=tuple(tuple(float(v) for v in row) for row in shifts),
    )


def detection_power(
    result: RandomisationDiDResult, effect: float, alpha: float | None = None
) -> float:
    """The power of the permutation test against a true log effect ``effect``.

    With the effect removed, ``e = a - tau b`` is the statistic of every assignment on data
    with no effect. Had assignment ``j`` been the one drawn, an effect ``delta`` on its
    treated cells would give assignment ``k`` the statistic ``e_k + delta S[j, k]``
    (``S`` = ``shift_matrix``; ``S[j, j]`` is 1), and the test would compare
    ``|e_j + delta|`` with all of them. The power is the share of assignments ``j`` for which
    at most ``alpha x`` (number of assignments) are as extreme: exact for the randomisation
    distribution, given the outcomes without the effect and a constant effect on the log scale
    (the check is ``make calibrate``). An assignment near the drawn one (``S[j, k]`` near 1)
    picks up most of the effect, which is why a permutation test needs a larger effect than a
    normal-theory one.
    """
    a = np.asarray(result.null_distribution)
    b = np.asarray(result.shift_weights)
    shifts = np.asarray(result.shift_matrix) if result.shift_matrix else None
    level = 1 - result.confidence if alpha is None else alpha
    noise = a - result.estimate * b
    allowed = int(np.floor(level * len(a) + 1e-9))
    if shifts is None:  # a result without the matrix: only the observed row is known
        shifts = np.vstack([b] * len(a))
        np.fill_diagonal(shifts, 1.0)
    observed = np.abs(noise + effect * np.diag(shifts))
    stats = np.abs(noise[None, :] + effect * shifts)  # (drawn j x assignment k)
    as_extreme = (stats >= observed[:, None] - 1e-12).sum(axis=1)  # includes k = j itself
    return float(np.mean(as_extreme <= allowed))


def minimum_detectable_effect(
    result: RandomisationDiDResult, power: float = 0.8, alpha: float | None = None
) -> float:
    """The smallest log rate ratio (in size) detected with probability ``power``.

    Found by bisection on :func:`detection_power` (Bloom 1995, "Minimum detectable effects",
    Evaluation Review 19:547-556, with the permutation test's own power in place of the normal
    approximation). ``alpha`` defaults to ``1 - confidence``; use 0.025 for the first Holm step
    of two primary outcomes. Returns ``inf`` when no effect up to a rate ratio of 1/20 would
    be detected that often (too few assignments).
    """
    low, high = 0.0, 3.0
    if detection_power(result, -high, alpha) < power:
        return float("inf")
    for _ in range(40):
        mid = (low + high) / 2
        if detection_power(result, -mid, alpha) >= power:
            high = mid
        else:
            low = mid
    return high
