"""Suppression across grains: a month hidden cannot be worked out from its quarter or year.

A flow (starts, ends, referrals) adds up over time: a quarter's count is the sum of its three
months and a financial year's the sum of its four quarters. A viewer who switches the grain on
Trends or Cohorts holds all three. For each measure, locality and age band this takes what
every view shows at month, quarter and financial-year grain (the one decision each view takes
its mask from, `present.cube`; `tests/test_disclosure_across_views.py` shows no view shows
more) and solves, financial year by financial year:

- over time alone: quarter = sum of its months, year = sum of its quarters, for one cell;
- jointly: those relations and both margins of every period's locality x age-band table.

Each hidden cell is recovered when the equations fix it (linear), or when its least and
greatest value with every hidden count at least 1 (zeros are shown) agree (linear
programming). Decided one grain at a time (as before) the attack recovers counts of 1 to 4;
decided across grains (`disclosure.grain_masks`) it recovers nothing. The figures are printed
(`-s`).
"""

from __future__ import annotations

import shutil
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import null_space

from pipelines import disclosure
from pipelines.measures import GRAINS
from pipelines.present import cube as cube_gate
from pipelines.store.warehouse import open_warehouse
from tests.lp_bounds import Bounded

AREA = "E06999901"
THRESHOLD = 4
ALL = "All"
#: Flows with many small counts at every grain (the primary outcomes first).
FLOWS = ("cla_starts", "cpp_starts", "cpp_repeat_starts", "fgc_held")


