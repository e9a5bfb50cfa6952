"""Suppression across breakdowns: every view of the same counts, pooled, gives nothing away.

A viewer meets one measure's counts in many views: Trends for each locality and age band (one
cell of the locality x age-band table, period by period), the Cohorts localities beside the
whole area, and each locality's age bands beside its total. Together those views are the whole
table of each period with both of its margins. This pools, for each (grain, period), every
number any of those views publishes (a cell shown in one view is known, whatever another
hides), and tries to work out each cell hidden in all of them from the cells shown and the
totals along both margins:

- linear recovery: the cell is fixed by the row and column equations alone (its unit vector
  lies in the row space of the equations over the hidden cells);
- bounded recovery: linear programming gives the cell's least and greatest value subject to
  the equations and "every hidden count is at least 1" (zeros are shown), and they agree.

A recovery succeeds when it names a hidden count of 1 to 4 exactly as the warehouse holds it
(any hidden count recovered is tallied as well). The views are built from the present layer as
the pages build them: as they are today (`charts.tables.gate_trend` and `gate_comparison`, one
breakdown at a time) the attack succeeds; through the one decision (`present.cube`) it finds
nothing. The figures are printed (`-s`).
"""

from __future__ import annotations

import shutil
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from pipelines import analysis, disclosure, marts
from pipelines.present import cube as cube_gate
from pipelines.present.charts import tables as gates
from pipelines.store.warehouse import open_warehouse
from tests.lp_bounds import Bounded

AREA = "E06999901"
MEASURE = "cla_starts"
THRESHOLD = 4
ALL = "All"
GRAINS = ("month", "quarter")


