"""Before/after comparison of a rate around the Restorative Practice rollout date.

This is the simplest comparison the board will see, so the result says plainly what it can
and cannot support. Methods and sources:

- pooled rates before and after (pooled counts / pooled person-time) with confidence
  intervals from :func:`pipelines.stats.rates.rate_ci` (PHEindicatormethods);
- a Poisson rate-ratio test on the pooled counts with population exposure: the exact
  conditional test (Przyborowski & Wilenski 1940; Breslow & Day 1987, vol. II §2.3), in
  which, given the total count n, the count after follows Binomial(n, E_after / (E_before +
  E_after)) under "no change in the rate". The two-sided p-value is scipy's exact binomial
  test (smallest-likelihood method, as ``statsmodels.stats.rates.test_poisson_2indep`` with
  ``method="exact-cond"``); the rate ratio's interval is the Clopper–Pearson interval for the
  binomial proportion, transformed to the ratio scale;
- Welch's unequal-variance t-test (Welch 1947) and the Mann–Whitney U test (Mann & Whitney
  1947) on the per-period rates, from scipy.

A before/after comparison cannot separate the rollout from anything else that changed at the
same time, so results are "associated with", never "caused by".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

# The one COVID-19 window; COVID_START and COVID_END stay importable from here.
from pipelines.stats.covid import COVID_END, COVID_START, covid_label
from pipelines.stats.errors import StatsInputError
from pipelines.stats.rates import rate_ci

METHOD = (
    "Before/after comparison of pooled rates: exact conditional Poisson rate-ratio test "
    "(binomial), rate CIs after PHEindicatormethods, Welch's t and Mann-Whitney U on "
    "per-period rates (scipy)"
)
#: Windows with fewer usable periods than this get a warning.
MIN_PERIODS_ADVISED = 4
#: Welch's t and Mann-Whitney U are not reported with fewer periods than this on a side.
MIN_PERIODS_FOR_TESTS = 3
#: Fewer events than this on a side makes a rate unstable.
SMALL_COUNT = 10


@dataclass(frozen=True)
class BeforeAfterResult:
    """The comparison, with its caveats. Rates are per ``multiplier`` per period.

    ``periods`` holds the periods used (date, count, population, rate, side). A test that
    could not be run is None, with the reason in ``welch_note`` / ``mann_whitney_note``.
    """

    method: str
    n: int
    n_before: int
    n_after: int
    window: int | None
    rollout_date: pd.Timestamp
    before_start: pd.Timestamp
    before_end: pd.Timestamp
    after_start: pd.Timestamp
    after_end: pd.Timestamp
    multiplier: float
    confidence: float
    count_before: float
    count_after: float
    exposure_before: float
    exposure_after: float
    rate_before: float
    rate_before_lower: float
    rate_before_upper: float
    rate_after: float
    rate_after_lower: float
    rate_after_upper: float
    absolute_change: float
    percent_change: float
    rate_ratio: float
    rate_ratio_lower: float
    rate_ratio_upper: float
    rate_ratio_p: float
    welch_t: float | None
    welch_df: float | None
    welch_p: float | None
    welch_note: str | None
    mann_whitney_u: float | None
    mann_whitney_p: float | None
    mann_whitney_note: str | None
    periods: pd.DataFrame = field(repr=False)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values for JSON or a report: dates as ISO strings, NaN as None,
        ``periods`` as a list of records."""
        out = {k: v for k, v in asdict(self).items() if k != "periods"}
        out = {k: _plain(v) for k, v in out.items()}
        out["warnings"] = list(self.warnings)
        out["periods"] = [
            {k: _plain(v) for k, v in row.items()} for row in self.periods.to_dict(orient="records")
        ]
        return out


