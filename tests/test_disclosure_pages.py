"""Every page and every download, attacked as a viewer would: no suppressed count comes back.

One AppTest walks the dashboard over the sample warehouse (many monthly counts of 1 to 4 by
locality and age band) through every page, and through Trends for the whole area, each
locality and an age band, at the month and quarter grains. From each view it collects every
chart trace (x, y and hover text), every table on screen (what its toolbar's "Download as
CSV" exports) and every download's bytes (read back from Streamlit's media store), and tries
the recoveries of issue 16 on all of them:

- rate x population / 10,000: every number beside a date, times every population the same
  view shows for that date (the SPC points have no population; the series beside them has);
- a segment's mean x its length less the values shown (an SPC chart's mean line);
- inverting an exact Poisson interval (every lower/upper column pair and every band);
- subtraction from the "All" rows, across every table of every view at the same measure and
  grain (a cell one table hides may be shown by another), repeated until nothing new is
  found, and from the all-staff rows of the training table.

A recovery counts as a success only when it names a hidden count of 1 to 4 exactly as the
warehouse holds it. The totals are printed (`-s`) and every success fails the test.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pipelines import disclosure, marts
from pipelines.store.warehouse import open_warehouse
from tests.test_app_pages import APP
from tests.test_disclosure_recovery import decode, exact, number

AREA = "E06999901"
THRESHOLD = 4
C = disclosure.SUPPRESSED
MEASURE = "cla_starts"
UNITS = ("Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven")
#: (page, unit, grain, Trends age band): every page once, Trends for each series it can show.
VIEWS = [
    ("board", "All", "quarter", None),
    *(("trends", unit, "month", None) for unit in ("All", *UNITS)),
    ("trends", "All", "month", "Under 1"),
    ("trends", "All", "quarter", None),
    ("trends", "Ashby", "quarter", None),
    ("cohorts", "All", "month", None),
    ("cohorts", "All", "quarter", None),
    ("training", "All", "quarter", None),
    ("benchmarks", "All", "quarter", None),
    ("quality", "All", "quarter", None),
    ("upload", "All", "quarter", None),
]
#: Columns holding a count of children or staff (never shown from 1 to the threshold).
COUNT_COLUMNS = ("value", "count", "observed", "staff_trained", "staff_in_scope")
DATE_COLUMNS = ("period_end", "date")
#: Lines that are not one period's own figure (an average over a side, a model's fit, the SPC
#: mean and limits): their height at a date is no period's rate, so rate x population at that
#: date derives nothing. They are attacked as what they are (`_mean_times_length`, and the
#: before/after averages in test_disclosure_recovery).
SUMMARY_TRACES = ("Before rollout: average", "After rollout: average", "Mean", "Limits")
SUMMARY_TRACES += ("Near limits", "Model fit", "Expected without", "Target")


# -- what the viewer gets ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def walked(sample_warehouse_path, tmp_path_factory):
    """Every view's payloads, and the warehouse they were drawn from."""
    import shutil

    path = tmp_path_factory.mktemp("pages") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    return walk(path), path


def walk(path, views=VIEWS) -> list:
    """[(view, kind, name, frame of text)] for every chart, table and download of `views`."""
    media: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            media[file_id] = path_or_data
        return file_id

    patch = pytest.MonkeyPatch()
    patch.setenv("RP_IMPACT_WAREHOUSE", str(path))
    # A module's fixture runs before conftest's per-test demo mode: set it here, as it does.
    patch.setenv("RP_IMPACT_DEMO", "1")
    patch.setenv("RP_IMPACT_USERS", str(Path(path).parent / "no-users.toml"))
    patch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    try:
        at = AppTest.from_file(APP, default_timeout=300)
        for key, value in {"area": AREA, "measure": MEASURE}.items():
            at.query_params[key] = value
        at.run()
        payloads = []
        for view in views:
            payloads += _visit(at, view, media)
    finally:
        patch.undo()
    return payloads


