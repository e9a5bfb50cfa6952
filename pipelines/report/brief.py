"""The board brief: at most four A4 pages a councillor reads in five minutes (issue 17).

    from pipelines.report.brief import build_brief
    build_brief(wh, year=2026, area_code="E06999901", out=Path("brief.pdf"), format="pdf")

What it holds, in order: the verdict for each primary outcome with a red/amber/green status and
its confidence in plain words (the same sentences and grade words as the Board summary, from
`pipelines.present.verdicts`); the three numbers, each with its period and source; two charts
with the rollout marked; the council against England, its region and its statistical
neighbours, each with its year; working with families (the Board tile's two sentences, from
`pipelines.present.practice_summary`); value for money only when the council has set its own unit
cost; what would make these findings wrong; and a line pointing to the full report.

The numbers, charts and comparisons are restricted to the chosen financial year: figures on
31 March of that year, charts that end there. The verdicts are the Board's, which use every
complete period loaded; the brief says up to when. Everything is read through the same
functions the full report and the dashboard use; the brief computes no statistic of its own.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from pipelines import analysis, marts
from pipelines import benchmarks as dfe_reads
from pipelines.analysis.benchmarks import council_rollout_date
from pipelines.analysis.board import is_public_only
from pipelines.analysis.common import source_line
from pipelines.measures import measure
from pipelines.present import charts
from pipelines.present.numbers import count_words, money_words
from pipelines.present.practice_summary import practice_summary
from pipelines.present.verdicts import (
    VERDICT_INTRO,
    VERDICT_STATUS_RULE,
    VERDICT_STATUS_WORDS,
    verdict_status,
    verdict_views,
)
from pipelines.present.wording import fy_label, is_missing, long_date, ordinal
from pipelines.report import pdf as pdf_engine
from pipelines.report import plotly_bundle
from pipelines.report.build import ReportResult, borrowed_warehouse, writable_format
from pipelines.report.context import MARKING, MARKING_DESCRIPTOR, SECTIONS, _report_area_name
from pipelines.report.context import _title_page as title_facts
from pipelines.report.options import year_window
from pipelines.report.sections.benchmarks import benchmark_figure, rate_caption
from pipelines.report.sections.common import highlight_year
from pipelines.report.tables import Builder
from pipelines.stats.cost import DEFAULT_UNIT_COST_SOURCE
from pipelines.store.warehouse import Warehouse

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The brief's one line of caveats under "Working with families" (the full report lists them).
FAMILIES_CAVEAT = (
    "These are the latest four quarters loaded, as on the Board summary, so they may run past "
    "31 March. Families choose whether to answer the survey, audits are a sample chosen by the "
    "council, and a change since rollout has no comparison group: it is associated with the "
    "rollout, and other changes at the same time could explain it."
)
#: The brief's page limit (issue 17).
MAX_PAGES = 4
#: Height of each of the brief's two charts in the PDF (CSS pixels): both fit on one page.
CHART_HEIGHT = 400  # tall enough that the plot, not its margins, fills the height
#: The two outcomes the brief's numbers, charts and comparisons cover: (key, local stock
#: measure, DfE measure).
OUTCOMES = (
    ("cla", "cla_at_period_end", "cla_at_31_march"),
    ("cpp", "cpp_at_period_end", "cpp_at_31_march"),
)
#: How many of the verdicts' own caveats the brief lists (the full report has them all).
MAX_OWN_RISKS = 4
#: Always true of these findings, whatever the data.
GENERAL_RISKS = (
    "Something else changed at the same time as Restorative Practice (a new policy, a change "
    "in demand, a new team or threshold): the comparisons are associations, not proof of "
    "effect.",
    "The figures are revised: a later upload or DfE release that changes earlier periods "
    "changes these estimates (the full report lists revisions since the last report).",
)


def _number(label: str, value: str, period: str, source: str, note: str = "") -> dict[str, str]:
    return {"label": label, "value": value, "period": period, "source": source, "note": note}


def _local_numbers(wh: Warehouse, area: str, year: int) -> list[dict[str, str]]:
    """The CLA and CPP rates on 31 March of the year (financial-year grain), and training
    coverage at the last period on or before it."""
    end = pd.Timestamp(year_window(year)[1])
    out = []
    for _, stock, _ in OUTCOMES:
        m = measure(stock)
        series = marts.outcome_series(wh, area, stock, grain="financial_year")
        row = series[(series["period_end"] == end) & series["complete"].astype(bool)]
        label = m.label.replace(" (at period end)", "")
        if row.empty or is_missing(row.iloc[0]["rate_per_10k"]):
            out.append(
                _number(label, "No figure", f"31 March {year}", "", "The year is not complete.")
            )
            continue
        r = row.iloc[0]
        out.append(
            _number(
                label,
                f"{r['rate_per_10k']:.1f} per 10,000 children",
                f"on 31 March {year} ({int(r['value']):,} children; 95% CI "
                f"{r['rate_lower']:.1f} to {r['rate_upper']:.1f})",
                source_line(wh, row),
            )
        )
    cov = marts.training_coverage(wh, area)
    cov = cov[(cov["staff_in_scope"] > 0) & (cov["period_end"] <= end)]
    label = "Staff trained in Restorative Practice"
    if cov.empty:
        out.append(_number(label, "No figure", f"by 31 March {year}", "", "No training data."))
    else:
        last = cov.iloc[-1]
        out.append(
            _number(
                label,
                f"{100 * last['coverage']:.0f}% of staff in scope",
                f"by {long_date(last['period_end'])} ({int(last['staff_trained']):,} of "
                f"{int(last['staff_in_scope']):,})",
                source_line(wh, dataset="training"),
            )
        )
    return out


def _dfe_row(wh: Warehouse, area: str, dfe_measure: str, year: int) -> pd.Series | None:
    """The council's DfE figures for the latest year ending 31 March on or before `year`."""
    bench = dfe_reads.benchmark_series(wh, area, dfe_measure)
    bench = bench[(bench["time_period"] <= year)].dropna(subset=["council_rate"])
    return None if bench.empty else bench.iloc[-1]


