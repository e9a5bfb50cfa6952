"""The analysis layer: warehouse reads (``pipelines.marts``) + statistics (``pipelines.stats``).

The dashboard, the annual report and the notebooks call these functions; pages hold no
statistics, so every number a page shows comes from here. Each function is a pure function of
(warehouse, area code, options) that returns a frozen dataclass. Nothing is cached here (the
dashboard caches on ``Warehouse.data_version()``).

When a method cannot run, the reason is recorded in ``notes`` (method -> plain-English
reason) and the result field is None; a :class:`~pipelines.stats.errors.StatsInputError`
never reaches the page as a traceback.

Functions:

- :func:`trend_analysis`: one series with before/after, interrupted time series and SPC;
- :func:`headlines`: the board's tiles (CLA rate, CPP rate, training coverage);
- :func:`cohort_analysis`: localities by rollout wave: staggered DiD, event study, 2x2;
- :func:`unit_comparison`, :func:`age_band_comparison`: small-multiples frames;
- :func:`dose_response_analysis`: training coverage against change in outcome;
- :func:`cost_avoidance_analysis`: child-years in care avoided against the ITS counterfactual;
- :func:`board_findings`: 5 to 8 plain-English findings, most important first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from pipelines import marts
from pipelines.contracts import UNIT_ALL
from pipelines.stats import findings as fnd
from pipelines.stats.before_after import BeforeAfterResult, before_after
from pipelines.stats.cost import CostAvoidanceResult, cost_avoidance
from pipelines.stats.did import (
    DiD2x2Result,
    DiDEstimate,
    StaggeredDiDResult,
    did_2x2,
    period_index,
    staggered_did,
)
from pipelines.stats.dose_response import (
    DoseResponseResult,
    dose_response,
)
from pipelines.stats.errors import StatsInputError
from pipelines.stats.findings import Finding
from pipelines.stats.its import (
    MIN_POINTS_EACH_SIDE,
    ITSResult,
    interrupted_time_series,
    newey_west_lags,
)
from pipelines.stats.rates import newcombe_difference, rate_ci
from pipelines.stats.spc import XmrResult, xmr
from pipelines.store.warehouse import Warehouse

T = TypeVar("T")

PERIOD_WORD = {"month": "month", "quarter": "quarter", "financial_year": "financial year"}
SEASON_LENGTH = {"month": 12, "quarter": 4, "financial_year": None}
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "financial_year": 1}
DID_FREQ = {"month": "M", "quarter": "Q", "financial_year": "Y"}
AGE_BAND_ORDER = ("All", "Under 1", "1-4", "5-9", "10-15", "16-17")
ITS_FAMILIES = ("poisson", "quasipoisson", "gaussian")
CONTROLS = ("not_yet_treated", "never_treated", "auto")
#: Counts from 1 to this are small numbers (the default disclosure threshold).
SMALL_COUNT_MAX = 4


class _ReadOnce:
    """The warehouse, seen by one multi-method analysis: each distinct read runs once.

    The board's findings read the same series, rollout dates, names and upload dates several
    times over (the headline tiles, the trends, the cohorts and the cost each read them). Within
    one call those reads are taken once and shared (each caller gets its own copy), which also
    gives the whole call one consistent view of the data. Nothing outlives the call.
    """

    def __init__(self, wh: Warehouse):
        self._wh = wh
        self._frames: dict[tuple, pd.DataFrame] = {}

    def query(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        try:
            key = (sql, tuple(params or ()))
            hash(key)
        except TypeError:
            return self._wh.query(sql, params)
        if key not in self._frames:
            self._frames[key] = self._wh.query(sql, params)
        return self._frames[key].copy()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wh, name)


def _read_once(wh: Warehouse) -> Warehouse:
    return wh if isinstance(wh, _ReadOnce) else _ReadOnce(wh)  # type: ignore[return-value]


def _attempt(notes: dict[str, str], key: str, fn: Callable[[], T]) -> T | None:
    """Run ``fn``; on StatsInputError record its message under ``key`` and return None."""
    try:
        return fn()
    except StatsInputError as exc:
        notes[key] = str(exc)
        return None


def _date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def _fmt_date(value: Any) -> str:
    return pd.Timestamp(value).strftime("%-d %B %Y")


def _fmt_month(value: Any) -> str:
    return pd.Timestamp(value).strftime("%b %Y")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _last_upload(wh: Warehouse, dataset: str) -> dt.date | None:
    when = marts.last_loaded(wh, dataset)
    return None if when is None else when.date()


def source_line(wh: Warehouse, frame: pd.DataFrame | None = None, dataset: str = "outcomes") -> str:
    """The source line for a chart: dataset, last upload date and population years.

    Example: "Source: outcomes extracts (last upload 2026-11-21); rates per 10,000 children
    aged 0–17, mid-year population 2015–2025".
    """
    last = _last_upload(wh, dataset)
    upload = f"last upload {last.isoformat()}" if last else "no upload recorded"
    if dataset == "training":
        return (
            f"Source: training extracts ({upload}); staff trained (cumulative) over staff in "
            "scope, all agencies and courses"
        )
    years: list[int] = []
    if frame is not None and "population_year" in frame:
        years = sorted({int(y) for y in frame["population_year"].dropna()})
    if not years:
        pop = "no population loaded"
    elif len(years) == 1:
        pop = f"mid-year population {years[0]}"
    else:
        pop = f"mid-year population {years[0]}–{years[-1]}"
    return f"Source: {dataset} extracts ({upload}); rates per 10,000 children aged 0–17, {pop}"


def _check(measure_name: str, grain: str) -> marts.Measure:
    if grain not in PERIOD_WORD:
        raise ValueError(f"Unknown grain '{grain}'. Use one of: {', '.join(PERIOD_WORD)}.")
    return marts.measure(measure_name)


def measure_label(name: str) -> str:
    """The measure's plain label for sentences: 'Children looked after', 'CPP starts'."""
    m = marts.measure(name)
    return m.label.replace(" (at period end)", "") if m.is_stock else m.short


def _place(wh: Warehouse, area_code: str, unit: str) -> str:
    return marts.area_name(wh, area_code) if unit == UNIT_ALL else unit


# ================================================================================================
# Trend analysis
# ================================================================================================


@dataclass(frozen=True)
class TrendAnalysis:
    """One outcome series with the three single-series methods.

    Fields:
        area_code, measure, unit, age_band, grain: what was analysed.
        series: ``marts.outcome_series`` restricted to complete periods: ``period_end``,
            ``value`` (count; NaN when suppressed), ``population``, ``population_year``,
            ``rate_per_10k``, ``rate_lower``, ``rate_upper`` and the mart's other columns.
        rollout_date: the unit's own rollout start; for unit "All" the area's first wave.
        before_after: the before/after comparison (``window`` periods each side), or None.
        its: the interrupted time series (segmented regression), or None.
        spc: the XmR chart of the rate per 10,000 (limits rebased at rollout if asked), or None.
        notes: method ("before_after", "its", "spc", "series") -> why it could not run or
            what was changed (e.g. rebasing dropped), in plain English.
        source: the chart source line (dataset, last upload, population years).
        findings: plain-English findings from the methods that ran.
        caveats: caveats that apply to the whole analysis (stock measures, staggered rollout).
        measure_label: the measure's plain label; improvement: its direction of improvement.
        window, its_family, seasonality, hac, hac_lags, rebase_at_rollout, target: the options
            used (hac_lags is the Newey-West lag number when ``hac`` is True).
    """

    area_code: str
    measure: str
    unit: str
    age_band: str
    grain: str
    series: pd.DataFrame
    rollout_date: dt.date | None
    before_after: BeforeAfterResult | None
    its: ITSResult | None
    spc: XmrResult | None
    notes: dict[str, str]
    source: str
    findings: list[Finding]
    caveats: tuple[str, ...] = ()
    measure_label: str = ""
    improvement: str = "decrease"
    window: int | None = 4
    its_family: str = "quasipoisson"
    seasonality: bool = True
    hac: bool = False
    hac_lags: int | None = None
    rebase_at_rollout: bool = True
    target: float | None = None