def _visit(at: AppTest, view, media) -> list:
    page, unit, grain, age_band = view
    if page != "board":  # the board is the default page: the first run has drawn it
        at.switch_page(f"views/{page}.py").run()
    unit_box = [s for s in at.sidebar.selectbox if s.label == "Unit or locality"]
    if unit_box and unit_box[0].value != unit:  # pages without the filters (the board) skip
        unit_box[0].set_value(unit).run()
    if at.sidebar.radio and at.sidebar.radio[0].value != grain:
        at.sidebar.radio[0].set_value(grain).run()
    if page == "trends":  # the age band stays chosen between visits: set it every time
        band = at.selectbox(key="trends-age-band")
        if band.value != (age_band or "All"):
            band.set_value(age_band or "All").run()
    assert not at.exception, (view, [e.value for e in at.exception])
    out = []
    for number_, element in enumerate(at.get("plotly_chart")):
        spec = json.loads(element.proto.spec)
        out.append((view, "chart", str(number_), _chart_frame(spec)))
    for number_, table in enumerate(at.dataframe):
        out.append((view, "table", str(number_), _as_text(table.value)))
    for button in at.get("download_button"):
        file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
        content = media[file_id]
        if button.proto.url.endswith(".csv"):
            frame = pd.read_csv(
                io.BytesIO(content), encoding="utf-8-sig", dtype=str, keep_default_na=False
            )
            out.append((view, "download", button.proto.label, frame))
    return out


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as its toolbar's CSV holds it: every cell as text, missing as empty."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.dt.strftime("%Y-%m-%d").fillna("")
        else:
            out[column] = values.map(lambda v: "" if v is None or v is pd.NA or v != v else str(v))
    out.columns = [str(c) for c in out.columns]
    return out


def _chart_frame(spec: dict) -> pd.DataFrame:
    """Every point every trace draws or hovers: trace, x, y, and the band pair it belongs to."""
    rows = []
    for number_, trace in enumerate(spec["data"]):
        xs, ys = decode(trace.get("x")), decode(trace.get("y"))
        texts = trace.get("hovertext") or trace.get("text") or []
        for position, (x, y) in enumerate(zip(xs, ys, strict=False)):
            text = texts[position] if isinstance(texts, list) and position < len(texts) else ""
            rows.append(
                {
                    "trace": number_,
                    "name": str(trace.get("name", "")),
                    "x": "" if x is None else str(x)[:10],
                    "y": y,
                    "text": str(text),
                }
            )
    return pd.DataFrame(rows, columns=["trace", "name", "x", "y", "text"])


# -- the truth ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def truth(walked):
    return warehouse_truth(walked[1])


def warehouse_truth(path):
    """The warehouse's counts: (grain, date, population) -> hidden small counts, each series'
    counts by (grain, dimension, name, date), and staff counts by (unit, date, column)."""
    with open_warehouse(path) as wh:
        cells = wh.query(
            """SELECT grain, unit, age_band, period_end, value, population
               FROM mart_outcome_rates
               WHERE area_code = ? AND measure = ? AND (unit = 'All' OR age_band = 'All')""",
            [AREA, MEASURE],
        )
        staff = marts.training_coverage(wh, AREA, by=("unit",))
    cells["date"] = pd.to_datetime(cells["period_end"]).dt.strftime("%Y-%m-%d")
    small: dict[tuple, set[int]] = defaultdict(set)
    series: dict[tuple, float] = {}
    for row in cells.itertuples(index=False):
        value = None if pd.isna(row.value) else float(row.value)
        if row.unit == "All" and row.age_band == "All":
            key = ("total", "All")
        elif row.age_band == "All":
            key = ("unit", row.unit)
        else:
            key = ("age", row.age_band)
        series[(row.grain, *key, row.date)] = value
        if value is not None and 1 <= value <= THRESHOLD and not pd.isna(row.population):
            small[(row.grain, row.date, float(row.population))].add(int(value))
    staff["date"] = staff["period_end"].dt.strftime("%Y-%m-%d")
    staff_truth = {
        (row.unit, row.date, column): float(getattr(row, column))
        for row in staff.itertuples(index=False)
        for column in ("staff_trained", "staff_in_scope")
    }
    return small, series, staff_truth


# -- the attacks -------------------------------------------------------------------------------


class Tally:
    """Recoveries attempted and the ones that named a hidden small count exactly."""

    def __init__(self):
        self.attempts = defaultdict(int)
        self.successes: list[str] = []

    def attempt(self, attack: str, hit: bool, where: str) -> None:
        self.attempts[attack] += 1
        if hit:
            self.successes.append(f"{attack}: {where}")


def _date_column(frame: pd.DataFrame) -> str | None:
    return next((c for c in DATE_COLUMNS if c in frame.columns), None)


def _populations(payloads) -> dict[tuple, dict[str, set[float]]]:
    """Every population each view shows, by date: what a viewer can multiply a rate by."""
    found: dict[tuple, dict[str, set[float]]] = defaultdict(lambda: defaultdict(set))
    for view, _kind, _name, frame in payloads:
        date = _date_column(frame)
        if date and "population" in frame.columns:
            for when, population in zip(frame[date], frame["population"], strict=True):
                if number(population) is not None:
                    found[view][str(when)[:10]].add(number(population))
    return found