@pytest.fixture(scope="module")
def wh(sample_warehouse_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("views") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    with open_warehouse(path) as warehouse:
        yield warehouse


def members(wh) -> tuple[list[str], list[str]]:
    units = [ALL, *sorted(str(u) for u in marts.units(wh, AREA)["unit"] if str(u) != ALL)]
    bands = [ALL, *(b for b in marts.age_bands(wh, AREA) if b != ALL)]
    return units, bands


def truth(wh, grain: str) -> dict[tuple, float]:
    """(unit, age band, period) -> count, straight from the mart (complete periods)."""
    cells = wh.query(
        """SELECT unit, age_band, period_end, value FROM mart_outcome_rates
           WHERE area_code = ? AND measure = ? AND grain = ?
             AND months_covered >= months_expected""",
        [AREA, MEASURE, grain],
    )
    return {
        (r.unit, r.age_band, pd.Timestamp(r.period_end)): float(r.value)
        for r in cells.itertuples(index=False)
        if not pd.isna(r.value)
    }


# -- what the viewer gets, view by view ---------------------------------------------------------


def _published(frame: pd.DataFrame, key_of) -> dict[tuple, float | None]:
    """A gated table's counts: cell -> the number shown, or None where it shows "c"."""
    out = {}
    for row in frame.itertuples(index=False):
        value = row.value
        out[key_of(row)] = None if value == disclosure.SUPPRESSED else float(value)
    return out


def views(wh, grain: str, through_cube: bool) -> list[tuple[str, dict]]:
    """(view, published cells) for every Trends series (each locality x age band) and every
    Cohorts breakdown (localities beside the area; each locality's age bands), gated as the
    pages gate them today, or through the one decision."""
    units, bands = members(wh)
    cube = cube_gate.outcome_cube(wh, AREA, MEASURE, grain) if through_cube else None
    by_unit = {
        b: analysis.unit_comparison(wh, AREA, MEASURE, grain=grain, age_band=b).frame for b in bands
    }
    by_age = {
        u: analysis.age_band_comparison(wh, AREA, MEASURE, grain=grain, unit=u).frame for u in units
    }
    out = []
    for unit in units:
        for band in bands:
            raw = marts.outcome_series(wh, AREA, MEASURE, unit=unit, age_band=band, grain=grain)
            series = raw[raw["complete"].astype(bool)].reset_index(drop=True)
            if through_cube:
                hidden = cube.hidden_periods(unit, band)
            else:  # what `gates.gate_trend` hides in the Trends series, with the page's pairs
                hidden = dict.fromkeys(
                    [
                        *gates.breakdown_hidden(by_unit[band], unit),
                        *gates.breakdown_hidden(by_age[unit], band),
                    ]
                )
            table = gates.gate_series(series, hidden=hidden).table
            out.append(
                (
                    f"trends {unit} {band}",
                    _published(table, lambda r, u=unit, b=band: (u, b, pd.Timestamp(r.period_end))),
                )
            )
    for band, frame in by_unit.items():  # Cohorts (all ages) and Trends' breakdown beside it
        gated = (
            cube_gate.gate_comparison(cube, frame, "unit", band)
            if through_cube
            else gates.gate_comparison(frame)
        )
        out.append(
            (
                f"localities at {band}",
                _published(
                    gated.table, lambda r, b=band: (r.series, b, pd.Timestamp(r.period_end))
                ),
            )
        )
    for unit, frame in by_age.items():  # Cohorts' age bands of the unit chosen
        gated = (
            cube_gate.gate_comparison(cube, frame, "age_band", unit)
            if through_cube
            else gates.gate_comparison(frame)
        )
        out.append(
            (
                f"age bands of {unit}",
                _published(
                    gated.table, lambda r, u=unit: (u, r.series, pd.Timestamp(r.period_end))
                ),
            )
        )
    return out


def pool(published: list[tuple[str, dict]]) -> dict:
    """period -> (unit, age band) -> the number any view shows, or None if every view hides it."""
    pooled: dict = defaultdict(dict)
    for _view, cells in published:
        for (unit, band, when), value in cells.items():
            known = pooled[when].get((unit, band))
            pooled[when][(unit, band)] = value if known is None else known
    return pooled


# -- the attack ---------------------------------------------------------------------------------


class Tally:
    def __init__(self):
        self.attempts: dict[str, int] = defaultdict(int)
        self.successes: list[str] = []
        self.recovered = 0  # any hidden count (a small one or not) worked out

    def total(self) -> int:
        return sum(self.attempts.values())


def equations(cells: dict, units: list[str], bands: list[str]):
    """The row and column equations over the hidden cells: matrix, right-hand side, unknowns."""
    unknown = [k for k, v in cells.items() if v is None]
    index = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    lines = [("unit", u) for u in units] + [("band", b) for b in bands]
    for axis, name in lines:
        others = bands if axis == "unit" else units
        keys = [(name, o) if axis == "unit" else (o, name) for o in others]
        if len(keys) < 2 or not all(k in cells for k in keys):
            continue  # a line with a cell no view publishes (or no parts): no equation
        total, parts = keys[0], keys[1:]  # "All" comes first in both lists
        row = np.zeros(len(unknown))
        known = 0.0
        for key, sign in ((total, -1.0), *((p, 1.0) for p in parts)):
            if key in index:
                row[index[key]] += sign
            else:
                known += sign * cells[key]
        rows.append(row)
        rhs.append(-known)
    return np.array(rows).reshape(len(rows), len(unknown)), np.array(rhs), unknown


def attack_period(tally: Tally, where: str, cells: dict, real: dict, units, bands) -> None:
    matrix, rhs, unknown = equations(cells, units, bands)
    if not unknown:
        return
    rank = np.linalg.matrix_rank(matrix) if len(matrix) else 0
    values = np.array([real.get(k, np.nan) for k in unknown])
    free = np.zeros(len(unknown), bool)
    bounded = None  # one model for the period's programmes, built when the first is needed
    for i, key in enumerate(unknown):
        actual = values[i]
        # Linear: the cell is fixed by the equations alone.
        unit_vector = np.zeros(len(unknown))
        unit_vector[i] = 1.0
        fixed = len(matrix) and np.linalg.matrix_rank(np.vstack([matrix, unit_vector])) == rank
        guess = None
        if fixed:
            solution = np.linalg.lstsq(matrix, rhs, rcond=None)[0]
            guess = round(float(solution[i]), 6)
        tally.attempts["linear, both margins"] += 1
        _score(tally, f"{where} {key} linear", guess, actual)
        # Bounded: least and greatest value with every hidden count at least 1.
        tally.attempts["bounded, both margins"] += 1
        if fixed or free[i] or not len(matrix):
            continue
        if bounded is None:
            bounded = Bounded(matrix, rhs, lower=1.0)
        ends = []
        for direction in (1.0, -1.0):
            solved = bounded.optimum(i, direction)
            if solved is None:
                ends = []
                break
            solution_x, objective = solved
            free |= ~np.isclose(solution_x, values, atol=1e-6)
            ends.append(direction * objective)
        if len(ends) == 2 and abs(ends[0] - ends[1]) < 1e-6:
            _score(tally, f"{where} {key} bounded", round(ends[0], 6), actual)


def _score(tally: Tally, where: str, guess, actual) -> None:
    if guess is None or np.isnan(actual) or not np.isclose(guess, actual):
        return
    tally.recovered += 1
    if 1 <= actual <= THRESHOLD:
        tally.successes.append(f"{where} = {actual:g}")


def attack(wh, through_cube: bool) -> Tally:
    units, bands = members(wh)
    tally = Tally()
    for grain in GRAINS:
        real = truth(wh, grain)
        for when, cells in pool(views(wh, grain, through_cube)).items():
            counts = {(u, b): v for (u, b, w), v in real.items() if w == when}
            attack_period(tally, f"{grain} {when:%Y-%m-%d}", cells, counts, units, bands)
    return tally


# -- the tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def today(wh):
    return attack(wh, through_cube=False)


@pytest.fixture(scope="module")
def decided_once(wh):
    return attack(wh, through_cube=True)


def test_one_breakdown_at_a_time_is_undone_across_views(today):
    """Today's gates, one breakdown at a time: pooled across views, hidden cells come back."""
    print(
        f"\none breakdown at a time: {today.total()} recoveries attempted "
        f"({dict(today.attempts)}), {len(today.successes)} named a count of 1 to 4, "
        f"{today.recovered} hidden counts recovered in all"
    )
    assert today.total() > 1_000
    assert today.successes, "the cross-view attack works on the views as they were shipped"


def test_no_cell_is_recovered_across_views_when_decided_once(decided_once):
    """Through the one decision: every view hides what any view hides, and nothing comes back."""
    print(
        f"\ndecided once: {decided_once.total()} recoveries attempted "
        f"({dict(decided_once.attempts)}), {len(decided_once.successes)} succeeded, "
        f"{decided_once.recovered} hidden counts recovered in all"
    )
    assert decided_once.total() > 1_000
    assert decided_once.successes == []
    assert decided_once.recovered == 0


def test_every_view_hides_what_the_decision_hides(wh):
    """No view shows a cell the one decision hides, and none hides one it shows, in any view."""
    for grain in GRAINS:
        cube = cube_gate.outcome_cube(wh, AREA, MEASURE, grain)
        decided = {
            (r.unit, r.age_band, r.period_end): bool(r.hidden)
            for r in cube.cells.itertuples(index=False)
        }
        for view, cells in views(wh, grain, through_cube=True):
            for key, value in cells.items():
                assert (value is None) == decided[key], (grain, view, key)


def test_the_decision_is_the_audit_of_its_own_cells(wh):
    """`disclosure.exposed_cells` agrees with the linear programming attack on every period:
    what the gate leaves is exactly what the attack cannot recover (checked on the decision,
    and on each period's primary suppression alone, where both find cells to recover)."""
    units, bands = members(wh)
    cube = cube_gate.outcome_cube(wh, AREA, MEASURE, "quarter")
    found_before = 0
    for when, cells in cube.cells.groupby("period_end"):
        row_keys, col_keys = cells["unit"].to_numpy(), cells["age_band"].to_numpy()
        values = cells["value"].to_numpy(dtype=float)
        primary = (values >= 1) & (values <= THRESHOLD)
        for mask in (primary, cells["hidden"].to_numpy()):
            shown = {
                (u, b): (None if m else v)
                for u, b, v, m in zip(row_keys, col_keys, values, mask, strict=True)
            }
            real = {(u, b): v for u, b, v in zip(row_keys, col_keys, values, strict=True)}
            tally = Tally()
            attack_period(tally, str(when), shown, real, units, bands)
            exposed = disclosure.exposed_cells(row_keys, col_keys, values, mask)
            assert bool(exposed) == bool(tally.recovered), (when, exposed, tally.recovered)
            found_before += tally.recovered if mask is primary else 0
    assert found_before > 0, "primary suppression alone leaves cells to recover"


def test_cube_masks_protects_a_small_table():
    """A 2 x 2 table with margins: one small count, and everything its lines could give away.

    With one count of 2 hidden, the row and column each give it back; with the next smallest
    of its row hidden, its column still gives both back; the decision hides a cycle of four.
    """
    cells = pd.DataFrame(
        [
            (unit, band, value)
            for unit, row in {
                ALL: (30, 12, 18),
                "A": (14, 2, 12),
                "B": (16, 10, 6),
            }.items()
            for band, value in zip((ALL, "young", "old"), row, strict=True)
        ],
        columns=["unit", "age_band", "value"],
    )
    mask = disclosure.cube_masks(cells, by=())
    hidden = set(cells.loc[mask, ["unit", "age_band"]].itertuples(index=False, name=None))
    assert ("A", "young") in hidden
    assert len(hidden) >= 4
    keys = (cells["unit"].to_numpy(), cells["age_band"].to_numpy())
    assert disclosure.exposed_cells(*keys, cells["value"].to_numpy(float), mask) == []
    alone = disclosure.cube_masks(cells, by=(), threshold=0)
    assert not alone.any(), "nothing small, nothing hidden"
    one = cells["value"].between(1, 4).to_numpy()
    assert disclosure.exposed_cells(*keys, cells["value"].to_numpy(float), one)


def test_a_line_of_ones_is_protected():
    """Two hidden counts of 1 whose line leaves 2: each must be 1, so more is hidden."""
    cells = pd.DataFrame(
        {
            "unit": [ALL, ALL, ALL, "A", "A", "A", "B", "B", "B"],
            "age_band": [ALL, "x", "y"] * 3,
            "value": [22, 11, 11, 2, 1, 1, 20, 10, 10],
        }
    )
    keys = (cells["unit"].to_numpy(), cells["age_band"].to_numpy())
    values = cells["value"].to_numpy(float)
    primary = (values >= 1) & (values <= 4)
    assert disclosure.exposed_cells(*keys, values, primary)  # the row total 2 is hidden too
    mask = disclosure.cube_masks(cells, by=())
    assert disclosure.exposed_cells(*keys, values, mask) == []