def trend_analysis(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    unit: str = UNIT_ALL,
    age_band: str = UNIT_ALL,
    grain: str = "quarter",
    window: int | None = 4,
    its_family: str = "quasipoisson",
    seasonality: bool = True,
    hac: bool = False,
    rebase_at_rollout: bool = True,
    target: float | None = None,
) -> TrendAnalysis:
    """Before/after, interrupted time series and XmR chart for one series.

    - Before/after: ``window`` periods before rollout against ``window`` from it
      (``None`` = every period), Poisson rate-ratio test on counts with population exposure.
    - ITS: segmented ``its_family`` regression with a log-population offset, level and slope
      change at rollout; one harmonic pair of seasonality (season of 12 months or 4 quarters,
      none for financial years) when ``seasonality``; Newey-West errors when ``hac`` (lags by
      :func:`newey_west_lags`). It runs only with at least 8 periods each side.
    - SPC: XmR chart of the rate per 10,000, limits rebased at rollout when
      ``rebase_at_rollout``; ``target`` gives the assurance icon.

    For stock measures (children counted at period end) the rate-ratio test treats repeated
    counts of the same children as independent; a caveat says so and points to the ITS with
    quasi-Poisson and HAC errors.
    """
    m = _check(measure, grain)
    if its_family not in ITS_FAMILIES:
        raise ValueError(f"Unknown ITS family '{its_family}'. Use one of {ITS_FAMILIES}.")
    notes: dict[str, str] = {}
    raw = marts.outcome_series(wh, area_code, measure, unit=unit, age_band=age_band, grain=grain)
    series = raw[raw["complete"].astype(bool)].reset_index(drop=True)
    rollout = marts.unit_rollout_date(wh, area_code, unit)
    word = PERIOD_WORD[grain]
    caveats: list[str] = []
    if m.is_stock:
        caveats.append(fnd.CAVEAT_STOCK)
    if unit == UNIT_ALL and rollout is not None:
        waves = marts.rollout(wh, area_code)
        starts = sorted({pd.Timestamp(s).date() for s in waves["start_date"].dropna()})
        if len(starts) > 1:
            caveats.append(
                f"For the whole area, 'after' starts at the first wave ({_fmt_month(starts[0])}); "
                f"later waves started in {', '.join(_fmt_month(s) for s in starts[1:])}, so the "
                "whole-area change mixes localities at different stages. The Cohorts view "
                "compares localities by wave."
            )

    ba = its_res = spc_res = None
    hac_lags = None
    if series.empty or series["value"].notna().sum() == 0:
        reason = f"No complete {word}s of {m.label.lower()} are loaded for this selection."
        notes.update({"series": reason, "before_after": reason, "its": reason, "spc": reason})
    else:
        has_value = series["value"].notna()
        if rollout is None:
            reason = "No rollout date is loaded for this unit, so there is no before and after."
            notes["before_after"] = reason
            notes["its"] = reason
        else:
            ts = pd.Timestamp(rollout)
            n_pre = int((has_value & (series["period_end"] < ts)).sum())
            n_post = int((has_value & (series["period_end"] >= ts)).sum())
            ba = _attempt(
                notes,
                "before_after",
                lambda: before_after(
                    series, "period_end", "value", "population", rollout, window=window
                ),
            )
            if min(n_pre, n_post) < MIN_POINTS_EACH_SIDE:
                side = "before" if n_pre < n_post else "after"
                notes["its"] = (
                    f"Too few {word}s {side} rollout ({min(n_pre, n_post)}); an interrupted time "
                    f"series needs at least {MIN_POINTS_EACH_SIDE} each side"
                    + (
                        ". Try a shorter period (quarters or months)."
                        if grain == "financial_year"
                        else "."
                    )
                )
            else:
                season = SEASON_LENGTH[grain]
                harmonics = 1 if (seasonality and season) else 0
                hac_lags = newey_west_lags(int(has_value.sum())) if hac else None
                its_res = _attempt(
                    notes,
                    "its",
                    lambda: interrupted_time_series(
                        series,
                        "period_end",
                        "value",
                        "population",
                        intervention_date=rollout,
                        family=its_family,
                        seasonality_harmonics=harmonics,
                        season_length=season or 12,
                        hac_lags=hac_lags,
                    ),
                )
        spc_res = _spc(
            series,
            "period_end",
            "rate_per_10k",
            m.improvement,
            rollout,
            rebase_at_rollout,
            target,
            notes,
        )

    place = _place(wh, area_code, unit) + ("" if age_band == UNIT_ALL else f" (age {age_band})")
    found: list[Finding] = []
    if its_res is not None:
        found.append(
            fnd.from_its(
                its_res,
                label=measure_label(measure),
                place=place,
                period=word,
                measure=measure,
                stock=m.is_stock,
                importance=10,
            )
        )
    if ba is not None:
        found.append(
            fnd.from_before_after(
                ba,
                label=measure_label(measure),
                place=place,
                period=word,
                measure=measure,
                stock=m.is_stock,
                importance=20,
            )
        )
    if spc_res is not None:
        found.append(
            fnd.from_spc(
                spc_res, label=measure_label(measure), place=place, measure=measure, importance=30
            )
        )
    return TrendAnalysis(
        area_code=area_code,
        measure=measure,
        unit=unit,
        age_band=age_band,
        grain=grain,
        series=series,
        rollout_date=rollout,
        before_after=ba,
        its=its_res,
        spc=spc_res,
        notes=notes,
        source=source_line(wh, series),
        findings=found,
        caveats=tuple(caveats),
        measure_label=m.label,
        improvement=m.improvement,
        window=window,
        its_family=its_family,
        seasonality=seasonality,
        hac=hac,
        hac_lags=hac_lags,
        rebase_at_rollout=rebase_at_rollout,
        target=target,
    )


def _spc(
    frame: pd.DataFrame,
    date_col: str,
    value_col: str,
    improvement: str,
    rollout: dt.date | None,
    rebase: bool,
    target: float | None,
    notes: dict[str, str],
) -> XmrResult | None:
    """XmR chart, rebased at rollout when asked; falls back to one segment with a note."""
    rebase_dates = [rollout] if (rebase and rollout is not None) else []
    try:
        return xmr(
            frame,
            date_col,
            value_col,
            improvement=improvement,
            rebase_dates=rebase_dates,
            target=target,
        )
    except StatsInputError as exc:
        if not rebase_dates:
            notes["spc"] = str(exc)
            return None
        notes["spc"] = f"Limits were not recalculated at rollout: {exc}"
        return _attempt(
            notes,
            "spc",
            lambda: xmr(frame, date_col, value_col, improvement=improvement, target=target),
        )


# ================================================================================================
# Headlines
# ================================================================================================


@dataclass(frozen=True)
class Headline:
    """One tile on the board summary.

    Fields:
        key: "cla_rate", "cpp_rate" or "training_coverage".
        label: the tile title.
        latest_period: the latest complete period (date), or None with no data.
        latest_value: its count (children; for training, staff trained).
        latest_rate: the rate per 10,000 (for training, the percentage of staff trained).
        latest_lower, latest_upper: the 95% interval of ``latest_rate`` (Byar/exact Poisson
            for rates, Wilson for coverage).
        unit_label: "per 10,000 children" or "% of staff in scope".
        change_pct: for rates, the % change of the latest ``window`` periods against the
            ``window`` periods before rollout (before/after rate ratio - 1, in %); for training,
            the change in coverage against a year earlier in percentage points.
        change_lower, change_upper: the 95% interval of ``change_pct`` (same units).
        change_unit: "%" or "percentage points".
        change_basis: what the change compares, in words.
        variation_icon, assurance_icon: Making Data Count icons from the XmR chart (limits
            rebased at rollout for rates); assurance needs a target, else None.
        population_year: the mid-year population behind the latest rate (None for training).
        source: the source line.
        finding: one plain sentence for the tile.
        caveats: caveats for the tile.
        rollout_date: the area's first rollout start.
        series: the quarterly series behind the tile (for a sparkline).
        spc: the XmR chart behind the icons, or None.
        before_after: the before/after comparison behind ``change_pct`` (rates only), or None.
        confidence: the confidence grade of ``change_pct`` by the findings rule.
        notes: method -> reason, when something could not be computed.
    """

    key: str
    label: str
    latest_period: dt.date | None
    latest_value: float | None
    latest_rate: float | None
    latest_lower: float | None
    latest_upper: float | None
    unit_label: str
    change_pct: float | None
    change_lower: float | None
    change_upper: float | None
    variation_icon: str | None
    assurance_icon: str | None
    population_year: int | None
    source: str
    finding: str
    caveats: tuple[str, ...] = ()
    change_unit: str = "%"
    change_basis: str = ""
    rollout_date: dt.date | None = None
    series: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    spc: XmrResult | None = field(default=None, repr=False)
    before_after: BeforeAfterResult | None = field(default=None, repr=False)
    confidence: str = "low"
    notes: dict[str, str] = field(default_factory=dict)


HEADLINE_MEASURES = (
    ("cla_rate", "cla_at_period_end", "Children looked after"),
    ("cpp_rate", "cpp_at_period_end", "Children on a child protection plan"),
)


def headlines(
    wh: Warehouse,
    area_code: str,
    *,
    window: int = 4,
    targets: Mapping[str, float] | None = None,
) -> list[Headline]:
    """Tiles for the board summary: CLA rate, CPP rate (per 10,000) and training coverage.

    The change for a rate compares the latest ``window`` quarters with the ``window`` quarters
    before the area's first rollout (exact Poisson rate-ratio interval). When fewer than
    ``window`` quarters follow rollout, the first quarters from rollout are used and the basis
    says so. ``targets`` (key -> target rate, or coverage as a fraction) gives assurance icons.
    """
    targets = dict(targets or {})
    tiles = [
        _rate_headline(wh, area_code, key, measure, label, window, targets.get(key))
        for key, measure, label in HEADLINE_MEASURES
    ]
    tiles.append(_training_headline(wh, area_code, targets.get("training_coverage")))
    return tiles