def before_after(
    df: pd.DataFrame,
    date_col: str,
    count_col: str,
    population_col: str,
    rollout_date: Any,
    window: int | None = 4,
    multiplier: float = 10_000,
    confidence: float = 0.95,
) -> BeforeAfterResult:
    """Compare the rate in the ``window`` periods before the rollout with the ``window`` from it.

    ``date_col`` is the period's end date (the project convention). A period whose end date is
    on or after ``rollout_date`` is "after", so the period in which the rollout happened counts
    as after. ``window=None`` uses every period on each side. The window is counted in periods
    of the data, including any with missing (NULL) counts, which are then dropped with a
    warning.

    Raises :class:`StatsInputError` when columns are missing, dates repeat, the rollout date
    is not inside the data, a side has no usable periods, populations are not positive, or
    every count is zero.
    """
    if window is not None and (not isinstance(window, int | np.integer) or window < 1):
        raise StatsInputError(
            f"The window must be a whole number of periods (1 or more), or None for all "
            f"periods; got {window!r}."
        )
    table = _prepare(df, date_col, count_col, population_col)
    rollout = _as_timestamp(rollout_date)
    first, last = table["date"].iloc[0], table["date"].iloc[-1]
    if not (first < rollout <= last):
        raise StatsInputError(
            f"The rollout date {rollout.date()} is outside the data, which runs from "
            f"{first.date()} to {last.date()} (period end dates). A before/after comparison "
            "needs at least one period ending before the rollout and one ending on or after it."
        )

    warnings: list[str] = []
    before_all = table[table["date"] < rollout]
    after_all = table[table["date"] >= rollout]
    before = before_all if window is None else before_all.tail(window)
    after = after_all if window is None else after_all.head(window)
    if window is not None:
        for label, chosen in (("before", before), ("after", after)):
            if len(chosen) < window:
                warnings.append(
                    f"Only {len(chosen)} period(s) exist {label} the rollout, fewer than the "
                    f"window of {window}; all of them were used."
                )

    before, after = (
        _drop_missing(before, "before", warnings),
        _drop_missing(after, "after", warnings),
    )
    for label, side in (("before", before), ("after", after)):
        if side.empty:
            raise StatsInputError(
                f"There are no periods with both a count and a population {label} the rollout "
                "in the chosen window. Widen the window or check for suppressed values."
            )
    count_b, count_a = float(before["count"].sum()), float(after["count"].sum())
    if count_b + count_a == 0:
        raise StatsInputError(
            "Every count in the window is zero, so there is no rate to compare. Check the "
            "measure and the area, or use a longer window."
        )
    exposure_b, exposure_a = float(before["population"].sum()), float(after["population"].sum())

    ci = rate_ci([count_b, count_a], [exposure_b, exposure_a], multiplier, confidence)
    rate_b, rate_a = float(ci["rate"].iloc[0]), float(ci["rate"].iloc[1])
    ratio, ratio_lower, ratio_upper, ratio_p = poisson_rate_ratio_test(
        count_b, exposure_b, count_a, exposure_a, confidence
    )
    if rate_b == 0:
        percent = math.nan
        warnings.append(
            "The rate before the rollout was zero, so a percentage change cannot be calculated."
        )
    else:
        percent = 100 * (rate_a - rate_b) / rate_b

    rates_b = before["count"].to_numpy() / before["population"].to_numpy() * multiplier
    rates_a = after["count"].to_numpy() / after["population"].to_numpy() * multiplier
    welch = welch_test(rates_b, rates_a)
    mwu = mann_whitney_test(rates_b, rates_a)

    _warn_small(before, after, count_b, count_a, warnings)
    _warn_covid(table, before, after, warnings)

    periods = pd.concat(
        [before.assign(side="before"), after.assign(side="after")], ignore_index=True
    )
    periods["rate"] = periods["count"] / periods["population"] * multiplier
    return BeforeAfterResult(
        method=METHOD,
        n=len(before) + len(after),
        n_before=len(before),
        n_after=len(after),
        window=None if window is None else int(window),
        rollout_date=rollout,
        before_start=before["date"].iloc[0],
        before_end=before["date"].iloc[-1],
        after_start=after["date"].iloc[0],
        after_end=after["date"].iloc[-1],
        multiplier=float(multiplier),
        confidence=float(confidence),
        count_before=count_b,
        count_after=count_a,
        exposure_before=exposure_b,
        exposure_after=exposure_a,
        rate_before=rate_b,
        rate_before_lower=float(ci["lower"].iloc[0]),
        rate_before_upper=float(ci["upper"].iloc[0]),
        rate_after=rate_a,
        rate_after_lower=float(ci["lower"].iloc[1]),
        rate_after_upper=float(ci["upper"].iloc[1]),
        absolute_change=rate_a - rate_b,
        percent_change=percent,
        rate_ratio=ratio,
        rate_ratio_lower=ratio_lower,
        rate_ratio_upper=ratio_upper,
        rate_ratio_p=ratio_p,
        welch_t=welch[0],
        welch_df=welch[1],
        welch_p=welch[2],
        welch_note=welch[3],
        mann_whitney_u=mwu[0],
        mann_whitney_p=mwu[1],
        mann_whitney_note=mwu[2],
        periods=periods[["date", "side", "count", "population", "rate"]],
        warnings=tuple(warnings),
    )


