"""Are we working *with* families? The practice evidence: audits, family feedback and FGCs.

Every practice measure is a proportion (`mart_practice_proportions`): audits graded good or
better, audits meeting each principle, families agreeing with each statement, FGCs held and
children still in their family network. This module reads them the same way:

- a quarterly series with a Wilson interval per quarter and a Laney p′ chart
  (`pipelines.stats.pprime`), split at the rollout date;
- the change since rollout by unit and wave: the quarters before each unit's start against
  the quarters from a year after it (the first year is left out as bedding-in, as the
  outcomes' planted effect ramps in over 12 months), with Newcombe's interval for the
  difference, pooled by wave and for the area;
- the latest four quarters for the Board's "Working with families" tile.

What these cannot say: a survey is answered by those who choose to answer (no response rate
is collected), audits are a sample of cases chosen by the council, and a unit's change since
rollout has no comparison group, so every figure here is "associated with" the rollout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import marts
from pipelines.contracts_practice import DEFAULT_STATEMENTS
from pipelines.measures import UNIT_ALL
from pipelines.stats.pprime import SMALL_SAMPLE, PPrimeResult, pprime
from pipelines.stats.rates import newcombe_difference, proportion_ci
from pipelines.store.warehouse import Warehouse

#: Quarters from the unit's start that are left out of "after" (bedding-in).
BEDDING_IN_MONTHS = 12
#: How many latest quarters the Board's tile pools.
LATEST_QUARTERS = 4

CAVEATS = (
    "Families choose whether to answer the survey and no response rate is collected, so those "
    "who answer may not be typical of the families the service works with.",
    "Case-file audits are a sample of cases chosen by the council, and auditors know when a "
    "locality has started Restorative Practice.",
    "A change since rollout has no comparison group: it is associated with the rollout, and "
    "other changes at the same time could explain it.",
)


@dataclass(frozen=True)
class PracticeMeasure:
    """One practice measure as the mart names it, with the words to show it."""

    key: str
    label: str
    source: str
    of_what: str


_FIXED = {
    "good_or_better": ("Audits graded good or outstanding", "audits completed"),
    "fgc_held": ("FGCs held, of those offered", "FGCs offered"),
    "plan_agreed": ("FGCs ending with a family plan agreed", "FGCs held"),
    "in_network_6m": ("Children in their family network 6 months on", "children followed up"),
    "in_network_12m": ("Children in their family network 12 months on", "children followed up"),
}


def describe(key: str, source: str) -> PracticeMeasure:
    """The measure's label and denominator in words."""
    if key in _FIXED:
        label, of_what = _FIXED[key]
    elif key.startswith("grade:"):
        label, of_what = f"Audits graded {key[6:].lower()}", "audits completed"
    elif key.startswith("principle:"):
        label, of_what = f"Audits meeting the principle {key[10:]}", "audits completed"
    elif key.startswith("statement:"):
        label, of_what = f"Agreed: “{key[10:]}”", "people who answered"
    else:
        label, of_what = key, "cases"
    return PracticeMeasure(key, label, source, of_what)


def practice_measures(wh: Warehouse, area_code: str) -> list[PracticeMeasure]:
    """The practice measures the area has data for, audits first, then feedback, then FGCs."""
    rows = wh.query(
        "SELECT DISTINCT source, measure FROM mart_practice_proportions WHERE area_code = ?",
        [area_code],
    )
    order = {"audit": 0, "feedback": 1, "fgc": 2}
    found = sorted(
        zip(rows["source"], rows["measure"], strict=True),
        key=lambda r: (order[r[0]], r[1] != "good_or_better", r[1].startswith("grade:"), r[1]),
    )
    return [describe(measure, source) for source, measure in found]


def framework_statements(wh: Warehouse, area_code: str) -> tuple[str, ...]:
    """The area's survey statements in their framework order (the defaults when none)."""
    rows = wh.query(
        "SELECT name FROM fct_practice_framework WHERE area_code = ? AND kind = 'statement' "
        "ORDER BY position NULLS LAST, name",
        [area_code],
    )
    return tuple(rows["name"]) or DEFAULT_STATEMENTS


def practice_series(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    unit: str = UNIT_ALL,
    respondent: str = UNIT_ALL,
) -> pd.DataFrame:
    """One measure's quarters: ``period_end, successes, trials, proportion, lower, upper``
    (Wilson 95%) and ``small_sample`` (fewer than 30 in the quarter)."""
    frame = wh.query(
        """SELECT period_end, sum(successes) AS successes, sum(trials) AS trials
           FROM mart_practice_proportions
           WHERE area_code = ? AND measure = ? AND unit = ? AND respondent = ?
           GROUP BY period_end ORDER BY period_end""",
        [area_code, measure, unit, respondent],
    )
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    ci = proportion_ci(frame["successes"].astype(float), frame["trials"].astype(float))
    frame["proportion"] = ci["proportion"].to_numpy()
    frame["lower"] = ci["lower"].to_numpy()
    frame["upper"] = ci["upper"].to_numpy()
    frame["small_sample"] = frame["trials"] < SMALL_SAMPLE
    return frame


def rollout_start(wh: Warehouse, area_code: str, unit: str) -> dt.date | None:
    """When `unit` started (the area's first wave for the whole area)."""
    if unit == UNIT_ALL:
        return marts.area_rollout_date(wh, area_code)
    return marts.unit_rollout_date(wh, area_code, unit)