def _rate_headline(
    wh: Warehouse,
    area_code: str,
    key: str,
    measure: str,
    label: str,
    window: int,
    target: float | None,
) -> Headline:
    m = marts.measure(measure)
    notes: dict[str, str] = {}
    raw = marts.outcome_series(wh, area_code, measure, grain="quarter")
    series = raw[raw["complete"].astype(bool) & raw["value"].notna()].reset_index(drop=True)
    rollout = marts.area_rollout_date(wh, area_code)
    source = source_line(wh, series)
    if series.empty:
        return Headline(
            key,
            label,
            None,
            None,
            None,
            None,
            None,
            "per 10,000 children",
            None,
            None,
            None,
            None,
            None,
            None,
            source,
            f"No complete quarters of {m.label.lower()} are loaded yet.",
            rollout_date=rollout,
            notes={"series": "No data loaded."},
        )
    last = series.iloc[-1]
    ba = None
    basis = ""
    if rollout is None:
        notes["before_after"] = "No rollout date is loaded, so there is no change since rollout."
    else:
        ts = pd.Timestamp(rollout)
        pre = series[series["period_end"] < ts].tail(window)
        post = series[series["period_end"] >= ts]
        latest = post.tail(window)
        use = (
            pd.concat([pre, latest]) if len(post) >= window else pd.concat([pre, post.head(window)])
        )
        cut = latest["period_end"].iloc[0] if len(post) >= window else ts
        ba = _attempt(
            notes,
            "before_after",
            lambda: before_after(use, "period_end", "value", "population", cut, window=None),
        )
        if ba is not None:
            basis = (
                f"{_plural(ba.n_after, 'quarter')} to {_fmt_month(ba.after_end)} against the "
                f"{_plural(ba.n_before, 'quarter')} before rollout (to {_fmt_month(ba.before_end)})"
            )
    spc_res = _spc(
        series, "period_end", "rate_per_10k", m.improvement, rollout, True, target, notes
    )
    caveats = [fnd.CAVEAT_STOCK] if m.is_stock else []
    change = lower = upper = None
    confidence = "low"
    if ba is not None:
        change = 100 * (ba.rate_ratio - 1)
        lower, upper = 100 * (ba.rate_ratio_lower - 1), 100 * (ba.rate_ratio_upper - 1)
        f = fnd.from_before_after(
            ba, label=label, place=marts.area_name(wh, area_code), stock=m.is_stock, measure=measure
        )
        confidence = f.confidence
        caveats += [c for c in f.caveats if c not in caveats]
        direction = "lower" if change < 0 else "higher"
        clear = upper < 0 or lower > 0
        finding = (
            f"{label}: {last['rate_per_10k']:.1f} per 10,000 children at "
            f"{_fmt_date(last['period_end'])}; the latest year was "
            + (
                f"{abs(change):.0f}% {direction} than the year before rollout."
                if clear
                else f"not clearly different from the year before rollout ({abs(change):.0f}% "
                f"{direction}, 95% CI {lower:+.0f}% to {upper:+.0f}%)."
            )
        )
    else:
        finding = f"{label}: {last['rate_per_10k']:.1f} per 10,000 children at {_fmt_date(last['period_end'])}."
    return Headline(
        key=key,
        label=label,
        latest_period=_date(last["period_end"]),
        latest_value=float(last["value"]),
        latest_rate=float(last["rate_per_10k"]),
        latest_lower=float(last["rate_lower"]),
        latest_upper=float(last["rate_upper"]),
        unit_label="per 10,000 children",
        change_pct=change,
        change_lower=lower,
        change_upper=upper,
        variation_icon=None if spc_res is None else spc_res.variation_icon,
        assurance_icon=None if spc_res is None else spc_res.assurance_icon,
        population_year=int(last["population_year"]) if pd.notna(last["population_year"]) else None,
        source=source,
        finding=finding,
        caveats=tuple(caveats),
        change_unit="%",
        change_basis=basis,
        rollout_date=rollout,
        series=series,
        spc=spc_res,
        before_after=ba,
        confidence=confidence,
        notes=notes,
    )


def _training_headline(wh: Warehouse, area_code: str, target: float | None) -> Headline:
    notes: dict[str, str] = {}
    cov = marts.training_coverage(wh, area_code)
    cov = cov[cov["staff_in_scope"] > 0].reset_index(drop=True)
    source = source_line(wh, dataset="training")
    label = "Staff trained in Restorative Practice"
    if cov.empty:
        return Headline(
            "training_coverage",
            label,
            None,
            None,
            None,
            None,
            None,
            "% of staff in scope",
            None,
            None,
            None,
            None,
            None,
            None,
            source,
            "No training data are loaded yet.",
            change_unit="percentage points",
            notes={"series": "No training data loaded."},
        )
    last = cov.iloc[-1]
    change = lower = upper = None
    basis = ""
    year_before = pd.Timestamp(last["period_end"]) - pd.DateOffset(years=1)
    earlier = cov[cov["period_end"] <= year_before]
    if earlier.empty:
        notes["change"] = "Training data start less than a year before the latest period."
    else:
        prev = earlier.iloc[-1]
        d, lo, hi = newcombe_difference(
            last["staff_trained"],
            last["staff_in_scope"],
            prev["staff_trained"],
            prev["staff_in_scope"],
        )
        change, lower, upper = 100 * d, 100 * lo, 100 * hi
        basis = f"{_fmt_month(last['period_end'])} against {_fmt_month(prev['period_end'])}"
    spc_res = _spc(cov, "period_end", "coverage", "increase", None, False, target, notes)
    finding = (
        f"{100 * last['coverage']:.0f}% of staff in scope had been trained by "
        f"{_fmt_date(last['period_end'])} ({int(last['staff_trained']):,} of "
        f"{int(last['staff_in_scope']):,})"
        + (f", {change:+.0f} percentage points on a year earlier." if change is not None else ".")
    )
    caveats = (
        "Coverage is cumulative and counts the same staff in both years, so the interval of "
        "the change (which assumes independent samples) is conservative.",
    )
    return Headline(
        key="training_coverage",
        label=label,
        latest_period=_date(last["period_end"]),
        latest_value=float(last["staff_trained"]),
        latest_rate=100 * float(last["coverage"]),
        latest_lower=100 * float(last["coverage_lower"]),
        latest_upper=100 * float(last["coverage_upper"]),
        unit_label="% of staff in scope",
        change_pct=change,
        change_lower=lower,
        change_upper=upper,
        variation_icon=None if spc_res is None else spc_res.variation_icon,
        assurance_icon=None if spc_res is None else spc_res.assurance_icon,
        population_year=None,
        source=source,
        finding=finding,
        caveats=caveats,
        change_unit="percentage points",
        change_basis=basis,
        rollout_date=marts.area_rollout_date(wh, area_code),
        series=cov,
        spc=spc_res,
        confidence="high" if (lower is not None and (lower > 0 or upper < 0)) else "low",
        notes=notes,
    )


# ================================================================================================
# Cohorts: staggered DiD, event study, 2x2
# ================================================================================================


@dataclass(frozen=True)
class CohortAnalysis:
    """Localities compared by rollout wave.

    Fields:
        area_code, measure, grain: what was analysed.
        panel: one row per locality and period: ``unit, period_end, time`` (integer period),
            ``cohort`` (the integer period of the unit's first period on or after its rollout
            start; NA = no rollout inside the data), ``wave, start_date, value, population,
            rate_per_10k, rate_lower, rate_upper``.
        control: the comparison used, "never_treated" or "not_yet_treated".
        control_note: the comparison in words, and why it was chosen.
        did: the staggered DiD result (Callaway & Sant'Anna), or None.
        dynamic: the event-study table (``relative_period``, ``pre``, ``att``, ``std_error``,
            ``ci_lower``, ``ci_upper``, ``p_value``), empty if the DiD did not run.
        simple_att: the overall (simple) ATT in rate per 10,000 per period, or None.
        baseline_rate: the mean rate of the rolled-out localities in their periods before
            rollout (the denominator of ``relative_att``).
        relative_att: (estimate, lower, upper) of the simple ATT as a fraction of
            ``baseline_rate`` (-0.15 = 15% lower), or None.
        counterfactual_rate: the treated cells' mean observed rate minus the ATT (the mean rate
            the DiD projects without rollout), or None.
        relative_att_counterfactual: (estimate, lower, upper) of the ATT as a fraction of
            ``counterfactual_rate``, or None.
        two_by_two: the 2x2 DiD of the first wave against the last wave, in the periods before
            the last wave starts, or None; two_by_two_description says which.
        two_by_two_relative: (estimate, lower, upper) of the 2x2 as a fraction of the first
            wave's pre-rollout mean rate, or None.
        wave_means: for an event-time chart: ``wave, periods_since_rollout`` (quarters for
            quarter grain, months for month grain, years for financial years),
            ``mean_rate`` (mean of the localities' rates), ``pooled_rate, pooled_lower,
            pooled_upper`` (summed counts over summed population with the 95% CI),
            ``n_units``.
        notes: method -> plain-English reason for anything that could not run.
        findings: plain-English findings.
        source: the source line.
    """

    area_code: str
    measure: str
    grain: str
    panel: pd.DataFrame
    control: str
    control_note: str
    did: StaggeredDiDResult | None
    dynamic: pd.DataFrame
    simple_att: DiDEstimate | None
    baseline_rate: float | None
    relative_att: tuple[float, float, float] | None
    counterfactual_rate: float | None
    relative_att_counterfactual: tuple[float, float, float] | None
    two_by_two: DiD2x2Result | None
    two_by_two_description: str
    two_by_two_relative: tuple[float, float, float] | None
    wave_means: pd.DataFrame
    notes: dict[str, str]
    findings: list[Finding]
    source: str


def unit_panel(wh: Warehouse, area_code: str, measure: str, grain: str = "quarter") -> pd.DataFrame:
    """Locality x period panel with integer periods and each locality's rollout cohort."""
    _check(measure, grain)
    raw = marts.outcome_panel(wh, area_code, measure, by="unit", grain=grain)
    panel = raw[raw["series"] != UNIT_ALL].rename(columns={"series": "unit"}).copy()
    if panel.empty:
        return panel.assign(time=pd.Series(dtype="Int64"), cohort=pd.Series(dtype="Int64"))
    panel["unit"] = panel["unit"].astype(str)
    # Integer periods, worked out once per distinct date (period_index converts row by row).
    dates = pd.Series(panel["period_end"].unique())
    times = dict(zip(dates, period_index(dates, DID_FREQ[grain]), strict=True))
    panel["time"] = panel["period_end"].map(times).astype("int64")
    # Each unit's cohort: its first period on or after its rollout start (NA without one).
    # The start date comes from the rollout join, so it is the same on every row of a unit.
    start = pd.to_datetime(panel.groupby("unit")["start_date"].transform("first"))
    after = panel["time"].where(panel["period_end"] >= start)
    panel["cohort"] = after.groupby(panel["unit"]).transform("min").astype("Int64")
    cols = [
        "unit",
        "period_end",
        "time",
        "cohort",
        "wave",
        "start_date",
        "value",
        "population",
        "population_year",
        "rate_per_10k",
        "rate_lower",
        "rate_upper",
    ]
    return panel[cols].sort_values(["unit", "period_end"]).reset_index(drop=True)


