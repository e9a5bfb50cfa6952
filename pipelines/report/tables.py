"""The report's building blocks: tables, charts and sub-sections, and the `Builder` that
numbers them and puts every table through disclosure control.

Every table goes through `pipelines.disclosure.suppress` (counts 1 to 4 become "c", rates made
from them too, secondary suppression where a total sits beside its parts), and every CSV link
through `pipelines.disclosure.to_safe_csv` (formula cells escaped). Chart element ids are
derived from the chart's name, so the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

from pipelines import config, disclosure
from pipelines.present.charts import iso_dates
from pipelines.present.charts.style import fit_title
from pipelines.present.wording import is_missing, plural, slug
from pipelines.report import plotly_bundle
from pipelines.store.warehouse import Warehouse

#: Chart width in the PDF (CSS pixels): A4 less 15 mm margins is 180 mm, about 680 px.
STATIC_WIDTH = 680

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


def num(value: Any) -> float | None:
    """A JSON-safe float for `ReportResult.numbers` (None for missing or infinite)."""
    if is_missing(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def cell(value: Any, column: str, count_columns: Iterable[str]) -> str:
    """One table cell as text: counts whole with separators, rates to 1 decimal place."""
    if isinstance(value, str):
        return value.replace("_", " ") if column == "point_type" else value
    if is_missing(value):
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


def label(column: str) -> str:
    """A column's heading: `LABELS`, else the name in words ('n_units' -> 'N units')."""
    return LABELS.get(column, column.replace("_", " ").capitalize())


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
    """A numbered figure. Its plot is drawn once per kind asked for (interactive for the HTML,
    fixed-size static for the PDF) and kept, so a report built once and written in both
    formats serialises each chart once for each (`render`)."""

    id: str
    number: int
    title: str
    caption: str
    figure: dict[str, Any] = field(repr=False, compare=False)
    key: str = ""
    static_height: int | None = None
    table: Table | None = None
    #: What is drawn, in one line (with the title, the chart's alternative text).
    alt: str = ""
    #: The kind `html` gives (the Builder's).
    static: bool = False
    _drawn: dict[bool, Markup] = field(default_factory=dict, repr=False, compare=False)

    def render(self, static: bool) -> Markup:
        """The plot's HTML fragment, interactive or static, drawn on first use and kept."""
        static = bool(static)
        if static not in self._drawn:
            self._drawn[static] = Markup(
                figure_html(self.figure, self.key, static=static, static_height=self.static_height)
            )
        return self._drawn[static]

    @property
    def html(self) -> Markup:
        return self.render(self.static)


@dataclass
class Block:
    """A sub-section: heading, paragraphs, charts, inline tables, bullet lists."""

    id: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


def _newly_suppressed(safe: pd.DataFrame, data: pd.DataFrame) -> int:
    """Cells that disclosure control turned into "c" (not those supplied as "c")."""
    return int(
        sum(
            (
                (safe[c].astype(object) == disclosure.SUPPRESSED)
                & (data[c].astype(object) != disclosure.SUPPRESSED)
            ).sum()
            for c in safe.columns
        )
    )


def _suppression_note(suppressed: int, threshold: int) -> str:
    return (
        f"c: suppressed ({plural(suppressed, 'cell')}): counts of 1 "
        f"to {threshold} children, rates made from them, and where needed the next "
        "smallest part of a total."
    )


def figure_html(
    fig: go.Figure | Mapping[str, Any], key: str, *, static: bool, static_height: int | None
) -> str:
    """A chart as an HTML fragment: interactive, or (for the PDF) a fixed-size static plot."""
    fig = go.Figure(fig)
    height = int(fig.layout.height or 460)
    # keep a wrapped title inside the figure (anchored at its top with some padding)
    fig.update_layout(title_y=1, title_yanchor="top", title_pad_t=14)
    if static:
        # Two charts to an A4 page: shorter than on screen, fixed to the text width, with
        # the title across the chart's width rather than wrapped for a phone.
        height = static_height or max(330, height - 110)
        fit_title(fig, STATIC_WIDTH, height)
        fig.update_layout(width=STATIC_WIDTH)
        config_ = {"staticPlot": True, "displayModeBar": False}
    else:
        config_ = {"displaylogo": False, "responsive": True}
    fragment = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"plot-{slug(key, 'item')}",
        config=config_,
        default_width=f"{STATIC_WIDTH}px" if static else "100%",
        default_height=f"{height}px",
    )
    return plotly_bundle.mark_chart((trace.type for trace in fig.data), fragment)


class Builder:
    """Numbers the report's tables (A1, A2, ... in the appendix) and charts, and counts the
    cells disclosure control suppressed. One per report; `wh` may be None for table tests."""

    def __init__(self, wh: Warehouse | None, area_code: str, year: int, static: bool) -> None:
        self.wh = wh
        self.area = area_code
        self.year = year
        self.static = static
        self.threshold = config.suppression_threshold()
        self.appendix: list[Table] = []
        self.chart_count = 0
        self.suppressed = 0
        self.warnings: list[str] = []

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
        seed: Mapping[str, np.ndarray] | None = None,
    ) -> Table:
        """A disclosure-controlled table with its CSV; in the appendix unless `appendix=False`.

        `percent_columns` hold fractions shown as percentages; `derived`, `totals` and `seed`
        (count cells another view hides already: the dashboard's one decision) are as in
        `pipelines.disclosure.suppress`.
        """
        data = frame.reset_index(drop=True).copy()
        for column in percent_columns:
            if column in data:
                data[column] = pd.to_numeric(data[column], errors="coerce") * 100
        data = iso_dates(data)
        counts = [c for c in count_columns if c in data.columns]
        safe = disclosure.suppress(
            data, counts, derived=derived, threshold=self.threshold, totals=totals, seed=seed
        )
        suppressed = _newly_suppressed(safe, data)
        self.suppressed += suppressed
        columns = list(safe.columns)
        notes = [note] if note else []
        if suppressed:
            notes.append(_suppression_note(suppressed, self.threshold))
        table = Table(
            id=f"table-{slug(key, 'item')}",
            number=f"A{len(self.appendix) + 1}" if appendix else "",
            caption=caption,
            columns=[label(c) for c in columns],
            rows=[
                [cell(value, column, counts) for value, column in zip(row, columns, strict=True)]
                for row in safe.itertuples(index=False)
            ],
            csv_href="data:text/csv;base64,"
            + base64.b64encode(disclosure.to_safe_csv(safe)).decode("ascii"),
            csv_name=f"{slug(key, 'item')}.csv",
            n_suppressed=suppressed,
            note=" ".join(notes),
            numeric=[
                pd.api.types.is_numeric_dtype(data[c]) and not pd.api.types.is_bool_dtype(data[c])
                for c in columns
            ],
            count_columns=[columns.index(c) for c in counts],
        )
        if appendix:
            self.appendix.append(table)
        return table

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
        """A numbered figure, with the table of its data in the appendix when `data` is given."""
        self.chart_count += 1
        table = None
        if data is not None:
            table = self.table(
                data,
                key,
                table_caption or f"Data behind figure {self.chart_count}: {title}",
                **table_options,
            )
        return Chart(
            f"chart-{slug(key, 'item')}",
            self.chart_count,
            title.rstrip(". "),
            caption,
            # a copy, so the plot drawn later is the figure as it was given here
            figure=fig.to_dict(),
            key=key,
            static_height=static_height,
            table=table,
            alt=caption.split(". ")[0].rstrip(".") + "." if caption else "",
            static=self.static,
        )
