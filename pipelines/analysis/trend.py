"""One outcome series: before/after, interrupted time series and an XmR chart.

:func:`trend_analysis` is what the Trends page and the report's trend sections show;
:func:`xmr_rebased` is the XmR chart with limits recalculated at rollout, which the headline
tiles use too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from pipelines import marts
from pipelines.analysis.calibrated import graded_all
from pipelines.analysis.common import attempt, check_measure, measure_label, place_name, source_line
from pipelines.measures import PERIOD_WORD, SEASON_LENGTH, UNIT_ALL
from pipelines.present.wording import month_label
from pipelines.stats import findings as fnd
from pipelines.stats.before_after import BeforeAfterResult, before_after
from pipelines.stats.errors import StatsInputError
from pipelines.stats.findings import Finding
from pipelines.stats.its import (
    MIN_POINTS_EACH_SIDE,
    ITSResult,
    interrupted_time_series,
    newey_west_lags,
)
from pipelines.stats.spc import XmrResult, xmr
from pipelines.store.warehouse import Warehouse

ITS_FAMILIES = ("poisson", "quasipoisson", "gaussian")


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
    m = check_measure(measure, grain)
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
                f"For the whole area, 'after' starts at the first wave ({month_label(starts[0])}); "
                f"later waves started in {', '.join(month_label(s) for s in starts[1:])}, so the "
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
            ba = attempt(
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
                its_res = attempt(
                    notes,
                    "its",
                    lambda: series_its(
                        series,
                        rollout,
                        family=its_family,
                        harmonics=harmonics,
                        season_length=season or 12,
                        hac_lags=hac_lags,
                    ),
                )
        spc_res = xmr_rebased(
            series,
            "period_end",
            "rate_per_10k",
            m.improvement,
            rollout,
            rebase_at_rollout,
            target,
            notes,
        )

    place = place_name(wh, area_code, unit) + ("" if age_band == UNIT_ALL else f" (age {age_band})")
    found: list[Finding] = []
    about = fnd.Subject(measure_label(measure), place, word, measure, m.is_stock)
    if its_res is not None:
        found.append(fnd.from_its(its_res, about, importance=10))
    if ba is not None:
        found.append(fnd.from_before_after(ba, about, importance=20))
    if spc_res is not None:
        found.append(fnd.from_spc(spc_res, about, importance=30))
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
        # Supporting views: each graded by its kind's measured calibration, as on the Board.
        findings=graded_all(found),
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


def series_its(
    series: pd.DataFrame,
    intervention_date: dt.date,
    *,
    family: str,
    harmonics: int,
    season_length: int,
    hac_lags: int | None,
) -> ITSResult:
    """`stats.its.interrupted_time_series` on a mart series: the counts (``value``) with a
    log-population offset, interrupted at ``intervention_date``."""
    return interrupted_time_series(
        series,
        "period_end",
        "value",
        "population",
        intervention_date=intervention_date,
        family=family,
        seasonality_harmonics=harmonics,
        season_length=season_length,
        hac_lags=hac_lags,
    )


def xmr_rebased(
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
        return attempt(
            notes,
            "spc",
            lambda: xmr(frame, date_col, value_col, improvement=improvement, target=target),
        )
