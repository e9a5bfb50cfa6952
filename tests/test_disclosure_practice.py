"""The Practice page and the Board's "Working with families" tile, attacked as a viewer would.

The practice evidence is shares: audits graded good, families agreeing with a statement, FGCs
held. A viewer sees, for every measure, unit and respondent group the Practice page offers:
the latest figure (a share, its Wilson interval and how many it counts), the p′ chart's table
and its download (agreed, asked, per cent, Wilson interval, centre line and p′ limits, quarter
by quarter) and the chart's JSON (full precision: limits, error bars, trials in the hover's
data), the change since rollout by locality, wave and all units (asked and per cent before
and after, the change with Newcombe's interval) with its chart, and the dose → practice →
outcome table; on the Board, the tile's figures. From all of it, pooled, this tries:

- counts shown: agreed, asked and not agreed (asked less agreed) from 1 to 4;
- per cent x n: the numerator of a share shown beside its n (to the precision shown);
- interval inversion: for each k of 0..n, is the Wilson (or Newcombe) interval shown the one
  k gives? A single k that is a hidden count of 1 to 4 (or leaves n - k at 1 to 4) is a
  recovery; where n is hidden, every (k, n) up to 400 is tried;
- the p′ limits: a quarter's limits, the centre line and another quarter's limits and n give
  that quarter's n;
- subtraction, as linear algebra: every figure shown is a sum of (unit, respondent, quarter)
  counts (a quarter's row; the latest four quarters; a unit's, wave's or all units' window
  before and from a year after its start). A hidden count whose unit vector lies in the row
  space of all of them is worked out exactly: across units, respondents, quarters, the
  latest figures and the change tables at once.

A recovery succeeds only when it names a hidden count of 1 to 4 as the warehouse holds it.
The totals are printed (`-s`). Each attack is also shown to work on the figures as they would
be without the gate's rules (`test_the_attacks_work_on_ungated_figures`).
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import null_space
from threadpoolctl import ThreadpoolController

from pipelines import disclosure, marts
from pipelines.analysis import practice as analysis
from pipelines.analysis.common import read_once
from pipelines.measures import UNIT_ALL
from pipelines.present import practice as present
from pipelines.present import practice_gate, practice_summary
from pipelines.stats.rates import newcombe_difference, proportion_ci
from pipelines.store.warehouse import open_warehouse
from tests import practice_lp
from tests.test_disclosure_recovery import decode, number

AREA = "E06999901"
THRESHOLD = 4
C = disclosure.SUPPRESSED
#: The respondent groups a feedback measure's counts are split into (``All`` is their sum).
RESPONDENT_ATOMS = ("Parent or carer", "Child or young person")
#: Where n is hidden, (k, n) pairs are tried up to this n.
SEARCH_N = 400
#: The BLAS thread pools (found once): the attack's matrices are a few hundred wide, where a
#: second thread only contends with the other test worker.
_BLAS = ThreadpoolController()


# -- what the viewer gets ----------------------------------------------------------------------


@dataclass
class Published:
    """Everything the Practice page and the Board tile show, by measure, as a viewer reads it."""

    #: (measure, unit, respondent) -> the p′ table as its CSV download reads (text).
    points: dict = field(default_factory=dict)
    #: (measure, unit, respondent) -> the p′ chart's traces (full precision).
    charts: dict = field(default_factory=dict)
    #: (measure, unit, respondent) -> the latest figure (PracticeFigure) the headline states.
    latest: dict = field(default_factory=dict)
    #: (measure, respondent) -> the change table as its CSV reads (text); and its chart.
    change: dict = field(default_factory=dict)
    change_charts: dict = field(default_factory=dict)
    #: the Board tile's figures; the chain table (text).
    board: list = field(default_factory=list)
    chain: pd.DataFrame | None = None
    measures: dict = field(default_factory=dict)


def only_measures(published: Published, only: tuple[str, ...]) -> Published:
    """What ``collect(wh, only=only)`` gives, taken from a whole walk: the views of `only`
    (each view depends on its own measure and the gate's decision alone, not on which other
    measures were walked)."""

    def mine(table: dict) -> dict:
        return {k: v for k, v in table.items() if k[0] in only}

    return Published(
        points=mine(published.points),
        charts=mine(published.charts),
        latest=mine(published.latest),
        change=mine(published.change),
        change_charts=mine(published.change_charts),
        measures={k: v for k, v in published.measures.items() if k in only},
    )


def read_csv(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str, keep_default_na=False)


def as_download(frame: pd.DataFrame) -> pd.DataFrame:
    """A page table as its "Download CSV" gives it (`chart_block`), read back as text."""
    return read_csv(disclosure.to_safe_csv(disclosure.iso_dates(frame)))


def chart_traces(fig) -> list[dict]:
    spec = json.loads(fig.to_json())
    out = []
    for trace in spec["data"]:
        item = {**trace, "x": decode(trace.get("x")), "y": decode(trace.get("y"))}
        error = trace.get("error_y") or trace.get("error_x") or {}
        item["error_plus"] = decode(error.get("array"))
        item["error_minus"] = decode(error.get("arrayminus"))
        custom = trace.get("customdata")
        if isinstance(custom, dict) and "bdata" in custom:
            flat = decode({**custom, "shape": None})
            shape = [int(s) for s in str(custom.get("shape", "")).split(",") if s.strip()]
            item["customdata"] = np.array(flat, float).reshape(shape) if shape else None
        elif custom is not None:
            item["customdata"] = np.array(
                [[np.nan if v is None else v for v in row] for row in custom], float
            )
        out.append(item)
    return out


def units_of(wh) -> list[str]:
    rollout = marts.rollout(wh, AREA)
    return sorted(str(u) for u in rollout["unit"] if str(u) != UNIT_ALL)


def collect(wh, only: tuple[str, ...] = ()) -> Published:
    """Every table, chart and figure of the Practice page (every measure, unit and respondent
    group it offers, or the measures `only`) and the Board's tile, built as the pages are.

    The views read the warehouse through one read-once view (`read_once`): nothing is written
    meanwhile, so each distinct read (the same cells, series and rollout for every unit's and
    respondent group's view) is run once and every view still gets exactly what it would read
    on its own; the gate and the charts run for every view as before."""
    wh = read_once(wh)
    units = units_of(wh)
    out = Published()
    for measure in analysis.practice_measures(wh, AREA):
        if only and measure.key not in only:
            continue
        out.measures[measure.key] = measure
        respondents = present.RESPONDENTS.values() if measure.source == "feedback" else [UNIT_ALL]
        for respondent in respondents:
            for unit in (UNIT_ALL, *units):
                view = present.practice_view(wh, AREA, measure.key, unit, respondent)
                if not view.has_data:
                    continue
                key = (measure.key, unit, respondent)
                out.points[key] = as_download(view.points_table())
                out.charts[key] = chart_traces(view.pprime_figure())
                out.latest[key] = view.figure
                change = as_download(view.change_table())
                known = out.change.setdefault((measure.key, respondent), change)
                assert known.equals(change), "every unit's page shows the same change table"
                if unit == UNIT_ALL and view.has_change:
                    out.change_charts[(measure.key, respondent)] = chart_traces(
                        view.change_figure()
                    )
    if only:
        return out
    summary = practice_summary.practice_summary(wh, AREA)
    out.board = list(summary.figures) if summary else []
    chain = present.practice_chain_view(wh, AREA)
    out.chain = as_download(chain.table())
    return out


# -- the truth ---------------------------------------------------------------------------------


@dataclass
class Truth:
    """One measure's counts: atoms (unit, respondent, quarter) and every cell with margins."""

    quarters: list
    units: list[str]
    respondents: list[str]
    cells: dict  # (unit, respondent, quarter) -> (successes, trials)

    def atoms(self) -> list[tuple]:
        return list(itertools.product(self.units, self.respondents, self.quarters))


def measure_truth(wh, measure: str) -> Truth:
    cells = marts.practice_cells(wh, AREA, measure)
    found = {
        (r.unit, r.respondent, pd.Timestamp(r.period_end)): (float(r.successes), float(r.trials))
        for r in cells.itertuples(index=False)
    }
    units = sorted({u for u, _, _ in found if u != UNIT_ALL})
    respondents = sorted({r for _, r, _ in found if r != UNIT_ALL}) or [UNIT_ALL]
    quarters = sorted({q for _, _, q in found})
    return Truth(quarters, units, respondents, found)


# -- the attacks -------------------------------------------------------------------------------


class Tally:
    """Recoveries attempted, and the ones that named a hidden count of 1 to 4 exactly."""

    def __init__(self):
        self.attempts: dict[str, int] = defaultdict(int)
        self.successes: list[str] = []
        self.recovered = 0  # hidden counts of any size worked out (for the report)

    def attempt(self, attack: str, hit: bool, where: str) -> None:
        self.attempts[attack] += 1
        if hit:
            self.successes.append(f"{attack}: {where}")

    def total(self) -> int:
        return sum(self.attempts.values())


def small(value) -> bool:
    return value is not None and not np.isnan(value) and 1 <= value <= THRESHOLD


def _round(values, decimals):
    return np.round(np.asarray(values, float) * 100, decimals)


@functools.cache
def _shares_of(n: int, decimals: int) -> np.ndarray:
    """k/n for every k of 0..n, as a per cent to `decimals` (the same n comes up thousands of
    times, so each is worked out once)."""
    return _round(np.arange(n + 1) / n, decimals)


def share_candidates(n: int, per_cent: float, decimals: int) -> list[int]:
    """Every k of 0..n whose share k/n, as a per cent to `decimals`, is the one shown."""
    return [int(v) for v in np.flatnonzero(np.isclose(_shares_of(n, decimals), per_cent))]


@functools.cache
def _wilson_of(n: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson 95% interval (per cent, rounded to `decimals` unless None) of every k of
    0..n out of n, worked out once for each n (`proportion_ci` is elementwise)."""
    k = np.arange(n + 1, dtype=float)
    ci = proportion_ci(k, np.full_like(k, n))
    low, high = ci["lower"].to_numpy() * 100, ci["upper"].to_numpy() * 100
    if decimals is not None:
        low, high = np.round(low, decimals), np.round(high, decimals)
    low.flags.writeable = high.flags.writeable = False
    return low, high


def wilson_candidates(n: int, lower: float, upper: float, decimals: int | None) -> list[int]:
    """Every k of 0..n whose Wilson 95% interval (per cent, to `decimals`; None: full
    precision) is the one shown."""
    low, high = _wilson_of(n, decimals)
    if decimals is not None:
        match = np.isclose(low, lower) & np.isclose(high, upper)
    else:
        match = np.isclose(low, lower, atol=1e-7) & np.isclose(high, upper, atol=1e-7)
    return [int(v) for v in np.flatnonzero(match)]


@functools.cache
def _wilson_table(decimals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(k, n, lower, upper) of every k of 0..n for n of 1..:data:`SEARCH_N`, end to end."""
    ks, ns, lows, highs = [], [], [], []
    for n in range(1, SEARCH_N + 1):
        low, high = _wilson_of(n, decimals)
        ks.append(np.arange(n + 1))
        ns.append(np.full(n + 1, n))
        lows.append(low)
        highs.append(high)
    return tuple(np.concatenate(a) for a in (ks, ns, lows, highs))


def wilson_pairs(lower: float, upper: float, decimals: int) -> set[tuple[int, int]]:
    """Every (k, n), n up to :data:`SEARCH_N`, whose Wilson interval rounds to the one shown
    (every n at once: the same test as :func:`wilson_candidates` for each n)."""
    k, n, low, high = _wilson_table(decimals)
    match = np.isclose(low, lower) & np.isclose(high, upper)
    return {(int(a), int(b)) for a, b in zip(k[match], n[match], strict=True)}


def newcombe_candidates(n0: int, n1: int, change, lower, upper, decimals) -> set[tuple]:
    """Every (k0, k1) whose Newcombe change and interval (points, to `decimals`) are those
    shown, for the n before and after shown."""
    found = set()
    if n0 * n1 > 400_000:  # too many to try one by one: every row shown this wide has its shares
        return found
    for k0 in range(n0 + 1):
        for k1 in range(n1 + 1):
            d, lo, hi = newcombe_difference(k1, n1, k0, n0)
            shown = np.round(np.array([d, lo, hi]) * 100, decimals)
            if np.allclose(shown, [change, lower, upper]):
                found.add((k0, k1))
    return found


def _hidden_small(k: int, n: int) -> bool:
    return 1 <= k <= THRESHOLD or 1 <= n - k <= THRESHOLD or 1 <= n <= THRESHOLD


class System:
    """Linear facts about one measure's atoms: every figure shown is a sum of them."""

    def __init__(self, truth: Truth):
        self.truth = truth
        self.atoms = truth.atoms()
        self.index = {a: i for i, a in enumerate(self.atoms)}
        self.rows = {"successes": [], "trials": [], "not": []}
        self.values = {"successes": [], "trials": [], "not": []}
        #: hidden sums: (where, vector) to try to work out
        self.targets: list[tuple[str, np.ndarray]] = []
        self._values: dict[str, np.ndarray] = {}

    def vector(self, unit: str, respondent: str, quarters) -> np.ndarray:
        units = self.truth.units if unit == UNIT_ALL else [unit]
        respondents = self.truth.respondents if respondent == UNIT_ALL else [respondent]
        row = np.zeros(len(self.atoms))
        for u, r, q in itertools.product(units, respondents, quarters):
            if (u, r, q) in self.index:
                row[self.index[(u, r, q)]] = 1.0
        return row

    def window_vector(self, members: list[tuple[str, str, list]]) -> np.ndarray:
        return sum((self.vector(u, r, qs) for u, r, qs in members), np.zeros(len(self.atoms)))

    def know(self, row: np.ndarray, successes, trials) -> None:
        if trials is not None:
            self.rows["trials"].append(row)
            self.values["trials"].append(trials)
        if successes is not None:
            self.rows["successes"].append(row)
            self.values["successes"].append(successes)
        if successes is not None and trials is not None:
            self.rows["not"].append(row)
            self.values["not"].append(trials - successes)

    def _truth_values(self, kind: str) -> np.ndarray:
        """Each atom's true count of `kind` (0 where the warehouse has no cell), in atom order."""
        if kind not in self._values:
            x, n = (
                np.array([self.truth.cells.get(atom, (0.0, 0.0)) for atom in self.atoms], float)
                .reshape(-1, 2)
                .T
            )
            self._values[kind] = {"successes": x, "trials": n, "not": n - x}[kind]
        return self._values[kind]

    def real(self, row: np.ndarray, kind: str) -> float:
        return float(row @ self._truth_values(kind))

    def attack(self, tally: Tally, measure: str) -> None:
        """Every target and every atom against every figure shown of each kind at once: a sum
        is worked out when its vector is orthogonal to the system's null space, and is then
        the least-squares solution's value (all targets in one matrix product)."""
        atoms = [(f"{u} {r} {q:%Y-%m-%d}", self.vector(u, r, [q])) for u, r, q in self.atoms]
        everything = [*self.targets, *atoms]
        wheres = [where for where, _ in everything]
        targets = np.vstack([target for _, target in everything])
        for kind in ("successes", "trials", "not"):
            if not self.rows[kind]:
                continue
            matrix = np.vstack(self.rows[kind])
            rhs = np.array(self.values[kind], float)
            with _BLAS.limit(limits=1):  # small matrices: threads only contend
                solution = np.linalg.lstsq(matrix, rhs, rcond=None)[0]
                free = null_space(matrix)
            actual = targets @ self._truth_values(kind)
            if free.size == 0:
                fixed = np.ones(len(targets), bool)
            else:
                fixed = np.abs(targets @ free).max(axis=1) < 1e-8
            hit = fixed & (np.abs(targets @ solution - actual) < 1e-6)
            shown_rows = {row.tobytes() for row in self.rows[kind]}
            shown = np.array([target.tobytes() in shown_rows for target in targets], bool)
            tally.recovered += int((hit & ~shown).sum())
            for where, value, success in zip(
                wheres, actual.tolist(), (hit & ~shown).tolist(), strict=True
            ):
                tally.attempt(
                    "subtraction (linear, every figure at once)",
                    success and small(value),
                    f"{measure} {kind} of {where} = {value:g}",
                )


def _quarters_between(truth: Truth, first, last) -> list:
    return [q for q in truth.quarters if pd.Timestamp(first) <= q <= pd.Timestamp(last)]


def _window(truth: Truth, start, side: str) -> list:
    start = pd.Timestamp(start)
    if side == "before":
        return [q for q in truth.quarters if q < start]
    after_from = start + pd.DateOffset(months=analysis.BEDDING_IN_MONTHS)
    return [q for q in truth.quarters if q >= after_from]


def attack_points(tally, system: System, key, table: pd.DataFrame, traces: list[dict]) -> None:
    """One p′ table and chart: counts shown, per cent x n, Wilson inversion, p′ limits, and
    each quarter's counts into the linear system (its row or, hidden, a target)."""
    measure, unit, respondent = key
    truth = system.truth
    where = f"{measure} {unit} {respondent}"
    for row in table.itertuples(index=False):
        when = pd.Timestamp(row.quarter_end)
        real_x, real_n = truth.cells.get((unit, respondent, when), (np.nan, np.nan))
        yes, asked = number(row.yes), number(row.asked)
        at = f"{where} {row.quarter_end}"
        for name, value in (("agreed", yes), ("asked", asked)):
            tally.attempt("count shown", small(value), f"{at} {name} = {value}")
        if yes is not None and asked is not None:
            tally.attempt("count shown", small(asked - yes), f"{at} not agreed")
        row_vector = system.vector(unit, respondent, [when])
        system.know(row_vector, yes, asked)
        if yes is None or asked is None:
            system.targets.append((f"{at} (hidden quarter)", row_vector))
        hidden = yes is None or asked is None
        per_cent, low, high = (
            number(v) for v in (row.per_cent, row.interval_lower, row.interval_upper)
        )
        if asked is not None and per_cent is not None:
            ks = share_candidates(int(asked), per_cent, 1)
            tally.attempt(
                "per cent x n",
                hidden and len(ks) == 1 and ks[0] == real_x and _hidden_small(ks[0], int(asked)),
                f"{at} per cent",
            )
        if low is not None and high is not None:
            if asked is not None:
                ks = wilson_candidates(int(asked), low, high, 1)
                tally.attempt(
                    "interval inversion (Wilson)",
                    hidden
                    and len(ks) == 1
                    and ks[0] == real_x
                    and _hidden_small(ks[0], int(asked)),
                    f"{at} interval",
                )
            else:
                pairs = wilson_pairs(low, high, 1)
                ks = {k for k, _ in pairs}
                tally.attempt(
                    "interval inversion (Wilson, n hidden)",
                    len(ks) == 1 and next(iter(ks)) == real_x and small(real_x),
                    f"{at} interval",
                )
    _attack_limits(tally, truth, key, table)
    _attack_chart(tally, truth, key, table, traces)


def _attack_limits(tally, truth: Truth, key, table: pd.DataFrame) -> None:
    """n_i = 9 σ_z² c(1 − c) / (UCL_i − c)², with σ_z from a quarter whose n is shown."""
    measure, unit, respondent = key

    def column(name: str) -> np.ndarray:  # None (blank or "c") as NaN
        return np.array([np.nan if v is None else v for v in table[name].map(number)], float)

    centre, upper, asked = column("centre_line"), column("limit_upper"), column("asked")
    quarter_ends = table["quarter_end"].tolist()
    # a quarter whose n is shown, with the same centre line and a limit above it
    donor = ~np.isnan(asked) & ~np.isnan(upper)
    for i in np.flatnonzero(np.isnan(asked) & ~np.isnan(upper)):
        c = centre[i] / 100
        same = np.flatnonzero(donor & (centre == centre[i]) & (upper / 100 > c))
        for j in same[same != i][:1]:
            s = (upper[j] / 100 - c) / (3 * np.sqrt(c * (1 - c) / asked[j]))
            n = 9 * s**2 * c * (1 - c) / (upper[i] / 100 - c) ** 2
            real = truth.cells.get((unit, respondent, pd.Timestamp(quarter_ends[i])), (0, 0))[1]
            tally.attempt(
                "p′ limits",
                round(n) == real and small(real),
                f"{measure} {unit} {respondent} {quarter_ends[i]} n = {n:.2f}",
            )


def _attack_chart(tally, truth: Truth, key, table: pd.DataFrame, traces: list[dict]) -> None:
    """The chart's JSON at full precision: nothing at a hidden quarter; at every quarter it
    plots, the Wilson error bars with the hover's trials give k (only a hidden k counts), and
    the limits give n where the table hides it."""
    measure, unit, respondent = key
    hidden = {
        pd.Timestamp(q).strftime("%Y-%m-%d")
        for q, a in zip(table["quarter_end"], table["asked"], strict=True)
        if a == C
    }
    for trace in traces:
        for position, (x, y) in enumerate(zip(trace["x"], trace["y"], strict=False)):
            if not isinstance(x, str) or y is None:
                continue
            when = x[:10]
            at = f"{measure} {unit} {respondent} {when} {trace.get('name')}"
            real_x, real_n = truth.cells.get((unit, respondent, pd.Timestamp(when)), (0, 0))
            tally.attempt(
                "chart point at a hidden quarter",
                when in hidden and (small(real_x) or small(real_n) or small(real_n - real_x)),
                at,
            )
            custom = trace.get("customdata")
            if custom is None or not trace["error_plus"]:
                continue
            n = custom[position][2]
            if np.isnan(n):
                continue
            low = y - trace["error_minus"][position]
            high = y + trace["error_plus"][position]
            ks = wilson_candidates(int(n), low, high, None)
            tally.attempt(
                "interval inversion (chart, full precision)",
                when in hidden and len(ks) == 1 and small(ks[0]) and ks[0] == real_x,
                at,
            )


def attack_latest(tally, system: System, key, figure, first, last) -> None:
    """A latest figure (headline or Board tile): n, and k from the share and the interval at
    the precision the sentence gives (whole per cents), into the system."""
    measure, unit, respondent = key
    truth = system.truth
    quarters = _quarters_between(truth, first, last)
    vector = system.vector(unit, respondent, quarters)
    at = f"{measure} {unit} {respondent} latest {first}..{last}"
    if figure.hidden:
        system.targets.append((f"{at} (hidden)", vector))
        return
    n = int(figure.n)
    tally.attempt("count shown", small(n), f"{at} n")
    ks = set(share_candidates(n, round(100 * figure.proportion), 0))
    ks &= set(wilson_candidates(n, round(100 * figure.lower), round(100 * figure.upper), 0))
    real = system.real(vector, "successes")
    tally.attempt(
        "per cent x n with its interval (latest)",
        len(ks) == 1 and _hidden_small(next(iter(ks)), n) and next(iter(ks)) == real,
        at,
    )
    system.know(vector, next(iter(ks)) if len(ks) == 1 else None, float(n))


def change_members(table: pd.DataFrame):
    """(unit -> start date, group -> the units it pools) of a change table as its download
    reads: a unit is itself, a wave its units, "All units" every unit."""
    named = table["group"].astype(str)
    units = table[~named.str.startswith("Wave ") & (named != "All units")]
    starts = dict(zip(units["group"], units["start_date"], strict=True))
    waves = dict(zip(units["group"], units["wave"], strict=True))

    def members_of(group: str) -> list[str]:
        if group == "All units":
            return list(starts)
        if group.startswith("Wave "):
            return [u for u, w in waves.items() if number(w) == number(group.split()[1])]
        return [group]

    return starts, members_of


def attack_change(tally, system: System, key, table: pd.DataFrame) -> None:
    """A change table: asked shown, agreed from per cent x asked, Newcombe inversion where the
    shares are hidden and the change is shown; each row's windows into the system."""
    measure, respondent = key
    truth = system.truth
    starts, members_of = change_members(table)
    for row in table.itertuples(index=False):
        members = members_of(row.group)
        at = f"{measure} {respondent} change {row.group}"
        counts = {}
        for side in ("before", "after"):
            vector = system.window_vector(
                [(u, respondent, _window(truth, starts[u], side)) for u in members if starts[u]]
            )
            asked = number(getattr(row, f"{side}_asked"))
            per_cent = number(getattr(row, f"{side}_per_cent"))
            tally.attempt("count shown", small(asked), f"{at} {side} asked")
            k = None
            if asked is not None and per_cent is not None and asked > 0:
                ks = share_candidates(int(asked), per_cent, 1)
                real = system.real(vector, "successes")
                tally.attempt(
                    "per cent x n",
                    len(ks) == 1 and ks[0] == real and _hidden_small(ks[0], int(asked)),
                    f"{at} {side}",
                )
                k = float(ks[0]) if len(ks) == 1 else None
            if asked is None or (asked > 0 and k is None):
                system.targets.append((f"{at} {side} (hidden)", vector))
            if asked is not None:
                system.know(vector, k if asked > 0 else 0.0, asked)
            counts[side] = (asked, per_cent, vector)
        change = [number(row.change), number(row.change_lower), number(row.change_upper)]
        (n0, p0, v0), (n1, p1, v1) = counts["before"], counts["after"]
        if None not in change and n0 and n1 and (p0 is None or p1 is None):
            pairs = newcombe_candidates(int(n0), int(n1), *change, 1)
            real = (system.real(v0, "successes"), system.real(v1, "successes"))
            tally.attempt(
                "interval inversion (Newcombe)",
                len(pairs) == 1 and next(iter(pairs)) == real and any(map(small, real)),
                at,
            )


def attack_chain(tally, published: Published) -> None:
    """The chain's table shows a unit's change in audits graded good or outstanding: never
    where the change table hides that unit's row (it would add the change to what is hidden)."""
    change = published.change.get(("good_or_better", UNIT_ALL))
    if published.chain is None or change is None:
        return
    hidden = set(change.loc[change["change"] == C, "group"])
    for row in published.chain.itertuples(index=False):
        tally.attempt(
            "chain change beside a hidden change row",
            row.unit in hidden and number(row.practice_change_points) is not None,
            f"chain {row.unit}",
        )


def run_attacks(wh, published: Published) -> Tally:
    tally = Tally()
    for measure in published.measures:
        truth = measure_truth(wh, measure)
        system = System(truth)
        for key, table in published.points.items():
            if key[0] == measure:
                attack_points(tally, system, key, table, published.charts[key])
        for key, figure in published.latest.items():
            if key[0] == measure:
                attack_latest(
                    tally, system, key, figure, figure.first_quarter_end, figure.last_quarter_end
                )
        for figure in published.board:
            if figure.key == measure:
                attack_latest(
                    tally,
                    system,
                    (measure, UNIT_ALL, UNIT_ALL),
                    figure,
                    figure.first_quarter_end,
                    figure.last_quarter_end,
                )
        for key, table in published.change.items():
            if key[0] == measure:
                attack_change(tally, system, key, table)
        system.attack(tally, measure)
    attack_chain(tally, published)
    return tally


# -- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def practice_path(sample_warehouse_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("disclosure-practice") / "warehouse.duckdb"
    shutil.copy(sample_warehouse_path, path)
    return path


@pytest.fixture(scope="module")
def published(practice_path):
    with open_warehouse(practice_path) as wh:
        return collect(wh)


@pytest.fixture(scope="module")
def tally(practice_path, published):
    with open_warehouse(practice_path) as wh:
        return run_attacks(wh, published)


def test_no_recovery_succeeds_on_the_practice_page_or_the_board_tile(published, tally):
    print(
        f"\npractice: {len(published.points)} views, {tally.total()} recoveries attempted "
        f"({dict(tally.attempts)}); {len(tally.successes)} succeeded; "
        f"{tally.recovered} hidden counts of any size worked out"
    )
    for line in tally.successes[:20]:
        print("  ", line)
    assert tally.total() > 10_000
    assert tally.successes == []


def test_the_attacks_work_on_ungated_figures(practice_path, monkeypatch):
    """As shipped before the audit (a change row hidden only for its own small counts), a
    unit's window before its start less the quarters shown gave a hidden quarter back: the
    same attacks find those counts (audits graded inadequate, and "I was listened to")."""
    monkeypatch.setattr(
        present,
        "_change_rows_hidden",
        lambda decided, rollout, table, respondent, threshold, decision=None: (
            present.change_hidden_rows(table, threshold)
        ),
    )
    monkeypatch.setattr(practice_gate, "_protect_quarters", lambda frame, hidden: hidden)
    monkeypatch.setattr(practice_gate, "_SHARED", {})
    monkeypatch.setattr(practice_gate, "family_of", lambda key: ())  # one measure at a time
    with open_warehouse(practice_path) as wh:
        before = collect(wh, only=("grade:Inadequate",))
        found = run_attacks(wh, before)
    print(f"\nungated: {found.total()} attempted, {len(found.successes)} succeeded")
    assert any("grade:Inadequate successes of Ashby All 2019-06-30" in s for s in found.successes)


# -- measures that add up: the audit grades ------------------------------------------------------

GRADE_FAMILY = (
    "good_or_better",
    "grade:Good",
    "grade:Outstanding",
    "grade:Inadequate",
    "grade:Requires improvement",
)
GRADES = GRADE_FAMILY[1:]


def _quarter_figures(published: Published, measure: str, unit: str) -> dict:
    """quarter end -> (audits graded so, audits) as the p′ download shows them (None: "c")."""
    table = published.points.get((measure, unit, UNIT_ALL))
    if table is None:
        return {}

    def value(v):
        return None if v == "c" or pd.isna(v) else int(float(v))

    return {
        q: (value(y), value(n))
        for q, y, n in zip(table["quarter_end"], table["yes"], table["asked"], strict=True)
    }


def _change_figures(published: Published, measure: str) -> dict:
    """group -> (before graded so, after graded so) from the change download (None: "c")."""
    table = published.change.get((measure, UNIT_ALL))
    if table is None:
        return {}
    out = {}
    for row in table.itertuples():
        figures = []
        for side in ("before", "after"):
            asked, pct = getattr(row, f"{side}_asked"), getattr(row, f"{side}_per_cent")
            if "c" in (asked, pct) or pd.isna(asked) or pd.isna(pct):
                figures.append(None)
            else:
                figures.append(round(float(pct) / 100 * int(float(asked))))
        out[str(row.group)] = tuple(figures)
    return out


def grade_attack(published: Published, truth: dict) -> tuple[int, list[str]]:
    """(attempts, counts of 1 to 4 recovered) from the sums across the family: good or
    outstanding = good + outstanding, and the four grades = the audits, for each unit and
    quarter (and each change row's windows: good or outstanding = good + outstanding)."""
    attempts, found = 0, []
    units = sorted({k[1] for k in published.points if k[0] in GRADE_FAMILY})
    for unit in units:
        figures = {m: _quarter_figures(published, m, unit) for m in GRADE_FAMILY}
        for q in figures["good_or_better"]:
            shown = {m: figures[m].get(q, (None, None)) for m in GRADE_FAMILY}
            audits = next((n for _, n in shown.values() if n is not None), None)
            for total, parts in (
                (shown["good_or_better"][0], ("grade:Good", "grade:Outstanding")),
                (audits, GRADES),
            ):
                unknown = [p for p in parts if shown[p][0] is None]
                if total is None or not unknown:
                    continue
                attempts += 1  # a sum known with a hidden part: solved when only one is
                if len(unknown) != 1:
                    continue
                value = total - sum(shown[p][0] for p in parts if p != unknown[0])
                actual = truth[unknown[0]].get((unit, q))
                if 1 <= value <= 4 and value == actual:
                    found.append(f"{unknown[0]} {unit} {q} = {value}")
    changes = {m: _change_figures(published, m) for m in GRADE_FAMILY}
    for group, (before, after) in changes["good_or_better"].items():
        for side, total in ((0, before), (1, after)):
            parts = {m: changes[m].get(group, (None, None))[side] for m in GRADES[:2]}
            unknown = [m for m, v in parts.items() if v is None]
            if total is None or not unknown:
                continue
            attempts += 1
            if len(unknown) != 1:
                continue
            value = total - sum(v for v in parts.values() if v is not None)
            if 1 <= value <= 4:
                found.append(f"change {unknown[0]} {group} side {side} = {value} (unverified)")
    return attempts, found


def _grade_truth(wh) -> dict:
    """measure -> (unit, quarter end) -> audits graded so (all respondents)."""
    out = {}
    for measure in GRADE_FAMILY:
        cells = marts.practice_cells(wh, AREA, measure)
        cells = cells[cells["respondent"] == UNIT_ALL]
        out[measure] = {
            (str(u), pd.Timestamp(q).strftime("%Y-%m-%d")): int(s)
            for u, q, s in zip(cells["unit"], cells["period_end"], cells["successes"], strict=True)
        }
    return out


def test_the_grades_do_not_give_each_other_away(practice_path, published, monkeypatch):
    """Good or outstanding is two grades, and the four grades are the audits: decided one
    measure at a time, a hidden grade was the others less those shown; decided as a family
    (`present.family_decision`) none is, and the headline measure keeps its quarters. As
    shipped (decided as a family), the grade views are those of the page walk (`published`)."""
    together = only_measures(published, GRADE_FAMILY)
    with open_warehouse(practice_path) as wh:
        truth = _grade_truth(wh)
        monkeypatch.setattr(practice_gate, "family_of", lambda key: ())
        monkeypatch.setattr(practice_gate, "_SHARED", {})
        alone = collect(wh, only=GRADE_FAMILY)
    before = grade_attack(alone, truth)
    after = grade_attack(together, truth)
    headline = together.points[("good_or_better", UNIT_ALL, UNIT_ALL)]
    print(
        f"\ngrades one at a time: {before[0]} attempts, {len(before[1])} recovered; "
        f"as a family: {after[0]} attempts, {len(after[1])} recovered; "
        f"all units' good or outstanding quarters hidden {(headline['yes'] == 'c').sum()} of "
        f"{len(headline)}"
    )
    assert before[1], "the attack works on grades decided one measure at a time"
    assert after[0] > 50 and after[1] == []
    assert (headline["yes"] != "c").all()


# -- the grade family, attacked by linear programming (tests/practice_lp.py) ---------------------


def shown_from_published(published: Published, quarters: list) -> practice_lp.Shown:
    """What the page shows of the grade family, for practice_lp: each quarter's audits graded
    so and audits (a table row, "c" when hidden), each change row's windows (the audits, and
    the audits graded so where per cent x n gives one count) and each latest figure shown."""
    shown = practice_lp.Shown()
    for (measure, unit, respondent), table in published.points.items():
        if measure not in GRADE_FAMILY or respondent != UNIT_ALL:
            continue
        for quarter_end, yes, asked in zip(
            table["quarter_end"], table["yes"], table["asked"], strict=True
        ):
            key = (unit, pd.Timestamp(quarter_end))
            shown.graded[(measure, *key)] = number(yes)
            if number(asked) is not None or key not in shown.audits:
                shown.audits[key] = number(asked)
    windowed = Truth(quarters, [], [], {})
    for measure in GRADE_FAMILY:
        table = published.change.get((measure, UNIT_ALL))
        if table is None:
            continue
        starts, members_of = change_members(table)
        for row in table.itertuples(index=False):
            members = members_of(row.group)
            for side in ("before", "after"):
                cells = [
                    (u, q) for u in members if starts[u] for q in _window(windowed, starts[u], side)
                ]
                asked = number(getattr(row, f"{side}_asked"))
                per_cent = number(getattr(row, f"{side}_per_cent"))
                if asked is None:
                    continue
                shown.windows.append(({("n", u, q): 1.0 for u, q in cells}, asked))
                if asked > 0 and per_cent is not None:
                    counts = share_candidates(int(asked), per_cent, 1)
                    if len(counts) == 1:
                        terms = {("x", measure, u, q): 1.0 for u, q in cells}
                        shown.windows.append((terms, float(counts[0])))
    for (measure, unit, respondent), figure in published.latest.items():
        if measure not in GRADE_FAMILY or respondent != UNIT_ALL or figure.hidden:
            continue
        span = [
            q
            for q in quarters
            if pd.Timestamp(figure.first_quarter_end) <= q <= pd.Timestamp(figure.last_quarter_end)
        ]
        shown.windows.append(({("n", unit, q): 1.0 for q in span}, float(figure.n)))
        counts = set(share_candidates(int(figure.n), round(100 * figure.proportion), 0))
        counts &= set(
            wilson_candidates(
                int(figure.n), round(100 * figure.lower), round(100 * figure.upper), 0
            )
        )
        if len(counts) == 1:
            terms = {("x", measure, unit, q): 1.0 for q in span}
            shown.windows.append((terms, float(counts.pop())))
    return shown


def test_no_hidden_grade_comes_back_by_linear_programming(published, practice_path):
    """Every sum a viewer of the grade family can write down (tests/practice_lp.py), each
    hidden count minimised and maximised: each quarter on its own and all quarters with the
    change windows and the latest figures, with hidden counts at least 0, at least 1 where the
    true count is (the gate's audit), and at least 1 everywhere where that premise holds."""
    with open_warehouse(practice_path) as wh:
        cells = {m: marts.practice_cells(wh, AREA, m) for m in GRADE_FAMILY}
    truths = practice_lp.truths_from_cells(cells)
    quarters = sorted(set(cells[GRADE_FAMILY[0]]["period_end"]))
    shown = shown_from_published(published, quarters)
    hidden = sum(v is None for v in shown.graded.values())
    outcomes = {
        (bound, scope): practice_lp.attack(shown, truths, bound, per_quarter=scope == "quarter")
        for bound in practice_lp.BOUNDS
        for scope in ("quarter", "all")
        if not (bound == "at least 1" and scope == "all")
    }
    print(
        f"\ngrade family: {hidden} hidden counts, {len(shown.windows)} windows and latest figures"
    )
    for (bound, scope), outcome in outcomes.items():
        print(
            f"  {bound}, {scope}: {outcome.programmes} programmes over {outcome.systems} "
            f"systems ({outcome.false_premise} with a false premise), recovered "
            f"{len(outcome.recovered)} {outcome.recovered[:3]}"
        )
    assert hidden > 500 and len(shown.windows) > 100
    assert outcomes[("known zeros", "quarter")].programmes > 200
    assert all(outcome.recovered == [] for outcome in outcomes.values())