def _rate_times_population(tally, view, where, dates, values, populations, small) -> None:
    grain = view[2]
    for when, value in zip(dates, values, strict=True):
        rate = number(value)
        if rate is None or rate <= 0:
            continue
        for population in populations.get(str(when)[:10], ()):
            guess = exact(rate * population / 10_000)
            hit = guess is not None and guess in small.get((grain, str(when)[:10], population), ())
            tally.attempt("rate x population", hit, f"{where} {when} {value}")


def _mean_times_length(tally, view, where, frame, populations, small) -> None:
    """An SPC segment's mean x its number of periods less the values shown, for one hidden."""
    if not {"mean", "value", "date"} <= set(frame.columns):
        return
    runs = (frame["mean"] != frame["mean"].shift()).cumsum()
    for _, segment in frame.groupby(runs):
        mean = number(segment["mean"].iloc[0])
        hidden = segment[segment["value"].map(number).isna()]
        if mean is None or len(hidden) != 1:
            continue
        rate = mean * len(segment) - segment["value"].map(number).dropna().sum()
        _rate_times_population(
            tally, view, f"{where} (mean)", hidden["date"], [rate], populations, small
        )


def _interval_pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    pairs = []
    for column in frame.columns:
        if column.endswith("lower"):
            partner = column[: -len("lower")] + "upper"
            if partner in frame.columns:
                pairs.append((column, partner))
    return pairs


def _invert(tally, where, lower, upper) -> None:
    low = pd.Series([number(v) for v in lower], dtype=float)
    high = pd.Series([number(v) for v in upper], dtype=float)
    implied = disclosure.implied_counts(low, high, threshold=THRESHOLD)
    for value in implied:
        tally.attempt("interval inversion", not np.isnan(value), f"{where} implies {value}")


def _chart_bands(frame: pd.DataFrame) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each band's upper edge ("... (upper)") with the lower edge drawn after it."""
    out = []
    for trace, upper in frame.groupby("trace"):
        if upper["name"].iloc[0].endswith("(upper)"):
            lower = frame[frame["trace"] == trace + 1]
            if len(lower) == len(upper):
                out.append((upper, lower))
    return out


def _cells(payloads) -> dict[tuple, dict[tuple, float | None]]:
    """Every outcome count any table or download shows or hides, pooled across views:
    (grain) -> (dimension, name, date) -> value (None where hidden)."""
    pooled: dict[tuple, dict[tuple, float | None]] = defaultdict(dict)
    for (page, unit, grain, age_band), _kind, _name, frame in payloads:
        date = _date_column(frame)
        if (
            date != "period_end"
            or "value" not in frame.columns
            or page not in ("trends", "cohorts")
        ):
            continue
        if "series" in frame.columns:  # a comparison: localities or age bands, with "All"
            dimension = "unit" if set(frame["series"]) & set(UNITS) else "age"
            keys = [("total", "All") if s == "All" else (dimension, s) for s in frame["series"]]
        elif age_band is not None:
            keys = [("age", age_band)] * len(frame)
        else:
            keys = [("total", "All") if unit == "All" else ("unit", unit)] * len(frame)
        for key, when, value in zip(keys, frame[date], frame["value"], strict=True):
            cell = (*key, str(when)[:10])
            shown = number(value)
            if value == C:
                pooled[grain].setdefault(cell, None)
            elif shown is not None:
                pooled[grain][cell] = shown
    return pooled


def _subtract(tally, pooled, series) -> None:
    """Parts worked out from their total, across every table at the same grain, repeated."""
    for grain, cells in pooled.items():
        known = dict(cells)
        progress = True
        while progress:
            progress = False
            dates = {w for (d, _n, w) in known if d == "total"}
            for dimension in ("unit", "age"):
                members = sorted({k[2] for k in series if k[0] == grain and k[1] == dimension})
                for when in dates:
                    total = known.get(("total", "All", when))
                    parts = [(dimension, m, when) for m in members]
                    if total is None or not all(p in known for p in parts):
                        continue
                    hidden = [p for p in parts if known[p] is None]
                    if not hidden:
                        continue
                    remainder = total - sum(known[p] for p in parts if known[p] is not None)
                    guesses = (
                        [remainder]
                        if len(hidden) == 1
                        else [1.0] * len(hidden)
                        if np.isclose(remainder, len(hidden))
                        else []
                    )
                    if not guesses:  # tried: the remainder names no hidden part
                        tally.attempt("subtraction from totals", False, f"{grain} {when}")
                    for part, guess in zip(hidden, guesses, strict=False):
                        real = series.get((grain, *part))
                        tally.attempt(
                            "subtraction from totals",
                            real is not None and 1 <= real <= THRESHOLD and real == guess,
                            f"{grain} {part} = {guess}",
                        )
                        if real == guess:
                            known[part] = guess
                            progress = True