def practice_chart(
    wh: Warehouse,
    area_code: str,
    measure: str,
    *,
    unit: str = UNIT_ALL,
    respondent: str = UNIT_ALL,
) -> PPrimeResult:
    """The measure's Laney p′ chart, rebased at the unit's rollout date where there is one."""
    series = practice_series(wh, area_code, measure, unit=unit, respondent=respondent)
    start = rollout_start(wh, area_code, unit)
    return pprime(
        series,
        "period_end",
        "successes",
        "trials",
        improvement="increase",
        rebase_dates=() if start is None else (start,),
    )


def _window_counts(series: pd.DataFrame, start: dt.date) -> tuple[float, float, float, float]:
    """(successes, trials) before `start`, and from a year after it."""
    ends = series["period_end"].dt.date
    after_from = (pd.Timestamp(start) + pd.DateOffset(months=BEDDING_IN_MONTHS)).date()
    before = series[ends < start]
    after = series[ends >= after_from]
    return (
        float(before["successes"].sum()),
        float(before["trials"].sum()),
        float(after["successes"].sum()),
        float(after["trials"].sum()),
    )


def _change_row(label: str, wave, start, x0: float, n0: float, x1: float, n1: float) -> dict:
    row = {"group": label, "wave": wave, "start_date": start}
    row |= {"before_successes": x0, "before_trials": n0, "after_successes": x1, "after_trials": n1}
    if n0 > 0 and n1 > 0:
        diff, lower, upper = newcombe_difference(x1, n1, x0, n0)
        row |= {"before": x0 / n0, "after": x1 / n1, "change": diff}
        row |= {"change_lower": lower, "change_upper": upper}
    else:
        row |= dict.fromkeys(("before", "after", "change", "change_lower", "change_upper"), np.nan)
    return row


def change_table(series_by_unit: Mapping[str, pd.DataFrame], rollout: pd.DataFrame) -> pd.DataFrame:
    """The change since rollout from each unit's quarterly series (pure: the calibration
    harness calls it on simulated series). `rollout` has ``unit, wave, start_date``."""
    rows, pooled = [], {}
    for _, r in rollout.sort_values(["wave", "unit"]).iterrows():
        series = series_by_unit.get(r["unit"])
        if r["unit"] == UNIT_ALL or series is None:
            continue
        counts = _window_counts(series, pd.Timestamp(r["start_date"]).date())
        rows.append(_change_row(r["unit"], int(r["wave"]), r["start_date"], *counts))
        for key in (f"Wave {int(r['wave'])}", "All units"):
            pooled[key] = np.add(pooled.get(key, np.zeros(4)), counts)
    for key, counts in sorted(pooled.items(), key=lambda kv: (kv[0] == "All units", kv[0])):
        wave = int(key.split()[1]) if key.startswith("Wave") else None
        rows.append(_change_row(key, wave, None, *counts))
    return pd.DataFrame(rows)


def change_since_rollout(
    wh: Warehouse, area_code: str, measure: str, *, respondent: str = UNIT_ALL
) -> pd.DataFrame:
    """Each unit's share before its start against from a year after it, then each wave pooled
    and every unit pooled ("All units"). Columns: ``group, wave, start_date``, the four counts,
    ``before, after, change, change_lower, change_upper`` (proportions; Newcombe 95%). A unit
    without a rollout date, or without quarters on both sides, has no change."""
    rollout = marts.rollout(wh, area_code)
    series = {
        unit: practice_series(wh, area_code, measure, unit=unit, respondent=respondent)
        for unit in rollout["unit"]
        if unit != UNIT_ALL
    }
    return change_table(series, rollout)


def pooled_latest(series: pd.DataFrame, quarters: int = LATEST_QUARTERS) -> pd.DataFrame:
    """The latest `quarters` quarters with responses (pure: the harness calls it too)."""
    series = series.dropna(subset=["trials"])
    return series[series["trials"] > 0].tail(quarters)


@dataclass(frozen=True)
class LatestFigure:
    """A practice measure pooled over the latest quarters, for the Board's tile."""

    measure: PracticeMeasure
    successes: int
    trials: int
    proportion: float
    lower: float
    upper: float
    first_quarter_end: dt.date
    last_quarter_end: dt.date
    small_sample: bool


def latest_figure(wh: Warehouse, area_code: str, measure: PracticeMeasure) -> LatestFigure | None:
    """The measure pooled over the area's latest :data:`LATEST_QUARTERS` quarters."""
    series = pooled_latest(practice_series(wh, area_code, measure.key))
    if series.empty:
        return None
    x, n = int(series["successes"].sum()), int(series["trials"].sum())
    ci = proportion_ci(x, n)
    return LatestFigure(
        measure=measure,
        successes=x,
        trials=n,
        proportion=float(ci["proportion"].iloc[0]),
        lower=float(ci["lower"].iloc[0]),
        upper=float(ci["upper"].iloc[0]),
        first_quarter_end=series["period_end"].iloc[0].date(),
        last_quarter_end=series["period_end"].iloc[-1].date(),
        small_sample=n < SMALL_SAMPLE,
    )


def working_with_families(wh: Warehouse, area_code: str) -> list[LatestFigure]:
    """The Board tile's figures: audits graded good or better, and agreement with the first
    survey statement of the framework ("I was listened to" by default), where there are data."""
    measures = {m.key: m for m in practice_measures(wh, area_code)}
    chosen = [measures[k] for k in ("good_or_better",) if k in measures]
    statements = [f"statement:{s}" for s in framework_statements(wh, area_code)]
    chosen += [measures[k] for k in statements if k in measures][:1]
    figures = [latest_figure(wh, area_code, m) for m in chosen]
    return [f for f in figures if f is not None]
