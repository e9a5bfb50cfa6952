"""Build the annual effectiveness report for one financial year.

Every number comes from `pipelines.analysis` (statistics), `pipelines.marts` (reads) and
`pipelines.load.dfe` (benchmarks): the report computes nothing the dashboard could not show. Every
table goes through `pipelines.disclosure.suppress` (counts 1 to 4 become "c", rates made from
them too, secondary suppression where a total sits beside its parts), and every CSV link
through `pipelines.disclosure.to_safe_csv` (formula cells escaped).

Reproducible: the same warehouse and options give the same bytes. Nothing random is used;
chart element ids are derived from the chart's name; the only thing that changes between runs
is the "date produced", which `produced=` overrides (tests fix it).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly
import plotly.graph_objects as go
from markupsafe import Markup

from pipelines import __version__, analysis, config, disclosure, marts
from pipelines.contracts import UNIT_ALL
from pipelines.load import dfe
from pipelines.present import charts
from pipelines.report import pdf as pdf_engine
from pipelines.stats import findings as fnd
from pipelines.store.warehouse import Warehouse, open_warehouse

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Chart width in the PDF (CSS pixels): A4 less 15 mm margins is 180 mm, about 680 px.
STATIC_WIDTH = 680

#: The Government Security Classification marking for aggregated, suppressed statistics.
#: Aggregate counts with small numbers suppressed identify no child, so the baseline tier
#: OFFICIAL applies (not OFFICIAL-SENSITIVE, which is for information whose loss would harm
#: someone); the descriptor says why and how to handle the report.
MARKING = "OFFICIAL"
MARKING_DESCRIPTOR = (
    "OFFICIAL – aggregated statistics with small numbers suppressed. Contains no information "
    "about any individual child. Share within the partnership; check with the data owner "
    "before publishing."
)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "1. Summary for the board"),
    ("cla", "2. Children looked after"),
    ("cpp", "3. Child protection plans"),
    ("training", "4. Training in Restorative Practice"),
    ("value", "5. Value for money"),
    ("methods", "6. Methods and data quality"),
    ("appendix", "7. Appendix: data tables"),
)

RAG_RULE = (
    "Green: the 95% confidence interval of the change since rollout lies wholly in the "
    "improving direction. Amber: the interval includes no change, so the change could be "
    "chance. Red: the interval lies wholly in the worsening direction. Grey: no interval could "
    "be calculated. For children looked after and on a plan, fewer is improving; for training "
    "coverage, more is improving."
)
RAG_SYMBOL = {"green": "▲ Green", "amber": "● Amber", "red": "▼ Red", "grey": "– Grey"}

CONFIDENCE_WORDS = {
    "high": "High confidence",
    "moderate": "Moderate confidence",
    "low": "Low confidence",
}

#: Column labels for tables (anything not here is humanised).
LABELS = {
    "period_end": "Period ending",
    "date": "Period ending",
    "value": "Count",
    "count": "Count",
    "population": "Children aged 0-17",
    "population_year": "Population year (mid-year)",
    "rate_per_10k": "Rate per 10,000",
    "rate_lower": "95% CI lower",
    "rate_upper": "95% CI upper",
    "rate": "Rate per 10,000",
    "side": "Before or after",
    "observed": "Observed count",
    "fitted": "Model fit (count)",
    "counterfactual": "Expected without RP (count)",
    "counterfactual_lower": "Expected: 95% lower",
    "counterfactual_upper": "Expected: 95% upper",
    "observed_rate": "Observed rate",
    "fitted_rate": "Model fit (rate)",
    "counterfactual_rate": "Expected without RP (rate)",
    "counterfactual_lower_rate": "Expected rate: 95% lower",
    "counterfactual_upper_rate": "Expected rate: 95% upper",
    "mean": "Centre line",
    "upl": "Upper limit",
    "lpl": "Lower limit",
    "point_type": "Point",
    "wave": "Wave",
    "periods_since_rollout": "Quarters since rollout",
    "pooled_rate": "Rate per 10,000 (wave)",
    "pooled_lower": "95% CI lower",
    "pooled_upper": "95% CI upper",
    "pooled_count": "Count",
    "n_units": "Localities",
    "relative_period": "Quarters since rollout",
    "att": "Difference (rate per 10,000)",
    "ci_lower": "95% CI lower",
    "ci_upper": "95% CI upper",
    "std_error": "Standard error",
    "p_value": "p-value",
    "time_period": "Year ending 31 March",
    "council_value": "Council: count",
    "council_rate": "Council: rate",
    "england_value": "England: count",
    "england_rate": "England: rate",
    "region_value": "Region: count",
    "region_rate": "Region: rate",
    "sn_median": "Neighbours: median",
    "sn_min": "Neighbours: lowest",
    "sn_max": "Neighbours: highest",
    "sn_n": "Neighbours with a figure",
    "unit": "Locality",
    "staff_in_scope": "Staff in scope",
    "staff_trained": "Staff trained",
    "coverage": "Coverage (%)",
    "coverage_lower": "95% CI lower (%)",
    "coverage_upper": "95% CI upper (%)",
    "rate_before": "Rate before",
    "rate_after": "Rate after",
    "change": "Change in rate",
    "relative_change": "Change (%)",
    "n_before": "Quarters before",
    "n_after": "Quarters after",
    "measure": "Measure",
    "age_band": "Age band",
    "sha256": "SHA-256",
    "upload_id": "Upload",
    "file_name": "File",
    "uploaded_at": "Uploaded at",
    "months": "Months",
}


#: Columns shown to 2 decimal places (differences and their intervals); others get 1.
TWO_DECIMALS = frozenset({"att", "ci_lower", "ci_upper", "std_error"})
#: Whole numbers that are labels (years, waves, ids), shown without a thousands separator.
PLAIN_INTEGERS = frozenset(
    {
        "population_year",
        "time_period",
        "wave",
        "upload_id",
        "periods_since_rollout",
        "relative_period",
        "n_units",
        "sn_n",
        "n_before",
        "n_after",
    }
)


class ReportError(ValueError):
    """The report cannot be built for these options (the message says why and what to do)."""


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` made.

    path: the file written. format: "html" or "pdf". pages: the PDF's page count (None for
    HTML). seconds: the time taken. numbers: the headline values the report shows (JSON-safe:
    findings with their estimates and intervals, headline tiles, RAG ratings, the year's
    figures, cost avoidance, suppression and upload counts). warnings: plain-English notes
    about the build (incomplete year, missing comparators, methods that could not run).
    """

    path: Path
    format: str
    pages: int | None
    seconds: float
    numbers: dict[str, Any]
    warnings: tuple[str, ...] = ()


# -- formatting --------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any, digits: int = 1) -> float | None:
    """A JSON-safe float (None for missing)."""
    if _missing(value):
        return None
    number = float(value)
    return None if not math.isfinite(number) else round(number, 10) if digits is None else number


def fmt_date(value: Any) -> str:
    if _missing(value):
        return "–"
    stamp = pd.Timestamp(value)
    return f"{stamp.day} {stamp:%B %Y}"


def fmt_month(value: Any) -> str:
    return "–" if _missing(value) else f"{pd.Timestamp(value):%b %Y}"


def fy_label(year: int) -> str:
    return f"{year - 1}-{year % 100:02d}"


def _cell(value: Any, column: str, count_columns: Iterable[str]) -> str:
    if isinstance(value, str):
        return value.replace("_", " ") if column == "point_type" else value
    if _missing(value):
        return "–"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if column in PLAIN_INTEGERS and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int) or (isinstance(value, float) and column in count_columns):
        return f"{value:,.0f}"
    if isinstance(value, float):
        if column in ("p_value",):
            return f"{value:.3f}"
        if column in TWO_DECIMALS:
            return f"{value:,.2f}"
        if float(value).is_integer() and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.1f}"
    return str(value)


def _label(column: str) -> str:
    return LABELS.get(column, column.replace("_", " ").capitalize())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "item"


# -- building blocks ---------------------------------------------------------------------------


