"""XmR statistical process control charts with the NHS "Making Data Count" rules.

Source: NHS England / NHS Improvement "Making Data Count" guidance, as implemented by the R
package NHSRplotthedots (NHS-R Community; functions ``ptd_spc``, ``ptd_spc_standard``,
``ptd_calculate_point_type``, ``ptd_seven_point_trend``, ``ptd_seven_point_one_side_mean``,
``ptd_two_in_three``, ``ptd_calculate_assurance_type`` and ``geom_ptd_icon``). Where this
module departs from, or pins down, that package's behaviour, the docstring says so.

The building blocks are small pure functions, one per rule, so each can be tested and
explained on its own. :func:`xmr` puts them together and returns one row per point.

Rules (each applied within a segment, i.e. between rebase dates, as NHSRplotthedots does):

- **outside limits**: a point above the upper or below the lower process limit;
- **trend**: 7 or more consecutive points each higher (or each lower) than the one before;
  a tie breaks the run; every point of the run is flagged;
- **shift**: 7 or more consecutive points on the same side of the mean; a point exactly on
  the mean breaks the run; every point of the run is flagged;
- **two of three**: two of three consecutive points beyond 2/3 of the way from the mean to a
  limit (but not beyond the limit), with all three on the same side of the mean; the points
  of the group that are beyond 2/3 are flagged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from pipelines.stats.errors import StatsInputError

Improvement = Literal["decrease", "increase", "neutral"]

#: Process limits sit this many mean moving ranges from the mean (3 / d2 with d2 = 1.128).
LIMIT_FACTOR = 2.66
#: The near-limit ("two of three") lines sit 2/3 of the way from the mean to the limits.
NEAR_LIMIT_FACTOR = 2 * LIMIT_FACTOR / 3
#: Moving ranges at or above this many times the mean moving range are screened out once.
OUTLIER_SCREEN_FACTOR = 3.267
#: Number of consecutive points for a trend or a shift.
RUN_LENGTH = 7
#: Limits computed on fewer points than this are "trial" limits.
TRIAL_LIMITS_MIN_POINTS = 13

POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral",
)
VARIATION_ICONS = (
    "common_cause",
    "special_cause_improvement_high",
    "special_cause_improvement_low",
    "special_cause_concern_high",
    "special_cause_concern_low",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
ASSURANCE_ICONS = ("consistent_pass", "consistent_fail", "hit_or_miss")

METHOD = (
    "XmR chart with Making Data Count rules (NHS England; as implemented in the R package "
    "NHSRplotthedots)"
)

_DIRECTION_SIGN = {"increase": 1, "decrease": -1, "neutral": 0}


# --- limits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class XmrLimits:
    """Centre line and limits of one segment of an XmR chart."""

    mean: float
    mean_moving_range: float
    upl: float
    lpl: float
    near_upl: float
    near_lpl: float
    n_points: int
    n_moving_ranges_screened: int


def moving_ranges(values: Iterable[float]) -> np.ndarray:
    """Absolute differences between consecutive periods; the first is NaN.

    Source: NHSRplotthedots ``ptd_spc_standard`` (``mr = c(NA, abs(diff(y)))``). A range next
    to a missing period is NaN, so a gap never produces a two-period range.
    """
    y = np.asarray(values, dtype=float)
    if y.size == 0:
        return y.copy()
    return np.concatenate([[np.nan], np.abs(np.diff(y))])


def screen_moving_ranges(mr: np.ndarray) -> np.ndarray:
    """Boolean mask of moving ranges kept after screening out unusually large ones, once.

    Source: NHSRplotthedots ``ptd_spc_standard``: a moving range at or above 3.267 × the mean
    moving range is dropped before the mean moving range is recomputed (one pass only).
    When every moving range is zero nothing is dropped.
    """
    mr = np.asarray(mr, dtype=float)
    present = ~np.isnan(mr)
    if not present.any():
        return present
    amr = mr[present].mean()
    if amr == 0:
        return present
    return present & (mr < OUTLIER_SCREEN_FACTOR * amr)


def xmr_limits(values: Iterable[float], screen_outliers: bool = True) -> XmrLimits:
    """Mean, process limits and near-limit lines for one run of consecutive periods.

    Source: NHSRplotthedots ``ptd_spc_standard``: limits = mean ± 2.66 × mean moving range;
    near-limit lines = mean ± (2/3)(2.66 × mean moving range). Missing values (NaN) are left
    out of the mean, and the moving ranges either side of them are left out of the mean
    moving range.

    Raises :class:`StatsInputError` when there are fewer than two values, or no two
    consecutive periods with values (so no moving range).
    """
    y = np.asarray(values, dtype=float)
    observed = y[~np.isnan(y)]
    if observed.size < 2:
        raise StatsInputError(
            f"An XmR chart needs at least 2 values to set limits; this run of data has "
            f"{observed.size}. Add more periods, or move the rebase date so each segment has "
            "enough points (13 or more is recommended)."
        )
    mr = moving_ranges(y)
    kept = screen_moving_ranges(mr) if screen_outliers else ~np.isnan(mr)
    if not kept.any():
        raise StatsInputError(
            "An XmR chart needs at least two consecutive periods with values to measure the "
            "period-to-period variation; here every value is next to a missing period. "
            "Fill the gaps or use a longer series."
        )
    mean = float(observed.mean())
    amr = float(mr[kept].mean())
    n_screened = int((~np.isnan(mr)).sum() - kept.sum())
    return XmrLimits(
        mean=mean,
        mean_moving_range=amr,
        upl=mean + LIMIT_FACTOR * amr,
        lpl=mean - LIMIT_FACTOR * amr,
        near_upl=mean + NEAR_LIMIT_FACTOR * amr,
        near_lpl=mean - NEAR_LIMIT_FACTOR * amr,
        n_points=int(observed.size),
        n_moving_ranges_screened=n_screened,
    )


# --- rules (each takes the observed values of one segment, in date order, no NaN) -------------


def outside_limits(values: Iterable[float], upl: float, lpl: float) -> np.ndarray:
    """Points strictly above the upper or strictly below the lower process limit.

    Source: NHSRplotthedots ``ptd_spc_standard`` (``y > upl | y < lpl``).
    """
    y = np.asarray(values, dtype=float)
    return (y > upl) | (y < lpl)


def trend_direction(values: Iterable[float], run_length: int = RUN_LENGTH) -> np.ndarray:
    """+1 for points in a rising run of ``run_length`` or more, −1 falling, 0 otherwise.

    Source: NHSRplotthedots ``ptd_seven_point_trend`` and ``ptd_part_of_seven_trend``: a run
    is ``run_length`` points each strictly higher (or lower) than the one before, so a tie
    breaks it, and every point of the run is flagged. A point at the turn between a rising and
    a falling run takes the direction of the run to its right, as ``ptd_special_cause_type``
    does.
    """
    y = np.asarray(values, dtype=float)
    n = y.size
    rising = np.zeros(n, dtype=bool)
    falling = np.zeros(n, dtype=bool)
    steps = np.sign(np.diff(y))
    need = run_length - 1
    for end in range(need, n):
        window = steps[end - need : end]
        if (window == 1).all():
            rising[end - need : end + 1] = True
        elif (window == -1).all():
            falling[end - need : end + 1] = True
    direction = rising.astype(int) - falling.astype(int)
    both = np.flatnonzero(rising & falling)
    for i in both:
        direction[i] = int(steps[i]) if i < n - 1 else int(steps[i - 1])
    return direction


def trend(values: Iterable[float], run_length: int = RUN_LENGTH) -> np.ndarray:
    """Points in a run of ``run_length`` or more continually rising or falling values."""
    return trend_direction(values, run_length) != 0


def side_of_mean(values: Iterable[float], mean: float) -> np.ndarray:
    """+1 above the mean, −1 below, 0 exactly on it (``sign(y - mean)``)."""
    return np.sign(np.asarray(values, dtype=float) - mean).astype(int)


def shift(values: Iterable[float], mean: float, run_length: int = RUN_LENGTH) -> np.ndarray:
    """Points in a run of ``run_length`` or more consecutive points on one side of the mean.

    Source: NHSRplotthedots ``ptd_seven_point_one_side_mean`` and ``ptd_part_of_seven_trend``:
    a point exactly on the mean breaks the run; every point of the run is flagged.
    """
    side = side_of_mean(values, mean)
    n = side.size
    flagged = np.zeros(n, dtype=bool)
    for end in range(run_length - 1, n):
        window = side[end - run_length + 1 : end + 1]
        if window[0] != 0 and (window == window[0]).all():
            flagged[end - run_length + 1 : end + 1] = True
    return flagged


def beyond_near_limits(
    values: Iterable[float], limits: XmrLimits | None = None, **lines: float
) -> np.ndarray:
    """Points beyond 2/3 of the way to a limit but not outside the limits.

    Source: NHSRplotthedots ``ptd_spc_standard`` (``close_to_limits``). Give either an
    :class:`XmrLimits` or the four lines ``upl``, ``lpl``, ``near_upl``, ``near_lpl``.
    """
    if limits is not None:
        lines = {
            "upl": limits.upl,
            "lpl": limits.lpl,
            "near_upl": limits.near_upl,
            "near_lpl": limits.near_lpl,
        }
    y = np.asarray(values, dtype=float)
    outside = outside_limits(y, lines["upl"], lines["lpl"])
    return ~outside & ((y > lines["near_upl"]) | (y < lines["near_lpl"]))


def two_of_three(values: Iterable[float], limits: XmrLimits) -> np.ndarray:
    """Points in a group of 2 of 3 consecutive points beyond 2/3 of the way to a limit.

    Source: NHSRplotthedots ``ptd_two_in_three`` and ``ptd_part_of_two_in_three``: a window
    of three consecutive points qualifies when at least two are beyond the near-limit line
    (and inside the limits) and all three are on the same side of the mean; the points of a
    qualifying window that are beyond the near-limit line are flagged. Points outside the
    limits do not count towards the two (they are flagged by the outside-limits rule).
    """
    y = np.asarray(values, dtype=float)
    close = beyond_near_limits(y, limits)
    side = side_of_mean(y, limits.mean)
    flagged = np.zeros(y.size, dtype=bool)
    for start in range(0, y.size - 2):
        window = slice(start, start + 3)
        if close[window].sum() >= 2 and abs(side[window].sum()) == 3:
            flagged[window] |= close[window]
    return flagged


# --- classification and icons ----------------------------------------------------------------


def signal_direction(
    values: Iterable[float],
    mean: float,
    outside: np.ndarray,
    trend_dir: np.ndarray,
    two_in_three: np.ndarray,
    shifted: np.ndarray,
) -> np.ndarray:
    """+1 (high) or −1 (low) for each special-cause point, 0 for common cause.

    Source: NHSRplotthedots ``ptd_special_cause_type``: the first rule that fires, in the
    order outside limits, trend, two of three, shift, decides the direction; the side of the
    mean for all rules except a trend, which uses its own direction (so a falling trend that
    is still above the mean is "low").
    """
    side = side_of_mean(values, mean)
    return np.select(
        [outside, trend_dir != 0, two_in_three, shifted],
        [side, trend_dir, side, side],
        default=0,
    ).astype(int)


def point_types(direction: np.ndarray, improvement: Improvement) -> np.ndarray:
    """Classify points from their signal direction and the direction of improvement.

    Source: NHSRplotthedots ``ptd_point_type``. A signal in the direction of improvement is
    ``special_cause_improvement``, against it ``special_cause_concern``; with a neutral
    direction every signal is ``special_cause_neutral``.
    """
    sign = _direction_sign(improvement)
    direction = np.asarray(direction, dtype=int)
    oriented = direction * sign
    return np.select(
        [direction == 0, sign == 0, oriented > 0, oriented < 0],
        [
            "common_cause",
            "special_cause_neutral",
            "special_cause_improvement",
            "special_cause_concern",
        ],
        default="common_cause",
    ).astype(object)


def variation_icon(point_type: str, direction: int) -> str:
    """The Making Data Count variation icon for the latest point.

    Source: NHSRplotthedots ``geom_ptd_icon``: the icon reflects the point type of the last
    point; "high"/"low" says whether the signal is above or below (or rising or falling).
    Returns one of :data:`VARIATION_ICONS`.
    """
    if point_type == "common_cause" or direction == 0:
        return "common_cause"
    return f"{point_type}_{'high' if direction > 0 else 'low'}"


def assurance_icon(
    target: float | None, upl: float, lpl: float, improvement: Improvement
) -> str | None:
    """The Making Data Count assurance icon: can the process be relied on to meet the target?

    Source: NHSRplotthedots ``ptd_calculate_assurance_type``, using the limits of the latest
    point (so of the last segment): a target beyond the limits on the side of improvement
    is consistently passed, a target beyond the limits on the other side is consistently
    failed, and a target between the limits is hit or miss (the package calls this
    "inconsistent"). Returns None when there is no target or the direction is neutral.
    """
    sign = _direction_sign(improvement)
    if target is None or sign == 0 or (isinstance(target, float) and np.isnan(target)):
        return None
    if target > upl:
        return "consistent_pass" if sign < 0 else "consistent_fail"
    if target < lpl:
        return "consistent_pass" if sign > 0 else "consistent_fail"
    return "hit_or_miss"


# --- main entry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class XmrResult:
    """An XmR chart: one row per period, plus the icons and plain-English warnings.

    ``points`` columns: ``date``, ``value``, ``segment`` (0 for the first, +1 at each rebase),
    ``mean``, ``upl``, ``lpl``, ``near_upl``, ``near_lpl``, ``moving_range``,
    ``moving_range_screened`` (True when left out of the limits as unusually large),
    ``outside_limits``, ``trend``, ``shift``, ``two_of_three``, ``special_cause``,
    ``point_type`` (one of :data:`POINT_TYPES`; missing for a period with no value),
    ``signal`` ("high", "low" or missing), ``trial_limits`` (the segment has fewer than 13
    points).
    """

    method: str
    n: int
    improvement: Improvement
    points: pd.DataFrame
    limits: tuple[XmrLimits, ...]
    variation_icon: str
    assurance_icon: str | None
    target: float | None
    trial_limits: bool
    screen_outliers: bool
    warnings: tuple[str, ...]


def xmr(
    data: pd.Series | pd.DataFrame | Iterable[float],
    date_col: str | None = None,
    value_col: str | None = None,
    *,
    improvement: Improvement = "decrease",
    rebase_dates: Iterable[Any] | Any = (),
    target: float | None = None,
    screen_outliers: bool = True,
) -> XmrResult:
    """Build an XmR chart with Making Data Count rules, icons and warnings.

    Source: NHSRplotthedots ``ptd_spc`` (see the module docstring for the rules).

    ``data`` is a Series (its index holds the dates), a DataFrame with ``date_col`` and
    ``value_col``, or a plain sequence of values (positions 0, 1, ... stand for the dates).
    Rows are sorted by date. ``improvement`` is "decrease" (e.g. rates of children looked
    after or on child protection plans), "increase" (e.g. training completion) or "neutral".

    ``rebase_dates`` (e.g. the rollout date) start a new segment at the first period whose
    date is on or after each rebase date; limits and rules are computed separately in each
    segment, as NHSRplotthedots does. The variation icon is taken from the last period with a
    value and the assurance icon from the limits of the last segment.

    Missing values (NaN, e.g. suppressed) are kept as rows but left out of the limits and the
    rules, with a warning. A constant segment has zero variation, so its limits collapse to the
    mean (with a warning) rather than failing.

    Raises :class:`StatsInputError` for fewer than 2 values, duplicate dates, non-numeric or
    infinite values, an unknown improvement direction, or a segment too short to set limits.
    """
    sign = _direction_sign(improvement)
    dates, values = _dates_and_values(data, date_col, value_col)
    warnings: list[str] = []

    observed = ~np.isnan(values)
    if observed.sum() < 2:
        raise StatsInputError(
            f"An XmR chart needs at least 2 periods with values; there are {int(observed.sum())}. "
            "Add more periods before charting this measure."
        )
    if not observed.all():
        missing = [_fmt(d) for d in dates[~observed]]
        warnings.append(
            f"{len(missing)} period(s) have no value (for example suppressed small numbers) and "
            f"were left out of the limits and the special-cause rules: {', '.join(missing)}."
        )

    segment = _segments(dates, _as_list(rebase_dates), warnings)
    n_rows = values.size
    columns: dict[str, np.ndarray] = {
        name: np.full(n_rows, np.nan)
        for name in ("mean", "upl", "lpl", "near_upl", "near_lpl", "moving_range")
    }
    for name in ("moving_range_screened", "outside_limits", "trend", "shift", "two_of_three"):
        columns[name] = np.zeros(n_rows, dtype=bool)
    direction = np.zeros(n_rows, dtype=int)
    trial = np.zeros(n_rows, dtype=bool)
    all_limits: list[XmrLimits] = []

    for seg in np.unique(segment):
        rows = np.flatnonzero(segment == seg)
        seg_values = values[rows]
        label = _segment_label(dates, rows, len(np.unique(segment)))
        try:
            limits = xmr_limits(seg_values, screen_outliers=screen_outliers)
        except StatsInputError as exc:
            raise StatsInputError(f"{label}: {exc}") from None
        all_limits.append(limits)
        for name in ("mean", "upl", "lpl", "near_upl", "near_lpl"):
            columns[name][rows] = getattr(limits, name)
        mr = moving_ranges(seg_values)
        columns["moving_range"][rows] = mr
        if screen_outliers:
            columns["moving_range_screened"][rows] = ~np.isnan(mr) & ~screen_moving_ranges(mr)
        if limits.mean_moving_range == 0:
            warnings.append(
                f"{label} has the same value in every period, so there is no variation to set "
                "limits from: the limits collapse to the mean and no special causes can show."
            )
        if limits.n_points < TRIAL_LIMITS_MIN_POINTS:
            trial[rows] = True
            warnings.append(
                f"{label} has {limits.n_points} points; limits on fewer than "
                f"{TRIAL_LIMITS_MIN_POINTS} points are trial limits and may change as data "
                "is added."
            )

        obs_rows = rows[observed[rows]]
        y = values[obs_rows]
        outside = outside_limits(y, limits.upl, limits.lpl)
        trend_dir = trend_direction(y)
        shifted = shift(y, limits.mean)
        in_two_of_three = two_of_three(y, limits)
        columns["outside_limits"][obs_rows] = outside
        columns["trend"][obs_rows] = trend_dir != 0
        columns["shift"][obs_rows] = shifted
        columns["two_of_three"][obs_rows] = in_two_of_three
        direction[obs_rows] = signal_direction(
            y, limits.mean, outside, trend_dir, in_two_of_three, shifted
        )

    special = direction != 0
    ptype = point_types(direction, improvement)
    ptype[~observed] = None
    signal = np.where(direction > 0, "high", np.where(direction < 0, "low", None)).astype(object)
    signal[~special] = None
    points = pd.DataFrame(
        {
            "date": dates,
            "value": values,
            "segment": segment,
            **{k: columns[k] for k in ("mean", "upl", "lpl", "near_upl", "near_lpl")},
            "moving_range": columns["moving_range"],
            "moving_range_screened": columns["moving_range_screened"],
            "outside_limits": columns["outside_limits"],
            "trend": columns["trend"],
            "shift": columns["shift"],
            "two_of_three": columns["two_of_three"],
            "special_cause": special,
            "point_type": ptype,
            "signal": signal,
            "trial_limits": trial,
        }
    )

    last = int(np.flatnonzero(observed)[-1])
    if last != n_rows - 1:
        warnings.append(
            f"The latest period ({_fmt(dates[-1])}) has no value, so the variation icon "
            f"describes {_fmt(dates[last])}, the latest period with one."
        )
    final = all_limits[-1]
    if target is not None and sign == 0:
        warnings.append(
            "An assurance icon needs a direction of improvement; with a neutral direction the "
            "target is not assessed."
        )
    return XmrResult(
        method=METHOD,
        n=int(observed.sum()),
        improvement=improvement,
        points=points,
        limits=tuple(all_limits),
        variation_icon=variation_icon(ptype[last], int(direction[last])),
        assurance_icon=assurance_icon(target, final.upl, final.lpl, improvement),
        target=None if target is None else float(target),
        trial_limits=bool(trial.any()),
        screen_outliers=screen_outliers,
        warnings=tuple(warnings),
    )


# --- helpers ---------------------------------------------------------------------------------


def _direction_sign(improvement: str) -> int:
    try:
        return _DIRECTION_SIGN[improvement]
    except (KeyError, TypeError):
        raise StatsInputError(
            f"The improvement direction must be 'decrease', 'increase' or 'neutral'; got "
            f"{improvement!r}. Use 'decrease' when lower is better (e.g. children looked after)."
        ) from None


def _dates_and_values(
    data: Any, date_col: str | None, value_col: str | None
) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, pd.DataFrame):
        if date_col is None or value_col is None:
            raise StatsInputError(
                "For a table, name the date column and the value column, for example "
                "xmr(df, 'period_end', 'rate')."
            )
        missing = [c for c in (date_col, value_col) if c not in data.columns]
        if missing:
            raise StatsInputError(
                f"Column(s) {missing} are not in the table; it has {list(data.columns)}."
            )
        dates = pd.Series(data[date_col].to_numpy())
        raw = pd.Series(data[value_col].to_numpy())
    elif isinstance(data, pd.Series):
        dates = pd.Series(data.index.to_numpy())
        raw = pd.Series(data.to_numpy())
    else:
        raw = pd.Series(list(np.atleast_1d(np.asarray(data, dtype=object))))
        dates = pd.Series(np.arange(raw.size))

    try:
        values = pd.to_numeric(raw, errors="raise").astype("float64").to_numpy(na_value=np.nan)
    except (ValueError, TypeError):
        raise StatsInputError(
            "The values to chart must be numbers (empty cells are allowed); some are text. "
            "Check the value column."
        ) from None
    if np.isinf(values).any():
        raise StatsInputError(
            "Some values are infinite, usually a rate divided by a zero population. "
            "Fix the population figures or leave those periods empty."
        )
    dates = _normalise_dates(dates)
    if dates.isna().any():
        raise StatsInputError("Every period needs a date; some dates are empty.")
    if dates.duplicated().any():
        dupes = sorted({_fmt(d) for d in dates[dates.duplicated()]})
        raise StatsInputError(
            f"Each period must appear once, but these dates appear more than once: "
            f"{', '.join(dupes)}. Aggregate or filter to one row per period (and one area)."
        )
    order = np.argsort(dates.to_numpy(), kind="stable")
    return dates.to_numpy()[order], values[order]


def _normalise_dates(dates: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(dates) or pd.api.types.is_datetime64_any_dtype(dates):
        return dates
    try:
        return pd.Series(pd.to_datetime(dates, errors="raise"))
    except (ValueError, TypeError):
        raise StatsInputError(
            "The dates could not be read as dates. Use ISO dates such as 2024-03-31."
        ) from None


def _as_list(rebase_dates: Any) -> list[Any]:
    if rebase_dates is None:
        return []
    if isinstance(rebase_dates, str | dt.date | pd.Timestamp | np.datetime64 | int | float):
        return [rebase_dates]
    return list(rebase_dates)


def _segments(dates: np.ndarray, rebase_dates: list[Any], warnings: list[str]) -> np.ndarray:
    """Segment number per row: +1 at the first period on or after each rebase date."""
    segment = np.zeros(dates.size, dtype=int)
    is_datetime = np.issubdtype(dates.dtype, np.datetime64)
    starts: set[int] = set()
    for raw in rebase_dates:
        try:
            when = pd.Timestamp(raw).to_datetime64() if is_datetime else raw
            position = int(np.searchsorted(dates, when, side="left"))
        except (ValueError, TypeError):
            raise StatsInputError(
                f"The rebase date {raw!r} could not be compared with the chart's dates."
            ) from None
        if position == 0 or position >= dates.size:
            warnings.append(
                f"The rebase date {_fmt(raw)} is not inside the charted periods "
                f"({_fmt(dates[0])} to {_fmt(dates[-1])}), so it was ignored."
            )
            continue
        starts.add(position)
    for position in sorted(starts):
        segment[position:] += 1
    return segment


def _segment_label(dates: np.ndarray, rows: np.ndarray, n_segments: int) -> str:
    if n_segments == 1:
        return "The series"
    return f"The segment {_fmt(dates[rows[0]])} to {_fmt(dates[rows[-1]])}"


def _fmt(value: Any) -> str:
    if isinstance(value, np.datetime64 | pd.Timestamp | dt.date):
        return str(pd.Timestamp(value).date())
    return str(value)
