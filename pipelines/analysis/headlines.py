"""The board's tiles: the CLA and CPP rates per 10,000 and training coverage.

Each :class:`Headline` carries the latest value with its 95% interval, the change since
rollout (or, for training, on a year earlier) with its interval, and the Making Data Count
icons of its XmR chart.

:func:`graded_by_calibration` is the one rule for a supporting estimate shown with an
interval (issue 13): it keeps its grade only when its kind of interval was measured to cover
the truth 90-98% of the time with at most 7% false positives (``calibration.json``, read by
:func:`pipelines.analysis.verdict.load_calibration`); otherwise it is graded low and says
what was measured. The tiles, the board's findings and the cost finding all go through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipelines import marts, measures
from pipelines.analysis.calibrated import graded_by_calibration
from pipelines.analysis.common import as_date, attempt, source_line
from pipelines.analysis.trend import xmr_rebased
from pipelines.present.numbers import ci_words, difference_words, relative_words
from pipelines.present.wording import long_date, month_label, plural
from pipelines.stats import findings as fnd
from pipelines.stats.before_after import BeforeAfterResult, before_after
from pipelines.stats.rates import newcombe_difference
from pipelines.stats.spc import XmrResult
from pipelines.store.warehouse import Warehouse


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
        confidence: the confidence grade of ``change_pct``: the findings rule, then
            :func:`graded_by_calibration` (a rate tile's interval is ``before_tile:<measure>``).
        notes: method -> reason, when something could not be computed.
        level_finding: the sentence about the latest level alone (for training, the count of
            staff trained, which is not an estimate); ``finding`` adds the change to it.
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
    level_finding: str = ""
    #: The grain of ``latest_period`` and ``series``: "quarter" for the local extracts,
    #: "financial_year" for published annual figures (:func:`annual_headlines`).
    grain: str = "quarter"
    #: The periods of ``series`` a viewer is not shown (the disclosure decision of
    #: `pipelines.present.cube`); the tile's figures rest on none of them.
    hidden: tuple = ()


#: The figures a tile may not have; :func:`_tile` leaves each one it is not given as None.
_FIGURES = (
    "latest_period",
    "latest_value",
    "latest_rate",
    "latest_lower",
    "latest_upper",
    "change_pct",
    "change_lower",
    "change_upper",
    "variation_icon",
    "assurance_icon",
    "population_year",
)


def _tile(
    key: str, label: str, unit_label: str, source: str, finding: str, **given: Any
) -> Headline:
    """A tile: its title, unit, source line and sentence (for a tile with no figures yet, why
    it is empty), and the fields it has (``given``); a figure it is not given is None."""
    fields = {**dict.fromkeys(_FIGURES), **given}
    return Headline(
        key=key, label=label, unit_label=unit_label, source=source, finding=finding, **fields
    )


def _latest_rate(series: pd.DataFrame, hidden: tuple = ()) -> dict[str, Any]:
    """A rate tile's latest level: the last row of its series (``period_end``, ``value``,
    ``rate_per_10k`` with ``rate_lower`` and ``rate_upper``) that is not `hidden`, and the
    series itself with the periods hidden."""
    last = series[~series["period_end"].isin(hidden)].iloc[-1]
    return dict(
        hidden=hidden,
        latest_period=as_date(last["period_end"]),
        latest_value=float(last["value"]),
        latest_rate=float(last["rate_per_10k"]),
        latest_lower=float(last["rate_lower"]),
        latest_upper=float(last["rate_upper"]),
        series=series,
    )


def _change(
    change: float | None,
    lower: float | None,
    upper: float | None,
    basis: str,
    confidence: str,
    unit: str = "%",
) -> dict[str, Any]:
    """A tile's change with its 95% interval (None: none), what it compares, and its grade."""
    return dict(
        change_pct=change,
        change_lower=lower,
        change_upper=upper,
        change_basis=basis,
        change_unit=unit,
        confidence=confidence,
    )