def _across_views(tally, pooled, series) -> None:
    """Every count pooled across the views, as one locality x age-band table per period with
    both margins: each cell hidden in all views is tried by linear recovery and by linear
    programming with every hidden count at least 1 (`test_disclosure_across_views`)."""
    from tests.test_disclosure_across_views import Tally as Cross
    from tests.test_disclosure_across_views import attack_period

    cell = {"total": lambda n: ("All", "All"), "unit": lambda n: (n, "All")}
    cell["age"] = lambda n: ("All", n)
    for grain, cells in pooled.items():
        units = ["All", *UNITS]
        bands = ["All", *sorted({k[2] for k in series if k[0] == grain and k[1] == "age"})]
        by_period: dict[str, dict] = defaultdict(dict)
        real: dict[str, dict] = defaultdict(dict)
        for (dimension, name, when), value in cells.items():
            by_period[when][cell[dimension](name)] = value
        for (g, dimension, name, when), value in series.items():
            if g == grain and value is not None:
                real[when][cell[dimension](name)] = value
        cross = Cross()
        for when, known in by_period.items():
            attack_period(cross, f"{grain} {when}", known, real[when], units, bands)
        for attack, count in cross.attempts.items():
            tally.attempts[f"across views: {attack}"] += count
        tally.successes += [f"across views: {s}" for s in cross.successes]


def _training_subtraction(tally, where, frame, staff_truth) -> None:
    if "unit" not in frame.columns or "period_end" not in frame.columns:
        return
    for when, group in frame.groupby("period_end"):
        total = group[group["unit"] == "All staff in scope"]
        parts = group[group["unit"] != "All staff in scope"]
        if total.empty:
            continue
        for column in ("staff_trained", "staff_in_scope"):
            whole = number(total[column].iloc[0])
            hidden = parts[parts[column] == C]
            if whole is None or len(hidden) != 1:
                continue
            guess = whole - parts[column].map(number).dropna().sum()
            real = staff_truth.get((hidden["unit"].iloc[0], str(when)[:10], column))
            tally.attempt(
                "subtraction from totals",
                real is not None and 1 <= real <= THRESHOLD and real == guess,
                f"{where} {when} {column}",
            )


def run_attacks(payloads, truth) -> Tally:
    small, series, staff_truth = truth
    populations = _populations(payloads)
    tally = Tally()
    for view, kind, name, frame in payloads:
        where = f"{view[0]} {view[1:]} {kind} {name}"
        pops = populations[view]
        if kind == "chart":
            dated = frame[
                frame["x"].str.match(r"\d{4}-\d{2}-\d{2}$")
                & ~frame["name"].str.startswith(SUMMARY_TRACES)
            ]
            _rate_times_population(tally, view, where, dated["x"], dated["y"], pops, small)
            for upper, lower in _chart_bands(frame):
                _invert(tally, where, lower["y"].tolist(), upper["y"].tolist())
            continue
        spc = {"mean", "upl"} <= set(frame.columns)  # an SPC table's `value` is a rate
        for column in COUNT_COLUMNS:
            if column in frame.columns and view[0] != "upload" and not spc:
                for value in (number(v) for v in frame[column]):
                    tally.attempt(
                        "count shown", value is not None and 1 <= value <= THRESHOLD, where
                    )
        date = _date_column(frame)
        if date:
            for column in frame.columns:
                if column not in (date, "population", *COUNT_COLUMNS):
                    _rate_times_population(
                        tally, view, f"{where} {column}", frame[date], frame[column], pops, small
                    )
            if spc:
                _rate_times_population(
                    tally, view, f"{where} value", frame[date], frame["value"], pops, small
                )
            _mean_times_length(
                tally, view, where, frame.rename(columns={date: "date"}), pops, small
            )
        for lower, upper in _interval_pairs(frame):
            _invert(tally, f"{where} {lower}", frame[lower], frame[upper])
        _training_subtraction(tally, where, frame, staff_truth)
    _subtract(tally, _cells(payloads), series)
    _across_views(tally, _cells(payloads), series)
    return tally


# -- the tests ---------------------------------------------------------------------------------