@dataclass
class Table:
    id: str
    number: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    csv_href: str
    csv_name: str
    n_suppressed: int
    note: str = ""
    numeric: list[bool] = field(default_factory=list)
    count_columns: list[int] = field(default_factory=list)


@dataclass
class Chart:
    id: str
    number: int
    title: str
    caption: str
    html: Markup
    table: Table | None = None


@dataclass
class Block:
    """A sub-section: heading, paragraphs, charts, inline tables, bullet lists."""

    id: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self, wh: Warehouse, area_code: str, year: int, static: bool) -> None:
        self.wh = wh
        self.area = area_code
        self.year = year
        self.static = static
        self.threshold = config.suppression_threshold()
        self.appendix: list[Table] = []
        self.chart_count = 0
        self.suppressed = 0
        self.warnings: list[str] = []

    # tables
    def table(
        self,
        frame: pd.DataFrame,
        key: str,
        caption: str,
        *,
        count_columns: Sequence[str] = (),
        derived: Mapping[str, Iterable[str]] | None = None,
        totals: Mapping[str, Sequence[str]] | None = None,
        appendix: bool = True,
        note: str = "",
        percent_columns: Sequence[str] = (),
    ) -> Table:
        data = frame.reset_index(drop=True).copy()
        for column in percent_columns:
            if column in data:
                data[column] = pd.to_numeric(data[column], errors="coerce") * 100
        for column in data.columns:
            if pd.api.types.is_datetime64_any_dtype(data[column]):
                data[column] = data[column].dt.strftime("%Y-%m-%d")
        counts = [c for c in count_columns if c in data.columns]
        safe = disclosure.suppress(
            data, counts, derived=derived, threshold=self.threshold, totals=totals
        )
        suppressed = int(
            sum(
                (
                    (safe[c].astype(object) == disclosure.SUPPRESSED)
                    & (data[c].astype(object) != disclosure.SUPPRESSED)
                ).sum()
                for c in safe.columns
            )
        )
        self.suppressed += suppressed
        number = f"A{len(self.appendix) + 1}" if appendix else ""
        table_id = f"table-{_slug(key)}"
        csv = disclosure.to_safe_csv(safe)
        columns = list(safe.columns)
        rows = [
            [_cell(value, column, counts) for value, column in zip(row, columns, strict=True)]
            for row in safe.itertuples(index=False)
        ]
        numeric = [
            pd.api.types.is_numeric_dtype(data[c]) and not pd.api.types.is_bool_dtype(data[c])
            for c in columns
        ]
        notes = [note] if note else []
        if suppressed:
            notes.append(
                f"c: suppressed ({suppressed} cell{'s' if suppressed != 1 else ''}): counts of 1 "
                f"to {self.threshold} children, rates made from them, and where needed the next "
                "smallest part of a total."
            )
        table = Table(
            id=table_id,
            number=number,
            caption=caption,
            columns=[_label(c) for c in columns],
            rows=rows,
            csv_href="data:text/csv;base64," + base64.b64encode(csv).decode("ascii"),
            csv_name=f"{_slug(key)}.csv",
            n_suppressed=suppressed,
            note=" ".join(notes),
            numeric=numeric,
            count_columns=[columns.index(c) for c in counts],
        )
        if appendix:
            self.appendix.append(table)
        return table

    # charts
    def chart(
        self,
        fig: go.Figure,
        key: str,
        title: str,
        caption: str,
        data: pd.DataFrame | None = None,
        table_caption: str = "",
        static_height: int | None = None,
        **table_options,
    ) -> Chart:
        self.chart_count += 1
        chart_id = f"chart-{_slug(key)}"
        fig = go.Figure(fig)
        height = int(fig.layout.height or 460)
        # keep a wrapped title inside the figure (anchored at its top with some padding)
        fig.update_layout(title_y=1, title_yanchor="top", title_pad_t=14)
        if self.static:
            # Two charts to an A4 page: shorter than on screen, fixed to the text width.
            height = static_height or max(330, height - 110)
            fig.update_layout(width=STATIC_WIDTH, height=height)
            config_ = {"staticPlot": True, "displayModeBar": False}
        else:
            config_ = {"displaylogo": False, "responsive": True}
        html = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"plot-{_slug(key)}",
            config=config_,
            default_width=f"{STATIC_WIDTH}px" if self.static else "100%",
            default_height=f"{height}px",
        )
        table = None
        if data is not None:
            table = self.table(
                data,
                key,
                table_caption or f"Data behind figure {self.chart_count}: {title}",
                **table_options,
            )
        return Chart(chart_id, self.chart_count, title.rstrip(". "), caption, Markup(html), table)


# -- inputs ------------------------------------------------------------------------------------


