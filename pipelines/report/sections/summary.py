"""Section 1, the summary for the board: the findings with their confidence, a red/amber/green
status for each measure, and the year in numbers (with breakdowns by locality and age band).

Every finding and headline comes from `pipelines.analysis` (the Board summary's functions), so
the report and the dashboard say the same thing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

import pandas as pd

from pipelines import analysis, marts, measures
from pipelines.measures import AGE_BAND_ORDER, UNIT_ALL, Measure
from pipelines.present import charts
from pipelines.present import cube as cube_gate
from pipelines.present.wording import fy_label, grade_words, is_missing, month_label
from pipelines.report.tables import Builder, Table, num
from pipelines.stats import findings as fnd

RAG_RULE = (
    "Green: the 95% confidence interval of the change since rollout lies wholly in the "
    "improving direction. Amber: the interval includes no change, so the change could be "
    "chance. Red: the interval lies wholly in the worsening direction. Grey: no interval could "
    "be calculated. For children looked after and on a plan, fewer is improving; for training "
    "coverage, more is improving."
)
RAG_SYMBOL = {"green": "▲ Green", "amber": "● Amber", "red": "▼ Red", "grey": "– Grey"}
#: Which way is better for each headline tile.
IMPROVEMENT = {"cla_rate": "decrease", "cpp_rate": "decrease", "training_coverage": "increase"}
#: The measures broken down by locality and by age band in the year's tables.
BREAKDOWN_MEASURES = ("cla_starts", "cpp_starts", "cla_at_period_end", "cpp_at_period_end")


def rag_status(
    change: float | None, lower: float | None, upper: float | None, improvement: str
) -> str:
    """Green, amber, red or grey from a change's 95% interval (`RAG_RULE`)."""
    if is_missing(lower) or is_missing(upper) or is_missing(change):
        return "grey"
    if improvement == "decrease":
        lower, upper = -upper, -lower  # a fall is the improvement: turn it into a rise
    if lower > 0:
        return "green"
    if upper < 0:
        return "red"
    return "amber"


def finding_view(f: fnd.Finding) -> dict[str, Any]:
    """A finding for the template: the grade in words and its reason without repeating it."""
    word, reason = grade_words(f.confidence, f.confidence_reason)
    return {
        "key": f.key,
        "text": f.text,
        "confidence": str(f.confidence),
        "word": word,
        "reason": reason,
        "caveats": list(f.caveats),
    }


def with_report_costs(
    findings: list[fnd.Finding], ca: analysis.CostAvoidanceAnalysis, *, costed: bool
) -> list[fnd.Finding]:
    """The Board summary's findings; given the report's own unit cost or investment
    (`costed`), its cost finding is the one valued at those."""
    if not (costed and ca.findings):
        return findings
    # board_findings values cost at the default unit cost; use the options given here.
    return [
        replace(ca.findings[0], importance=f.importance) if f.key == ca.findings[0].key else f
        for f in findings
    ]


def headline_numbers(tiles: dict[str, analysis.Headline]) -> dict[str, Any]:
    """Each headline tile's figures, JSON-safe."""
    return {
        key: {
            "label": t.label,
            "latest_period": t.latest_period.isoformat() if t.latest_period else None,
            "latest_value": num(t.latest_value),
            "latest_rate": num(t.latest_rate),
            "latest_lower": num(t.latest_lower),
            "latest_upper": num(t.latest_upper),
            "change": num(t.change_pct),
            "change_lower": num(t.change_lower),
            "change_upper": num(t.change_upper),
            "change_unit": t.change_unit,
            "confidence": t.confidence,
        }
        for key, t in tiles.items()
    }


def finding_numbers(findings: list[fnd.Finding]) -> list[dict[str, Any]]:
    """Each finding's key, text, grade, estimate and interval, JSON-safe."""
    return [
        {
            "key": f.key,
            "text": f.text,
            "confidence": f.confidence,
            "estimate": num(f.estimate),
            "ci": None if f.ci is None else [num(f.ci[0]), num(f.ci[1])],
        }
        for f in findings
    ]


def _tile_latest(t: analysis.Headline) -> str:
    if is_missing(t.latest_rate):
        return "–"
    unit = "" if t.unit_label.startswith("%") else f" {t.unit_label}"
    when = (
        f"31 March {t.latest_period.year}, published annual figure"
        if t.grain == "financial_year"
        else month_label(t.latest_period)
    )
    return f"{charts.headline_value(t.latest_rate, t.unit_label)}{unit} ({when})"