def cohort_analysis(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    grain: str = "quarter",
    control: str = "not_yet_treated",
    cross_checks: bool = True,
) -> CohortAnalysis:
    """Staggered difference-in-differences across rollout waves, with an event study.

    The outcome is each locality's rate per 10,000 per period; each locality's cohort is its
    first period on or after its rollout start. ``control`` is "not_yet_treated" (localities
    that have not started yet, plus any that never start), "never_treated" (only localities
    that never start; falls back to not-yet-treated when there are none) or "auto"
    (never-treated if any exist, else not-yet-treated). The 2x2 compares the first wave with
    the last wave in the periods before the last wave starts.

    Caveat: Callaway & Sant'Anna compare each post-rollout period with the single period
    before a wave starts; with few localities per wave one unusual period moves the wave's
    whole estimate. The 2x2 (which averages every period before rollout) is a cross-check.

    ``cross_checks=False`` leaves out the 2x2 and the event-time wave means (for callers that
    need only the staggered DiD, such as the board's findings).
    """
    _check(measure, grain)
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {CONTROLS}.")
    word = PERIOD_WORD[grain]
    notes: dict[str, str] = {}
    panel = unit_panel(wh, area_code, measure, grain)
    source = source_line(wh, panel)
    empty = pd.DataFrame()
    if panel.empty:
        reason = "No locality-level data are loaded for this measure."
        notes.update({"did": reason, "two_by_two": reason})
        return CohortAnalysis(
            area_code,
            measure,
            grain,
            panel,
            control,
            reason,
            None,
            empty,
            None,
            None,
            None,
            None,
            None,
            None,
            "",
            None,
            empty,
            notes,
            [],
            source,
        )

    has_never = bool(panel.groupby("unit")["cohort"].first().isna().any())
    chosen = control
    if control == "auto":
        chosen = "never_treated" if has_never else "not_yet_treated"
    elif control == "never_treated" and not has_never:
        chosen = "not_yet_treated"
    control_note = (
        "Compared with localities that never started the programme."
        if chosen == "never_treated"
        else "Compared with localities that had not started yet"
        + (" (and those that never start)" if has_never else "")
        + (
            "; no locality is outside the programme, so effects after the last wave starts "
            "cannot be estimated."
            if not has_never
            else "."
        )
    )
    if control == "never_treated" and chosen != control:
        control_note += " Never-treated comparison was asked for, but every locality starts."

    did = _attempt(
        notes,
        "did",
        lambda: staggered_did(
            panel.assign(cohort=panel["cohort"].astype("float64")),
            "unit",
            "time",
            "rate_per_10k",
            "cohort",
            control=chosen,
        ),
    )
    dynamic = did.dynamic.copy() if did is not None else empty
    baseline = relative = cf_rate = relative_cf = None
    if did is not None:
        treated = panel[panel["cohort"].notna()]
        pre = treated[treated["time"] < treated["cohort"]]
        baseline = float(pre["rate_per_10k"].mean()) if len(pre) else None
        est = did.simple
        if baseline:
            relative = (est.estimate / baseline, est.ci_lower / baseline, est.ci_upper / baseline)
        post_cells = did.group_time[did.group_time["relative_period"] >= 0]
        if len(post_cells):
            # The mean observed rate of each post-rollout (cohort, period) cell.
            keys = ["cohort", "time"]
            cells = (
                panel.assign(cohort=panel["cohort"].astype("float64"))
                .assign(time=panel["time"].astype("float64"))
                .groupby(keys)["rate_per_10k"]
                .mean()
                .rename("observed")
                .reset_index()
            )
            observed = (
                post_cells[keys].astype("float64").merge(cells, on=keys, how="left")["observed"]
            )
            cf_rate = float(np.nanmean(observed.to_numpy(dtype="float64")) - est.estimate)
            if cf_rate > 0:
                relative_cf = (
                    est.estimate / cf_rate,
                    est.ci_lower / cf_rate,
                    est.ci_upper / cf_rate,
                )

    if cross_checks:
        two, two_desc, two_rel = _two_by_two(panel, notes)
        wave_means = _wave_means(wh, area_code, measure, grain)
    else:
        two, two_desc, two_rel, wave_means = None, "", None, empty
    place = f"{marts.area_name(wh, area_code)}'s localities"
    found: list[Finding] = []
    if did is not None:
        f = fnd.from_staggered_did(
            did,
            label=measure_label(measure),
            place=place,
            baseline_rate=baseline,
            period=word,
            measure=measure,
            importance=10,
        )
        found.append(f)
    if two is not None:
        waves = sorted(panel["wave"].dropna().unique())
        found.append(
            fnd.from_did_2x2(
                two,
                label=measure_label(measure),
                treated=f"the wave {int(waves[0])} localities",
                comparison=f"the wave {int(waves[-1])} localities",
                period=word,
                measure=measure,
                importance=20,
            )
        )
    return CohortAnalysis(
        area_code=area_code,
        measure=measure,
        grain=grain,
        panel=panel,
        control=chosen,
        control_note=control_note,
        did=did,
        dynamic=dynamic,
        simple_att=None if did is None else did.simple,
        baseline_rate=baseline,
        relative_att=relative,
        counterfactual_rate=cf_rate,
        relative_att_counterfactual=relative_cf,
        two_by_two=two,
        two_by_two_description=two_desc,
        two_by_two_relative=two_rel,
        wave_means=wave_means,
        notes=notes,
        findings=found,
        source=source,
    )


def _two_by_two(
    panel: pd.DataFrame, notes: dict[str, str]
) -> tuple[DiD2x2Result | None, str, tuple[float, float, float] | None]:
    waves = sorted(panel["wave"].dropna().unique())
    if len(waves) < 2:
        notes["two_by_two"] = "A 2x2 comparison needs at least two rollout waves."
        return None, "", None
    first, last = waves[0], waves[-1]
    starts = panel.groupby("wave")["start_date"].min()
    first_start, last_start = pd.Timestamp(starts[first]), pd.Timestamp(starts[last])
    data = panel[panel["wave"].isin([first, last]) & (panel["period_end"] < last_start)].copy()
    data["treated"] = (data["wave"] == first).astype(int)
    data["post"] = (data["period_end"] >= first_start).astype(int)
    desc = (
        f"Wave {int(first)} (from {_fmt_month(first_start)}) against wave {int(last)}, in the "
        f"periods before wave {int(last)} started ({_fmt_month(last_start)})."
    )
    result = _attempt(
        notes, "two_by_two", lambda: did_2x2(data, "treated", "post", "rate_per_10k", "unit")
    )
    rel = None
    if result is not None:
        base = float(result.means.loc[1, 0])
        e = result.estimate
        if base > 0:
            rel = (e.estimate / base, e.ci_lower / base, e.ci_upper / base)
    return result, desc, rel


def _wave_means(wh: Warehouse, area_code: str, measure: str, grain: str) -> pd.DataFrame:
    panel = marts.event_time_panel(wh, area_code, measure, grain=grain)
    cols = [
        "wave",
        "periods_since_rollout",
        "mean_rate",
        "pooled_rate",
        "pooled_lower",
        "pooled_upper",
        "n_units",
    ]
    if panel.empty:
        return pd.DataFrame(columns=cols)
    if grain == "month":
        panel["periods_since_rollout"] = panel["months_since_rollout"]
    elif grain == "quarter":
        panel["periods_since_rollout"] = panel["quarters_since_rollout"]
    else:
        panel["periods_since_rollout"] = np.floor(panel["months_since_rollout"] / 12).astype(int)
    grouped = panel.groupby(["wave", "periods_since_rollout"], as_index=False).agg(
        mean_rate=("rate_per_10k", "mean"),
        value=("value", lambda s: s.sum(min_count=len(s))),
        population=("population", "sum"),
        n_units=("unit", "nunique"),
    )
    ci = rate_ci(grouped["value"], grouped["population"])
    grouped["pooled_rate"] = ci["rate"].to_numpy()
    grouped["pooled_lower"] = ci["lower"].to_numpy()
    grouped["pooled_upper"] = ci["upper"].to_numpy()
    return grouped[cols].sort_values(["wave", "periods_since_rollout"]).reset_index(drop=True)


# ================================================================================================
# Comparisons (small multiples)
# ================================================================================================


@dataclass(frozen=True)
class Comparison:
    """A long frame for small multiples, one series per unit or age band.

    Fields:
        area_code, measure, grain, by ("unit" or "age_band").
        frame: ``series, period_end, value, population, population_year, rate_per_10k,
            rate_lower, rate_upper, index`` (rate / the series' first-year mean x 100),
            ``small_count`` (1 to 4 events: suppress for viewers), ``wave, start_date``
            (units only; NaN for age bands and All).
        series_order: the series in display order.
        index_base: how ``index`` was built, in words.
        notes: series -> why it has no index, etc.
        source: the source line.
    """

    area_code: str
    measure: str
    grain: str
    by: str
    frame: pd.DataFrame
    series_order: tuple[str, ...]
    index_base: str
    notes: dict[str, str]
    source: str