def _year_window(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def _check_options(wh: Warehouse, area_code: str, year: int, fmt: str) -> str:
    if fmt not in ("html", "pdf"):
        raise ReportError(f"Unknown report format '{fmt}'. Use 'html' or 'pdf'.")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ReportError(
            f"The year must be the end year of a financial year, such as 2026 for 2025-26 "
            f"(got {year!r})."
        )
    areas = marts.areas(wh)
    if area_code not in set(areas["area_code"]):
        known = ", ".join(
            f"{c} ({n})" for c, n in zip(areas.area_code, areas.area_name, strict=True)
        )
        raise ReportError(
            f"The area '{area_code}' has no outcome data in the warehouse. "
            + (f"Areas with data: {known}." if known else "Load outcome extracts first.")
        )
    first, last = marts.period_bounds(wh, area_code)
    start, end = _year_window(year)
    if first is None or last is None or last < start or first > end:
        span = f"{fmt_month(first)} to {fmt_month(last)}" if first and last else "none"
        first_year = (first.year + (1 if first.month > 3 else 0)) if first else None
        last_year = (last.year + (1 if last.month > 3 else 0)) if last else None
        raise ReportError(
            f"There are no outcome figures for {marts.area_name(wh, area_code)} in "
            f"{fy_label(year)} (1 April {year - 1} to 31 March {year}). Periods loaded: {span}."
            + (
                f" Choose a year from {first_year} to {last_year}."
                if first_year and last_year
                else ""
            )
        )
    return marts.area_name(wh, area_code)


def financial_year_of(value: Any) -> int:
    """The financial year (by its end year) that a date falls in: 2025-05-31 -> 2026."""
    stamp = pd.Timestamp(value)
    return stamp.year + 1 if stamp.month >= 4 else stamp.year


def available_years(wh: Warehouse, area_code: str) -> list[int]:
    """Financial years (end years, oldest first) with outcome figures for an area."""
    first, last = marts.period_bounds(wh, area_code)
    if first is None or last is None:
        return []
    return list(range(financial_year_of(first), financial_year_of(last) + 1))


def default_year(wh: Warehouse, area_code: str) -> int | None:
    """The latest financial year whose last month (March) is loaded, else the latest year."""
    first, last = marts.period_bounds(wh, area_code)
    if last is None:
        return None
    year = financial_year_of(last)
    return year if (last.month == 3 or year - 1 < financial_year_of(first)) else year - 1


def default_partnership_name(wh: Warehouse, area_code: str) -> str:
    return f"{marts.area_name(wh, area_code)} Safeguarding Children Partnership"


def _year_figures(b: _Builder, year: int) -> tuple[pd.DataFrame, list[str]]:
    """Each measure's figure for the year and the year before (financial-year grain)."""
    rows = []
    warnings = []
    target = pd.Timestamp(dt.date(year, 3, 31))
    previous = pd.Timestamp(dt.date(year - 1, 3, 31))
    for name, measure in marts.MEASURES.items():
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
        prev = before.iloc[0] if len(before) else None
        rows.append(
            {
                "measure": (
                    measure.label.replace(" (at period end)", "") + " on 31 March"
                    if measure.is_stock
                    else measure.label + " (in year)"
                ),
                "key": name,
                "value": row["value"] if bool(row["complete"]) else float("nan"),
                "rate_per_10k": row["rate_per_10k"] if bool(row["complete"]) else float("nan"),
                "rate_lower": row["rate_lower"] if bool(row["complete"]) else float("nan"),
                "rate_upper": row["rate_upper"] if bool(row["complete"]) else float("nan"),
                "previous_value": (
                    prev["value"] if prev is not None and bool(prev["complete"]) else float("nan")
                ),
                "previous_rate": (
                    prev["rate_per_10k"]
                    if prev is not None and bool(prev["complete"])
                    else float("nan")
                ),
            }
        )
    return pd.DataFrame(rows), warnings


def _rag(change: float | None, lower: float | None, upper: float | None, improvement: str) -> str:
    if _missing(lower) or _missing(upper) or _missing(change):
        return "grey"
    if improvement == "decrease":
        if upper < 0:
            return "green"
        if lower > 0:
            return "red"
        return "amber"
    if lower > 0:
        return "green"
    if upper < 0:
        return "red"
    return "amber"


def _finding_view(f: fnd.Finding) -> dict[str, Any]:
    """A finding for the template: the grade in words and its reason without repeating it."""
    word = CONFIDENCE_WORDS.get(str(f.confidence), str(f.confidence).capitalize())
    reason = f.confidence_reason or ""
    if reason.lower().startswith(word.lower()):
        reason = reason[len(word) :].lstrip(" :.")
        reason = reason[:1].upper() + reason[1:]
    return {
        "key": f.key,
        "text": f.text,
        "confidence": str(f.confidence),
        "word": word,
        "reason": reason,
        "caveats": list(f.caveats),
    }


def _upload_source_is_sample(wh: Warehouse) -> bool:
    frame = wh.query(
        "SELECT DISTINCT source FROM raw_uploads WHERE outcome = 'loaded' AND dataset = 'outcomes'"
    )
    sources = set(frame["source"].dropna().astype(str))
    return bool(sources) and sources <= {"sample"}


def _last_period(frame: pd.DataFrame, column: str = "period_end") -> str:
    return fmt_month(frame[column].max()) if len(frame) else "–"


# -- sections ----------------------------------------------------------------------------------


def _highlight_year(fig: go.Figure, year: int) -> go.Figure:
    start, end = _year_window(year)
    fig.add_vrect(
        x0=pd.Timestamp(start),
        x1=pd.Timestamp(end),
        fillcolor="#28A197",
        opacity=0.12,
        line_width=0,
        layer="below",
        annotation_text=f"{fy_label(year)}",
        annotation_position="bottom left",
        annotation_font={"size": 11, "color": "#1D6F69"},
        name="report-year",
    )
    return fig


def _benchmark_chart(
    frame: pd.DataFrame, *, title: str, source: str, area_name: str, rollout: dt.date | None
) -> go.Figure:
    data = frame.copy()
    data["period_end"] = pd.to_datetime(data["time_period"].astype(str) + "-03-31")
    data["rate_per_10k"] = data["council_rate"]
    fig = charts.time_series(
        data,
        title=title,
        source=source,
        rollout_date=rollout,
        lower_col=None,
        upper_col=None,
        series_name=area_name,
        y_title="Rate per 10,000 children (31 March)",
    )
    fig.update_xaxes(title_text="Year ending 31 March")
    if data["sn_min"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=list(data["period_end"]) + list(data["period_end"][::-1]),
                y=list(data["sn_max"]) + list(data["sn_min"][::-1]),
                fill="toself",
                fillcolor="rgba(162,133,209,0.18)",
                line={"width": 0},
                hoverinfo="skip",
                name="Statistical neighbours: lowest to highest",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=data["period_end"],
                y=data["sn_median"],
                mode="lines+markers",
                name="Statistical neighbours: median",
                line={"color": charts.PLUM, "dash": "dot", "width": 2},
                marker={"symbol": "square", "size": 6},
            )
        )
    for column, name, color, dash, symbol in (
        ("england_rate", "England", charts.DARK_GREY, "dash", "diamond"),
        (
            "region_rate",
            str(data["region_name"].dropna().iloc[0])
            if data["region_name"].notna().any()
            else "Region",
            charts.ORANGE,
            "dashdot",
            "triangle-up",
        ),
    ):
        if data[column].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=data["period_end"],
                    y=data[column],
                    mode="lines+markers",
                    name=name,
                    line={"color": color, "dash": dash, "width": 2},
                    marker={"symbol": symbol, "size": 6},
                )
            )
    return fig