def _tile_rag_row(key: str, t: analysis.Headline) -> dict[str, str]:
    status = rag_status(t.change_pct, t.change_lower, t.change_upper, IMPROVEMENT[key])
    unit = "%" if t.change_unit == "%" else " percentage points"
    if is_missing(t.change_pct):
        change = "No change could be calculated"
    elif is_missing(t.change_lower) or is_missing(t.change_upper):
        change = f"{t.change_pct:+.1f}{unit} (no interval)"
    else:
        change = (
            f"{t.change_pct:+.1f}{unit} (95% CI {t.change_lower:+.1f} to {t.change_upper:+.1f})"
        )
    return {
        "key": key,
        "measure": t.label,
        "latest": _tile_latest(t),
        "change": change,
        "basis": t.change_basis or "–",
        "status": status,
        "label": RAG_SYMBOL[status],
        "variation": charts.variation_label(t.variation_icon),
    }


def finding_period(finding: fnd.Finding) -> str:
    """The period a difference per 10,000 is per, as the finding itself says it ("financial
    year", "quarter" or "month"), so the status table describes the same estimate the same way
    (issue 17)."""
    found = re.search(r"per 10,000 children a (financial year|quarter|month|year)", finding.text)
    return found.group(1) if found else "period"


def _did_rag_row(flow: str, finding: fnd.Finding) -> dict[str, str]:
    status = rag_status(finding.estimate, finding.ci[0], finding.ci[1], "decrease")
    return {
        "key": flow,
        "measure": measures.measure(flow).label + " (localities)",
        "latest": "–",
        "change": f"{finding.estimate:+.1f} per 10,000 a {finding_period(finding)} (95% CI "
        f"{finding.ci[0]:+.1f} to {finding.ci[1]:+.1f})",
        "basis": "Localities after rollout against localities not yet started",
        "status": status,
        "label": RAG_SYMBOL[status],
        "variation": "–",
    }


def rag_rows(
    tiles: dict[str, analysis.Headline], findings: list[fnd.Finding]
) -> list[dict[str, str]]:
    """The status table: one row per headline tile, then the localities' DiD for each flow."""
    rows = [_tile_rag_row(key, t) for key, t in tiles.items()]
    for flow in ("cla_starts", "cpp_starts"):
        finding = next((f for f in findings if f.key.startswith(f"did:{flow}")), None)
        if finding is None or finding.ci is None or finding.estimate is None:
            continue
        rows.append(_did_rag_row(flow, finding))
    return rows


def _measure_in_year(measure: Measure) -> str:
    """'Children looked after on 31 March' (a stock) or 'Children starting care (in year)'."""
    if measure.is_stock:
        return measure.label.replace(" (at period end)", "") + " on 31 March"
    return measure.label + " (in year)"


def _year_row(
    name: str, measure: Measure, this: pd.Series, prev: pd.Series | None
) -> dict[str, Any]:
    """One measure's row: the year's figure (missing unless all 12 months are loaded) and the
    year before's."""
    nan = float("nan")
    complete = bool(this["complete"])
    prev_complete = prev is not None and bool(prev["complete"])
    return {
        "measure": _measure_in_year(measure),
        "key": name,
        "value": this["value"] if complete else nan,
        "rate_per_10k": this["rate_per_10k"] if complete else nan,
        "rate_lower": this["rate_lower"] if complete else nan,
        "rate_upper": this["rate_upper"] if complete else nan,
        "previous_value": prev["value"] if prev_complete else nan,
        "previous_rate": prev["rate_per_10k"] if prev_complete else nan,
    }


def year_figures(b: Builder, year: int) -> tuple[pd.DataFrame, list[str]]:
    """Each measure's figure for the year and the year before (financial-year grain)."""
    rows = []
    warnings = []
    target = pd.Timestamp(dt.date(year, 3, 31))
    previous = pd.Timestamp(dt.date(year - 1, 3, 31))
    for name, measure in measures.MEASURES.items():
        series = marts.outcome_series(b.wh, b.area, name, grain="financial_year")
        this = series[series["period_end"] == target]
        before = series[series["period_end"] == previous]
        if this.empty or this["value"].isna().all() and this["null_reason"].isna().all():
            continue
        row = this.iloc[0]
        if not bool(row["complete"]):
            warnings.append(
                f"{measure.label}: {fy_label(year)} is not complete in the warehouse "
                f"({int(row['months_covered'])} of 12 months loaded), so its annual figure is "
                "left out."
            )
        year_row = _year_row(name, measure, row, before.iloc[0] if len(before) else None)
        # Nothing to show (no complete year either way): no decision to read (it costs a
        # flow's whole linked audit).
        shown = not (is_missing(year_row["value"]) and is_missing(year_row["previous_value"]))
        hidden = _decided_hidden(b, name) if shown else {}
        year_row["hidden"] = hidden.get((UNIT_ALL, UNIT_ALL, target), False)
        year_row["previous_hidden"] = hidden.get((UNIT_ALL, UNIT_ALL, previous), False)
        rows.append(year_row)
    return pd.DataFrame(rows), warnings


