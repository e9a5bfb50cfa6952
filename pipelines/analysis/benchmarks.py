"""A council against England, its region and its DfE statistical neighbours.

:func:`benchmark_analysis` reads DfE's published figures (:mod:`pipelines.benchmarks`) for the
Benchmarks page, with ranks and a synthetic control; :func:`benchmark_context` gives the
board's two context lines. The sentences are worded in
:mod:`pipelines.analysis.benchmark_text`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines import benchmarks as dfe_reads
from pipelines import marts
from pipelines.analysis.benchmark_text import (
    benchmark_title,
    context_sentence,
    rank_finding,
    rank_sentences,
    synth_sentences,
)
from pipelines.analysis.common import attempt
from pipelines.present.wording import fy_label
from pipelines.store.warehouse import Warehouse

#: DfE measures the Benchmarks page offers, in menu order: (label, short label for sentences).
BENCHMARK_MEASURES: dict[str, tuple[str, str]] = {
    "cla_at_31_march": ("Children looked after on 31 March", "CLA rate"),
    "cla_starts": ("Children starting to be looked after in the year", "CLA starts rate"),
    "cla_ceased": ("Children ceasing to be looked after in the year", "CLA ceased rate"),
    "cpp_at_31_march": ("Children on a child protection plan on 31 March", "CPP rate"),
    "cpp_starts": ("Child protection plans starting in the year", "CPP starts rate"),
    "cpp_subsequent": ("Second or subsequent child protection plans starting", "repeat CPP rate"),
    "cpp_subsequent_percent": (
        "Child protection plans that were a second or subsequent plan (%)",
        "share of repeat plans",
    ),
    "referrals": ("Referrals to children's social care", "referral rate"),
    "rereferrals": ("Re-referrals within 12 months", "re-referral rate"),
    "rereferral_percent": ("Referrals that were re-referrals (%)", "share of re-referrals"),
    "cin_at_31_march": ("Children in need on 31 March", "CIN rate"),
    "cin_starts": ("Children in need episodes starting", "CIN starts rate"),
    "cin_ended": ("Children in need episodes ending", "CIN ended rate"),
    "cin_any_point": ("Children in need at any point in the year", "CIN any-point rate"),
}
#: The DfE publication each measure comes from (for source lines).
_PUBLICATION = {
    "cla": "DfE, Children looked after in England including adoptions",
    "cpp": "DfE, Children in need (child protection plans)",
    "cin": "DfE, Children in need",
    "referrals": "DfE, Children in need (referrals)",
    "rereferrals": "DfE, Children in need (referrals)",
    "rereferral": "DfE, Children in need (referrals)",
}
#: Board context lines: (DfE measure, short label).
BOARD_CONTEXT_MEASURES = (("cla_at_31_march", "CLA rate"), ("cpp_at_31_march", "CPP rate"))


def first_treatment_year(rollout: dt.date | None) -> int | None:
    """The first financial year that starts on or after the rollout date, as DfE labels it.

    DfE's years run April to March and are labelled by the year they end in: a rollout on
    1 October 2019 falls inside 2019-20, so the first whole year after it is 2020-21 (2021).
    A rollout on 1 April 2019 starts 2019-20 itself (2020).
    """
    if rollout is None:
        return None
    april = dt.date(rollout.year, 4, 1)
    start = april if rollout <= april else dt.date(rollout.year + 1, 4, 1)
    return start.year + 1


def _bench_metric_text(measure: str) -> tuple[str, str]:
    """(unit for sentences, axis title) for a DfE measure."""
    if measure in dfe_reads.RATE_MEASURES:
        return "per 10,000", "Rate per 10,000 children aged 0 to 17"
    return "%", "Per cent"


@dataclass(frozen=True)
class BenchmarkAnalysis:
    """A council against England, its region and its DfE statistical neighbours.

    Fields:
        area_code, new_la_code, area_name, region_name: the council (DfE three-digit code,
            ONS code, names).
        measure, label, short: the DfE measure and its labels.
        compared_on: 'rate_per_10k' (counts of children) or 'value' (percentages).
        unit: 'per 10,000' or '%'.
        y_title: the axis title.
        decimals: 0 when every figure is a rate DfE published (they round to whole numbers),
            else 1.
        table: one row per year (year ending 31 March): time_period, year, council, england,
            region, neighbours_median, neighbours_min, neighbours_max, neighbours_n,
            council_count (the published count behind the council's rate), rate_source
            ('published' / 'recomputed'), population_year (for a recomputed rate) and release.
        latest_year: the latest year with a figure for the council, or None.
        ranks: `pipelines.benchmarks.rank_among` for the latest year; rank_text: scope -> plain words
            ("3rd lowest of 11 (1 = lowest rate)").
        neighbours: `pipelines.benchmarks.neighbours`, closest first.
        rollout_date: the first rollout date when the council is an area in this warehouse.
        treatment_year: the first year counted as after the programme (DfE labelling), from
            the argument or `first_treatment_year(rollout_date)`, or None.
        synth: the synthetic-control result, or None with the reason in
            notes['synthetic_control'].
        weights: donor weights with names (area_code, la_name, weight), largest first.
        fit_ok: True when the synthetic comparison is good enough to use, False when it was
            refused for a poor fit, None when it could not be tried.
        verdict: one plain sentence on whether the comparison can be used.
        title: the chart title stating the finding; findings: plain-English sentences (the
            board line, the ranks, then `synth_findings`, those on the synthetic control).
        context_line: the one-sentence comparison for the board (latest year), or None.
        source: the source line: DfE publication and release(s), and whether rates are as
            published or recomputed (with the population years).
        notes: method -> reason, for anything that could not run.
    """

    area_code: str
    new_la_code: str | None
    area_name: str
    region_name: str | None
    measure: str
    label: str
    short: str
    compared_on: str
    unit: str
    y_title: str
    decimals: int
    table: pd.DataFrame
    latest_year: int | None
    ranks: pd.DataFrame
    rank_text: dict[str, str]
    neighbours: pd.DataFrame
    rollout_date: dt.date | None
    treatment_year: int | None
    synth: Any
    weights: pd.DataFrame
    fit_ok: bool | None
    verdict: str
    title: str
    findings: list[str]
    synth_findings: list[str]
    context_line: str | None
    source: str
    notes: dict[str, str]


def benchmark_councils(wh: Warehouse) -> pd.DataFrame:
    """Councils with published DfE figures, for a picker (`pipelines.benchmarks.council_options`)."""
    return dfe_reads.council_options(wh)


def benchmark_council_code(wh: Warehouse, area_code: str | None) -> str | None:
    """The DfE three-digit code for a warehouse area code (or any council code), or None."""
    if not area_code:
        return None
    try:
        return dfe_reads.resolve_council(wh, area_code)["area_code"]
    except KeyError:
        return None


def benchmark_measures(wh: Warehouse, area_code: str) -> list[str]:
    """The DfE measures with at least one published figure for the council, in menu order."""
    council = dfe_reads.resolve_council(wh, area_code)
    found = wh.query(
        "SELECT DISTINCT measure FROM mart_dfe_current WHERE geographic_level = 'Local authority' "
        "AND area_code = ? AND value IS NOT NULL",
        [council["area_code"]],
    )
    have = set(found["measure"])
    return [m for m in BENCHMARK_MEASURES if m in have]


def benchmark_revisions(wh: Warehouse) -> pd.DataFrame:
    """Figures that changed between DfE releases (`pipelines.benchmarks.dfe_revisions`)."""
    return dfe_reads.dfe_revisions(wh)


def council_rollout_date(wh: Warehouse, council: Mapping[str, Any]) -> dt.date | None:
    """The council's first rollout start from the rollout table, whether or not the council has
    local outcome extracts: looked up by its ONS code (and any earlier ONS code DfE lists for
    it), by its DfE three-digit code, and by a warehouse area whose areas file names the
    council's old code. None when no rollout is loaded for it."""
    old = str(council.get("area_code") or "")
    codes = {str(c) for c in (council.get("new_la_code"), old) if c}
    if old:
        former = wh.query("SELECT new_la_code FROM dfe_area_codes WHERE old_la_code = ?", [old])
        codes |= {str(c) for c in former["new_la_code"].dropna()}
    areas = wh.query("SELECT area_code FROM fct_areas WHERE old_la_code = ?", [old])
    codes |= {str(c) for c in areas["area_code"].dropna()}
    dates = [d for c in sorted(codes) if (d := marts.area_rollout_date(wh, c)) is not None]
    return min(dates) if dates else None


def _bench_source(
    wh: Warehouse, measure: str, codes: list[str], region_code: str | None, rated: bool
) -> tuple[str, bool]:
    """The source line (publication, release(s) used, published or recomputed rates), and
    whether every rate on the chart is as DfE published it."""
    prefix = measure.split("_")[0]
    publication = _PUBLICATION.get(prefix, "DfE children's social care statistics")
    view = "mart_dfe_rates" if rated else "mart_dfe_current"
    rate_cols = (
        "rate_source, min(population_year) AS pop_first, max(population_year) AS pop_last"
        if rated
        else "CAST(NULL AS VARCHAR) AS rate_source, NULL AS pop_first, NULL AS pop_last"
    )
    placeholders = ", ".join("?" for _ in codes) or "NULL"
    # view and columns are constants chosen above; values are bound parameters.
    used = wh.query(
        f"SELECT {rate_cols}, string_agg(DISTINCT release, ',') AS releases "  # noqa: S608
        f"FROM {view} WHERE measure = ? AND value IS NOT NULL AND ("
        f"(geographic_level = 'Local authority' AND area_code IN ({placeholders})) "
        "OR geographic_level = 'National' "
        "OR (geographic_level = 'Regional' AND area_code = ?)) GROUP BY ALL",
        [measure, *codes, region_code],
    )
    releases = sorted({r for text in used["releases"].dropna() for r in str(text).split(",")})
    if len(releases) == 1:
        release = f"release {releases[0]}"
    else:
        release = (
            f"releases {', '.join(releases[:-1])} and {releases[-1]} (the newest release that "
            "has each year)"
            if releases
            else "no release"
        )
    parts = [f"Source: {publication}, {release}"]
    sources = {row.rate_source: row for row in used.itertuples() if row.rate_source}
    if rated:
        if set(sources) == {"published"}:
            parts.append("rates per 10,000 children aged 0 to 17 as published by DfE")
        elif "recomputed" in sources:
            row = sources["recomputed"]
            years = (
                f"{int(row.pop_first)}"
                if row.pop_first == row.pop_last
                else f"{int(row.pop_first)}–{int(row.pop_last)}"
            )
            what = (
                "some rates as published by DfE, others"
                if "published" in sources
                else "rates per 10,000 children aged 0 to 17"
            )
            parts.append(
                f"{what} recomputed by rp-impact from DfE counts and ONS mid-year population "
                f"estimates {years} (the year before each reporting year)"
            )
    return " · ".join(parts), rated and set(sources) == {"published"}


def _benchmark_table(series: pd.DataFrame, rated: bool) -> pd.DataFrame:
    """`benchmark_series` as the page's table: one row a year, the council beside England,
    its region and its neighbours (rates when the measure is a count, else the values)."""
    metric = "rate" if rated else "value"
    table = pd.DataFrame(
        {
            "time_period": series["time_period"].astype(int),
            "year": [fy_label(y) for y in series["time_period"]],
            "council": series[f"council_{metric}"].astype("float64"),
            "england": series[f"england_{metric}"].astype("float64"),
            "region": series[f"region_{metric}"].astype("float64"),
            "neighbours_median": series["sn_median"].astype("float64"),
            "neighbours_min": series["sn_min"].astype("float64"),
            "neighbours_max": series["sn_max"].astype("float64"),
            "neighbours_n": series["sn_n"].astype("int64"),
        }
    )
    if rated:
        table["council_count"] = series["council_value"].astype("float64")
        table["rate_source"] = series["council_rate_source"]
        table["population_year"] = (series["time_period"] - 1).where(
            series["council_rate_source"] == "recomputed"
        )
        table["population_year"] = table["population_year"].astype("Int64")
    table["release"] = series["release"]
    return table


def benchmark_analysis(
    wh: Warehouse,
    area_code: str,
    measure: str,
    treatment_year: int | None = None,
    *,
    synthetic: bool = True,
) -> BenchmarkAnalysis:
    """A council against England, its region and its statistical neighbours on a DfE measure.

    `area_code` is any council code (DfE three-digit, ONS, or a warehouse area code that DfE
    publishes). The synthetic control uses the council's DfE statistical neighbours as donors
    and `treatment_year` (DfE labelling: 2021 is 2020-21) as the first year after the
    programme; by default the first financial year starting after the area's first rollout
    (`first_treatment_year`). `synthetic=False` skips it (the board's context lines).
    Raises KeyError when the council is not in the imported DfE files.
    """
    # pysyncon is slow to import; only a synthetic control needs it.
    from pipelines.stats.synth import synthetic_control

    if measure not in BENCHMARK_MEASURES:
        raise ValueError(
            f"Unknown DfE measure '{measure}'. Known: {', '.join(BENCHMARK_MEASURES)}."
        )
    council = dfe_reads.resolve_council(wh, area_code)
    code, name = str(council["area_code"]), str(council["area_name"])
    label, short = BENCHMARK_MEASURES[measure]
    unit, y_title = _bench_metric_text(measure)
    notes: dict[str, str] = {}

    series = dfe_reads.benchmark_series(wh, code, measure)
    compared_on = str(series["compared_on"].iloc[0]) if len(series) else "value"
    rated = compared_on == "rate_per_10k"
    table = _benchmark_table(series, rated)

    neighbour_frame = dfe_reads.neighbours(wh, code)
    codes = [code, *neighbour_frame["old_la_code"].astype(str).tolist()]
    source, all_published = _bench_source(wh, measure, codes, council.get("region_code"), rated)
    decimals = 0 if all_published else 1  # DfE publishes rates as whole numbers

    have = table.dropna(subset=["council"])
    latest_year = int(have["time_period"].max()) if len(have) else None
    ranks = (
        dfe_reads.rank_among(wh, code, measure, latest_year)
        if latest_year is not None
        else pd.DataFrame(columns=["scope", "rank", "n", "figure"])
    )
    figure_word = "rate" if rated else "figure"
    rank_text = rank_sentences(ranks, figure_word)

    rollout = council_rollout_date(wh, council)
    given = treatment_year is not None
    treatment_year = int(treatment_year) if given else first_treatment_year(rollout)
    synth = None
    fit_ok: bool | None = None
    weights = pd.DataFrame(columns=["area_code", "la_name", "weight"])
    findings: list[str] = []
    synth_findings: list[str] = []
    if not synthetic:
        verdict = "Not run."
    elif treatment_year is None:
        notes["synthetic_control"] = (
            f"No rollout date is known for {name} in this warehouse, so there is no 'after' "
            "to compare. Choose the first year after the programme began to run the "
            "comparison."
        )
        verdict = "Not run: the first year after the programme began is not known."
    else:
        panel = dfe_reads.synth_panel(wh, code, measure)
        donors = sorted(panel.loc[panel["role"] == "donor", "area_code"].unique().tolist())
        synth = attempt(
            notes,
            "synthetic_control",
            lambda: synthetic_control(
                panel,
                treated=code,
                donors=donors,
                outcome="value",
                treatment_year=treatment_year,
            ),
        )
        if synth is None:
            reason = notes["synthetic_control"].replace(f" {code} ", f" {name} ")
            if "pre-period year" in reason:
                have_years = table.dropna(subset=["council"])["time_period"]
                first = f" start in {fy_label(int(have_years.min()))}" if len(have_years) else ""
                reason += (
                    f" The loaded DfE files for this measure{first}: importing older DfE "
                    "releases (rp-impact import-dfe) would add earlier years, or choose a later "
                    "first year after the programme."
                )
            notes["synthetic_control"] = reason
            fit_ok = False if "does not track" in reason else None
            verdict = (
                "Not good enough to use: the synthetic comparison does not track "
                f"{name} closely enough before {fy_label(treatment_year)}."
                if fit_ok is False
                else "Could not be run with these data."
            )
        else:
            fit_ok = True
            names = dict(zip(panel["area_code"], panel["la_name"], strict=False))
            weights = pd.DataFrame(
                {
                    "area_code": synth.weights.index.astype(str),
                    "la_name": [names.get(c, c) for c in synth.weights.index],
                    "weight": synth.weights.to_numpy(dtype=float),
                }
            )
            verdict, synth_findings = synth_sentences(synth, name, short, unit, decimals)
            findings += synth_findings

    title = benchmark_title(name, short, table, decimals)
    context_line = context_sentence(name, short, table, unit, decimals)
    if context_line:
        findings.insert(0, context_line)
    ranked = rank_finding(name, fy_label(latest_year), ranks, figure_word) if latest_year else ""
    if ranked:
        findings.insert(1 if context_line else 0, ranked)
    return BenchmarkAnalysis(
        area_code=code,
        new_la_code=council.get("new_la_code"),
        area_name=name,
        region_name=council.get("region_name"),
        measure=measure,
        label=label,
        short=short,
        compared_on=compared_on,
        unit=unit,
        y_title=y_title,
        decimals=decimals,
        table=table,
        latest_year=latest_year,
        ranks=ranks,
        rank_text=rank_text,
        neighbours=neighbour_frame,
        rollout_date=rollout,
        treatment_year=treatment_year,
        synth=synth,
        weights=weights,
        fit_ok=fit_ok,
        verdict=verdict,
        title=title,
        findings=findings,
        synth_findings=synth_findings,
        context_line=context_line,
        source=source,
        notes=notes,
    )


def benchmark_context(wh: Warehouse, area_code: str) -> list[tuple[str, str]]:
    """The board's context lines: CLA and CPP on 31 March against England, the region and the
    statistical neighbours' median, for the latest published year, each with its source line
    (which says whether the rates are published or recomputed). Empty without DfE data."""
    if benchmark_council_code(wh, area_code) is None:
        return []
    lines = []
    for measure, _short in BOARD_CONTEXT_MEASURES:
        try:
            bench = benchmark_analysis(wh, area_code, measure, synthetic=False)
        except KeyError:
            continue
        if bench.context_line:
            lines.append((bench.context_line, bench.source))
    return lines


# -- a council with only DfE's published figures ------------------------------------------

#: The analysis plan's outcomes (named as in the local extracts) as DfE publishes them:
#: annual, for the year ending 31 March.
DFE_MEASURE_FOR: dict[str, str] = {
    "cla_starts": "cla_starts",
    "cpp_starts": "cpp_starts",
    "cla_at_period_end": "cla_at_31_march",
    "cpp_at_period_end": "cpp_at_31_march",
    "cin_at_period_end": "cin_at_31_march",
    "referrals": "referrals",
    "rereferrals": "rereferrals",
    "cpp_repeat_starts": "cpp_subsequent",
}


@dataclass(frozen=True)
class AnnualSeries:
    """A council's published annual counts beside its statistical neighbours' and England's,
    for :func:`pipelines.analysis.verdict.verdict_from_annual`: each frame has ``year`` (ending
    31 March), ``value`` (the published count) and ``population`` (the population behind the
    published rate, else the ONS mid-year estimate of the year before); ``neighbours`` also has
    ``area_code``. ``note`` says which figures these are, for the verdict's caveats."""

    council: pd.DataFrame
    neighbours: pd.DataFrame
    england: pd.DataFrame | None
    note: str


def annual_series(wh: Warehouse, area_code: str, measure: str) -> AnnualSeries:
    """The published annual figures of :class:`AnnualSeries` for a DfE ``measure``
    (:data:`DFE_MEASURE_FOR`). Raises KeyError when DfE does not publish the council."""
    frame = dfe_reads.annual_counts(wh, area_code, measure)
    code = str(dfe_reads.resolve_council(wh, area_code)["area_code"])
    cols = ["year", "value", "population"]
    mine = frame[frame["role"] == "council"]
    england = frame.loc[frame["role"] == "england", cols].reset_index(drop=True)
    releases = sorted(set(mine["release"].dropna().astype(str)))
    years = (
        f"years ending 31 March {int(mine['year'].min())} to {int(mine['year'].max())}"
        if len(mine)
        else "no years"
    )
    label, _short = BENCHMARK_MEASURES.get(measure, (measure, measure))
    note = (
        f"Figures: {label.lower()}, published annual figures (DfE, year ending 31 March), "
        f"{years} (DfE release{'s' if len(releases) > 1 else ''} {', '.join(releases) or '–'}). "
        "The counts are as published; the rates compared are recomputed by rp-impact from those "
        "counts and the population behind each published rate (the ONS mid-year estimate of "
        "the year before where DfE published no rate)."
    )
    neighbours = frame.loc[frame["role"] == "neighbour", ["area_code", *cols]]
    # A neighbour without a figure in one of the council's years (a council created by a
    # reorganisation, a suppressed year) would take that year out for every council, so it is
    # left out, provided enough neighbours remain to measure chance differences.
    wanted = set(mine["year"])
    have = neighbours.groupby("area_code")["year"].agg(lambda y: wanted <= set(y))
    complete = have[have].index
    if len(complete) >= 4 and len(complete) < len(have):
        dropped = sorted(set(have.index) - set(complete))
        names = dfe_reads.neighbours(wh, code).set_index("old_la_code")["la_name"]
        note += (
            " Left out of the comparison for want of a figure in every year: "
            + ", ".join(str(names.get(c, c)) for c in dropped)
            + "."
        )
        neighbours = neighbours[neighbours["area_code"].isin(complete)]
    return AnnualSeries(
        council=mine[cols].reset_index(drop=True),
        neighbours=neighbours.reset_index(drop=True),
        england=england if len(england) else None,
        note=note,
    )


def annual_verdicts(
    wh: Warehouse,
    area_code: str,
    *,
    plan: Any = None,
    calibration: Mapping[str, Any] | None = None,
    rollout: dt.date | None = None,
) -> tuple[Any, ...]:
    """One verdict per primary outcome for a council with only DfE's published annual figures
    and a rollout date: :func:`pipelines.analysis.verdict.verdict_from_annual` (the council
    against its statistical neighbours), Holm-adjusted across the plan's primary outcomes.
    ``rollout`` is the date to use instead of the rollout table's (``rp-impact analyse
    --rollout``).

    Raises :class:`~pipelines.stats.errors.StatsInputError` saying what is missing when DfE
    does not publish the council or no rollout date is loaded for it.
    """
    from pipelines.analysis.plan import load_plan
    from pipelines.analysis.verdict import (
        annual_rollout_year,
        holm,
        load_calibration,
        verdict_from_annual,
        with_adjusted_p,
    )
    from pipelines.stats.errors import StatsInputError

    plan = load_plan(area_code) if plan is None else plan
    calibration = load_calibration() if calibration is None else calibration
    try:
        council = dfe_reads.resolve_council(wh, area_code)
    except KeyError as exc:
        raise StatsInputError(
            f"There are no outcome figures for {area_code}: neither local extracts nor DfE's "
            "published figures. Import the DfE tables (rp-impact import-dfe) or load the "
            "council's outcomes extracts."
        ) from exc
    rollout = council_rollout_date(wh, council) if rollout is None else rollout
    if rollout is None:
        raise StatsInputError(
            f"No rollout date is known for {council['area_name']}, so there is no 'after' to "
            "compare. Load the rollout table (rp-impact ingest rollout.csv, with the council's "
            "ONS code and the date Restorative Practice started)."
        )
    year = annual_rollout_year(rollout)
    alone = []
    for outcome in plan.primary:
        measure = DFE_MEASURE_FOR.get(outcome)
        if measure is None:
            continue
        series = annual_series(wh, area_code, measure)
        alone.append(
            verdict_from_annual(
                series.council,
                series.neighbours,
                year,
                plan,
                calibration,
                outcome=outcome,
                area_code=area_code,
                england_series=series.england,
                data_note=series.note,
            )
        )
    adjusted = holm([v.p_value for v in alone])
    return tuple(with_adjusted_p(v, p, plan) for v, p in zip(alone, adjusted, strict=True))


@dataclass(frozen=True)
class CouncilAnswer:
    """What `rp-impact analyse` prints for one council: its verdicts (one per primary outcome),
    why there are none when there are none (``note``), the plan line, and the supporting
    findings as ``(key, text, confidence)`` (``confidence`` None for a published level).
    ``rollout_source`` says where the rollout date came from."""

    area_code: str
    area_name: str
    rollout_date: dt.date | None
    rollout_source: str
    verdicts: tuple[Any, ...]
    note: str
    plan_line: str
    findings: tuple[tuple[str, str, str | None], ...]


def council_answer(
    wh: Warehouse, area_code: str, *, rollout: dt.date | None = None
) -> CouncilAnswer:
    """The Board summary's verdicts and findings for a council (any council in England that has
    local extracts or DfE's published figures). ``rollout`` stands in for the rollout table's
    date for a council with only DfE's figures: the annual verdicts and the synthetic
    comparisons then use it, and the findings are the benchmark comparisons.

    Raises KeyError when neither local extracts nor DfE's figures hold the council, and
    ValueError when ``rollout`` is given for a council with local outcomes extracts (each
    locality's own start date in the rollout table is what its verdicts use).
    """
    from pipelines.analysis.board import ANNUAL_NOTE, board_summary, has_local_outcomes
    from pipelines.analysis.plan import load_plan, plan_history

    local = has_local_outcomes(wh, area_code)
    council = None
    if not local:
        try:
            council = dfe_reads.resolve_council(wh, area_code)
        except KeyError as exc:
            raise KeyError(
                f"No council with code {area_code}: the warehouse holds neither its outcomes "
                "extracts nor DfE's published figures for it. Check the code (ONS or DfE "
                "three-digit) or import the DfE tables (rp-impact import-dfe)."
            ) from exc
    name = str(council["area_name"]) if council else marts.area_name(wh, area_code)
    if rollout is None:
        board = board_summary(wh, area_code)
        found = council_rollout_date(wh, council) if council else None
        found = found or marts.area_rollout_date(wh, area_code)
        return CouncilAnswer(
            area_code=area_code,
            area_name=name,
            rollout_date=found,
            rollout_source="the rollout table" if found else "none loaded",
            verdicts=board.verdicts,
            note=board.verdict_note,
            plan_line=board.plan_line,
            findings=tuple((f.key, f.text, f.confidence) for f in board.findings),
        )
    if local:
        raise ValueError(
            f"--rollout applies only to a council with no local outcomes extracts: {name}'s "
            "verdicts use each locality's start date from the rollout table."
        )
    plan = load_plan(area_code)
    notes: dict[str, str] = {}
    verdicts = attempt(
        notes, "verdicts", lambda: annual_verdicts(wh, area_code, plan=plan, rollout=rollout)
    )
    findings = []
    for measure, _short in BOARD_CONTEXT_MEASURES:
        bench = benchmark_analysis(
            wh, area_code, measure, treatment_year=first_treatment_year(rollout)
        )
        levels = [t for t in bench.findings if t not in bench.synth_findings]
        findings += [(f"dfe_level:{measure}", text, None) for text in levels]
        # Graded low, as on the Board: the synthetic comparison's intervals are not calibrated.
        synth = " ".join(bench.synth_findings) or bench.notes.get("synthetic_control")
        if synth:
            findings.append((f"synth:{measure}", synth, "low"))
    return CouncilAnswer(
        area_code=area_code,
        area_name=name,
        rollout_date=rollout,
        rollout_source="given with --rollout",
        verdicts=tuple(verdicts or ()),
        note=notes.get("verdicts", ANNUAL_NOTE),
        plan_line=" ".join(plan_history(wh, area_code, plan).lines()),
        findings=tuple(findings),
    )
