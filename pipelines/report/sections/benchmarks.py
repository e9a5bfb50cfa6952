"""The benchmarks sub-section of each outcome section: the council's published DfE rate on
31 March against England, its region and its statistical neighbours, and its rank.

The figures are DfE's as published (`pipelines.benchmarks.benchmark_series` and `rank_among`,
the Benchmarks page's reads); statistical neighbours are those of DfE's children's services
statistical neighbour benchmarking tool.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from pipelines import benchmarks as dfe_reads
from pipelines import measures
from pipelines.present import charts
from pipelines.present.wording import fy_label, is_missing, ordinal
from pipelines.report.tables import Block, Builder, num

BENCHMARK_COLUMNS = [
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


def rank_sentence(
    rank: pd.DataFrame, area_name: str, year: int, label: str, *, report_year: int | None = None
) -> str:
    """'In the year to 31 March 2025 (the latest DfE has published), Northmoor's CLA rate was
    the 40th lowest of 153 ...'. ``year`` is the year ranked, the latest with a published
    figure; ``report_year`` the report's, named when DfE has not yet published it."""
    parts = []
    for row in rank.itertuples():
        if is_missing(row.rank):
            continue
        scope = (
            "councils with a published figure"
            if row.scope == "all councils"
            else "in its statistical neighbour group (itself and its neighbours)"
        )
        parts.append(f"{ordinal(int(row.rank))} lowest of {int(row.n)} {scope}")
    if not parts:
        return f"No published {label} figure for {area_name} in {fy_label(year)} to rank."
    latest = (
        f" ({fy_label(year)}, the latest year DfE has published; {fy_label(report_year)} is "
        "not yet published)"
        if report_year is not None and report_year > year
        else f" ({fy_label(year)}, the latest year DfE has published)"
    )
    return (
        f"In the year to 31 March {year}{latest}, {area_name}'s {label} rate was the "
        + " and the ".join(parts)
        + " (rank 1 = the lowest rate)."
    )


def benchmark_figure(
    frame: pd.DataFrame, *, title: str, source: str, area_name: str, rollout: dt.date | None
) -> go.Figure:
    """The council's rate on 31 March each year, the neighbours' range and median, England
    and the region (each line with its own dash and marker as well as colour)."""
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
    has_neighbours = bool(data["sn_min"].notna().any())
    if has_neighbours:
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
    region = data["region_name"].dropna()
    lines = (
        ("sn_median", "Statistical neighbours: median", charts.PLUM, "dot", "square"),
        ("england_rate", "England", charts.DARK_GREY, "dash", "diamond"),
        (
            "region_rate",
            str(region.iloc[0]) if len(region) else "Region",
            charts.ORANGE,
            "dashdot",
            "triangle-up",
        ),
    )
    for column, name, color, dash, symbol in lines:
        shown = has_neighbours if column == "sn_median" else data[column].notna().any()
        if shown:
            line = {"color": color, "dash": dash, "width": 2}
            fig.add_trace(
                charts.marked_line(data["period_end"], data[column], name, line, symbol, 6)
            )
    return fig


def _benchmark_title(last: pd.Series, short: str, area_name: str, decimals: int) -> str:
    if is_missing(last["england_rate"]) or is_missing(last["sn_median"]):
        return f"{short} rate on 31 March: {area_name} against comparators"
    return (
        f"{short} rate on 31 March {int(last['time_period'])}: {area_name} "
        f"{last['council_rate']:.{decimals}f} per 10,000, England "
        f"{last['england_rate']:.{decimals}f}, neighbours' median {last['sn_median']:.{decimals}f}"
    )


def rate_caption(sources: set[str]) -> str:
    """Whether the rates drawn are DfE's own or recomputed (issue 14: a recomputed rate is never
    called a published one)."""
    if sources == {"published"}:
        what = "Rates per 10,000 children on 31 March as published by DfE."
    elif "published" in sources:
        what = (
            "Rates per 10,000 children on 31 March: as published by DfE where DfE publishes "
            "a rate, otherwise recomputed by rp-impact from DfE's published counts and the ONS "
            "mid-year estimate for the year before."
        )
    else:
        what = (
            "Rates per 10,000 children on 31 March, recomputed by rp-impact from DfE's "
            "published counts and the ONS mid-year estimate for the year before (DfE publishes "
            "no rate for this table)."
        )
    return (
        f"{what} The shaded band runs from the lowest to the highest of the statistical neighbours."
    )


def benchmark_block(
    b: Builder,
    section_id: str,
    stock: str,
    dfe_measure: str,
    *,
    has_dfe: bool,
    area_name: str,
    rollout: dt.date | None,
) -> tuple[Block, dict[str, Any]]:
    """The sub-section, or a sentence saying why there is no comparison."""
    short = measures.measure(stock).short
    block = Block(f"{section_id}-benchmarks", "Against England, the region and neighbours")
    if not has_dfe:
        block.paragraphs.append(
            "No DfE published statistics are loaded, so there is no comparison with England, "
            "the region or statistical neighbours. Import them with `rp-impact import-dfe`."
        )
        return block, {}
    bench = dfe_reads.benchmark_series(b.wh, b.area, dfe_measure)
    bench = bench[bench["time_period"] <= b.year]
    if bench.empty or bench["council_rate"].isna().all():
        block.paragraphs.append(f"The imported DfE files have no {short} figures for {area_name}.")
        return block, {}
    last = bench.dropna(subset=["council_rate"]).iloc[-1]
    latest_year = int(last["time_period"])
    rank = dfe_reads.rank_among(b.wh, b.area, dfe_measure, latest_year)
    block.paragraphs.append(rank_sentence(rank, area_name, latest_year, short, report_year=b.year))
    sources = {str(s) for s in bench["council_rate_source"].dropna()}
    decimals = 0 if sources == {"published"} else 1  # DfE publishes rates as whole numbers
    title = _benchmark_title(last, short, area_name, decimals)
    releases = sorted({str(r) for r in bench["release"].dropna()})
    source = "Source: DfE published statistics" + (
        f" (release {', '.join(releases)})" if releases else ""
    )
    fig = benchmark_figure(bench, title=title, source=source, area_name=area_name, rollout=rollout)
    block.charts.append(
        b.chart(
            fig,
            f"{section_id}-benchmarks",
            title,
            rate_caption(sources),
            bench[BENCHMARK_COLUMNS],
            f"{short}: {area_name} against England, region and statistical neighbours",
            count_columns=["council_value"],
            derived={"council_value": ("council_rate",)},
        )
    )
    numbers = {
        f"{stock}_benchmark_{int(last['time_period'])}": {
            "council": num(last["council_rate"]),
            "england": num(last["england_rate"]),
            "neighbours_median": num(last["sn_median"]),
        }
    }
    return block, numbers