@pytest.fixture(scope="module")
def wh(sample_warehouse_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("grains") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    with open_warehouse(path) as warehouse:
        yield warehouse


# -- what the viewer holds ------------------------------------------------------------------------


def decided_across_grains(wh, measure: str) -> pd.DataFrame:
    """``grain, unit, age_band, period_end, value, hidden``: what every view shows today."""
    return pd.concat(
        [
            cube_gate.outcome_cube(wh, AREA, measure, g, THRESHOLD).cells.assign(grain=g)
            for g in GRAINS
        ],
        ignore_index=True,
    )


def decided_per_grain(cells: pd.DataFrame) -> pd.DataFrame:
    """The same cells decided one grain at a time, as the cube did before (`cube_masks`)."""
    out = cells.copy()
    out["hidden"] = disclosure.cube_masks(
        out, rows="unit", cols="age_band", by=("grain", "period_end"), threshold=THRESHOLD
    )
    return out


def financial_year(when: pd.Timestamp) -> int:
    return when.year if when.month <= 3 else when.year + 1


def relations(cells: pd.DataFrame, joint: bool) -> list[tuple[tuple, list[tuple]]]:
    """(total, parts) keys ``(grain, period, unit, age band)``: quarter = its months, year = its
    quarters (each cell), and with `joint` both margins of every period's table."""
    keys = set(
        cells[["grain", "period_end", "unit", "age_band"]].itertuples(index=False, name=None)
    )
    out = []
    members = defaultdict(list)
    for grain, when, unit, band in keys:
        if grain == "month":
            members[("quarter", when + pd.offsets.QuarterEnd(0), unit, band)].append(
                (grain, when, unit, band)
            )
        elif grain == "quarter":
            year_end = pd.Timestamp(f"{financial_year(when)}-03-31")
            members[("financial_year", year_end, unit, band)].append((grain, when, unit, band))
    expected = {"quarter": 3, "financial_year": 4}
    out += [(t, p) for t, p in members.items() if t in keys and len(p) == expected[t[0]]]
    if joint:
        units = sorted({k[2] for k in keys})
        bands = sorted({k[3] for k in keys})
        for grain, when in {(k[0], k[1]) for k in keys}:
            for unit in units:
                parts = [(grain, when, unit, b) for b in bands if b != ALL]
                if (grain, when, unit, ALL) in keys and all(p in keys for p in parts):
                    out.append(((grain, when, unit, ALL), parts))
            for band in bands:
                parts = [(grain, when, u, band) for u in units if u != ALL]
                if (grain, when, ALL, band) in keys and all(p in keys for p in parts):
                    out.append(((grain, when, ALL, band), parts))
    return out


# -- the attack -----------------------------------------------------------------------------------


class Tally:
    def __init__(self):
        self.hidden = 0
        self.small: list[str] = []  # recovered counts of 1 to the threshold
        self.recovered = 0  # any hidden count worked out

    def score(self, key, guess, actual):
        if guess is None or not np.isclose(guess, actual, atol=1e-6):
            return
        self.recovered += 1
        if 1 <= actual <= THRESHOLD:
            self.small.append(f"{key[0]} {key[1]:%Y-%m-%d} {key[2]} {key[3]} = {actual:g}")


def solve_block(tally: Tally, cells: pd.DataFrame, joint: bool) -> None:
    """One financial year's cells (every grain): each hidden one, worked out if it can be."""
    value = {
        (g, w, u, b): v
        for g, w, u, b, v in cells[["grain", "period_end", "unit", "age_band", "value"]].itertuples(
            index=False, name=None
        )
    }
    hidden = set(
        cells.loc[cells["hidden"], ["grain", "period_end", "unit", "age_band"]].itertuples(
            index=False, name=None
        )
    )
    if not hidden:
        return
    unknown = sorted(hidden)
    index = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    for total, parts in relations(cells, joint):
        if total not in hidden and not any(p in hidden for p in parts):
            continue
        row = np.zeros(len(unknown))
        known = 0.0
        for key, sign in ((total, -1.0), *((p, 1.0) for p in parts)):
            if key in index:
                row[index[key]] += sign
            else:
                known += sign * value[key]
        rows.append(row)
        rhs.append(-known)
    tally.hidden += len(unknown)
    if not rows:
        return
    truth = np.array([value[k] for k in unknown])
    _solve(tally, np.array(rows), np.array(rhs), unknown, truth)


def attack(cells: pd.DataFrame, joint: bool) -> Tally:
    tally = Tally()
    year = cells["period_end"].map(financial_year)
    for _, block in cells.groupby(year):
        if joint:
            solve_block(tally, block, joint=True)
        else:
            for _, line in block.groupby(["unit", "age_band"]):
                solve_block(tally, line, joint=False)
    return tally


# -- the tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decisions(wh):
    """measure -> (decided per grain, decided across grains)."""
    out = {}
    for measure in FLOWS:
        across = decided_across_grains(wh, measure)
        out[measure] = (decided_per_grain(across), across)
    return out


@pytest.mark.parametrize("measure", FLOWS)
def test_a_month_hidden_per_grain_comes_back_from_its_quarter(decisions, measure):
    """One grain at a time (as before): quarter less two months gives the third, and so on."""
    per_grain, _ = decisions[measure]
    alone = attack(per_grain, joint=False)
    print(
        f"\n{measure}, decided per grain: {per_grain['hidden'].sum()} cells hidden, "
        f"over time alone {len(alone.small)} counts of 1-{THRESHOLD} recovered "
        f"({alone.recovered} hidden counts in all); e.g. {alone.small[:2]}"
    )
    assert alone.small, "the attack over time works on the decisions taken one grain at a time"


@pytest.mark.parametrize("measure", FLOWS)
def test_nothing_comes_back_over_time_when_decided_together(decisions, measure):
    """Across grains: quarter = its months and year = its quarters give nothing back, and
    the extra cells hidden for it (the information lost) are counted at each grain."""
    per_grain, across = decisions[measure]
    alone = attack(across, joint=False)
    extra = {
        g: int((across["hidden"] & ~per_grain["hidden"])[across["grain"] == g].sum())
        for g in GRAINS
    }
    before = {g: int(per_grain["hidden"][per_grain["grain"] == g].sum()) for g in GRAINS}
    print(
        f"\n{measure}, decided across grains: over time {len(alone.small)} small recovered "
        f"({alone.recovered} in all) of {alone.hidden} hidden; hidden per grain before "
        f"{before}, extra hidden across grains {extra}"
    )
    assert alone.hidden > 100
    assert alone.small == [] and alone.recovered == 0
    assert (across["hidden"] | ~per_grain["hidden"]).all(), "nothing hidden before is shown"
    assert sum(extra.values()) > 0, "protecting the months costs some cells"


@pytest.mark.parametrize("measure", ["cla_starts", "cpp_starts"])
def test_nothing_comes_back_jointly_over_time_and_both_margins(decisions, measure):
    """The strongest attacker: every relation at once (time and both margins of every
    period's table: a three-way table), one financial year at a time. Each table and each
    line over time protected on its own, it still worked out counts of 1 to 4; audited as one
    linked system (`disclosure_linked.linked_masks`) it works out nothing, at the cost of the
    extra cells printed."""
    per_grain, across = decisions[measure]
    before = across.copy()
    before["hidden"] = unlinked_masks(before)
    exposed = attack(before, joint=True)
    joint = attack(across, joint=True)
    extra = {
        g: int((across["hidden"] & ~before["hidden"])[across["grain"] == g].sum()) for g in GRAINS
    }
    print(
        f"\n{measure} jointly (time and both margins): without the linked audit "
        f"{len(exposed.small)} small recovered ({exposed.recovered} in all) of "
        f"{exposed.hidden} hidden; with it {len(joint.small)} ({joint.recovered}) of "
        f"{joint.hidden}; extra hidden {extra}"
    )
    assert exposed.small, "the joint attack works on tables and lines protected one by one"
    assert joint.hidden > exposed.hidden
    assert joint.small == [] and joint.recovered == 0


def unlinked_masks(cells: pd.DataFrame) -> np.ndarray:
    """`disclosure.grain_masks` without its last step (the linked audit)."""
    from unittest import mock

    with mock.patch.object(
        disclosure.disclosure_linked, "linked_masks", side_effect=lambda cells, mask, *a, **k: mask
    ):
        return disclosure.grain_masks(cells.drop(columns="hidden"), threshold=THRESHOLD)


def test_a_stock_is_decided_the_same_at_every_grain(wh):
    """A stock is counted on the last day: the quarter (and the year) ending on a month's last
    day holds that month's count, and is hidden exactly where the month is."""
    cells = decided_across_grains(wh, "cla_at_period_end")
    month = cells[cells["grain"] == "month"].set_index(["period_end", "unit", "age_band"])
    for grain in ("quarter", "financial_year"):
        other = cells[cells["grain"] == grain].set_index(["period_end", "unit", "age_band"])
        same = month.loc[other.index]
        assert (same["value"] == other["value"]).all(), grain
        assert (same["hidden"] == other["hidden"]).all(), grain
    assert month["hidden"].any()


def test_grain_masks_protects_one_month_in_a_quarter():
    """A quarter of 20 with months 3, 9 and 8 (one locality, all ages): the 3 is hidden, so the
    smallest other month (8) is hidden with it, not the quarter."""
    months = pd.to_datetime(["2024-04-30", "2024-05-31", "2024-06-30"])
    cells = pd.DataFrame(
        {
            "grain": ["month"] * 3 + ["quarter"],
            "period_end": [*months, pd.Timestamp("2024-06-30")],
            "unit": "A",
            "age_band": ALL,
            "value": [3.0, 9.0, 8.0, 20.0],
        }
    )
    per_grain = disclosure.cube_masks(cells, by=("grain", "period_end"))
    assert per_grain.tolist() == [True, False, False, False]
    assert disclosure.grain_masks(cells).tolist() == [True, False, True, False]
    # The quarter hidden with every month shown is their sum: a month goes too.
    cells["value"] = [6.0, 9.0, 8.0, 23.0]
    assert not disclosure.grain_masks(cells).any()


# -- Trends: the before/after windows beside the series ------------------------------------------

#: Trends views (measure, unit, age band, grain) with hidden quarters near their rollout.
WINDOW_VIEWS = [
    ("cla_starts", "All", "Under 1", "quarter"),
    ("cla_starts", "Dunmore", "10-15", "quarter"),
    ("cpp_starts", "Ashby", "5-9", "quarter"),
]
#: Every window the page's slider offers: 2 to 12 periods each side, or all of them.
WINDOWS = (*range(2, 13), None)


def window_attack(wh, measure, unit, band, grain, withheld) -> tuple[int, int, int]:
    """(hidden counts of 1-4 recovered, in all, windows shown) from the series shown and each
    side's total (its average x its population) in every window `withheld` lets through."""
    from pipelines import analysis
    from pipelines.stats.before_after import before_after
    from pipelines.stats.errors import StatsInputError

    trend = analysis.trend_analysis(wh, AREA, measure, unit=unit, age_band=band, grain=grain)
    cube = cube_gate.outcome_cube(wh, AREA, measure, grain, THRESHOLD)
    hidden = tuple(cube.hidden_periods(unit, band))
    series = trend.series
    dates = pd.to_datetime(series["period_end"])
    counts = series["value"].to_numpy(float)
    unknown = np.flatnonzero(dates.isin(pd.to_datetime(list(hidden))))
    index = {int(i): k for k, i in enumerate(unknown)}
    rows, rhs, shown = [], [], 0
    for window in WINDOWS:
        try:
            ba = before_after(
                series, "period_end", "value", "population", trend.rollout_date, window=window
            )
        except StatsInputError:
            continue
        if withheld(ba.periods, THRESHOLD, hidden):
            continue
        shown += 1
        for side, rate in (("before", ba.rate_before), ("after", ba.rate_after)):
            periods = ba.periods[ba.periods["side"] == side]
            row, known = np.zeros(len(unknown)), 0.0
            for when in pd.to_datetime(periods["date"]):
                i = int(np.flatnonzero(dates == when)[0])
                if i in index:
                    row[index[i]] += 1
                else:
                    known += counts[i]
            if row.any():
                rows.append(row)
                rhs.append(rate * periods["population"].sum() / 10_000 - known)
    tally = Tally()
    if rows:
        keys = [("window", dates[i], unit, band) for i in unknown]
        _solve(tally, np.array(rows), np.array(rhs), keys, counts[unknown])
    return len(tally.small), tally.recovered, shown


def _solve(tally: Tally, matrix, rhs, keys, truth) -> None:
    """Each unknown worked out linearly or by its least and greatest value (at least 1)."""
    fixed = np.linalg.norm(null_space(matrix), axis=1) < 1e-9
    solution = np.linalg.lstsq(matrix, rhs, rcond=None)[0]
    bounded = Bounded(matrix, rhs, lower=1.0)
    free = np.zeros(len(keys), bool)
    for i, key in enumerate(keys):
        if fixed[i]:
            tally.score(key, round(float(solution[i]), 6), truth[i])
            continue
        if free[i]:
            continue
        ends = []
        for direction in (1.0, -1.0):
            solved = bounded.optimum(i, direction)
            if solved is None:
                break
            solution_x, objective = solved
            free |= ~np.isclose(solution_x, truth, atol=1e-6)
            ends.append(direction * objective)
        if len(ends) == 2 and abs(ends[0] - ends[1]) < 1e-6:
            tally.score(key, round(ends[0], 6), truth[i])


@pytest.mark.parametrize(("measure", "unit", "band", "grain"), WINDOW_VIEWS)
def test_before_after_windows_give_no_hidden_period_away(wh, measure, unit, band, grain):
    """Two windows' side totals differ by the periods between them: with the series beside
    them, a hidden period is one total less the next. Withheld where it held a hidden period
    only within its own table (as before) the attack works; withheld wherever its window
    holds a period the series hides (`present.cube.before_after_withheld`), it finds none."""
    from pipelines.present.charts import tables as gates

    small, recovered, shown = window_attack(
        wh, measure, unit, band, grain, gates.before_after_withheld
    )
    after = window_attack(wh, measure, unit, band, grain, cube_gate.before_after_withheld)
    print(
        f"\n{measure} {unit} {band} {grain}: windows shown {shown} -> {after[2]} of "
        f"{len(WINDOWS)}; small recovered {small} -> {after[0]} ({recovered} -> {after[1]} in all)"
    )
    assert small > 0, "the attack works on the windows as they were shown"
    assert after[:2] == (0, 0)


def test_a_withheld_before_after_leaves_no_finding_of_it(wh):
    """The page's "In brief" drops the before/after finding where the comparison is withheld."""
    from pipelines import analysis

    trend = analysis.trend_analysis(
        wh, AREA, "cla_starts", unit="All", age_band="Under 1", grain="quarter"
    )
    cube = cube_gate.outcome_cube(wh, AREA, "cla_starts", "quarter", THRESHOLD)
    views = cube_gate.gate_trend(cube, trend, "All", "Under 1", THRESHOLD)
    assert views.before_after_withheld
    assert any(f.key.startswith("before_after") for f in trend.findings)
    assert not any(f.key.startswith("before_after") for f in views.findings)


# --- its_withheld_for ---------------------------------------------------------------------------


def its_attack(fitted: pd.DataFrame, shown: pd.Series) -> float:
    """The hidden periods' total as the model gives it back: the fitted values add up to the
    observed counts over the fit, so their sum less the counts shown is what is hidden."""
    return float(fitted["fitted"].sum() - shown.sum())


def test_the_interrupted_time_series_would_give_the_hidden_total_back_and_is_withheld(wh):
    """Under 1, quarterly, the whole area: some quarters are hidden. The model's fitted values,
    as the page used to draw and tabulate them, give their total back to within a child;
    through the cube's gate the model is withheld, with its findings."""
    from pipelines import analysis

    trend = analysis.trend_analysis(
        wh, AREA, "cla_starts", unit="All", age_band="Under 1", grain="quarter"
    )
    cube = cube_gate.outcome_cube(wh, AREA, "cla_starts", "quarter", THRESHOLD)
    hidden = set(pd.to_datetime(cube.hidden_periods("All", "Under 1")))
    series = trend.series.assign(period_end=pd.to_datetime(trend.series["period_end"]))
    small = series["value"].between(1, THRESHOLD)
    is_hidden = small | series["period_end"].isin(hidden)
    assert is_hidden.any(), "the view needs a hidden quarter for the attack to mean anything"
    fitted = trend.its.fitted
    truth = float(series.loc[is_hidden, "value"].sum())
    assert its_attack(fitted, series.loc[~is_hidden, "value"]) == pytest.approx(truth, abs=0.5)

    views = cube_gate.gate_trend(cube, trend, "All", "Under 1", THRESHOLD)
    assert views.its_withheld and views.its is None
    assert any(f.key.startswith("its") for f in trend.findings)
    assert not any(f.key.startswith("its") for f in views.findings)


def test_a_series_with_nothing_hidden_keeps_its_model(wh):
    from pipelines import analysis

    trend = analysis.trend_analysis(
        wh, AREA, "cla_starts", unit="All", age_band="All", grain="quarter"
    )
    cube = cube_gate.outcome_cube(wh, AREA, "cla_starts", "quarter", THRESHOLD)
    views = cube_gate.gate_trend(cube, trend, "All", "All", THRESHOLD)
    assert not cube.hidden_periods("All", "All")
    assert not views.its_withheld and views.its is not None
    assert any(f.key.startswith("its") for f in views.findings)