def _dfe_source(row: pd.Series) -> str:
    how = (
        "rate as published"
        if row["council_rate_source"] == "published"
        else "rate recomputed by rp-impact from DfE's counts and the ONS mid-year estimate "
        f"for {int(row['time_period']) - 1}"
    )
    return f"Source: DfE published statistics (release {row['release']}); {how}"


def _public_numbers(wh: Warehouse, area: str, year: int) -> list[dict[str, str]]:
    """A council with only DfE's published figures: the rates on 31 March, as DfE gives them."""
    out = []
    for _, stock, dfe_measure in OUTCOMES:
        label = measure(stock).label.replace(" (at period end)", "")
        row = _dfe_row(wh, area, dfe_measure, year)
        if row is None:
            out.append(_number(label, "No figure", f"31 March {year}", "", "None published."))
            continue
        published = int(row["time_period"])
        note = (
            ""
            if published == year
            else f"DfE has not yet published {fy_label(year)}; this is {fy_label(published)}."
        )
        decimals = 0 if row["council_rate_source"] == "published" else 1
        out.append(
            _number(
                label,
                f"{row['council_rate']:.{decimals}f} per 10,000 children",
                f"on 31 March {published} ({int(row['council_value']):,} children)",
                _dfe_source(row),
                note,
            )
        )
    out.append(
        _number(
            "Staff trained in Restorative Practice",
            "No figure",
            f"by 31 March {year}",
            "",
            "No training extracts are loaded for this council.",
        )
    )
    return out


def _local_chart(b: Builder, stock: str, year: int, rollout):
    """The quarterly rate to 31 March of the year, the rollout marked and the year shaded."""
    m = measure(stock)
    series = marts.outcome_series(b.wh, b.area, stock, grain="quarter")
    series = series[series["complete"].astype(bool)]
    series = series[series["period_end"] <= pd.Timestamp(year_window(year)[1])]
    if not series["rate_per_10k"].notna().any():
        return None
    last = series.dropna(subset=["rate_per_10k"]).iloc[-1]
    title = (
        f"{m.label.replace(' (at period end)', '')}: {last['rate_per_10k']:.1f} per 10,000 "
        f"children in the quarter to {long_date(last['period_end'])}"
    )
    fig = charts.time_series(
        series,
        title=title,
        source=source_line(b.wh, series),
        rollout_date=rollout,
        y_title="Rate per 10,000 children",
    )
    highlight_year(fig, year)
    first = series["period_end"].iloc[0]
    return b.chart(
        fig,
        f"brief-{stock}",
        title,
        f"Quarterly rate per 10,000 children aged 0-17, {long_date(first)} to "
        f"{long_date(last['period_end'])}, with its 95% confidence interval (shaded). The "
        f"dashed line marks the rollout ({long_date(rollout)}); the band is {fy_label(year)}.",
        static_height=CHART_HEIGHT,
    )


