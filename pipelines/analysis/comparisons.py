"""Small multiples: localities, or age bands, side by side with rates, intervals and an index.

:func:`unit_comparison` and :func:`age_band_comparison` feed the Cohorts page's small
multiples and indexed chart, and the report's breakdowns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import marts
from pipelines.analysis.common import RATE_COLUMNS, check_measure, source_line
from pipelines.config import DEFAULT_SUPPRESSION_THRESHOLD
from pipelines.measures import AGE_BAND_ORDER, PERIOD_WORD, PERIODS_PER_YEAR, UNIT_ALL
from pipelines.present.wording import plural
from pipelines.store.warehouse import Warehouse

#: Counts from 1 to this are small numbers: the default disclosure threshold (a page applies
#: the configured one when it suppresses).
SMALL_COUNT_MAX = DEFAULT_SUPPRESSION_THRESHOLD


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
    check_measure(measure, grain)
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
    cols = ["series", "period_end", *RATE_COLUMNS, "index", "small_count", "wave", "start_date"]
    # Rows in the series' order (the contract's age-band order, or the whole area then the
    # waves), so charts and tables drawn from the frame never sort "10-15" before "5-9".
    rank = {name: number for number, name in enumerate(order)}
    frame = frame.assign(_order=frame["series"].map(rank)).sort_values(
        ["_order", "period_end"], kind="stable"
    )[cols]
    frame["series"] = frame["series"].astype(str)
    return Comparison(
        area_code=area_code,
        measure=measure,
        grain=grain,
        by=by,
        frame=frame.reset_index(drop=True),
        series_order=tuple(str(s) for s in order),
        index_base=(
            f"Index: each series' mean rate over its first "
            f"{plural(per_year, PERIOD_WORD[grain])} = 100."
        ),
        notes=notes,
        source=source_line(wh, frame),
    )


def ordered_age_bands(bands) -> list[str]:
    """Age bands in the contract's order (`AGE_BAND_ORDER`: All, Under 1, 1-4, 5-9, 10-15,
    16-17), any band the contract does not list after them by name; never sorted as text."""
    present = [str(b) for b in dict.fromkeys(bands)]
    known = [b for b in AGE_BAND_ORDER if b in present]
    return known + sorted(b for b in present if b not in AGE_BAND_ORDER)


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
