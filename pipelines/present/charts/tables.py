"""The table beside every chart and every download: disclosure control, then safe CSV.

Thin wrappers over `pipelines.disclosure`, so the dashboard's tables and downloads, the report
and the CLI follow one set of rules (DfE's "Statistics: guidance on suppression"; OWASP's
guidance on CSV injection). Nothing here suppresses or escapes on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from pipelines import config, disclosure

SUPPRESSED = disclosure.SUPPRESSED


def disclosure_control(
    frame: pd.DataFrame,
    count_cols: Iterable[str],
    derived: dict[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    totals: dict[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Counts from 1 to `threshold` become "c"; columns derived from them are "c" too.

    `derived` maps a count column to the columns computed from it (its rate and CI). Zero is
    not suppressed. `totals` turns on secondary suppression (see `pipelines.disclosure`).
    Returns a copy; the input is not changed.
    """
    return disclosure.suppress(
        frame, count_cols, derived=derived, threshold=threshold, totals=totals
    )


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with an apostrophe.

    Negative numbers stay numbers: only strings are escaped.
    """
    return disclosure.escape_frame(frame)


iso_dates = disclosure.iso_dates


def csv_bytes(
    frame: pd.DataFrame,
    count_cols: Iterable[str] = (),
    derived: dict[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    totals: dict[str, Sequence[str]] | None = None,
) -> bytes:
    """A download-safe CSV: disclosure control, then formula escaping, UTF-8 with BOM for Excel."""
    safe = disclosure_control(frame, count_cols, derived, threshold, totals)
    return disclosure.to_safe_csv(iso_dates(safe))


def gate(
    frame: pd.DataFrame,
    count_cols: Iterable[str] = (),
    derived: dict[str, Iterable[str]] | None = None,
    threshold: int | None = None,
    totals: dict[str, Sequence[str]] | None = None,
    **options,
) -> disclosure.Gated:
    """`pipelines.disclosure.gate`: the frame for tables and downloads, and for charts."""
    return disclosure.gate(
        frame, count_cols, derived=derived, threshold=threshold, totals=totals, **options
    )


# -- the gate as each view applies it (the dashboard's pages and tests call these) -------------

#: A rate table's count and the columns made from it.
RATE_DERIVED = {"value": ("rate_per_10k", "rate_lower", "rate_upper")}
#: A comparison's count and the columns made from it (its rate, interval and index).
COMPARISON_DERIVED = {"value": (*RATE_DERIVED["value"], "index")}
#: A comparison's "All" series is the sum of its parts (localities, or age bands) in each
#: period, so secondary suppression protects it.
COMPARISON_TOTALS = {"series": ["period_end"]}


def gate_series(series: pd.DataFrame, threshold: int | None = None) -> disclosure.Gated:
    """One outcome series (`period_end, value, population, rate_per_10k, ...`)."""
    return gate(series, ["value"], RATE_DERIVED, threshold)


def suppressed_periods(series: pd.DataFrame, threshold: int | None = None) -> list:
    """The periods of a series whose count the gate suppresses."""
    return disclosure.suppressed_keys(gate_series(series, threshold), series, "period_end", "value")


def gate_before_after(periods: pd.DataFrame, threshold: int | None = None) -> disclosure.Gated:
    """A before/after comparison's periods (`date, count, population, rate, side`).

    Each side's pooled rate (on the chart) times the side's population is the side's total
    count, so each side is a total of its periods: secondary suppression protects it.
    """
    rows = {}
    if {"side", "count"} <= set(periods.columns) and len(periods):
        sides = periods.groupby("side", as_index=False, sort=False)["count"].sum(min_count=1)
        combined = pd.concat(
            [periods.assign(_part="period"), sides.assign(_part="All")], ignore_index=True
        )
        masks = disclosure.suppression_masks(
            combined, ["count"], threshold=threshold, totals={"_part": ["side"]}
        )
        mask = masks["count"][: len(periods)]
        rows = {"count": mask, "rate": mask}
    return gate(periods, ["count"], {"count": ("rate",)}, threshold, rows=rows)


def gate_its(fitted: pd.DataFrame, threshold: int | None = None) -> disclosure.Gated:
    """An interrupted time series' `fitted` table: the observed count and its rate."""
    return gate(fitted, ["observed"], {"observed": ("observed_rate",)}, threshold)


def gate_spc(
    points: pd.DataFrame, series: pd.DataFrame, threshold: int | None = None
) -> disclosure.Gated:
    """An XmR chart's points (rates, no counts): a period whose count the series suppresses has
    its rate suppressed too."""
    dates = suppressed_periods(series, threshold)
    return gate(
        points, threshold=threshold, rows={"value": disclosure.rows_matching(points["date"], dates)}
    )


def before_after_withheld(periods: pd.DataFrame, threshold: int | None = None) -> bool:
    """True when a viewer must not see the before/after comparison at all.

    A side's average rate, with its population, gives the side's total count. When that total
    is itself 1 to the threshold, or the counts hidden on a side still add up to one each after
    secondary suppression (every period on the side is hidden), the averages, their interval
    and the rate ratio give those counts away, whatever the table hides.
    """
    threshold = config.suppression_threshold() if threshold is None else threshold
    if not {"side", "count"} <= set(periods.columns) or periods.empty:
        return False
    gated = gate_before_after(periods, threshold)
    hidden = gated.masks.get("count", np.zeros(len(periods), bool))
    counts = pd.to_numeric(periods["count"], errors="coerce").to_numpy(dtype=float)
    for side in periods["side"].unique():
        on_side = (periods["side"] == side).to_numpy()
        total = np.nansum(counts[on_side])
        if 1 <= total <= threshold:
            return True
        left = total - np.nansum(counts[on_side & ~hidden])
        if (on_side & hidden).any() and np.isclose(left, (on_side & hidden).sum()):
            return True
    return False


def gate_comparison(frame: pd.DataFrame, threshold: int | None = None) -> disclosure.Gated:
    """A comparison's long frame (localities or age bands with their "All"), totals protected.

    Gate the whole frame, then filter the result (`Gated.take`): a part filtered out before the
    gate would leave the others recoverable from the total.
    """
    return gate(frame, ["value"], COMPARISON_DERIVED, threshold, COMPARISON_TOTALS)


def gate_event_time(waves: pd.DataFrame, threshold: int | None = None) -> disclosure.Gated:
    """The event-time table (pooled rates and exact intervals, no counts): every row whose
    interval implies a count of 1 to the threshold is suppressed, with its rates."""
    rows = disclosure.implied_rows(
        waves, "pooled_lower", "pooled_upper", ("pooled_rate", "mean_rate"), threshold
    )
    return gate(waves, threshold=threshold, rows=rows)