def _icons(spc: XmrResult | None) -> dict[str, str | None]:
    """The tile's Making Data Count icons, from its XmR chart (none without one)."""
    return {
        "variation_icon": None if spc is None else spc.variation_icon,
        "assurance_icon": None if spc is None else spc.assurance_icon,
    }


#: Why a rate tile leaves out what the disclosure decision hides (`headlines`' ``hidden``).
HIDDEN_ALL = "Every quarter is hidden to protect small numbers."
HIDDEN_LATEST = (
    "The latest quarter is hidden to protect small numbers, so the tile shows the latest "
    "quarter that is not."
)
HIDDEN_CHANGE = (
    "The change since rollout is not shown: a quarter it compares is hidden to protect small "
    "numbers, and the change would give it away."
)

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
    hidden: Mapping[str, Iterable] | None = None,
) -> list[Headline]:
    """Tiles for the board summary: CLA rate, CPP rate (per 10,000) and training coverage.

    The change for a rate compares the latest ``window`` quarters with the ``window`` quarters
    before the area's first rollout (exact Poisson rate-ratio interval). When fewer than
    ``window`` quarters follow rollout, the first quarters from rollout are used and the basis
    says so. ``targets`` (key -> target rate, or coverage as a fraction) gives assurance icons.

    ``hidden`` (measure -> quarters) are the quarters of the whole area's series a viewer is
    not shown (`pipelines.present.cube`): the latest figure is the latest quarter shown, the
    change is withheld when a quarter it compares is hidden (each side's rate times its
    population is the side's total, so the hidden quarter would follow from the series
    shown), and the XmR chart is worked out over the quarters shown.
    """
    targets = dict(targets or {})
    hidden = dict(hidden or {})
    tiles = [
        _rate_headline(
            wh, area_code, key, measure, label, window, targets.get(key), hidden.get(measure, ())
        )
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
    hidden: Iterable = (),
) -> Headline:
    m = measures.measure(measure)
    notes: dict[str, str] = {}
    raw = marts.outcome_series(wh, area_code, measure, grain="quarter")
    series = raw[raw["complete"].astype(bool) & raw["value"].notna()].reset_index(drop=True)
    rollout = marts.area_rollout_date(wh, area_code)
    source = source_line(wh, series)
    if series.empty:
        return _tile(
            key,
            label,
            "per 10,000 children",
            source,
            f"No complete quarters of {m.label.lower()} are loaded yet.",
            rollout_date=rollout,
            notes={"series": "No data loaded."},
        )
    is_hidden = series["period_end"].isin(pd.to_datetime(list(hidden)))
    hidden = tuple(series.loc[is_hidden, "period_end"])
    if is_hidden.all():
        return _tile(
            key,
            label,
            "per 10,000 children",
            source,
            f"Every complete quarter of {m.label.lower()} is hidden to protect small numbers.",
            rollout_date=rollout,
            notes={"series": HIDDEN_ALL},
            series=series,
            hidden=hidden,
        )
    if is_hidden.iloc[-1]:
        notes["latest"] = HIDDEN_LATEST
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
        if use["period_end"].isin(hidden).any():
            notes["before_after"] = HIDDEN_CHANGE
        else:
            ba = attempt(
                notes,
                "before_after",
                lambda: before_after(use, "period_end", "value", "population", cut, window=None),
            )
        if ba is not None:
            basis = (
                f"{plural(ba.n_after, 'quarter')} to {month_label(ba.after_end)} against the "
                f"{plural(ba.n_before, 'quarter')} before rollout (to {month_label(ba.before_end)})"
            )
    # Worked out over the quarters shown: a segment's mean less the rates shown would give a
    # hidden quarter's rate back (`charts.tables.gate_spc` says the same for Trends).
    spc_res = xmr_rebased(
        series.assign(rate_per_10k=series["rate_per_10k"].where(~is_hidden)),
        "period_end",
        "rate_per_10k",
        m.improvement,
        rollout,
        True,
        target,
        notes,
    )
    last = series[~is_hidden].iloc[-1]
    caveats = [fnd.CAVEAT_STOCK] if m.is_stock else []
    change = lower = upper = None
    confidence = "low"
    if ba is not None:
        change = 100 * (ba.rate_ratio - 1)
        lower, upper = 100 * (ba.rate_ratio_lower - 1), 100 * (ba.rate_ratio_upper - 1)
        place = marts.area_name(wh, area_code)
        f = fnd.from_before_after(ba, fnd.Subject(label, place, measure=measure, stock=m.is_stock))
        f = graded_by_calibration(f, f"before_tile:{measure}")
        confidence = f.confidence
        caveats += [c for c in f.caveats if c not in caveats]
        clear = upper < 0 or lower > 0
        finding = (
            f"{label}: {last['rate_per_10k']:.1f} per 10,000 children at "
            f"{long_date(last['period_end'])}; the latest year was "
            + (
                f"{relative_words(change / 100)} than the year before rollout."
                if clear
                else "not clearly different from the year before rollout "
                f"({relative_words(change / 100)}; 95% CI {relative_words(lower / 100)} to "
                f"{relative_words(upper / 100)})."
            )
        )
    else:
        finding = (
            f"{label}: {last['rate_per_10k']:.1f} per 10,000 children at "
            f"{long_date(last['period_end'])}."
        )
    return _tile(
        key,
        label,
        "per 10,000 children",
        source,
        finding,
        **_latest_rate(series, hidden),
        **_change(change, lower, upper, basis, confidence),
        **_icons(spc_res),
        population_year=int(last["population_year"]) if pd.notna(last["population_year"]) else None,
        caveats=tuple(caveats),
        rollout_date=rollout,
        spc=spc_res,
        before_after=ba,
        notes=notes,
    )