def _decided_hidden(b: Builder, measure: str) -> dict[tuple, bool]:
    """(unit, age band, year end) -> hidden, from the dashboard's one decision for the
    measure's financial years (`present.cube`): a year's figure the Trends page hides to
    protect another cell is hidden in the report too, or the two together would give it."""
    cells = cube_gate.outcome_cube(b.wh, b.area, measure, "financial_year", b.threshold).cells
    keys = zip(cells["unit"], cells["age_band"], pd.to_datetime(cells["period_end"]), strict=True)
    return dict(zip(keys, cells["hidden"].astype(bool), strict=True))


def year_figure_numbers(year_rows: pd.DataFrame) -> dict[str, Any]:
    """The year's count and rate for each measure, JSON-safe."""
    # A figure the table hides (the dashboard's one decision) is no number here either.
    return {
        r["key"]: {
            "count": None if r.get("hidden") else num(r["value"]),
            "rate_per_10k": None if r.get("hidden") else num(r["rate_per_10k"]),
        }
        for r in year_rows.to_dict("records")
    }


def year_table(b: Builder, year_rows: pd.DataFrame, area_name: str) -> Table:
    """'The year in numbers': each measure this year and last, with rates and intervals."""
    year = b.year
    last_count, last_rate = f"count_{fy_label(year - 1)}", f"rate_{fy_label(year - 1)}"
    columns = ["measure", "value", "rate_per_10k", "rate_lower", "rate_upper"]
    frame = year_rows[[*columns, "previous_value", "previous_rate"]].rename(
        columns={"value": "count", "previous_value": last_count, "previous_rate": last_rate}
    )
    seed = {
        "count": _flags(year_rows, "hidden"),
        last_count: _flags(year_rows, "previous_hidden"),
    }
    return b.table(
        frame,
        "year-in-numbers",
        f"{area_name}: the year {fy_label(year)} in numbers (rates per 10,000 children aged 0-17)",
        count_columns=["count", last_count],
        derived={"count": ("rate_per_10k", "rate_lower", "rate_upper"), last_count: (last_rate,)},
        appendix=False,
        seed=seed,
    )


def _flags(frame: pd.DataFrame, column: str):
    """A boolean column of `frame` as an array (all False when it is not there)."""
    if column not in frame:
        return pd.Series(False, index=frame.index).to_numpy()
    return frame[column].fillna(False).astype(bool).to_numpy()


def _breakdown_frame(b: Builder, by: str) -> pd.DataFrame:
    """The year's count and rate of each breakdown measure by `by`, the total ('All') first."""
    rows = []
    year_end = pd.Timestamp(dt.date(b.year, 3, 31))
    for name in BREAKDOWN_MEASURES:
        panel = marts.outcome_panel(b.wh, b.area, name, by=by, grain="financial_year")
        panel = panel[panel["period_end"] == year_end]
        hidden = _decided_hidden(b, name)
        for r in panel.itertuples():
            unit, band = (r.series, UNIT_ALL) if by == "unit" else (UNIT_ALL, r.series)
            rows.append(
                {
                    "measure": measures.measure(name).label,
                    by: r.series,
                    "value": r.value,
                    "rate_per_10k": r.rate_per_10k,
                    "hidden": hidden.get((str(unit), str(band), year_end), False),
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    if by == "age_band":
        order = {band: i for i, band in enumerate(AGE_BAND_ORDER)}
        position = lambda s: s.map(order)  # noqa: E731
    else:
        position = lambda s: s.map(lambda v: (v != UNIT_ALL, v))  # noqa: E731
    return frame.sort_values(
        ["measure", by], key=lambda s: position(s) if s.name == by else s, kind="stable"
    )


def year_breakdowns(b: Builder) -> list[Table]:
    """The year by locality and by age band, each total beside its parts (in the appendix)."""
    tables = []
    for by, what in (("unit", "locality"), ("age_band", "age band")):
        frame = _breakdown_frame(b, by)
        if frame.empty:
            continue
        seed = {"value": _flags(frame, "hidden")}
        frame = frame.drop(columns="hidden")
        tables.append(
            b.table(
                frame,
                f"year-by-{by}",
                f"{fy_label(b.year)} by {what}: counts and rates per 10,000 (total 'All' "
                "beside its parts)",
                count_columns=["value"],
                derived={"value": ("rate_per_10k",)},
                totals={by: ["measure"]},
                seed=seed,
            )
        )
    return tables