# --- the tests, as small functions -----------------------------------------------------------


def poisson_rate_ratio_test(
    count_before: float,
    exposure_before: float,
    count_after: float,
    exposure_after: float,
    confidence: float = 0.95,
) -> tuple[float, float, float, float]:
    """Rate ratio (after / before), its exact confidence interval and two-sided p-value.

    Source: the exact conditional test for two Poisson rates (Przyborowski & Wilenski 1940;
    Breslow & Day 1987, vol. II §2.3). Given n = count_before + count_after, under equal rates
    count_after ~ Binomial(n, π0) with π0 = E_after / (E_before + E_after). The p-value is
    scipy's two-sided exact binomial test (as statsmodels ``test_poisson_2indep`` with
    ``method="exact-cond"``). The Clopper–Pearson interval (πL, πU) for the binomial
    proportion gives the ratio interval πL/(1−πL) · E_before/E_after to
    πU/(1−πU) · E_before/E_after. With no events before, the ratio and its upper limit are
    infinite.
    """
    n = int(round(count_before + count_after))
    k = int(round(count_after))
    if n == 0:
        raise StatsInputError("A rate-ratio test needs at least one event across both sides.")
    pi0 = exposure_after / (exposure_before + exposure_after)
    test = stats.binomtest(k, n, pi0, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=confidence, method="exact")
    scale = exposure_before / exposure_after

    def to_ratio(pi: float) -> float:
        return math.inf if pi >= 1 else pi / (1 - pi) * scale

    ratio = (
        math.inf
        if count_before == 0
        else (count_after / exposure_after) / (count_before / exposure_before)
    )
    return ratio, to_ratio(ci.low), to_ratio(ci.high), float(test.pvalue)


def welch_test(
    rates_before: np.ndarray, rates_after: np.ndarray
) -> tuple[float | None, float | None, float | None, str | None]:
    """Welch's t-test (after minus before) on per-period rates: (t, df, p, note).

    Source: Welch B.L. (1947) Biometrika 34:28-35, via ``scipy.stats.ttest_ind`` with
    ``equal_var=False``. Not run (None, with the reason in ``note``) with fewer than 3
    periods on a side, or when neither side varies.
    """
    reason = _too_few(rates_before, rates_after, "Welch's t-test")
    if reason:
        return None, None, None, reason
    if np.ptp(rates_before) == 0 and np.ptp(rates_after) == 0:
        return (
            None,
            None,
            None,
            (
                "Welch's t-test was not run: the rate is the same in every period on each side, "
                "so there is no variation to test against."
            ),
        )
    res = stats.ttest_ind(rates_after, rates_before, equal_var=False)
    return float(res.statistic), float(res.df), float(res.pvalue), None


def mann_whitney_test(
    rates_before: np.ndarray, rates_after: np.ndarray
) -> tuple[float | None, float | None, str | None]:
    """Mann–Whitney U (U for the after periods) and two-sided p-value on per-period rates.

    Source: Mann H.B. & Whitney D.R. (1947) Ann. Math. Statist. 18:50-60, via
    ``scipy.stats.mannwhitneyu`` (exact p-value for small samples without ties). Not run
    with fewer than 3 periods on a side.
    """
    reason = _too_few(rates_before, rates_after, "The Mann-Whitney U test")
    if reason:
        return None, None, reason
    res = stats.mannwhitneyu(rates_after, rates_before, alternative="two-sided")
    return float(res.statistic), float(res.pvalue), None


# --- helpers ---------------------------------------------------------------------------------