def _comparison(wh, area_code, measure, by, grain, unit, age_band) -> Comparison:
    _check(measure, grain)
    raw = marts.outcome_panel(
        wh, area_code, measure, by=by, grain=grain, unit=unit, age_band=age_band
    )
    frame = raw.copy()
    notes: dict[str, str] = {}
    per_year = PERIODS_PER_YEAR[grain]
    # Each series' base: the mean rate over its first year of periods.
    first_year = frame.sort_values(["series", "period_end"]).groupby("series").head(per_year)
    bases = first_year.groupby("series")["rate_per_10k"].mean()
    usable = bases[(bases != 0) & np.isfinite(bases)]
    for name in bases.index.difference(usable.index):
        notes[str(name)] = "No index: the first year's rate is zero or missing."
    frame["index"] = (frame["rate_per_10k"] / frame["series"].map(usable) * 100).astype("float64")
    frame["small_count"] = frame["value"].between(1, SMALL_COUNT_MAX)
    if by == "unit":
        order = [UNIT_ALL] + sorted(s for s in frame["series"].unique() if s != UNIT_ALL)
        waves = frame.groupby("series")["wave"].first()
        order = [UNIT_ALL] + sorted(
            (s for s in order if s != UNIT_ALL),
            key=lambda s: (pd.isna(waves.get(s)), waves.get(s), s),
        )
    else:
        present = set(frame["series"].unique())
        order = [b for b in AGE_BAND_ORDER if b in present] + sorted(present - set(AGE_BAND_ORDER))
        frame["wave"] = pd.NA
        frame["start_date"] = pd.NaT
    present_series = set(frame["series"])
    order = [s for s in order if s in present_series]
    cols = [
        "series",
        "period_end",
        "value",
        "population",
        "population_year",
        "rate_per_10k",
        "rate_lower",
        "rate_upper",
        "index",
        "small_count",
        "wave",
        "start_date",
    ]
    frame = frame[cols].copy()
    frame["series"] = frame["series"].astype(str)
    return Comparison(
        area_code=area_code,
        measure=measure,
        grain=grain,
        by=by,
        frame=frame.reset_index(drop=True),
        series_order=tuple(str(s) for s in order),
        index_base=f"Index: each series' mean rate over its first {_plural(per_year, PERIOD_WORD[grain])} = 100.",
        notes=notes,
        source=source_line(wh, frame),
    )


def unit_comparison(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    grain: str = "quarter",
    age_band: str = UNIT_ALL,
) -> Comparison:
    """Localities (and the whole area, "All") side by side, with rates, CIs and an index."""
    return _comparison(wh, area_code, measure, "unit", grain, UNIT_ALL, age_band)


def age_band_comparison(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    grain: str = "quarter",
    unit: str = UNIT_ALL,
) -> Comparison:
    """Age bands (and all ages) side by side for one unit, with rates, CIs and an index."""
    return _comparison(wh, area_code, measure, "age_band", grain, unit, UNIT_ALL)


# ================================================================================================
# Dose-response
# ================================================================================================


@dataclass(frozen=True)
class DoseResponseAnalysis:
    """Training coverage against change in outcome across localities.

    Fields:
        area_code, measure, window, coverage_date: the options used (``coverage_date`` is the
            latest training period when not given).
        table: per locality: ``unit, coverage, rate_before, rate_after, change, n_before,
            n_after`` as ``build_dose_response_table`` makes it (:func:`dose_table`; quarterly
            rates per 10,000, ``window`` quarters each side of the locality's rollout), plus
            ``relative_change`` (change / rate_before), the measure the correlation uses
            because localities differ in their underlying need.
        result: Spearman's rho with its Fisher-z interval (DoseResponseResult), or None.
        notes: method -> reason, when the correlation could not run.
        findings: plain-English findings.
        source: the source line.
    """

    area_code: str
    measure: str
    window: int
    coverage_date: dt.date | None
    table: pd.DataFrame
    result: DoseResponseResult | None
    notes: dict[str, str]
    findings: list[Finding]
    source: str


def dose_table(
    cov: pd.DataFrame, panel: pd.DataFrame, rollouts: pd.Series, coverage_date: Any, window: int
) -> pd.DataFrame:
    """`stats.dose_response.build_dose_response_table` for every unit at once.

    The same table (``unit, coverage, rate_before, rate_after, change, n_before, n_after``,
    units in name order): each unit's latest coverage on or before `coverage_date`, and its
    mean rate over the `window` periods with a rate before its rollout and from it on. The
    builder loops over units, filtering the whole coverage and outcome tables for each, which
    took over a second with 160 localities; here each step is one grouped operation.
    `tests/test_analysis_fast_paths.py` checks the two agree.
    """
    cut = pd.Timestamp(coverage_date)
    cov_dates = pd.to_datetime(cov["period_end"])
    latest = (
        cov.assign(_date=cov_dates)[cov_dates <= cut]
        .sort_values("_date", kind="stable")
        .groupby("unit")
        .tail(1)  # the latest row, even when its coverage is missing
        .set_index("unit")["coverage"]
    )
    valid = panel[["unit", "period_end", "rate_per_10k"]].dropna(subset=["rate_per_10k"])
    valid = valid.assign(_date=pd.to_datetime(valid["period_end"])).sort_values(
        ["unit", "_date"], kind="stable"
    )
    start = pd.to_datetime(valid["unit"].map(rollouts))
    before = valid[valid["_date"] < start].groupby("unit").tail(window)
    after = valid[valid["_date"] >= start].groupby("unit").head(window)
    units = sorted(set(panel["unit"]) | set(cov["unit"]), key=str)
    table = pd.DataFrame({"unit": units})
    table["coverage"] = table["unit"].map(latest).astype("float64")
    for side, rows in (("before", before), ("after", after)):
        grouped = rows.groupby("unit")["rate_per_10k"]
        table[f"rate_{side}"] = table["unit"].map(grouped.mean()).astype("float64")
        table[f"n_{side}"] = table["unit"].map(grouped.size()).fillna(0).astype("int64")
    table["change"] = table["rate_after"] - table["rate_before"]
    return table[["unit", "coverage", "rate_before", "rate_after", "change", "n_before", "n_after"]]


def dose_response_analysis(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    coverage_date: Any = None,
    window: int = 4,
) -> DoseResponseAnalysis:
    """Does a larger change in the outcome go with higher training coverage across units?"""
    m = _check(measure, "quarter")
    notes: dict[str, str] = {}
    cov = marts.training_coverage(wh, area_code, by=("unit",))
    panel = unit_panel(wh, area_code, measure, "quarter")
    source = (
        source_line(wh, panel) + "; " + source_line(wh, dataset="training").removeprefix("Source: ")
    )
    if coverage_date is None and not cov.empty:
        coverage_date = cov["period_end"].max()
    cdate = _date(coverage_date)
    empty = pd.DataFrame()
    if cov.empty or panel.empty:
        notes["dose_response"] = (
            "Training coverage by unit and outcomes by unit are both needed; "
            + ("no training data are loaded." if cov.empty else "no unit outcomes are loaded.")
        )
        return DoseResponseAnalysis(
            area_code, measure, window, cdate, empty, None, notes, [], source
        )
    rollouts = panel.groupby("unit")["start_date"].first()
    if window < 1:
        raise StatsInputError("The window must be at least one period each side.")
    table = dose_table(cov, panel, rollouts, coverage_date, window)
    table["relative_change"] = table["change"] / table["rate_before"].where(
        table["rate_before"] > 0
    )
    result = _attempt(
        notes,
        "dose_response",
        lambda: dose_response(table, "coverage", "relative_change", unit_col="unit"),
    )
    found = []
    if result is not None:
        found.append(
            fnd.from_dose_response(
                result,
                label=measure_label(measure),
                improvement=m.improvement,
                measure=measure,
                importance=60,
            )
        )
    return DoseResponseAnalysis(
        area_code, measure, window, cdate, table, result, notes, found, source
    )


# ================================================================================================
# Cost avoidance
# ================================================================================================


@dataclass(frozen=True)
class CostAvoidanceAnalysis:
    """Child-years in care avoided, from the ITS counterfactual of children looked after.

    Fields:
        area_code: the area.
        since: the date from which avoidance is counted (the ITS interruption).
        grain: "month" (preferred) or "quarter" when monthly data are not available.
        its: the ITS of children looked after at period end (quasi-Poisson, seasonality,
            Newey-West errors, level and slope change), or None.
        result: the cost avoidance (CostAvoidanceResult), or None.
        notes: method -> reason, when something could not run.
        findings: plain-English findings.
        source: the source line.
    """

    area_code: str
    since: dt.date | None
    grain: str
    its: ITSResult | None
    result: CostAvoidanceResult | None
    notes: dict[str, str]
    findings: list[Finding]
    source: str


