"""The table beside every chart and every download: disclosure control, then safe CSV.

Thin wrappers over `pipelines.disclosure`, so the dashboard's tables and downloads, the report
and the CLI follow one set of rules (DfE's "Statistics: guidance on suppression"; OWASP's
guidance on CSV injection). Nothing here suppresses or escapes on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import config, disclosure
from pipelines.stats.errors import StatsInputError
from pipelines.stats.spc import XmrResult, xmr

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


def gate_series(
    series: pd.DataFrame, threshold: int | None = None, hidden: Iterable = ()
) -> disclosure.Gated:
    """One outcome series (`period_end, value, population, rate_per_10k, ...`).

    `hidden` are periods hidden elsewhere (by the secondary suppression of a breakdown this
    series is a part of: :func:`breakdown_hidden`); they are hidden here too.
    """
    rows = _hidden_rows(series, "period_end", hidden, ("value", *RATE_DERIVED["value"]))
    return gate(series, ["value"], RATE_DERIVED, threshold, rows=rows)


def suppressed_periods(
    series: pd.DataFrame, threshold: int | None = None, hidden: Iterable = ()
) -> list:
    """The periods of a series whose count the gate suppresses (with `hidden`, as above)."""
    gated = gate_series(series, threshold, hidden)
    return disclosure.suppressed_keys(gated, series, "period_end", "value")


def _hidden_rows(frame: pd.DataFrame, key: str, hidden: Iterable, columns) -> dict:
    """`rows` for the gate: `columns` hidden in the rows whose `key` is among `hidden`."""
    hidden = list(hidden)
    if not hidden or key not in frame:
        return {}
    mask = disclosure.rows_matching(frame[key], hidden)
    return {c: mask for c in columns}


def breakdown_hidden(breakdown: pd.DataFrame, name: str, threshold: int | None = None) -> list:
    """The periods in which series `name` of a `breakdown` (a comparison's long frame: each
    part and its "All") is hidden by :func:`gate_comparison`, secondary suppression included.

    A series shown on its own (Trends, for one locality) is a part of a total shown on its own
    too (the whole area): the cells the breakdown hides to protect its parts must be hidden in
    every view of them, or the parts shown one by one undo the protection.
    """
    if breakdown is None or breakdown.empty or name not in set(breakdown["series"]):
        return []
    gated = gate_comparison(breakdown, threshold)
    rows = (breakdown["series"] == name).to_numpy() & gated.masks["value"]
    return breakdown.loc[rows, "period_end"].tolist()


def gate_before_after(
    periods: pd.DataFrame, threshold: int | None = None, hidden: Iterable = ()
) -> disclosure.Gated:
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
            combined,
            ["count"],
            threshold=threshold,
            totals={"_part": ["side"]},
            seed=_hidden_rows(combined, "date", hidden, ("count",)),
        )
        mask = masks["count"][: len(periods)]
        rows = {"count": mask, "rate": mask}
    return gate(periods, ["count"], {"count": ("rate",)}, threshold, rows=rows)


def gate_its(
    fitted: pd.DataFrame, threshold: int | None = None, hidden: Iterable = ()
) -> disclosure.Gated:
    """An interrupted time series' `fitted` table: the observed count and its rate (and the
    periods `hidden` elsewhere)."""
    rows = _hidden_rows(fitted, "date", hidden, ("observed", "observed_rate"))
    return gate(fitted, ["observed"], {"observed": ("observed_rate",)}, threshold, rows=rows)


#: What an XmR chart works out from its values: each is hidden wherever the values it rests on
#: are (the mean and limits of a segment rest on every value in it).
SPC_DERIVED = (
    "mean",
    "upl",
    "lpl",
    "near_upl",
    "near_lpl",
    "moving_range",
    "moving_range_screened",
    "outside_limits",
    "trend",
    "shift",
    "two_of_three",
    "special_cause",
    "point_type",
    "signal",
)


#: Said where the mean, limits and signals of a segment with a suppressed period are not shown.
PARTS_WITHHELD = (
    "In each part of the chart with a suppressed period, the mean, limits and special-cause "
    "signals are not shown: they rest on every period's rate, the suppressed ones too."
)


@dataclass(frozen=True)
class GatedSpc(disclosure.Gated):
    """An XmR chart after the gate (a :class:`~pipelines.disclosure.Gated`), with the chart the
    viewer is shown.

    Fields (beyond `Gated`'s):
        result: the XmR chart over the periods shown, with its icons (its limits and rules
            rest on no suppressed period), or None when it could not be worked out again.
        withheld: why the mean, limits and signals are not shown where a period is hidden, as
            sentences; "" when they are worked out over the periods shown.
        n_hidden: how many periods were left out because their count is suppressed.
    """

    result: XmrResult | None = None
    withheld: str = ""
    n_hidden: int = 0

    @property
    def variation_icon(self) -> str | None:
        """The chart's variation icon, from the periods shown (None when not worked out)."""
        return None if self.result is None else self.result.variation_icon

    @property
    def assurance_icon(self) -> str | None:
        """The chart's assurance icon, from the periods shown (None when not worked out)."""
        return None if self.result is None else self.result.assurance_icon

    @property
    def caption(self) -> str:
        """What a viewer is told about the suppressed periods (empty when there are none)."""
        if self.withheld:
            return self.withheld
        if not self.n_hidden:
            return ""
        return (
            f"{self.n_hidden} period(s) with a suppressed count are gaps, and the mean and "
            "limits are worked out from the periods shown only, so nothing on the chart rests "
            "on a suppressed count."
        )


def gate_spc(
    spc, series: pd.DataFrame, threshold: int | None = None, hidden: Iterable = ()
) -> GatedSpc:
    """An XmR chart (`XmrResult`, or its `points`) whose series has suppressed periods.

    The points hold rates, and the mean and limits of a segment are worked out from every rate
    in it: with one period hidden, the mean times the segment's length less the rates shown
    is the hidden rate, and times its population the hidden count. So the chart is worked out
    again over the periods shown only, with the same rules, rebase dates and target (the
    stats layer's `xmr`); where that is not possible (too few periods left) it is withheld.
    Given only `points`, every segment holding a hidden period has its mean, limits and
    signals suppressed. `hidden` are periods hidden elsewhere (:func:`breakdown_hidden`).
    """
    result = spc if isinstance(spc, XmrResult) else None
    points = spc.points if result is not None else spc
    periods = suppressed_periods(series, threshold, hidden)
    hidden = disclosure.rows_matching(points["date"], periods)
    n_hidden = int(hidden.sum())
    withheld = PARTS_WITHHELD if n_hidden and result is None else ""
    if n_hidden and result is not None:
        result, withheld = _xmr_over_shown(result, hidden)
        if result is not None:
            points = result.points
            hidden = disclosure.rows_matching(points["date"], periods)
    derived = np.zeros(len(points), bool)
    if n_hidden and (result is None):
        segments = points["segment"] if "segment" in points else pd.Series(0, points.index)
        derived = segments.isin(segments[hidden]).to_numpy()
    rows = {"value": hidden, **{c: derived for c in SPC_DERIVED}}
    gated = gate(points, threshold=threshold, rows=rows)
    return GatedSpc(
        table=gated.table,
        plot=gated.plot,
        masks=gated.masks,
        result=result,
        withheld=withheld,
        n_hidden=n_hidden,
    )


def _xmr_over_shown(spc: XmrResult, hidden: np.ndarray) -> tuple[XmrResult | None, str]:
    """`spc` worked out again with the `hidden` periods' values left out, or None and why not."""
    shown = spc.points.assign(value=spc.points["value"].where(~hidden))
    starts = shown[shown["segment"] > 0].groupby("segment")["date"].min().tolist()
    try:
        again = xmr(
            shown,
            "date",
            "value",
            improvement=spc.improvement,
            rebase_dates=starts,
            target=spc.target,
            screen_outliers=spc.screen_outliers,
        )
    except StatsInputError as exc:
        reason = str(exc)
        return None, f"{PARTS_WITHHELD} With the suppressed periods left out: {reason}"
    return again, ""


def before_after_withheld(
    periods: pd.DataFrame, threshold: int | None = None, hidden: Iterable = ()
) -> bool:
    """True when a viewer must not see the before/after comparison at all.

    A side's average rate, with its population, gives the side's total count. When that total
    is itself 1 to the threshold, or the counts hidden on a side still add up to one each after
    secondary suppression (every period on the side is hidden), the averages, their interval
    and the rate ratio give those counts away, whatever the table hides.
    """
    threshold = config.suppression_threshold() if threshold is None else threshold
    if not {"side", "count"} <= set(periods.columns) or periods.empty:
        return False
    gated = gate_before_after(periods, threshold, hidden)
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


#: The event-time table's pooled count and what is made from it (the mean of the localities'
#: rates is made from the same counts).
EVENT_TIME_DERIVED = {"value": ("pooled_rate", "pooled_lower", "pooled_upper", "mean_rate")}


def gate_event_time(waves: pd.DataFrame, threshold: int | None = None) -> disclosure.Gated:
    """The event-time table (pooled counts, rates and exact intervals): a pooled count of 1 to
    the threshold is suppressed with its rates, and so is every row whose interval implies one
    (for a table without its counts)."""
    rows = disclosure.implied_rows(
        waves, "pooled_lower", "pooled_upper", ("pooled_rate", "mean_rate"), threshold
    )
    return gate(waves, ["value"], EVENT_TIME_DERIVED, threshold, rows=rows)


#: A training table's counts (staff, not children, but gated the same way) and what is made
#: from them: the share trained and its interval rest on both.
TRAINING_COUNTS = ("staff_trained", "staff_in_scope")
TRAINING_DERIVED = {c: ("coverage", "coverage_lower", "coverage_upper") for c in TRAINING_COUNTS}
#: The label of the rows for all staff in scope beside the groups (units, agencies, courses).
TRAINING_TOTAL = "All staff in scope"


def gate_training(
    coverage: pd.DataFrame,
    overall: pd.DataFrame | None = None,
    group: str | None = None,
    threshold: int | None = None,
) -> disclosure.Gated:
    """Training coverage by `group`, with the `overall` figures as its total rows.

    The page shows the overall staff trained and in scope beside each group's, so the overall
    rows (labelled :data:`TRAINING_TOTAL`) are gated with the groups: a group hidden alone
    would be the overall figure less the groups shown, so secondary suppression hides the
    next smallest as well. Without a group, `coverage` is gated on its own.
    """
    if not group or overall is None:
        return gate(coverage, TRAINING_COUNTS, TRAINING_DERIVED, threshold)
    combined = pd.concat(
        [coverage, overall.assign(**{group: TRAINING_TOTAL})], ignore_index=True
    ).sort_values(["period_end", group], key=_total_last(group), kind="stable")
    return gate(
        combined.reset_index(drop=True),
        TRAINING_COUNTS,
        TRAINING_DERIVED,
        threshold,
        {group: ["period_end"]},
        total_label=TRAINING_TOTAL,
    )


def _total_last(group: str):
    """A sort key that puts the total rows after the groups of their period."""

    def key(column: pd.Series) -> pd.Series:
        return column == TRAINING_TOTAL if column.name == group else column

    return key


def as_shown(value, spec: str) -> str:
    """A gated cell as a viewer reads it: "c" where suppressed, else `value` formatted."""
    return SUPPRESSED if value == SUPPRESSED else format(value, spec)


def trend_findings(trend, threshold: int | None = None, hidden: Iterable = ()) -> list:
    """The findings of a `TrendAnalysis` that a viewer may read ("In brief"), gated.

    A finding states numbers made from the counts behind it, so it follows its chart through
    the gate: the before/after finding (each side's average and the rate ratio) is left out
    where :func:`before_after_withheld` withholds the comparison, and the SPC finding is the
    one of the chart worked out over the periods shown (:func:`gate_spc`), or left out where
    that chart could not be worked out. The other findings rest on a fitted model, not on any
    one period's count. `hidden` are periods hidden elsewhere (:func:`breakdown_hidden`).
    """
    from pipelines.analysis.calibrated import graded_all
    from pipelines.analysis.common import measure_label
    from pipelines.stats import findings as fnd

    shown = []
    for finding in trend.findings:
        kind = finding.key.split(":", 1)[0]
        if kind == "before_after" and trend.before_after is not None:
            if before_after_withheld(trend.before_after.periods, threshold, hidden):
                continue
        elif kind == "spc" and trend.spc is not None:
            spc = gate_spc(trend.spc, trend.series, threshold, hidden)
            if spc.result is None:
                continue
            if spc.result is not trend.spc:
                subject = fnd.Subject(
                    label=measure_label(trend.measure),
                    place=finding.key.split(":", 2)[2],  # the key is "spc:<measure>:<place>"
                    measure=trend.measure,
                )
                again = fnd.from_spc(spc.result, subject, importance=finding.importance)
                finding = graded_all([again])[0]
        shown.append(finding)
    return shown


@dataclass(frozen=True)
class TrendGates:
    """What the Trends page shows of one `TrendAnalysis`, every part through the gate.

    Fields:
        hidden: the periods hidden because a breakdown the series is a part of hides them.
        series: the series (chart, table, download).
        before_after: its periods, or None when the comparison did not run.
        before_after_withheld: True when its averages would give a hidden count away (the page
            says so instead of drawing it).
        its: the fitted table, or None.
        spc: the XmR chart over the periods shown (:class:`GatedSpc`), or None.
        findings: the findings a viewer may read (:func:`trend_findings`).
        its_withheld: True when the model must not be shown at all: a period it was fitted
            on is hidden, and the fit would give it back (`pipelines.present.cube`).
    """

    hidden: tuple
    series: disclosure.Gated
    before_after: disclosure.Gated | None
    before_after_withheld: bool
    its: disclosure.Gated | None
    spc: GatedSpc | None
    findings: list
    its_withheld: bool = False


def gate_trend(
    trend, breakdowns: Iterable[tuple[pd.DataFrame, str]] = (), threshold: int | None = None
) -> TrendGates:
    """Every view of a `TrendAnalysis` through the gate, with the same periods hidden in all.

    `breakdowns` are (comparison frame, name of this series in it) pairs: the localities
    beside the whole area at the series' age band, and the age bands beside all ages in its
    unit. A locality shown alone is a part of the whole area shown alone, so the periods those
    comparisons hide to protect their parts (:func:`breakdown_hidden`) are hidden in the
    series, the before/after periods, the ITS table, the SPC chart and the findings too.
    """
    hidden = tuple(
        dict.fromkeys(
            period
            for frame, name in breakdowns
            for period in breakdown_hidden(frame, name, threshold)
        )
    )
    ba = trend.before_after
    return TrendGates(
        hidden=hidden,
        series=gate_series(trend.series, threshold, hidden),
        before_after=None if ba is None else gate_before_after(ba.periods, threshold, hidden),
        before_after_withheld=ba is not None
        and before_after_withheld(ba.periods, threshold, hidden),
        its=None if trend.its is None else gate_its(trend.its.fitted, threshold, hidden),
        spc=None if trend.spc is None else gate_spc(trend.spc, trend.series, threshold, hidden),
        findings=trend_findings(trend, threshold, hidden),
    )