def test_the_walk_reaches_every_page_and_the_small_counts(walked, truth):
    payloads, _ = walked
    pages = {view[0] for view, *_ in payloads}
    assert pages >= {"board", "trends", "cohorts", "training", "benchmarks", "quality", "upload"}
    kinds = {kind for _, kind, _, _ in payloads}
    assert kinds == {"chart", "table", "download"}
    hidden = sum(
        (frame[c] == C).sum()
        for _, kind, _, frame in payloads
        if kind == "download"
        for c in COUNT_COLUMNS
        if c in frame.columns
    )
    assert hidden > 100, "the views hold many suppressed counts to attack"
    small, _, _ = truth
    assert len(small) > 100


def test_no_recovery_succeeds_on_any_page_or_download(walked, truth):
    payloads, _ = walked
    tally = run_attacks(payloads, truth)
    attempted = sum(tally.attempts.values())
    print(f"\nrecoveries attempted: {attempted} ({dict(tally.attempts)}); ")
    print(f"succeeded: {len(tally.successes)}")
    assert attempted > 10_000
    assert tally.successes == []


def test_the_attacks_work_on_figures_as_they_were_shipped(truth):
    """The same attacks, on an ungated series, SPC table and breakdown: each succeeds."""
    small, series, _ = truth
    months = sorted({w for (g, d, n, w) in series if g == "month" and (d, n) == ("unit", "Ashby")})
    hidden = [w for w in months if (v := series[("month", "unit", "Ashby", w)]) and 1 <= v <= 4]
    assert hidden
    view = ("trends", "Ashby", "month", None)
    pops = {w: {p for (g, d, p) in small if g == "month" and d == w} for w in hidden}
    tally = Tally()
    # rate x population on the raw rates (each hidden month's count over every population).
    for when in hidden:
        for population in pops[when]:
            for count in small[("month", when, population)]:
                rate = count * 10_000 / population
                _rate_times_population(tally, view, "raw", [when], [rate], pops, small)
    assert tally.successes, "rate x population recovers counts from an ungated rate"
    # subtraction: one hidden locality beside the total.
    when = hidden[0]
    cells = {("total", "All", when): series[("month", "total", "All", when)]}
    for unit in UNITS:
        cells[("unit", unit, when)] = series.get(("month", "unit", unit, when))
    cells[("unit", "Ashby", when)] = None
    before = len(tally.successes)
    _subtract(tally, {"month": cells}, series)
    assert len(tally.successes) == before + 1, "one hidden part is the total less the others"


def _trend_payloads(path, gated_by_breakdowns: bool) -> list:
    """The Trends downloads for the whole area and each locality (month grain), and the
    Cohorts localities download, built from the present layer as the pages build them."""
    from pipelines import analysis
    from pipelines.present.charts import tables as gates

    def text(gated):
        csv = gated.csv()
        return pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig", dtype=str, keep_default_na=False)

    payloads = []
    with open_warehouse(path) as wh:
        by_unit = analysis.unit_comparison(wh, AREA, MEASURE, grain="month")
        by_age = analysis.age_band_comparison(wh, AREA, MEASURE, grain="month")
        payloads.append(
            (
                ("cohorts", "All", "month", None),
                "download",
                "localities",
                text(gates.gate_comparison(by_unit.frame)),
            )
        )
        for unit in ("All", *UNITS):
            trend = analysis.trend_analysis(wh, AREA, MEASURE, unit=unit, grain="month")
            if gated_by_breakdowns:
                ages = (
                    by_age
                    if unit == "All"
                    else analysis.age_band_comparison(wh, AREA, MEASURE, grain="month", unit=unit)
                )
                series = gates.gate_trend(
                    trend, [(by_unit.frame, unit), (ages.frame, "All")]
                ).series
            else:
                series = gates.gate_series(trend.series)
            payloads.append((("trends", unit, "month", None), "download", "series", text(series)))
    return payloads


def test_trends_gated_with_its_breakdowns_gives_no_locality_away(walked, truth):
    """`gate_trend` hides in each locality's series what the breakdown hides beside it: the
    subtraction across the Trends and Cohorts downloads, which works on the series gated
    alone, finds nothing."""
    _, path = walked
    _, series, _ = truth
    alone = Tally()
    _subtract(alone, _cells(_trend_payloads(path, gated_by_breakdowns=False)), series)
    assert alone.successes, "each locality gated alone undoes the breakdown's protection"
    together = Tally()
    _subtract(together, _cells(_trend_payloads(path, gated_by_breakdowns=True)), series)
    assert together.attempts["subtraction from totals"] > 0
    assert together.successes == []