def cost_avoidance_analysis(
    wh: Warehouse,
    area_code: str,
    *,
    unit_cost: float | None = None,
    investment: float | None = None,
    since: Any = None,
) -> CostAvoidanceAnalysis:
    """(Counterfactual - actual) child-years looked after x unit cost, beside the investment.

    The counterfactual is the ITS projection of the pre-rollout trend in children looked
    after at period end (monthly if available, else quarterly); each month-end count stands
    for one month (a quarter-end count for three). ``unit_cost`` defaults to the illustrative
    figure in :mod:`pipelines.stats.cost` (and the finding says so).
    """
    notes: dict[str, str] = {}
    start = _date(since) or marts.area_rollout_date(wh, area_code)
    grain = "month"
    raw = marts.outcome_series(wh, area_code, "cla_at_period_end", grain="month")
    series = raw[raw["complete"].astype(bool)].reset_index(drop=True)
    if series["value"].notna().sum() == 0:
        grain = "quarter"
        raw = marts.outcome_series(wh, area_code, "cla_at_period_end", grain="quarter")
        series = raw[raw["complete"].astype(bool)].reset_index(drop=True)
    source = source_line(wh, series)
    if start is None:
        notes["its"] = "No rollout date is loaded, so there is no 'since' to count from."
        return CostAvoidanceAnalysis(area_code, None, grain, None, None, notes, [], source)
    if series["value"].notna().sum() == 0:
        notes["its"] = "No children looked after figures are loaded."
        return CostAvoidanceAnalysis(area_code, start, grain, None, None, notes, [], source)
    n = int(series["value"].notna().sum())
    its_res = _attempt(
        notes,
        "its",
        lambda: interrupted_time_series(
            series,
            "period_end",
            "value",
            "population",
            intervention_date=start,
            family="quasipoisson",
            seasonality_harmonics=1,
            season_length=SEASON_LENGTH[grain],
            hac_lags=newey_west_lags(n),
        ),
    )
    result = None
    if its_res is not None:
        if min(its_res.n_pre, its_res.n_post) < MIN_POINTS_EACH_SIDE:
            notes["cost"] = (
                f"Too few {PERIOD_WORD[grain]}s around {_fmt_month(start)} for a counterfactual "
                f"(need {MIN_POINTS_EACH_SIDE} each side)."
            )
        else:
            per_year = PERIODS_PER_YEAR[grain]
            totals = its_res.post_totals
            kwargs: dict[str, Any] = {}
            if unit_cost is not None:
                kwargs["unit_cost_per_child_year"] = unit_cost
                kwargs["unit_cost_source"] = "the council's figure, as entered"
            result = _attempt(
                notes,
                "cost",
                lambda: cost_avoidance(
                    totals["counterfactual"] / per_year,
                    totals["observed"] / per_year,
                    investment=investment,
                    counterfactual_lower=totals["counterfactual_lower"] / per_year,
                    counterfactual_upper=totals["counterfactual_upper"] / per_year,
                    n_periods=its_res.n_post,
                    **kwargs,
                ),
            )
    found = []
    if result is not None:
        found.append(fnd.from_cost_avoidance(result, since=_fmt_month(start), importance=70))
    return CostAvoidanceAnalysis(area_code, start, grain, its_res, result, notes, found, source)


# ================================================================================================
# Board findings
# ================================================================================================


@dataclass(frozen=True)
class BoardSummary:
    """What the board summary shows: the headline tiles and the findings (see below)."""

    headlines: list[Headline]
    findings: list[Finding]


def board_summary(wh: Warehouse, area_code: str) -> BoardSummary:
    """:func:`headlines` and :func:`board_findings` together, the tiles computed once."""
    wh = _read_once(wh)
    tiles = headlines(wh, area_code)
    return BoardSummary(tiles, board_findings(wh, area_code, tiles=tiles))


def board_findings(
    wh: Warehouse,
    area_code: str,
    *,
    max_findings: int = 8,
    tiles: list[Headline] | None = None,
) -> list[Finding]:
    """5 to 8 plain-English findings for the board summary and the annual report.

    In order of importance: the whole-area CLA and CPP rates (interrupted time series,
    quarterly, quasi-Poisson with Newey-West errors), CLA and CPP starts across localities
    (staggered difference-in-differences by financial year), training coverage, the dose-response link, cost
    avoidance, and the SPC signal for the CLA rate. Methods that cannot run are left out (a
    low-confidence finding says why when nothing can run). ``tiles``: the area's
    :func:`headlines` (default options), when the caller has them already.
    """
    wh = _read_once(wh)
    out: list[Finding] = []
    order = 0

    def add(f: Finding | None) -> None:
        nonlocal order
        if f is not None:
            out.append(_with_importance(f, order))
            order += 1

    place = marts.area_name(wh, area_code)
    for measure in ("cla_at_period_end", "cpp_at_period_end"):
        trend = trend_analysis(wh, area_code, measure, hac=True)
        its_f = next((f for f in trend.findings if f.key.startswith("its:")), None)
        add(its_f or next((f for f in trend.findings if f.key.startswith("before_after:")), None))
    for measure in ("cla_starts", "cpp_starts"):
        # Financial years, not quarters: Callaway & Sant'Anna compare each wave with the one
        # period before it starts, and with two localities per wave a single quarter is too
        # noisy to anchor a board-level estimate (see test_planted_effect's known limitation).
        cohort = cohort_analysis(wh, area_code, measure, grain="financial_year", cross_checks=False)
        add(next((f for f in cohort.findings if f.key.startswith("did:")), None))
    tiles = {t.key: t for t in (tiles if tiles is not None else headlines(wh, area_code))}
    training = tiles["training_coverage"]
    if training.latest_rate is not None:
        add(
            Finding(
                text=training.finding,
                confidence="high",
                caveats=training.caveats,
                measure=None,
                method="Wilson score interval (PHEindicatormethods); Newcombe hybrid score interval "
                "for the change",
                n=int(training.latest_value or 0),
                estimate=training.latest_rate / 100,
                ci=(training.latest_lower / 100, training.latest_upper / 100),
                key="training:coverage",
                scale="proportion",
                confidence_reason=(
                    "High confidence: coverage is a count of staff from the training extracts, "
                    "not an estimate of an effect."
                ),
            )
        )
    dose = dose_response_analysis(wh, area_code, "cpp_starts")
    add(dose.findings[0] if dose.findings else None)
    cost = cost_avoidance_analysis(wh, area_code)
    add(cost.findings[0] if cost.findings else None)
    cla = tiles["cla_rate"]
    if cla.spc is not None:
        add(fnd.from_spc(cla.spc, label="the CLA rate", place=place, measure="cla_at_period_end"))
    if not out:
        return [
            Finding(
                text=f"No findings can be given for {place} yet: outcome data, population and "
                "rollout dates are all needed.",
                confidence="low",
                key="no_data",
                confidence_reason="Low confidence: there is nothing to estimate.",
            )
        ]
    return fnd.sort_findings(out)[:max_findings]


def _with_importance(f: Finding, importance: int) -> Finding:
    from dataclasses import replace

    return replace(f, importance=importance)


# ================================================================================================
# Benchmarks against DfE published statistics
# ================================================================================================

#: DfE measures the Benchmarks page offers, in menu order: (label, short label for sentences).
BENCHMARK_MEASURES: dict[str, tuple[str, str]] = {
    "cla_at_31_march": ("Children looked after on 31 March", "CLA rate"),
    "cla_starts": ("Children starting to be looked after in the year", "CLA starts rate"),
    "cla_ceased": ("Children ceasing to be looked after in the year", "CLA ceased rate"),
    "cpp_at_31_march": ("Children on a child protection plan on 31 March", "CPP rate"),
    "cpp_starts": ("Child protection plans starting in the year", "CPP starts rate"),
    "cpp_subsequent": ("Second or subsequent child protection plans starting", "repeat CPP rate"),
    "cpp_subsequent_percent": (
        "Child protection plans that were a second or subsequent plan (%)",
        "share of repeat plans",
    ),
    "referrals": ("Referrals to children's social care", "referral rate"),
    "rereferrals": ("Re-referrals within 12 months", "re-referral rate"),
    "rereferral_percent": ("Referrals that were re-referrals (%)", "share of re-referrals"),
    "cin_at_31_march": ("Children in need on 31 March", "CIN rate"),
    "cin_starts": ("Children in need episodes starting", "CIN starts rate"),
    "cin_ended": ("Children in need episodes ending", "CIN ended rate"),
    "cin_any_point": ("Children in need at any point in the year", "CIN any-point rate"),
}
#: The DfE publication each measure comes from (for source lines).
_PUBLICATION = {
    "cla": "DfE, Children looked after in England including adoptions",
    "cpp": "DfE, Children in need (child protection plans)",
    "cin": "DfE, Children in need",
    "referrals": "DfE, Children in need (referrals)",
    "rereferrals": "DfE, Children in need (referrals)",
    "rereferral": "DfE, Children in need (referrals)",
}
#: Board context lines: (DfE measure, short label).
BOARD_CONTEXT_MEASURES = (("cla_at_31_march", "CLA rate"), ("cpp_at_31_march", "CPP rate"))


def fy_label(year: int) -> str:
    """DfE's time_period 2026 (the year ending 31 March 2026) as '2025-26'."""
    return f"{int(year) - 1}-{int(year) % 100:02d}"


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def first_treatment_year(rollout: dt.date | None) -> int | None:
    """The first financial year that starts on or after the rollout date, as DfE labels it.

    DfE's years run April to March and are labelled by the year they end in: a rollout on
    1 October 2019 falls inside 2019-20, so the first whole year after it is 2020-21 (2021).
    A rollout on 1 April 2019 starts 2019-20 itself (2020).
    """
    if rollout is None:
        return None
    april = dt.date(rollout.year, 4, 1)
    start = april if rollout <= april else dt.date(rollout.year + 1, 4, 1)
    return start.year + 1


def _bench_metric_text(measure: str) -> tuple[str, str]:
    """(unit for sentences, axis title) for a DfE measure."""
    from pipelines.load import dfe

    if measure in dfe.RATE_MEASURES:
        return "per 10,000", "Rate per 10,000 children aged 0 to 17"
    return "%", "Per cent"


