"""Localities compared by rollout wave: staggered difference-in-differences, 2x2, event time.

:func:`cohort_analysis` is what the Cohorts page's wave comparison and the board's
difference-in-differences findings read; :func:`unit_panel` is the locality x period panel
behind it (and behind the dose-response).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import marts
from pipelines.analysis.calibrated import graded_all
from pipelines.analysis.common import (
    RATE_COLUMNS,
    attempt,
    check_measure,
    measure_label,
    source_line,
)
from pipelines.measures import PERIOD_WORD, UNIT_ALL
from pipelines.present.wording import month_label
from pipelines.stats import findings as fnd
from pipelines.stats.did import (
    DiD2x2Result,
    DiDEstimate,
    StaggeredDiDResult,
    did_2x2,
    period_index,
    staggered_did,
)
from pipelines.stats.findings import Finding
from pipelines.stats.rates import rate_ci
from pipelines.store.warehouse import Warehouse

#: pandas period frequency of each grain, for integer periods (`stats.did.period_index`).
DID_FREQ = {"month": "M", "quarter": "Q", "financial_year": "Y"}
CONTROLS = ("not_yet_treated", "never_treated", "auto")


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
            ``mean_rate`` (mean of the localities' rates), ``value`` (the pooled count: the
            localities' counts summed, missing if any is), ``pooled_rate, pooled_lower,
            pooled_upper`` (``value`` over summed population with the 95% CI), ``n_units``.
            The pooled count is there so the disclosure gate can suppress a small one with
            everything made from it.
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
    check_measure(measure, grain)
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
    cols = ["unit", "period_end", "time", "cohort", "wave", "start_date", *RATE_COLUMNS]
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
    check_measure(measure, grain)
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

    did = attempt(
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
        # Supporting views: each graded by its kind's measured calibration, as on the Board.
        findings=graded_all(found),
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
        f"Wave {int(first)} (from {month_label(first_start)}) against wave {int(last)}, in the "
        f"periods before wave {int(last)} started ({month_label(last_start)})."
    )
    result = attempt(
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
        "value",
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