def _rank_sentence(rank: pd.DataFrame, area_name: str, year: int, label: str) -> str:
    parts = []
    for row in rank.itertuples():
        if _missing(row.rank):
            continue
        scope = (
            "councils with a published figure"
            if row.scope == "all councils"
            else "in its statistical neighbour group (itself and its neighbours)"
        )
        parts.append(f"{_ordinal(int(row.rank))} lowest of {int(row.n)} {scope}")
    if not parts:
        return f"No published {label} figure for {area_name} in {fy_label(year)} to rank."
    return (
        f"In the year to 31 March {year}, {area_name}'s {label} rate was the "
        + " and the ".join(parts)
        + " (rank 1 = the lowest rate)."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _outcome_section(
    b: _Builder,
    section_id: str,
    heading: str,
    stock: str,
    flow: str,
    dfe_measure: str,
    year_rows: pd.DataFrame,
    has_dfe: bool,
    area_name: str,
) -> tuple[list[Block], dict[str, Any]]:
    numbers: dict[str, Any] = {}
    m = marts.measure(stock)
    fm = marts.measure(flow)
    trend = analysis.trend_analysis(b.wh, b.area, stock, hac=True)
    cohort = analysis.cohort_analysis(b.wh, b.area, flow)
    blocks: list[Block] = []
    short = m.short
    rate_cols = {"value": ("rate_per_10k", "rate_lower", "rate_upper")}
    series = trend.series
    for method, reason in trend.notes.items():
        b.warnings.append(f"{heading}: {method.replace('_', ' ')} did not run: {reason}")

    # in brief
    intro = Block(f"{section_id}-brief", "In brief")
    year_row = year_rows[year_rows["key"] == stock] if len(year_rows) else pd.DataFrame()
    if len(year_row) and not _missing(year_row.iloc[0]["rate_per_10k"]):
        r = year_row.iloc[0]
        line = (
            f"On 31 March {b.year}, {area_name} had {r['rate_per_10k']:.1f} {m.label.lower()} "
            "per 10,000 children"
        )
        if not _missing(r["previous_rate"]):
            line += f" ({r['previous_rate']:.1f} a year earlier)"
        intro.paragraphs.append(line + ".")
        numbers[f"{stock}_rate_{b.year}"] = _num(r["rate_per_10k"])
    intro.bullets = [f.text for f in (*trend.findings, *cohort.findings)]
    intro.bullets += list(dict.fromkeys(trend.caveats))
    blocks.append(intro)

    # 1. trend
    block = Block(f"{section_id}-trend", "Over time")
    if series["rate_per_10k"].notna().any():
        latest = series.dropna(subset=["rate_per_10k"]).iloc[-1]
        title = (
            f"{m.label}: {latest['rate_per_10k']:.1f} per 10,000 children in the quarter to "
            f"{fmt_month(latest['period_end'])}"
        )
        fig = charts.time_series(
            series,
            title=title,
            source=trend.source,
            rollout_date=trend.rollout_date,
            y_title="Rate per 10,000 children",
        )
        _highlight_year(fig, b.year)
        block.charts.append(
            b.chart(
                fig,
                f"{section_id}-trend",
                title,
                f"Quarterly rate of {m.label.lower()} per 10,000 children aged 0-17 with its 95% "
                f"confidence interval (shaded). The dashed line marks the first rollout "
                f"({fmt_month(trend.rollout_date)}); the green band is {fy_label(b.year)}.",
                series[
                    [
                        "period_end",
                        "value",
                        "population",
                        "population_year",
                        "rate_per_10k",
                        "rate_lower",
                        "rate_upper",
                    ]
                ],
                f"{m.label}, {area_name}, quarterly",
                count_columns=["value"],
                derived=rate_cols,
            )
        )
    else:
        block.paragraphs.append(f"No complete quarters of {m.label.lower()} are loaded.")
    blocks.append(block)

    # 2. before and after
    block = Block(f"{section_id}-before-after", "Before and after the rollout")
    ba = trend.before_after
    if ba is None:
        block.paragraphs.append(
            "The before/after comparison could not run: "
            + trend.notes.get("before_after", "not enough data.")
        )
    else:
        fig, title = charts.before_after_figure(
            ba, source=trend.source, rollout_date=trend.rollout_date, period_word="quarters"
        )
        block.charts.append(
            b.chart(
                fig,
                f"{section_id}-before-after",
                title,
                f"Each point is one quarter. The thick lines are the average rate in the "
                f"{ba.n_before} quarters before and the {ba.n_after} quarters after rollout, "
                "with their 95% confidence intervals (shaded).",
                ba.periods,
                f"{m.label}: quarters either side of rollout",
                count_columns=["count"],
                derived={"count": ("rate",)},
            )
        )
        numbers[f"{stock}_before_after_rate_ratio"] = _num(ba.rate_ratio)
    blocks.append(block)

    # 3. ITS
    block = Block(f"{section_id}-its", "Compared with the trend before rollout")
    its = trend.its
    if its is None:
        block.paragraphs.append(
            "The interrupted time series could not run: "
            + trend.notes.get("its", "not enough data.")
        )
    else:
        rel = fnd.its_relative_effect(its)
        if rel is not None:
            # observed / counterfactual over the post period, as a change: 0.88 is 12% lower
            est, lo, hi = (x - 1 for x in rel)
            word = "lower" if est < 0 else "higher"
            title = (
                f"Since rollout the rate has been {abs(est) * 100:.0f}% {word} than the "
                f"pre-rollout trend projected (95% CI {lo * 100:+.0f}% to {hi * 100:+.0f}%)"
            )
            numbers[f"{stock}_its_relative"] = [_num(est), _num(lo), _num(hi)]
        else:
            title = f"{m.label}: observed against the pre-rollout trend"
        fig = charts.its_chart(
            its.fitted, title=title, source=trend.source, rollout_date=its.intervention_date
        )
        table = its.fitted[
            [
                c
                for c in (
                    "date",
                    "observed",
                    "observed_rate",
                    "fitted_rate",
                    "counterfactual_rate",
                    "counterfactual_lower_rate",
                    "counterfactual_upper_rate",
                )
                if c in its.fitted
            ]
        ]
        block.charts.append(
            b.chart(
                fig,
                f"{section_id}-its",
                title,
                "Interrupted time series: the blue line is the model fitted to every quarter; the "
                "dashed orange line projects the trend before rollout forward (what the model "
                "expects without Restorative Practice) with its 95% interval.",
                table,
                f"{m.label}: interrupted time series (rates per 10,000)",
                count_columns=["observed"],
                derived={"observed": ("observed_rate",)},
            )
        )
    blocks.append(block)

    # 4. SPC
    block = Block(f"{section_id}-spc", "Statistical process control (SPC)")
    spc = trend.spc
    if spc is None:
        block.paragraphs.append(
            "The SPC chart could not run: " + trend.notes.get("spc", "not enough data.")
        )
    else:
        title = f"{charts.variation_label(spc.variation_icon)[2:]}: {m.label.lower()}"
        fig = charts.spc_chart(
            spc.points,
            title=title,
            source=trend.source,
            rollout_date=trend.rollout_date,
            variation_icon=spc.variation_icon,
            assurance_icon=spc.assurance_icon,
            target=spc.target,
        )
        cols = [c for c in ("date", "value", "mean", "lpl", "upl", "point_type") if c in spc.points]
        block.charts.append(
            b.chart(
                fig,
                f"{section_id}-spc",
                title,
                "XmR chart in the NHS Making Data Count style: points outside the limits, runs "
                "of 7 and other special-cause rules are marked (I improvement, C concern). "
                "Limits are recalculated from rollout.",
                spc.points[cols].rename(columns={"value": "rate_per_10k"}),
                f"{m.label}: SPC chart points and limits",
            )
        )
    blocks.append(block)

    # 5. cohort comparison by wave
    block = Block(f"{section_id}-cohorts", f"Localities by rollout wave: {fm.label.lower()}")
    waves = cohort.wave_means
    if waves.empty:
        block.paragraphs.append(
            "The comparison by wave could not run: no locality has a rollout date in the data."
        )
    else:
        title = f"{fm.label} by quarters since each wave's rollout"
        fig = charts.event_time_chart(
            waves,
            title=title,
            source=cohort.source,
            x_col="periods_since_rollout",
            value_col="pooled_rate",
            lower_col="pooled_lower",
            upper_col="pooled_upper",
            x_title="Quarters since the wave's rollout (0 = the first quarter from the start)",
        )
        block.charts.append(
            b.chart(
                fig,
                f"{section_id}-event-time",
                title,
                "Each line is one wave's localities added together, lined up on their own start "
                "(0); shaded bands are 95% confidence intervals.",
                waves[
                    [
                        "wave",
                        "periods_since_rollout",
                        "pooled_rate",
                        "pooled_lower",
                        "pooled_upper",
                        "n_units",
                    ]
                ],
                f"{fm.label}: rate by wave and quarters since rollout",
            )
        )
    if cohort.did is None or cohort.dynamic.empty:
        block.paragraphs.append(
            "The difference-in-differences could not run: "
            + cohort.notes.get("did", "not enough localities or periods.")
        )
    else:
        att = cohort.simple_att
        title = (
            f"After rollout, {fm.label.lower()} changed by {att.estimate:+.1f} per 10,000 a "
            f"quarter against localities not yet started (95% CI {att.ci_lower:+.1f} to "
            f"{att.ci_upper:+.1f})"
        )
        numbers[f"{flow}_did_att"] = [_num(att.estimate), _num(att.ci_lower), _num(att.ci_upper)]
        fig = charts.event_study_chart(
            cohort.dynamic,
            title=title,
            source=cohort.source,
            x_title="Quarters since rollout",
            y_title="Difference per 10,000",
        )
        cols = [
            c
            for c in ("relative_period", "att", "ci_lower", "ci_upper", "p_value")
            if c in cohort.dynamic
        ]
        block.charts.append(
            b.chart(
                fig,
                f"{section_id}-did",
                title,
                cohort.control_note
                + " Points before 0 should sit near zero if the comparison is fair.",
                cohort.dynamic[cols],
                f"{fm.label}: staggered difference-in-differences by quarters since rollout",
            )
        )
    blocks.append(block)

    # 6. benchmarks
    block = Block(f"{section_id}-benchmarks", "Against England, the region and neighbours")
    if not has_dfe:
        block.paragraphs.append(
            "No DfE published statistics are loaded, so there is no comparison with England, "
            "the region or statistical neighbours. Import them with `rp-impact import-dfe`."
        )
    else:
        bench = dfe.benchmark_series(b.wh, b.area, dfe_measure)
        bench = bench[bench["time_period"] <= b.year]
        if bench.empty or bench["council_rate"].isna().all():
            block.paragraphs.append(
                f"The imported DfE files have no {short} figures for {area_name}."
            )
        else:
            rank = dfe.rank_among(b.wh, b.area, dfe_measure, b.year)
            block.paragraphs.append(_rank_sentence(rank, area_name, b.year, short))
            last = bench.dropna(subset=["council_rate"]).iloc[-1]
            title = (
                f"{short} rate on 31 March {int(last['time_period'])}: {area_name} "
                f"{last['council_rate']:.0f} per 10,000, England {last['england_rate']:.0f}, "
                f"neighbours' median {last['sn_median']:.0f}"
                if not _missing(last["england_rate"]) and not _missing(last["sn_median"])
                else f"{short} rate on 31 March: {area_name} against comparators"
            )
            releases = sorted({str(r) for r in bench["release"].dropna()})
            source = "Source: DfE published statistics" + (
                f" (release {', '.join(releases)})" if releases else ""
            )
            fig = _benchmark_chart(
                bench,
                title=title,
                source=source,
                area_name=area_name,
                rollout=trend.rollout_date,
            )
            cols = [
                "time_period",
                "council_value",
                "council_rate",
                "england_rate",
                "region_rate",
                "sn_median",
                "sn_min",
                "sn_max",
                "sn_n",
            ]
            block.charts.append(
                b.chart(
                    fig,
                    f"{section_id}-benchmarks",
                    title,
                    "Published DfE rates per 10,000 children on 31 March. The shaded band runs "
                    "from the lowest to the highest of the statistical neighbours.",
                    bench[cols],
                    f"{short}: {area_name} against England, region and statistical neighbours",
                    count_columns=["council_value"],
                    derived={"council_value": ("council_rate",)},
                )
            )
            numbers[f"{stock}_benchmark_{int(last['time_period'])}"] = {
                "council": _num(last["council_rate"]),
                "england": _num(last["england_rate"]),
                "neighbours_median": _num(last["sn_median"]),
            }
    blocks.append(block)
    return blocks, numbers


def _training_section(
    b: _Builder, tile: analysis.Headline, area_name: str
) -> tuple[list[Block], dict[str, Any]]:
    numbers: dict[str, Any] = {}
    blocks: list[Block] = []
    intro = Block("training-brief", "In brief")
    intro.paragraphs.append(tile.finding)
    intro.paragraphs.append(
        "Training starts with the rollout, so there is no 'before' to compare and no "
        "interrupted time series for coverage; DfE publishes no training figures, so there is no "
        "benchmark. The dose-response check below asks instead whether localities that trained "
        "more staff saw a bigger change."
    )
    intro.bullets = list(tile.caveats)
    blocks.append(intro)

    rollout = marts.area_rollout_date(b.wh, b.area)
    by_unit = marts.training_coverage(b.wh, b.area, by=("unit",))
    block = Block("training-trend", "Coverage over time, by locality and wave")
    if by_unit.empty:
        block.paragraphs.append("No training extracts are loaded.")
    else:
        waves = marts.units(b.wh, b.area).set_index("unit")["wave"]
        by_unit = by_unit.copy()
        by_unit["wave"] = by_unit["unit"].map(waves)
        by_unit["locality"] = [
            f"{u} (wave {int(w)})" if not _missing(w) else str(u)
            for u, w in zip(by_unit["unit"], by_unit["wave"], strict=True)
        ]
        by_unit = by_unit.sort_values(["wave", "unit", "period_end"])
        title = (
            f"{tile.latest_rate:.0f}% of staff in scope trained by "
            f"{fmt_date(tile.latest_period)}, against a target of 80%"
        )
        source = charts.source_line("training extracts", marts.last_upload_time(b.wh))
        fig = charts.training_coverage_chart(
            by_unit, title=title, source=source, group_col="locality", rollout_date=rollout
        )
        _highlight_year(fig, b.year)
        block.charts.append(
            b.chart(
                fig,
                "training-coverage",
                title,
                "Cumulative share of staff in scope who have completed Restorative Practice "
                "training, by locality (wave in brackets), with Wilson 95% intervals. The 80% "
                "target line is illustrative.",
                by_unit[
                    [
                        "period_end",
                        "unit",
                        "wave",
                        "staff_in_scope",
                        "staff_trained",
                        "coverage",
                        "coverage_lower",
                        "coverage_upper",
                    ]
                ],
                "Training coverage by locality, quarterly",
                count_columns=["staff_trained", "staff_in_scope"],
                derived={"staff_trained": ("coverage", "coverage_lower", "coverage_upper")},
                percent_columns=["coverage", "coverage_lower", "coverage_upper"],
            )
        )
    blocks.append(block)

    block = Block("training-spc", "Statistical process control (SPC)")
    if tile.spc is None:
        block.paragraphs.append(
            "The SPC chart could not run: " + tile.notes.get("spc", "not enough data.")
        )
    else:
        points = tile.spc.points.copy()
        for column in ("value", "mean", "upl", "lpl", "near_upl", "near_lpl"):
            if column in points:
                points[column] = points[column] * 100
        title = f"{charts.variation_label(tile.spc.variation_icon)[2:]}: training coverage"
        fig = charts.spc_chart(
            points,
            title=title,
            source=tile.source,
            rollout_date=None,
            variation_icon=tile.spc.variation_icon,
            assurance_icon=tile.spc.assurance_icon,
            y_title="Staff trained (%)",
        )
        cols = [c for c in ("date", "value", "mean", "lpl", "upl", "point_type") if c in points]
        block.charts.append(
            b.chart(
                fig,
                "training-spc",
                title,
                "XmR chart of the share of all staff in scope who are trained (higher is better).",
                points[cols].rename(columns={"value": "coverage"}),
                "Training coverage (%): SPC chart points and limits",
            )
        )
    blocks.append(block)

    block = Block("training-dose", "Did localities that trained more staff see a bigger change?")
    for measure in ("cpp_starts", "cla_starts"):
        dose = analysis.dose_response_analysis(b.wh, b.area, measure)
        label = marts.measure(measure).label
        if dose.result is None:
            block.paragraphs.append(
                f"{label}: the dose-response check could not run: "
                + dose.notes.get("dose_response", "not enough localities.")
            )
            continue
        res = dose.result
        numbers[f"dose_response_{measure}"] = [
            _num(res.rho),
            _num(res.ci_lower),
            _num(res.ci_upper),
        ]
        points = res.points.assign(change=res.points["change"] * 100)
        fig = charts.dose_response_chart(
            points,
            rho=res.rho,
            ci_lower=res.ci_lower,
            ci_upper=res.ci_upper,
            source=dose.source,
            question=f"Training and {marts.measure(measure).short}:",
            y_title=f"Change in {marts.measure(measure).short} rate (%)",
        )
        title = dose.findings[0].text if dose.findings else label
        table = dose.table[
            [
                c
                for c in (
                    "unit",
                    "coverage",
                    "rate_before",
                    "rate_after",
                    "change",
                    "relative_change",
                    "n_before",
                    "n_after",
                )
                if c in dose.table
            ]
        ]
        block.charts.append(
            b.chart(
                fig,
                f"dose-{measure}",
                title,
                f"Each point is a locality: its training coverage against the change in its rate "
                f"in the {dose.window} quarters after its rollout compared with before. With "
                f"{res.n} localities this is a hint, not proof.",
                table,
                f"{label}: training coverage and change by locality",
                static_height=440,
                percent_columns=["coverage", "relative_change"],
            )
        )
    blocks.append(block)
    return blocks, numbers


def _value_section(
    b: _Builder, ca: analysis.CostAvoidanceAnalysis
) -> tuple[list[Block], dict[str, Any]]:
    numbers: dict[str, Any] = {}
    block = Block("value-cost", "Cost avoidance against investment")
    res = ca.result
    if res is None:
        reason = "; ".join(ca.notes.values()) or "not enough data."
        block.paragraphs.append(f"Cost avoidance could not be estimated: {reason}")
        return [block], numbers
    for f in ca.findings:
        block.paragraphs.append(f.text)
    money = lambda v: "–" if _missing(v) else f"£{v:,.0f}"  # noqa: E731
    years = lambda v: "–" if _missing(v) else f"{v:,.0f}"  # noqa: E731

    def interval(lo, hi, f):
        return "–" if _missing(lo) or _missing(hi) else f"{f(lo)} to {f(hi)}"

    rows = [
        (
            "Child-years looked after expected without the programme",
            years(res.counterfactual_child_years),
            "",
        ),
        ("Child-years looked after observed", years(res.actual_child_years), ""),
        (
            "Child-years avoided",
            years(res.child_years_avoided),
            interval(res.child_years_avoided_lower, res.child_years_avoided_upper, years),
        ),
        ("Unit cost per child-year", money(res.unit_cost_per_child_year), res.unit_cost_source),
        (
            "Gross cost avoided",
            money(res.gross_avoidance),
            interval(res.gross_avoidance_lower, res.gross_avoidance_upper, money),
        ),
        (
            "Investment in the programme",
            money(res.investment) if res.investment else "Not given",
            "",
        ),
        (
            "Net cost avoided (gross minus investment)",
            money(res.net_avoidance),
            interval(res.net_avoidance_lower, res.net_avoidance_upper, money),
        ),
        (
            "Return per £1 invested",
            "–" if _missing(res.return_ratio) else f"£{res.return_ratio:,.2f}",
            interval(res.return_ratio_lower, res.return_ratio_upper, lambda v: f"£{v:,.2f}"),
        ),
    ]
    frame = pd.DataFrame(rows, columns=["item", "estimate", "range_or_source"])
    frame.columns = ["item", "estimate", "95% interval or source"]
    block.tables.append(
        b.table(
            frame,
            "value-for-money",
            f"Value for money since {fmt_month(ca.since)} (estimate, with its 95% interval)",
            appendix=False,
        )
    )
    block.bullets = list(dict.fromkeys((*res.assumptions, *res.warnings)))
    if ca.its is not None:
        fitted = ca.its.fitted
        title = (
            f"An estimated {res.child_years_avoided:,.0f} fewer child-years in care than the "
            f"pre-rollout trend projected (95% CI {years(res.child_years_avoided_lower)} to "
            f"{years(res.child_years_avoided_upper)})"
        )
        fig = charts.its_chart(
            fitted,
            title=title,
            source=ca.source,
            rollout_date=ca.its.intervention_date,
            rate=False,
        )
        block.charts.append(
            b.chart(
                fig,
                "value-counterfactual",
                title,
                f"Children looked after at each {ca.grain} end: observed (circles) against the "
                "projection of the pre-rollout trend (dashed) that the cost estimate uses.",
                fitted[
                    [
                        c
                        for c in (
                            "date",
                            "observed",
                            "counterfactual",
                            "counterfactual_lower",
                            "counterfactual_upper",
                        )
                        if c in fitted
                    ]
                ],
                f"Children looked after: observed and projected counts ({ca.grain}ly)",
                count_columns=["observed"],
            )
        )
    numbers["cost"] = {
        "child_years_avoided": _num(res.child_years_avoided),
        "child_years_avoided_ci": [
            _num(res.child_years_avoided_lower),
            _num(res.child_years_avoided_upper),
        ],
        "unit_cost": _num(res.unit_cost_per_child_year),
        "gross_avoidance": _num(res.gross_avoidance),
        "investment": _num(res.investment),
        "net_avoidance": _num(res.net_avoidance),
        "return_ratio": _num(res.return_ratio),
    }
    return [block], numbers


METHODS = (
    (
        "Rates per 10,000 children",
        "Counts are divided by the number of children aged 0 to 17 living in the area (the "
        "latest ONS-style mid-year estimate at or before the period; the year to 31 March uses "
        "the previous mid-year, as DfE does) and multiplied by 10,000. The 95% confidence "
        "interval is the exact Poisson interval for counts under 10 and Byar's method otherwise "
        "(as PHEindicatormethods).",
    ),
    (
        "Before and after",
        "The rate in the quarters after the first rollout is compared with the same number of "
        "quarters before it, with a Poisson rate-ratio test. For children counted at every "
        "period end (looked after, on a plan) the same children appear in many quarters, so "
        "this interval is too narrow; the interrupted time series is preferred.",
    ),
    (
        "Interrupted time series",
        "A segmented quasi-Poisson regression of the quarterly counts with the child population "
        "as exposure, a seasonal term and Newey-West errors that allow for correlation between "
        "neighbouring quarters (Lopez Bernal, Cummins and Gasparrini, 2017). It estimates the "
        "trend before rollout, projects it forward (the counterfactual), and compares what "
        "happened with that projection.",
    ),
    (
        "Statistical process control",
        "XmR charts with the NHS Making Data Count rules: a point outside the limits, a run of "
        "7 points on one side of the mean or rising or falling, or 2 of 3 points near a limit. "
        "Limits are recalculated from rollout.",
    ),
    (
        "Localities by rollout wave",
        "Localities started in waves, so those not yet started act as a comparison for those "
        "that had (staggered difference-in-differences, Callaway and Sant'Anna 2021). Points "
        "before rollout check that the localities were moving in parallel before it.",
    ),
    (
        "Benchmarks",
        "DfE published figures for the council, England, the region and its statistical "
        "neighbours (DfE's children's services statistical neighbour benchmarking tool), year "
        "ending 31 March. Rates are as published where DfE gives them.",
    ),
    (
        "Dose-response",
        "Spearman's rank correlation between each locality's training coverage and the change "
        "in its rate after rollout, with a Fisher-z 95% interval.",
    ),
    (
        "Cost avoidance",
        "Child-years in care avoided are the difference between the interrupted time series "
        "projection and the observed number of children looked after, multiplied by a unit "
        "cost. It is an estimate of costs avoided, not a saving in a budget.",
    ),
    (
        "Confidence in each finding",
        fnd.CONFIDENCE_RULE
        + " Findings describe association, not cause: other things changed at the same time, "
        "so they cannot show that Restorative Practice alone made the difference.",
    ),
    (
        "Disclosure control",
        "Counts of 1 to {threshold} children are shown as 'c', and so are rates made from them. "
        "Where a total sits beside its parts, the next smallest part is suppressed as well so "
        "that a suppressed figure cannot be worked out by subtraction. Zero is shown.",
    ),
)


def _methods_section(
    b: _Builder, area_name: str, year: int
) -> tuple[list[Block], dict[str, Any], list[dict[str, Any]]]:
    numbers: dict[str, Any] = {}
    blocks: list[Block] = []
    block = Block("methods-methods", "Methods in plain English")
    block.bullets = [
        Markup("<strong>{}.</strong> {}").format(name, text.format(threshold=b.threshold))
        for name, text in METHODS
    ]
    blocks.append(block)

    coverage = marts.coverage_summary(b.wh)
    coverage = coverage[coverage["area_code"] == b.area].drop(columns=["area_code"])
    coverage["first_period"] = coverage["first_period"].map(fmt_month)
    coverage["last_period"] = coverage["last_period"].map(fmt_month)
    coverage = coverage.rename(columns={"periods": "months"})
    coverage["measure"] = coverage["measure"].map(
        lambda n: marts.MEASURES[n].label if n in marts.MEASURES else n
    )
    source_suppressed = int(coverage["suppressed"].sum()) if len(coverage) else 0
    block = Block("methods-coverage", "Data coverage")
    first, last = marts.period_bounds(b.wh, b.area)
    block.paragraphs.append(
        f"Outcome extracts for {area_name} cover {fmt_month(first)} to {fmt_month(last)}. The "
        f"statistics use every complete quarter loaded, so they include quarters after "
        f"31 March {year} where these are loaded; the year's own figures are in the summary."
        if last and pd.Timestamp(last) > pd.Timestamp(dt.date(year, 3, 31))
        else f"Outcome extracts for {area_name} cover {fmt_month(first)} to {fmt_month(last)}."
    )
    block.tables.append(
        b.table(
            coverage,
            "data-coverage",
            "Data coverage by measure (monthly cells in the outcome extracts)",
            appendix=False,
        )
    )
    blocks.append(block)

    block = Block("methods-suppression", "Suppressed figures")
    block.paragraphs.append(
        f"{source_suppressed:,} cells in the outcome extracts were supplied as suppressed or "
        f"missing with a reason (stored as missing, never as zero). In this report, "
        f"{b.suppressed:,} table cells are shown as 'c' by disclosure control (threshold: counts "
        f"of 1 to {b.threshold})."
    )
    blocks.append(block)
    numbers["suppressed_cells_source"] = source_suppressed

    block = Block("methods-revisions", "Revisions since the last report")
    revisions = marts.revisions(b.wh, limit=100_000)
    last_report_end = pd.Timestamp(dt.date(year - 1, 3, 31))
    if len(revisions):
        period = pd.to_datetime(
            revisions["row_key"].str.split(" | ", regex=False).str[0], errors="coerce"
        )
        earlier = revisions[(period <= last_report_end).fillna(False)]
    else:
        earlier = revisions
    if revisions.empty:
        block.paragraphs.append(
            "No figure in the warehouse has been revised: every period was loaded once."
        )
    else:
        by_dataset = revisions.groupby("dataset").size()
        block.paragraphs.append(
            f"{len(revisions):,} rows have been revised by a later upload ("
            + ", ".join(f"{n:,} {d}" for d, n in by_dataset.items())
            + f"). {len(earlier):,} of them are for periods up to 31 March {year - 1}, which the "
            "previous annual report would have covered: its figures for those periods may "
            "differ from this report's."
        )
        table = revisions[["dataset", "row_key", "old_file", "new_file", "superseded_at"]].head(200)
        blocks_table = b.table(table, "revisions", "Revised rows (latest 200)")
        block.paragraphs.append(f"The revised rows are listed in table {blocks_table.number}.")
    blocks.append(block)
    numbers["revisions"] = len(revisions)

    block = Block("methods-uploads", "Upload audit")
    uploads = marts.uploads(b.wh, limit=100_000).sort_values("upload_id")
    loaded = uploads[uploads["outcome"] == "loaded"]
    summary = (
        uploads.groupby(["dataset", "outcome"], as_index=False)
        .agg(
            uploads=("upload_id", "count"),
            rows=("n_rows", "sum"),
            first=("uploaded_at", "min"),
            last=("uploaded_at", "max"),
        )
        .sort_values(["dataset", "outcome"])
    )
    summary["first"] = pd.to_datetime(summary["first"]).dt.strftime("%Y-%m-%d %H:%M")
    summary["last"] = pd.to_datetime(summary["last"]).dt.strftime("%Y-%m-%d %H:%M")
    block.paragraphs.append(
        f"{len(uploads):,} uploads are recorded in the audit log, {len(loaded):,} of them loaded. "
        "The SHA-256 fingerprint of every loaded file is listed in the appendix, so anyone can "
        "check that the files behind this report are the ones they hold."
    )
    block.tables.append(
        b.table(summary, "upload-summary", "Uploads by dataset and outcome", appendix=False)
    )
    blocks.append(block)
    numbers["uploads_loaded"] = len(loaded)
    hashes = [
        {
            "upload_id": int(r.upload_id),
            "file_name": str(r.file_name),
            "dataset": str(r.dataset),
            "uploaded_at": pd.Timestamp(r.uploaded_at).strftime("%Y-%m-%d %H:%M"),
            "sha256": str(r.sha256),
        }
        for r in loaded.itertuples()
    ]
    return blocks, numbers, hashes


# -- the whole report --------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env


def _collect(
    wh: Warehouse,
    *,
    year: int,
    area_code: str,
    static: bool,
    partnership_name: str | None,
    unit_cost: float | None,
    investment: float | None,
    produced: dt.date | dt.datetime | None,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    area_name = _check_options(wh, area_code, year, "pdf" if static else "html")
    b = _Builder(wh, area_code, year, static)
    numbers: dict[str, Any] = {
        "year": year,
        "financial_year": fy_label(year),
        "area_code": area_code,
        "area_name": area_name,
        "software_version": __version__,
    }

    year_rows, year_warnings = _year_figures(b, year)
    b.warnings.extend(year_warnings)
    numbers["year_figures"] = (
        {
            r["key"]: {"count": _num(r["value"]), "rate_per_10k": _num(r["rate_per_10k"])}
            for r in year_rows.to_dict("records")
        }
        if len(year_rows)
        else {}
    )

    tiles = {t.key: t for t in analysis.headlines(wh, area_code)}
    findings = list(analysis.board_findings(wh, area_code))
    ca = analysis.cost_avoidance_analysis(wh, area_code, unit_cost=unit_cost, investment=investment)
    if (unit_cost is not None or investment is not None) and ca.findings:
        # board_findings values cost at the default unit cost; use the options given here.
        findings = [
            replace(ca.findings[0], importance=f.importance) if f.key == ca.findings[0].key else f
            for f in findings
        ]
    numbers["headlines"] = {
        key: {
            "label": t.label,
            "latest_period": t.latest_period.isoformat() if t.latest_period else None,
            "latest_value": _num(t.latest_value),
            "latest_rate": _num(t.latest_rate),
            "latest_lower": _num(t.latest_lower),
            "latest_upper": _num(t.latest_upper),
            "change": _num(t.change_pct),
            "change_lower": _num(t.change_lower),
            "change_upper": _num(t.change_upper),
            "change_unit": t.change_unit,
            "confidence": t.confidence,
        }
        for key, t in tiles.items()
    }
    numbers["findings"] = [
        {
            "key": f.key,
            "text": f.text,
            "confidence": f.confidence,
            "estimate": _num(f.estimate),
            "ci": None if f.ci is None else [_num(f.ci[0]), _num(f.ci[1])],
        }
        for f in findings
    ]

    # RAG per measure
    rag_rows = []
    improvements = {"cla_rate": "decrease", "cpp_rate": "decrease", "training_coverage": "increase"}
    for key, t in tiles.items():
        status = _rag(t.change_pct, t.change_lower, t.change_upper, improvements[key])
        unit = "%" if t.change_unit == "%" else " percentage points"
        change = (
            "No change could be calculated"
            if _missing(t.change_pct)
            else f"{t.change_pct:+.1f}{unit} (95% CI {t.change_lower:+.1f} to {t.change_upper:+.1f})"
        )
        rag_rows.append(
            {
                "key": key,
                "measure": t.label,
                "latest": (
                    "–"
                    if _missing(t.latest_rate)
                    else charts.headline_value(t.latest_rate, t.unit_label)
                    + ("" if t.unit_label.startswith("%") else f" {t.unit_label}")
                    + f" ({fmt_month(t.latest_period)})"
                ),
                "change": change,
                "basis": t.change_basis or "–",
                "status": status,
                "label": RAG_SYMBOL[status],
                "variation": charts.variation_label(t.variation_icon),
            }
        )
    for flow in ("cla_starts", "cpp_starts"):
        finding = next((f for f in findings if f.key.startswith(f"did:{flow}")), None)
        if finding is None or finding.ci is None or finding.estimate is None:
            continue
        status = _rag(finding.estimate, finding.ci[0], finding.ci[1], "decrease")
        rag_rows.append(
            {
                "key": flow,
                "measure": marts.measure(flow).label + " (localities)",
                "latest": "–",
                "change": f"{finding.estimate:+.1f} per 10,000 a quarter (95% CI "
                f"{finding.ci[0]:+.1f} to {finding.ci[1]:+.1f})",
                "basis": "Localities after rollout against localities not yet started",
                "status": status,
                "label": RAG_SYMBOL[status],
                "variation": "–",
            }
        )
    numbers["rag"] = {r["key"]: r["status"] for r in rag_rows}

    has_dfe = True
    try:
        dfe.resolve_council(wh, area_code)
    except KeyError:
        has_dfe = False
        b.warnings.append("No DfE published statistics for this council: benchmarks are skipped.")

    year_table = None
    if len(year_rows):
        frame = year_rows[
            [
                "measure",
                "value",
                "rate_per_10k",
                "rate_lower",
                "rate_upper",
                "previous_value",
                "previous_rate",
            ]
        ].rename(
            columns={
                "value": "count",
                "previous_value": f"count_{fy_label(year - 1)}",
                "previous_rate": f"rate_{fy_label(year - 1)}",
            }
        )
        year_table = b.table(
            frame,
            "year-in-numbers",
            f"{area_name}: the year {fy_label(year)} in numbers (rates per 10,000 children aged 0-17)",
            count_columns=["count", f"count_{fy_label(year - 1)}"],
            derived={
                "count": ("rate_per_10k", "rate_lower", "rate_upper"),
                f"count_{fy_label(year - 1)}": (f"rate_{fy_label(year - 1)}",),
            },
            appendix=False,
        )
        # by locality and by age band, with the total beside its parts
        parts = []
        for by, label in (("unit", "locality"), ("age_band", "age band")):
            rows = []
            for name in ("cla_starts", "cpp_starts", "cla_at_period_end", "cpp_at_period_end"):
                panel = marts.outcome_panel(wh, area_code, name, by=by, grain="financial_year")
                panel = panel[panel["period_end"] == pd.Timestamp(dt.date(year, 3, 31))]
                for r in panel.itertuples():
                    rows.append(
                        {
                            "measure": marts.measure(name).label,
                            by: r.series,
                            "value": r.value,
                            "rate_per_10k": r.rate_per_10k,
                        }
                    )
            if rows:
                frame = pd.DataFrame(rows)
                if by == "age_band":
                    order = {b_: i for i, b_ in enumerate(analysis.AGE_BAND_ORDER)}
                    frame = frame.sort_values(
                        ["measure", by],
                        key=lambda s: s.map(order) if s.name == by else s,
                        kind="stable",
                    )
                else:
                    frame = frame.sort_values(
                        ["measure", by],
                        key=lambda s: s.map(lambda v: (v != UNIT_ALL, v)) if s.name == by else s,
                        kind="stable",
                    )
                parts.append(
                    b.table(
                        frame,
                        f"year-by-{by}",
                        f"{fy_label(year)} by {label}: counts and rates per 10,000 (total 'All' "
                        "beside its parts)",
                        count_columns=["value"],
                        derived={"value": ("rate_per_10k",)},
                        totals={by: ["measure"]},
                    )
                )
        numbers["year_tables"] = [t.number for t in parts]

    cla_blocks, cla_numbers = _outcome_section(
        b,
        "cla",
        "Children looked after",
        "cla_at_period_end",
        "cla_starts",
        "cla_at_31_march",
        year_rows,
        has_dfe,
        area_name,
    )
    cpp_blocks, cpp_numbers = _outcome_section(
        b,
        "cpp",
        "Child protection plans",
        "cpp_at_period_end",
        "cpp_starts",
        "cpp_at_31_march",
        year_rows,
        has_dfe,
        area_name,
    )
    training_blocks, training_numbers = _training_section(b, tiles["training_coverage"], area_name)
    value_blocks, value_numbers = _value_section(b, ca)
    for part in (cla_numbers, cpp_numbers, training_numbers, value_numbers):
        numbers.update(part)
    methods_blocks, methods_numbers, hashes = _methods_section(b, area_name, year)
    numbers.update(methods_numbers)
    hash_table = b.table(
        pd.DataFrame(
            hashes, columns=["upload_id", "file_name", "dataset", "uploaded_at", "sha256"]
        ),
        "uploads-used",
        "Files behind this report: every loaded upload with its SHA-256 fingerprint",
    )
    numbers["upload_sha256"] = [h["sha256"] for h in hashes]
    numbers["suppressed_cells_report"] = b.suppressed
    numbers["charts"] = b.chart_count
    numbers["appendix_tables"] = len(b.appendix)

    start, end = _year_window(year)
    last_upload = marts.last_upload_time(wh)
    produced_at = produced or dt.datetime.now().replace(microsecond=0)
    rollout = marts.area_rollout_date(wh, area_code)
    context = {
        "lang": "en-GB",
        "title": f"Restorative Practice: annual effectiveness report {fy_label(year)}",
        "partnership": partnership_name or default_partnership_name(wh, area_code),
        "area_name": area_name,
        "area_code": area_code,
        "fy": fy_label(year),
        "period": f"1 April {year - 1} to 31 March {year}",
        "produced": fmt_date(produced_at),
        "data_as_of": (
            f"{fmt_date(last_upload)} {pd.Timestamp(last_upload):%H:%M}" if last_upload else "–"
        ),
        "marking": MARKING,
        "marking_descriptor": MARKING_DESCRIPTOR,
        "synthetic": _upload_source_is_sample(wh),
        "version": __version__,
        "plotly_version": plotly.__version__,
        "rollout": fmt_date(rollout) if rollout else None,
        "sections": SECTIONS,
        "findings": [_finding_view(f) for f in findings],
        "confidence_words": CONFIDENCE_WORDS,
        "confidence_rule": fnd.CONFIDENCE_RULE,
        "rag_rule": RAG_RULE,
        "rag_rows": rag_rows,
        "year_table": year_table,
        "cla": cla_blocks,
        "cpp": cpp_blocks,
        "training": training_blocks,
        "value": value_blocks,
        "methods": methods_blocks,
        "appendix": b.appendix,
        "hash_table": hash_table,
        "threshold": b.threshold,
        "suppressed": b.suppressed,
        "static": static,
        "toc_pages": {},
        "start": start,
        "end": end,
    }
    return context, numbers, b.warnings


def render_html(context: Mapping[str, Any], *, plotly_js: str | None = None) -> str:
    """Render the report template with a context from the builder (plotly.js embedded once)."""
    env = _environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = plotly_js if plotly_js is not None else plotly.offline.get_plotlyjs()
    return env.get_template("report.html.j2").render(
        **context, css=Markup(css), plotly_js=Markup(js)
    )


def build_report(
    warehouse: Warehouse | str | Path,
    *,
    year: int,
    area_code: str,
    out: Path | str,
    format: str = "html",  # noqa: A002 - the CLI's word
    partnership_name: str | None = None,
    unit_cost: float | None = None,
    investment: float | None = None,
    produced: dt.date | dt.datetime | None = None,
) -> ReportResult:
    """Write the annual effectiveness report for the financial year ending 31 March `year`.

    `warehouse` is an open Warehouse or a path. `format` is "html" (one self-contained file,
    interactive charts, works offline) or "pdf" (A4, page numbers, contents with page numbers;
    needs Chromium and Playwright, else PdfUnavailableError says what to install).
    `unit_cost` (£ per child-year looked after) and `investment` (£) feed the value-for-money
    section. `produced` fixes the "date produced" (for reproducible builds).

    Raises ReportError (a ValueError) with a plain-English message for options it cannot
    report on (unknown area, a year with no data, an unknown format).
    """
    started = time.perf_counter()
    out = Path(out)
    fmt = str(format).lower()
    if fmt not in ("html", "pdf"):
        raise ReportError(f"Unknown report format '{format}'. Use 'html' or 'pdf'.")
    if fmt == "pdf":
        ok, detail = pdf_engine.pdf_available()
        if not ok:
            raise pdf_engine.PdfUnavailableError(detail)
    own = not isinstance(warehouse, Warehouse)
    wh = open_warehouse(warehouse) if own else warehouse
    try:
        context, numbers, warnings = _collect(
            wh,
            year=year,
            area_code=area_code,
            static=fmt == "pdf",
            partnership_name=partnership_name,
            unit_cost=unit_cost,
            investment=investment,
            produced=produced,
        )
    finally:
        if own:
            wh.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    pages = None
    if fmt == "html":
        out.write_text(render_html(context), encoding="utf-8")
    else:
        pages = _write_pdf(context, out)
    seconds = time.perf_counter() - started
    return ReportResult(out, fmt, pages, seconds, numbers, tuple(dict.fromkeys(warnings)))


def _write_pdf(context: dict[str, Any], out: Path) -> int:
    footer = f"{context['partnership']} · Restorative Practice report {context['fy']}"
    js = plotly.offline.get_plotlyjs()
    headings = [(sid, title) for sid, title in SECTIONS]
    with tempfile.TemporaryDirectory(prefix="rp-report-") as folder:
        html_path = Path(folder) / "report.html"
        html_path.write_text(render_html(context, plotly_js=js), encoding="utf-8")
        pdf_engine.print_pdf(
            html_path, out, marking=context["marking"], footer_left=footer, binary=None
        )
        texts = pdf_engine.pdf_pages_text(out)
        if texts is not None:
            # contents are on page 2; sections start after it
            pages = pdf_engine.find_section_pages(texts, headings, first_page=3)
            if pages:
                context = {**context, "toc_pages": pages}
                html_path.write_text(render_html(context, plotly_js=js), encoding="utf-8")
                pdf_engine.print_pdf(
                    html_path, out, marking=context["marking"], footer_left=footer, binary=None
                )
    texts = pdf_engine.pdf_pages_text(out)
    if texts is not None:
        return len(texts)
    return len(re.findall(rb"/Type\s*/Page[^s]", out.read_bytes()))