def _fmt_bench(value: float | None, unit: str, decimals: int) -> str:
    if value is None or pd.isna(value):
        return "no figure"
    return f"{value:,.{decimals}f}%" if unit == "%" else f"{value:,.{decimals}f}"


def _compare_word(a: float, b: float) -> str:
    return "above" if a > b else "below" if a < b else "level with"


@dataclass(frozen=True)
class BenchmarkAnalysis:
    """A council against England, its region and its DfE statistical neighbours.

    Fields:
        area_code, new_la_code, area_name, region_name: the council (DfE three-digit code,
            ONS code, names).
        measure, label, short: the DfE measure and its labels.
        compared_on: 'rate_per_10k' (counts of children) or 'value' (percentages).
        unit: 'per 10,000' or '%'.
        y_title: the axis title.
        decimals: 0 when every figure is a rate DfE published (they round to whole numbers),
            else 1.
        table: one row per year (year ending 31 March): time_period, year, council, england,
            region, neighbours_median, neighbours_min, neighbours_max, neighbours_n,
            council_count (the published count behind the council's rate), rate_source
            ('published' / 'recomputed'), population_year (for a recomputed rate) and release.
        latest_year: the latest year with a figure for the council, or None.
        ranks: `pipelines.load.dfe.rank_among` for the latest year; rank_text: scope -> plain words
            ("3rd lowest of 11 (1 = lowest rate)").
        neighbours: `pipelines.load.dfe.neighbours`, closest first.
        rollout_date: the first rollout date when the council is an area in this warehouse.
        treatment_year: the first year counted as after the programme (DfE labelling), from
            the argument or `first_treatment_year(rollout_date)`, or None.
        synth: the synthetic-control result, or None with the reason in
            notes['synthetic_control'].
        weights: donor weights with names (area_code, la_name, weight), largest first.
        fit_ok: True when the synthetic comparison is good enough to use, False when it was
            refused for a poor fit, None when it could not be tried.
        verdict: one plain sentence on whether the comparison can be used.
        title: the chart title stating the finding; findings: plain-English sentences (the
            board line, the ranks, then `synth_findings`, those on the synthetic control).
        context_line: the one-sentence comparison for the board (latest year), or None.
        source: the source line: DfE publication and release(s), and whether rates are as
            published or recomputed (with the population years).
        notes: method -> reason, for anything that could not run.
    """

    area_code: str
    new_la_code: str | None
    area_name: str
    region_name: str | None
    measure: str
    label: str
    short: str
    compared_on: str
    unit: str
    y_title: str
    decimals: int
    table: pd.DataFrame
    latest_year: int | None
    ranks: pd.DataFrame
    rank_text: dict[str, str]
    neighbours: pd.DataFrame
    rollout_date: dt.date | None
    treatment_year: int | None
    synth: Any
    weights: pd.DataFrame
    fit_ok: bool | None
    verdict: str
    title: str
    findings: list[str]
    synth_findings: list[str]
    context_line: str | None
    source: str
    notes: dict[str, str]


def benchmark_councils(wh: Warehouse) -> pd.DataFrame:
    """Councils with published DfE figures, for a picker (`pipelines.load.dfe.council_options`)."""
    from pipelines.load import dfe

    return dfe.council_options(wh)


def benchmark_council_code(wh: Warehouse, area_code: str | None) -> str | None:
    """The DfE three-digit code for a warehouse area code (or any council code), or None."""
    from pipelines.load import dfe

    if not area_code:
        return None
    try:
        return dfe.resolve_council(wh, area_code)["area_code"]
    except KeyError:
        return None


def benchmark_measures(wh: Warehouse, area_code: str) -> list[str]:
    """The DfE measures with at least one published figure for the council, in menu order."""
    from pipelines.load import dfe

    council = dfe.resolve_council(wh, area_code)
    found = wh.query(
        "SELECT DISTINCT measure FROM mart_dfe_current WHERE geographic_level = 'Local authority' "
        "AND area_code = ? AND value IS NOT NULL",
        [council["area_code"]],
    )
    have = set(found["measure"])
    return [m for m in BENCHMARK_MEASURES if m in have]


def benchmark_revisions(wh: Warehouse) -> pd.DataFrame:
    """Figures that changed between DfE releases (`pipelines.load.dfe.dfe_revisions`)."""
    from pipelines.load import dfe

    return dfe.dfe_revisions(wh)


def _warehouse_rollout(wh: Warehouse, council: Mapping[str, Any]) -> dt.date | None:
    areas = marts.areas(wh)
    if areas.empty:
        return None
    hit = areas[
        (areas["area_code"] == council.get("new_la_code"))
        | (areas["old_la_code"].astype("string") == str(council.get("area_code")))
    ]
    return marts.area_rollout_date(wh, str(hit.iloc[0]["area_code"])) if len(hit) else None


def _bench_source(
    wh: Warehouse, measure: str, codes: list[str], region_code: str | None, rated: bool
) -> tuple[str, bool]:
    """The source line (publication, release(s) used, published or recomputed rates), and
    whether every rate on the chart is as DfE published it."""
    prefix = measure.split("_")[0]
    publication = _PUBLICATION.get(prefix, "DfE children's social care statistics")
    view = "mart_dfe_rates" if rated else "mart_dfe_current"
    rate_cols = (
        "rate_source, min(population_year) AS pop_first, max(population_year) AS pop_last"
        if rated
        else "CAST(NULL AS VARCHAR) AS rate_source, NULL AS pop_first, NULL AS pop_last"
    )
    placeholders = ", ".join("?" for _ in codes) or "NULL"
    # view and columns are constants chosen above; values are bound parameters.
    used = wh.query(
        f"SELECT {rate_cols}, string_agg(DISTINCT release, ',') AS releases "  # noqa: S608
        f"FROM {view} WHERE measure = ? AND value IS NOT NULL AND ("
        f"(geographic_level = 'Local authority' AND area_code IN ({placeholders})) "
        "OR geographic_level = 'National' "
        "OR (geographic_level = 'Regional' AND area_code = ?)) GROUP BY ALL",
        [measure, *codes, region_code],
    )
    releases = sorted({r for text in used["releases"].dropna() for r in str(text).split(",")})
    if len(releases) == 1:
        release = f"release {releases[0]}"
    else:
        release = (
            f"releases {', '.join(releases[:-1])} and {releases[-1]} (the newest release that "
            "has each year)"
            if releases
            else "no release"
        )
    parts = [f"Source: {publication}, {release}"]
    sources = {row.rate_source: row for row in used.itertuples() if row.rate_source}
    if rated:
        if set(sources) == {"published"}:
            parts.append("rates per 10,000 children aged 0 to 17 as published by DfE")
        elif "recomputed" in sources:
            row = sources["recomputed"]
            years = (
                f"{int(row.pop_first)}"
                if row.pop_first == row.pop_last
                else f"{int(row.pop_first)}–{int(row.pop_last)}"
            )
            what = (
                "some rates as published by DfE, others"
                if "published" in sources
                else "rates per 10,000 children aged 0 to 17"
            )
            parts.append(
                f"{what} recomputed by rp-impact from DfE counts and ONS mid-year population "
                f"estimates {years} (the year before each reporting year)"
            )
    return " · ".join(parts), rated and set(sources) == {"published"}


def _bench_title(name: str, short: str, table: pd.DataFrame, decimals: int) -> str:
    """A title that states the finding: the council against its neighbours' median."""
    against, against_col = "its statistical neighbours' median", "neighbours_median"
    rows = table.dropna(subset=["council", against_col])
    if rows.empty:
        against, against_col = "England", "england"
        rows = table.dropna(subset=["council", against_col])
    if rows.empty:
        return f"{name}'s {short} over time"
    council = rows["council"].round(decimals)
    other = rows[against_col].round(decimals)
    signs = np.sign(council - other).astype(int).tolist()
    years = [fy_label(y) for y in rows["time_period"]]
    latest = signs[-1]
    start = len(signs) - 1
    while start > 0 and signs[start - 1] == latest:
        start -= 1
    word = {1: "above", -1: "below", 0: "level with"}[latest]
    if start == 0 and len(signs) > 1:
        return f"{name}'s {short} has been {word} {against} in every year since {years[0]}"
    if start < len(signs) - 1:
        return f"{name}'s {short} has stayed {word} {against} since {years[start]}"
    if latest == 0:
        text = f"{name}'s {short} was level with {against} in {years[-1]}"
        if start > 0:
            before, end = signs[start - 1], start - 1
            while end > 0 and signs[end - 1] == before:
                end -= 1
            n_before = start - end
            word = "above" if before > 0 else "below"
            text += f", after {n_before} year{'s' if n_before != 1 else ''} {word} it"
        return text
    move = "rose above" if latest > 0 else "fell below"
    return f"{name}'s {short} {move} {against} in {years[-1]}"


def _bench_context(
    name: str, short: str, table: pd.DataFrame, unit: str, decimals: int
) -> str | None:
    rows = table.dropna(subset=["council"])
    if rows.empty:
        return None
    row = rows.iloc[-1]
    value = round(float(row["council"]), decimals)
    unit_text = f" {unit}" if unit != "%" else ""
    parts = []
    for col, what in (
        ("england", "England"),
        ("region", "the region"),
        ("neighbours_median", "the neighbours' median"),
    ):
        other = row[col]
        if other is None or pd.isna(other):
            continue
        other = round(float(other), decimals)
        parts.append(f"{_compare_word(value, other)} {what} ({_fmt_bench(other, unit, decimals)})")
    if not parts:
        return None
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"In {fy_label(row['time_period'])} {name}'s {short} "
        f"({_fmt_bench(value, unit, decimals)}{unit_text}) was {joined}."
    )