def _prepare(df: pd.DataFrame, date_col: str, count_col: str, population_col: str):
    if not isinstance(df, pd.DataFrame):
        raise StatsInputError("Pass the data as a table (pandas DataFrame), one row per period.")
    missing = [c for c in (date_col, count_col, population_col) if c not in df.columns]
    if missing:
        raise StatsInputError(
            f"Column(s) {missing} are not in the table; it has {list(df.columns)}."
        )
    if df.empty:
        raise StatsInputError("The table is empty; there are no periods to compare.")
    try:
        table = pd.DataFrame(
            {
                "date": pd.to_datetime(df[date_col].to_numpy(), errors="raise"),
                "count": pd.to_numeric(pd.Series(df[count_col].to_numpy()), errors="raise"),
                "population": pd.to_numeric(
                    pd.Series(df[population_col].to_numpy()), errors="raise"
                ),
            }
        )
    except (ValueError, TypeError) as exc:
        raise StatsInputError(
            f"The dates, counts or populations could not be read as dates and numbers ({exc}). "
            "Check the columns hold ISO dates and figures."
        ) from None
    table = table.astype({"count": "float64", "population": "float64"})
    if table["date"].isna().any():
        raise StatsInputError("Every period needs a date; some dates are empty.")
    if table["date"].duplicated().any():
        raise StatsInputError(
            "Each period must appear once, but some dates repeat. Filter to one area and one "
            "measure, with one row per period."
        )
    if (table["count"] < 0).any():
        raise StatsInputError("Counts cannot be negative; check the extract.")
    if (table["population"] <= 0).any():
        raise StatsInputError(
            "Populations must be above zero; some are zero or negative. Check the population "
            "figures (leave them empty if unknown)."
        )
    return table.sort_values("date", ignore_index=True)


def _as_timestamp(value: Any) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise StatsInputError(
            f"The rollout date {value!r} could not be read as a date; use e.g. 2022-04-01."
        ) from None
    if pd.isna(stamp):
        raise StatsInputError("A rollout date is needed for a before/after comparison.")
    return stamp.normalize()


def _drop_missing(side: pd.DataFrame, label: str, warnings: list[str]) -> pd.DataFrame:
    missing = side["count"].isna() | side["population"].isna()
    if missing.any():
        dates = ", ".join(str(d.date()) for d in side.loc[missing, "date"])
        warnings.append(
            f"{int(missing.sum())} period(s) {label} the rollout have no count or population "
            f"(for example suppressed small numbers) and were left out: {dates}."
        )
    return side[~missing]


def _too_few(before: np.ndarray, after: np.ndarray, name: str) -> str | None:
    if min(len(before), len(after)) < MIN_PERIODS_FOR_TESTS:
        return (
            f"{name} was not run: it needs at least {MIN_PERIODS_FOR_TESTS} periods on each "
            f"side, and there are {len(before)} before and {len(after)} after."
        )
    return None


def _warn_small(before, after, count_b: float, count_a: float, warnings: list[str]) -> None:
    for label, side in (("before", before), ("after", after)):
        if len(side) < MIN_PERIODS_ADVISED:
            warnings.append(
                f"Only {len(side)} period(s) {label} the rollout: too few to separate a real "
                "change from normal ups and downs. Treat the comparison with caution."
            )
    for label, total in (("before", count_b), ("after", count_a)):
        if total < SMALL_COUNT:
            warnings.append(
                f"Only {int(total)} event(s) {label} the rollout: rates built on fewer than "
                f"{SMALL_COUNT} are unstable and their intervals are wide."
            )


def _warn_covid(table: pd.DataFrame, before, after, warnings: list[str]) -> None:
    """Warn when any period used overlaps the COVID-19 window (pipelines.stats.covid).

    Periods are identified by their end date; their length is the typical gap between period
    ends in whole months (a quarter ending 30 June 2021 runs from 1 April 2021), or in days
    for periods shorter than a month.
    """
    used = pd.DatetimeIndex(pd.concat([before["date"], after["date"]]))
    typical = table["date"].diff().dropna().median()
    months = round(typical / pd.Timedelta(days=30.4375))
    if months >= 1:
        starts = used - pd.offsets.MonthEnd(months) + pd.Timedelta(days=1)
    else:
        starts = used - typical + pd.Timedelta(days=1)
    if ((starts <= COVID_END) & (used >= COVID_START)).any():
        warnings.append(
            f"The comparison includes the COVID-19 period ({covid_label()}), when "
            "referrals, court work and placements were disrupted; a change may reflect the "
            "pandemic rather than the rollout."
        )


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.date):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value