def _training_headline(wh: Warehouse, area_code: str, target: float | None) -> Headline:
    notes: dict[str, str] = {}
    cov = marts.training_coverage(wh, area_code)
    cov = cov[cov["staff_in_scope"] > 0].reset_index(drop=True)
    source = source_line(wh, dataset="training")
    label = "Staff trained in Restorative Practice"
    if cov.empty:
        return _tile(
            "training_coverage",
            label,
            "% of staff in scope",
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
        basis = f"{month_label(last['period_end'])} against {month_label(prev['period_end'])}"
    spc_res = xmr_rebased(cov, "period_end", "coverage", "increase", None, False, target, notes)
    level = (
        f"{100 * last['coverage']:.0f}% of staff in scope had been trained by "
        f"{long_date(last['period_end'])} ({int(last['staff_trained']):,} of "
        f"{int(last['staff_in_scope']):,})."
    )
    finding = level
    if change is not None:
        points = "percentage points"
        interval = ci_words(lower, upper, 1, suffix="")
        finding += (
            f" Coverage was {difference_words(change, points, higher='higher')} than a year "
            f"earlier ({interval} {points})."
            if (lower > 0 or upper < 0)
            else f" Coverage was not clearly different from a year earlier "
            f"({difference_words(change, points)}; {interval} {points})."
        )
    caveats = (
        "Coverage is cumulative and counts the same staff in both years, so the interval of "
        "the change (which assumes independent samples) is conservative.",
    )
    confidence = "high" if (lower is not None and (lower > 0 or upper < 0)) else "low"
    return _tile(
        "training_coverage",
        label,
        "% of staff in scope",
        source,
        finding,
        latest_period=as_date(last["period_end"]),
        latest_value=float(last["staff_trained"]),
        latest_rate=100 * float(last["coverage"]),
        latest_lower=100 * float(last["coverage_lower"]),
        latest_upper=100 * float(last["coverage_upper"]),
        **_change(change, lower, upper, basis, confidence, "percentage points"),
        **_icons(spc_res),
        caveats=caveats,
        rollout_date=marts.area_rollout_date(wh, area_code),
        series=cov,
        spc=spc_res,
        notes=notes,
        level_finding=level,
    )


#: The board's rate tiles as DfE publishes them: (tile key, DfE measure, label).
ANNUAL_HEADLINE_MEASURES = (
    ("cla_rate", "cla_at_31_march", "Children looked after"),
    ("cpp_rate", "cpp_at_31_march", "Children on a child protection plan"),
)


def annual_headlines(wh: Warehouse, area_code: str) -> list[Headline]:
    """The board's tiles for a council with only DfE's published figures: the CLA and CPP
    rates per 10,000 on 31 March as DfE published them (or recomputed from the published
    count and the ONS mid-year estimate, as the source line says), and the training tile.

    The change compares the latest year with the last year before the rollout year
    (:func:`pipelines.analysis.verdict.annual_rollout_year`). It has no interval: the same
    children are counted in both years, and the verdicts are the comparison to read.
    """
    from pipelines.analysis.benchmarks import (
        annual_series,
        benchmark_analysis,
        council_rollout_date,
    )
    from pipelines.analysis.verdict import ANNUAL_FIGURES, annual_rollout_year
    from pipelines.benchmarks import resolve_council
    from pipelines.stats.rates import rate_ci

    council = resolve_council(wh, area_code)
    rollout = council_rollout_date(wh, council)
    tiles = []
    for key, dfe_measure, label in ANNUAL_HEADLINE_MEASURES:
        bench = benchmark_analysis(wh, area_code, dfe_measure, synthetic=False)
        counts = annual_series(wh, area_code, dfe_measure).council
        table = bench.table.merge(
            counts.rename(columns={"year": "time_period"}), on="time_period", how="inner"
        ).dropna(subset=["council"])
        if table.empty:
            tiles.append(
                _tile(
                    key,
                    label,
                    "per 10,000 children",
                    bench.source,
                    f"DfE publishes no figures for {label.lower()} in {bench.area_name}.",
                    rollout_date=rollout,
                    notes={"series": "No published figures."},
                    grain="financial_year",
                )
            )
            continue
        ci = rate_ci(table["value"].astype("float64"), table["population"].astype("float64"))
        series = pd.DataFrame(
            {
                "period_end": pd.to_datetime([f"{y}-03-31" for y in table["time_period"]]),
                "value": table["value"].astype("float64").to_numpy(),
                "population": table["population"].astype("float64").to_numpy(),
                "rate_per_10k": table["council"].to_numpy(),
                "rate_lower": ci["lower"].to_numpy(),
                "rate_upper": ci["upper"].to_numpy(),
                "rate_source": table.get("rate_source"),
            }
        )
        last = series.iloc[-1]
        year = int(table["time_period"].iloc[-1])
        word = (
            "as published by DfE"
            if last["rate_source"] == "published"
            else ("recomputed from DfE's count and the ONS mid-year estimate")
        )
        decimals = bench.decimals
        level = (
            f"{label}: {last['rate_per_10k']:,.{decimals}f} per 10,000 children on "
            f"31 March {year} ({word})."
        )
        change = None
        basis = ""
        notes: dict[str, str] = {}
        if rollout is None:
            notes["before_after"] = (
                "No rollout date is loaded, so there is no change since rollout."
            )
        else:
            before = series[series["period_end"].dt.year < annual_rollout_year(rollout)]
            if before.empty or year < annual_rollout_year(rollout):
                notes["before_after"] = (
                    "The published figures do not reach back before the rollout and forward "
                    "after it, so there is no change since rollout."
                )
            else:
                base = before.iloc[-1]
                change = 100 * (last["rate_per_10k"] / base["rate_per_10k"] - 1)
                basis = (
                    f"31 March {year} against 31 March {base['period_end'].year}, the last year "
                    "before the rollout; no interval, as the same children are counted in both "
                    "years: read the verdicts for the comparison"
                )
        tiles.append(
            _tile(
                key,
                label,
                "per 10,000 children",
                f"{bench.source} · {ANNUAL_FIGURES}",
                level,
                **_latest_rate(series),
                **_change(change, None, None, basis, "low"),
                population_year=year - 1,
                caveats=(fnd.CAVEAT_STOCK,),
                rollout_date=rollout,
                notes=notes,
                level_finding=level,
                grain="financial_year",
            )
        )
    tiles.append(_training_headline(wh, area_code, None))
    return tiles