def _public_chart(b: Builder, stock: str, dfe_measure: str, area_name: str, year: int, rollout):
    """DfE's published rate each 31 March to the year, against the comparators."""
    bench = dfe_reads.benchmark_series(b.wh, b.area, dfe_measure)
    bench = bench[bench["time_period"] <= year]
    if bench.empty or bench["council_rate"].isna().all():
        return None
    last = bench.dropna(subset=["council_rate"]).iloc[-1]
    short = measure(stock).short
    title = (
        f"{short} rate on 31 March, {int(bench['time_period'].min())} to "
        f"{int(last['time_period'])}: {area_name} against England, its region and neighbours"
    )
    releases = sorted({str(r) for r in bench["release"].dropna()})
    source = "Source: DfE published statistics (release " + ", ".join(releases) + ")"
    fig = benchmark_figure(bench, title=title, source=source, area_name=area_name, rollout=rollout)
    sources = {str(s) for s in bench["council_rate_source"].dropna()}
    return b.chart(
        fig,
        f"brief-{stock}",
        title,
        rate_caption(sources)
        + (f" The dashed line marks the rollout ({long_date(rollout)})." if rollout else ""),
        static_height=CHART_HEIGHT,
    )


def _context(wh: Warehouse, area: str, area_name: str, year: int) -> list[dict[str, Any]]:
    """Each outcome's rate against England, the region and the neighbours, with its year."""
    rows = []
    for _, stock, dfe_measure in OUTCOMES:
        row = _dfe_row(wh, area, dfe_measure, year)
        if row is None:
            continue
        published = int(row["time_period"])
        decimals = 0 if row["council_rate_source"] == "published" else 1

        def rate(value, decimals=decimals) -> str:
            return "–" if is_missing(value) else f"{value:.{decimals}f}"

        rank = dfe_reads.rank_among(wh, area, dfe_measure, published)
        ranks = [
            f"{ordinal(int(r.rank))} lowest of {int(r.n)} "
            + ("councils with a figure" if r.scope == "all councils" else "in its neighbour group")
            for r in rank.itertuples()
            if not is_missing(r.rank)
        ]
        rows.append(
            {
                "measure": measure(stock).short + " rate per 10,000",
                "year": f"31 March {published}"
                + ("" if published == year else f" ({fy_label(year)} not yet published)"),
                "council": rate(row["council_rate"]),
                "england": rate(row["england_rate"]),
                "region": f"{rate(row['region_rate'])} ({row['region_name']})"
                if not is_missing(row["region_rate"])
                else "–",
                "neighbours": f"{rate(row['sn_median'])} (median of {int(row['sn_n'])})"
                if not is_missing(row["sn_median"])
                else "–",
                "rank": "; ".join(ranks) or "–",
                "source": _dfe_source(row),
            }
        )
    return rows


def _value(wh: Warehouse, area: str, unit_cost: float | None) -> dict[str, Any] | None:
    """Value for money, only at the council's own unit cost (else None: the brief omits it)."""
    if unit_cost is None:
        return None
    ca = analysis.cost_avoidance_analysis(wh, area, unit_cost=unit_cost)
    res = ca.result
    if res is None or res.unit_cost_source == DEFAULT_UNIT_COST_SOURCE:
        return None
    last = ca.its.fitted["date"].max() if ca.its is not None else None
    period = f"{long_date(ca.since)} to {long_date(last)}" if last is not None else "since rollout"
    return {
        "period": period,
        "text": (
            f"From {period}, Restorative Practice is associated with an estimated difference of "
            f"{count_words(res.child_years_avoided)} child-years in care against the "
            f"pre-rollout trend's projection (95% range {count_words(res.child_years_avoided_lower)}"
            f" to {count_words(res.child_years_avoided_upper)}). At the council's own unit cost "
            f"of £{res.unit_cost_per_child_year:,.0f} a child-year, that is worth about "
            f"{money_words(res.gross_avoidance)} ({money_words(res.gross_avoidance_lower)} to "
            f"{money_words(res.gross_avoidance_upper)})."
        ),
        "caveat": (
            "An estimate, not a saving in a budget: it values child-years that the projection "
            "says would otherwise have happened, and other changes in the period are not "
            "separated out. It spans every quarter since rollout, not only "
            "the report's year."
        ),
        "grade": next((f.confidence for f in ca.findings), "low"),
    }