def _rank_text(ranks: pd.DataFrame, figure_word: str) -> dict[str, str]:
    out = {}
    for row in ranks.itertuples():
        if row.rank is None or pd.isna(row.rank):
            out[row.scope] = f"No figure that year (of {row.n})"
        else:
            out[row.scope] = (
                f"{ordinal(int(row.rank))} lowest of {int(row.n)} (1 = lowest {figure_word})"
            )
    return out


def _synth_sentences(
    result, name: str, short: str, unit: str, decimals: int
) -> tuple[str, list[str]]:
    """(verdict, findings) for a synthetic-control result that passed the fit check."""
    rel = result.pre_rmspe_relative
    before = fy_label(result.treatment_year)
    unit_text = f" {unit}" if unit != "%" else " percentage points"
    care = rel > MAX_GOOD_FIT
    verdict = (
        f"{'Usable, with care' if care else 'Good enough to use'}: before {before} the "
        f"synthetic {name} tracked the real one to within {result.pre_rmspe:.{decimals + 1}f}"
        f"{unit_text} on average, {rel:.1%} of its average (the limit is 10%"
        f"{'; under 5% is a close fit' if care else ''})."
    )
    gap = result.mean_post_gap
    direction = "below" if gap < 0 else "above"
    n_units = result.n_donors + 1
    sentences = [
        f"From {before} on, {name}'s {short} averaged {abs(gap):.1f}{unit_text} "
        f"{direction} its synthetic comparison (a weighted mix of statistical neighbours "
        "that tracked it before)."
    ]
    if result.placebo_rank is not None:
        bigger = result.placebo_rank - 1
        test = f"placebo rank {result.placebo_rank} of {n_units}, p = {result.p_value:.2f}"
        if result.p_value is not None and result.p_value <= 0.1:
            sentences.append(
                f"No neighbour given the same test had a change as large relative to its fit "
                f"({test}): a gap this size is unusual among councils without the programme."
                if bigger == 0
                else f"Only {bigger} of {result.n_donors} neighbours had a change as large "
                f"relative to their fit ({test}): a gap this size is unusual."
            )
        else:
            sentences.append(
                f"{bigger} of {result.n_donors} neighbours had a change as large relative to "
                f"their fit without the programme ({test}), so this gap is within what happens "
                "by chance: it is not evidence of a difference."
            )
    return verdict, sentences


#: A pre-period RMSPE up to this share of the mean is a close fit; up to the stats layer's
#: limit (10%) the comparison is usable with care.
MAX_GOOD_FIT = 0.05


def benchmark_analysis(
    wh: Warehouse,
    area_code: str,
    measure: str,
    treatment_year: int | None = None,
    *,
    synthetic: bool = True,
) -> BenchmarkAnalysis:
    """A council against England, its region and its statistical neighbours on a DfE measure.

    `area_code` is any council code (DfE three-digit, ONS, or a warehouse area code that DfE
    publishes). The synthetic control uses the council's DfE statistical neighbours as donors
    and `treatment_year` (DfE labelling: 2021 is 2020-21) as the first year after the
    programme; by default the first financial year starting after the area's first rollout
    (`first_treatment_year`). `synthetic=False` skips it (the board's context lines). Raises KeyError when the council is not in the imported DfE files.
    """
    from pipelines.load import dfe
    from pipelines.stats.synth import synthetic_control

    if measure not in BENCHMARK_MEASURES:
        raise ValueError(
            f"Unknown DfE measure '{measure}'. Known: {', '.join(BENCHMARK_MEASURES)}."
        )
    council = dfe.resolve_council(wh, area_code)
    code, name = str(council["area_code"]), str(council["area_name"])
    label, short = BENCHMARK_MEASURES[measure]
    unit, y_title = _bench_metric_text(measure)
    notes: dict[str, str] = {}

    series = dfe.benchmark_series(wh, code, measure)
    compared_on = str(series["compared_on"].iloc[0]) if len(series) else "value"
    rated = compared_on == "rate_per_10k"
    metric = "rate" if rated else "value"
    table = pd.DataFrame(
        {
            "time_period": series["time_period"].astype(int),
            "year": [fy_label(y) for y in series["time_period"]],
            "council": series[f"council_{metric}"].astype("float64"),
            "england": series[f"england_{metric}"].astype("float64"),
            "region": series[f"region_{metric}"].astype("float64"),
            "neighbours_median": series["sn_median"].astype("float64"),
            "neighbours_min": series["sn_min"].astype("float64"),
            "neighbours_max": series["sn_max"].astype("float64"),
            "neighbours_n": series["sn_n"].astype("int64"),
        }
    )
    if rated:
        table["council_count"] = series["council_value"].astype("float64")
        table["rate_source"] = series["council_rate_source"]
        table["population_year"] = (series["time_period"] - 1).where(
            series["council_rate_source"] == "recomputed"
        )
        table["population_year"] = table["population_year"].astype("Int64")
    table["release"] = series["release"]

    neighbour_frame = dfe.neighbours(wh, code)
    codes = [code, *neighbour_frame["old_la_code"].astype(str).tolist()]
    source, all_published = _bench_source(wh, measure, codes, council.get("region_code"), rated)
    decimals = 0 if all_published else 1  # DfE publishes rates as whole numbers

    have = table.dropna(subset=["council"])
    latest_year = int(have["time_period"].max()) if len(have) else None
    ranks = (
        dfe.rank_among(wh, code, measure, latest_year)
        if latest_year is not None
        else pd.DataFrame(columns=["scope", "rank", "n", "figure"])
    )
    figure_word = "rate" if rated else "figure"
    rank_text = _rank_text(ranks, figure_word)

    rollout = _warehouse_rollout(wh, council)
    given = treatment_year is not None
    treatment_year = int(treatment_year) if given else first_treatment_year(rollout)
    synth = None
    fit_ok: bool | None = None
    weights = pd.DataFrame(columns=["area_code", "la_name", "weight"])
    findings: list[str] = []
    synth_findings: list[str] = []
    if not synthetic:
        verdict = "Not run."
    elif treatment_year is None:
        notes["synthetic_control"] = (
            f"No rollout date is known for {name} in this warehouse, so there is no 'after' "
            "to compare. Choose the first year after the programme began to run the "
            "comparison."
        )
        verdict = "Not run: the first year after the programme began is not known."
    else:
        panel = dfe.synth_panel(wh, code, measure)
        donors = sorted(panel.loc[panel["role"] == "donor", "area_code"].unique().tolist())
        synth = _attempt(
            notes,
            "synthetic_control",
            lambda: synthetic_control(
                panel,
                treated=code,
                donors=donors,
                outcome="value",
                treatment_year=treatment_year,
            ),
        )
        if synth is None:
            reason = notes["synthetic_control"].replace(f" {code} ", f" {name} ")
            notes["synthetic_control"] = reason
            fit_ok = False if "does not track" in reason else None
            verdict = (
                "Not good enough to use: the synthetic comparison does not track "
                f"{name} closely enough before {fy_label(treatment_year)}."
                if fit_ok is False
                else "Could not be run with these data."
            )
        else:
            fit_ok = True
            names = dict(zip(panel["area_code"], panel["la_name"], strict=False))
            weights = pd.DataFrame(
                {
                    "area_code": synth.weights.index.astype(str),
                    "la_name": [names.get(c, c) for c in synth.weights.index],
                    "weight": synth.weights.to_numpy(dtype=float),
                }
            )
            verdict, synth_findings = _synth_sentences(synth, name, short, unit, decimals)
            findings += synth_findings

    title = _bench_title(name, short, table, decimals)
    context_line = _bench_context(name, short, table, unit, decimals)
    if context_line:
        findings.insert(0, context_line)
    if rank_text.get("all councils") and latest_year is not None:
        findings.insert(
            1 if context_line else 0,
            f"In {fy_label(latest_year)} {name} was "
            f"{rank_text['all councils'].split(' (')[0]} councils in England and "
            f"{rank_text.get('statistical neighbours', '').split(' (')[0]} among itself and "
            f"its statistical neighbours (1 = lowest {figure_word}).",
        )
    return BenchmarkAnalysis(
        area_code=code,
        new_la_code=council.get("new_la_code"),
        area_name=name,
        region_name=council.get("region_name"),
        measure=measure,
        label=label,
        short=short,
        compared_on=compared_on,
        unit=unit,
        y_title=y_title,
        decimals=decimals,
        table=table,
        latest_year=latest_year,
        ranks=ranks,
        rank_text=rank_text,
        neighbours=neighbour_frame,
        rollout_date=rollout,
        treatment_year=treatment_year,
        synth=synth,
        weights=weights,
        fit_ok=fit_ok,
        verdict=verdict,
        title=title,
        findings=findings,
        synth_findings=synth_findings,
        context_line=context_line,
        source=source,
        notes=notes,
    )


def benchmark_context(wh: Warehouse, area_code: str) -> list[tuple[str, str]]:
    """The board's context lines: CLA and CPP on 31 March against England, the region and the
    statistical neighbours' median, for the latest published year, each with its source line
    (which says whether the rates are published or recomputed). Empty without DfE data."""
    if benchmark_council_code(wh, area_code) is None:
        return []
    lines = []
    for measure, _short in BOARD_CONTEXT_MEASURES:
        try:
            bench = benchmark_analysis(wh, area_code, measure, synthetic=False)
        except KeyError:
            continue
        if bench.context_line:
            lines.append((bench.context_line, bench.source))
    return lines