def _risks(verdicts, public: bool) -> list[str]:
    """What would make these findings wrong: each verdict's own caveats, then the general."""
    own = list(dict.fromkeys(c for view in verdicts for c in view.caveats))
    items: list[str] = own[:MAX_OWN_RISKS]
    if public:
        items.append(
            "Only DfE's annual figures are used: one unusual year, or a neighbour that also "
            "changed its practice, moves the comparison."
        )
    items.extend(GENERAL_RISKS)
    return list(dict.fromkeys(items))


def _glossary(*texts: str) -> list[dict[str, str]]:
    """The technical terms the brief uses, each with its plain-English definition (the Board
    summary's glossary, `pipelines.present.glossary`)."""
    try:
        from pipelines.present.glossary import terms_in
    except ImportError:  # the shared glossary is optional for the brief
        return []
    return [{"name": t.name, "definition": t.definition} for t in terms_in(*texts)]


def collect_brief(
    wh: Warehouse,
    *,
    year: int,
    area_code: str,
    static: bool,
    partnership_name: str | None = None,
    unit_cost: float | None = None,
    produced: dt.date | dt.datetime | None = None,
    full_report: str = "",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The brief's template context and its numbers (JSON-safe)."""
    area_name = _report_area_name(wh, area_code, year)
    public = is_public_only(wh, area_code)
    summary = analysis.verdict_summary(wh, area_code)
    views = verdict_views(summary.verdicts)
    statuses = {v.outcome: verdict_status(v) for v in summary.verdicts}
    facts = title_facts(wh, area_code, area_name, year, partnership_name, produced)
    rollout = marts.area_rollout_date(wh, area_code)
    if public:
        rollout = council_rollout_date(wh, dfe_reads.resolve_council(wh, area_code))
    b = Builder(wh, area_code, year, static)
    figures = []
    for _, stock, dfe_measure in OUTCOMES:
        chart = (
            _public_chart(b, stock, dfe_measure, area_name, year, rollout)
            if public
            else _local_chart(b, stock, year, rollout)
        )
        if chart is not None:
            figures.append(chart)
    numbers_shown = (
        _public_numbers(wh, area_code, year) if public else _local_numbers(wh, area_code, year)
    )
    value = _value(wh, area_code, unit_cost)
    window_end = max(
        (v.window_end for v in summary.verdicts if v.window_end is not None), default=None
    )
    risks = _risks(views, public)
    context_rows = _context(wh, area_code, area_name, year)
    families = None if public else practice_summary(wh, area_code)
    glossary = _glossary(
        *(f"{v.sentence} {v.grade_meaning} {' '.join(v.caveats)}" for v in views),
        *risks,
        *(f"{c.title} {c.caption}" for c in figures),
        *(" ".join(n.values()) for n in numbers_shown),
        *(" ".join(r.values()) for r in context_rows),
        *(families.sentences if families else ()),
        "statistical neighbours",
    )
    context = {
        **facts,
        "title": f"Restorative Practice: board brief {fy_label(year)}",
        "glossary": glossary,
        "verdicts": [{"view": view, "status": statuses[view.key]} for view in views],
        "verdict_intro": VERDICT_INTRO,
        "status_words": VERDICT_STATUS_WORDS,
        "status_rule": VERDICT_STATUS_RULE,
        "verdict_note": summary.note,
        "verdict_period": (
            f"The verdicts compare localities up to {long_date(window_end)}: after that every "
            "locality had started, so none is left to compare with."
            if window_end is not None
            else ""
        ),
        "plan_line": summary.plan_line,
        "numbers": numbers_shown,
        "figures": figures,
        "context_rows": context_rows,
        "families": (
            [{"label": f.label, "sentence": f.sentence} for f in families.figures]
            if families
            else None
        ),
        "families_caveat": FAMILIES_CAVEAT,
        "value": value,
        "risks": risks,
        "full_report": full_report,
        "report_sections": [heading for sid, heading in SECTIONS],
        "static": static,
        "marking": MARKING,
        "marking_descriptor": MARKING_DESCRIPTOR,
    }
    numbers = {
        "year": year,
        "area_code": area_code,
        "verdicts": {
            v.outcome: {"sentence": v.sentence, "grade": v.grade, "status": statuses[v.outcome]}
            for v in summary.verdicts
        },
        "numbers": [{k: n[k] for k in ("label", "value", "period")} for n in numbers_shown],
        "charts": len(figures),
        "working_with_families": families.sentences if families else [],
        "value_for_money": value is not None,
        "public_only": public,
    }
    return context, numbers


def render_brief(context: dict[str, Any]) -> str:
    """The brief's HTML (one self-contained file, plotly.js embedded once)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8") + (
        TEMPLATES / "brief.css"
    ).read_text(encoding="utf-8")
    page = env.get_template("brief.html.j2").render(
        **context, css=Markup(css), plotly_js=Markup(plotly_bundle.PLACEHOLDER)
    )
    return plotly_bundle.embed(page)


@dataclass(frozen=True)
class PreparedBrief:
    """A brief built once, ready to write in any format (`write_brief`); each chart is drawn
    once for each kind of output (interactive HTML, static PDF) and kept."""

    context: dict[str, Any]
    numbers: dict[str, Any]
    year: int
    seconds: float


def prepare_brief(
    warehouse: Warehouse | str | Path,
    *,
    year: int,
    area_code: str,
    partnership_name: str | None = None,
    unit_cost: float | None = None,
    produced: dt.date | dt.datetime | None = None,
) -> PreparedBrief:
    """Gather the board brief once (options as in `build_brief`) for `write_brief`."""
    started = time.perf_counter()
    with borrowed_warehouse(warehouse) as wh:
        context, numbers = collect_brief(
            wh,
            year=year,
            area_code=area_code,
            static=False,
            partnership_name=partnership_name,
            unit_cost=unit_cost,
            produced=produced,
        )
    return PreparedBrief(context, numbers, year, time.perf_counter() - started)


def write_brief(
    prepared: PreparedBrief,
    *,
    out: Path | str,
    format: str = "html",  # noqa: A002 - the CLI's word
    full_report: str | None = None,
) -> ReportResult:
    """Write a prepared brief in one format (see `build_brief`)."""
    started = time.perf_counter()
    out = Path(out)
    fmt = writable_format(format)
    name = full_report or f"report-{fy_label(prepared.year)}.{fmt}"
    context = {**prepared.context, "static": fmt == "pdf", "full_report": name}
    numbers = copy.deepcopy(prepared.numbers)
    out.parent.mkdir(parents=True, exist_ok=True)
    pages = None
    if fmt == "html":
        out.write_text(render_brief(context), encoding="utf-8")
    else:
        footer = f"{context['partnership']} · Restorative Practice board brief {context['fy']}"
        with tempfile.TemporaryDirectory(prefix="rp-brief-") as folder:
            html_path = Path(folder) / "brief.html"
            html_path.write_text(render_brief(context), encoding="utf-8")
            # one print: the brief's contents line needs no page numbers
            pdf_engine.print_pdf(
                html_path, out, marking=context["marking"], footer_left=footer, binary=None
            )
        pages = pdf_engine.page_count(out)
    warnings = []
    if pages is not None and pages > MAX_PAGES:
        warnings.append(f"The brief runs to {pages} pages, more than {MAX_PAGES}.")
    numbers["pages"] = pages
    return ReportResult(out, fmt, pages, time.perf_counter() - started, numbers, tuple(warnings))


def build_brief(
    warehouse: Warehouse | str | Path,
    *,
    year: int,
    area_code: str,
    out: Path | str,
    format: str = "html",  # noqa: A002 - the CLI's word
    partnership_name: str | None = None,
    unit_cost: float | None = None,
    produced: dt.date | dt.datetime | None = None,
    full_report: str | None = None,
) -> ReportResult:
    """Write the board brief for the financial year ending 31 March `year` (HTML or PDF).

    `full_report` names the full report's file for the contents line (default: the name the
    report would be written under beside `out`). The PDF is printed in one pass (the brief's
    contents line needs no page numbers), tagged, with the document outline. For both
    formats, `prepare_brief` once and `write_brief` each.
    """
    started = time.perf_counter()
    fmt = writable_format(format)
    prepared = prepare_brief(
        warehouse,
        year=year,
        area_code=area_code,
        partnership_name=partnership_name,
        unit_cost=unit_cost,
        produced=produced,
    )
    result = write_brief(prepared, out=out, format=fmt, full_report=full_report)
    return dataclasses.replace(result, seconds=time.perf_counter() - started)
