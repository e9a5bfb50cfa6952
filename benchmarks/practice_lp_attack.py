"""A linear-programming attack on the Practice page's audit-grade family (issue 16, stop 27).

`python -m benchmarks.practice_lp_attack [WAREHOUSE]` (default: var/warehouse.duckdb, the
sample) copies the warehouse to a temporary folder, collects what the Practice page publishes
for the grade family (`tests.test_disclosure_practice.collect`), and for every hidden count
solves min and max subject to every relation a viewer can write down: each measure's and the
audits' unit margin, the four grades summing to the audits, good or outstanding = Outstanding
+ Good, per quarter; then over all quarters with the change-since-rollout windows and the
latest figure. Two bounds: every hidden count at least 0, and at least 1 (the attacker's
assumption the outcome gate's linked audit is held to). A recovery is a cell pinned to its
true value of 1 to 4. Measured at stop 27: 0 recoveries with the bound 0; 12 (all true 1s) per
quarter with the bound 1. Kept so the fix (a pinned-cell audit in
`present.practice_gate.family_decision`) can be checked and turned into a test.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import linprog  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402

from pipelines.measures import UNIT_ALL  # noqa: E402
from pipelines.store.warehouse import open_warehouse  # noqa: E402
from tests.test_disclosure_practice import (  # noqa: E402
    GRADE_FAMILY,
    GRADES,
    _window,
    collect,
    measure_truth,
    share_candidates,
    wilson_candidates,
)
from tests.test_disclosure_recovery import number  # noqa: E402

OUT = Path(tempfile.mkdtemp(prefix="rp-impact-lp-"))
SOURCE = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "var" / "warehouse.duckdb"
T0 = time.monotonic()
GOB = "good_or_better"


def log(*a):
    print(f"[{time.monotonic() - T0:7.1f}s]", *a, flush=True)


# -- warehouse copy and published figures -------------------------------------------------------
wh_path = OUT / "wh.duckdb"
shutil.copy(SOURCE, wh_path)
with open_warehouse(wh_path) as wh:
    published = collect(wh, only=GRADE_FAMILY)
    truths = {m: measure_truth(wh, m) for m in GRADE_FAMILY}
log("collected", len(published.points), "views;", "measures:", list(published.measures))

for m, t in truths.items():
    log(f"truth {m}: units={len(t.units)} respondents={t.respondents} quarters={len(t.quarters)}")

units = sorted({k[1] for k in published.points if k[0] in GRADE_FAMILY} - {UNIT_ALL})
respondents_pub = sorted({k[2] for k in published.points if k[0] in GRADE_FAMILY})
log("published units", len(units), "respondent groups published", respondents_pub)


def true_x(m, u, q):
    return truths[m].cells.get((u, UNIT_ALL, q), (0.0, 0.0))[0]


def true_T(u, q):
    vals = {truths[m].cells.get((u, UNIT_ALL, q), (0.0, 0.0))[1] for m in GRADE_FAMILY}
    assert len(vals) == 1, (u, q, vals)  # every grade measure counts the same audits
    return vals.pop()


# -- what is shown per cell ---------------------------------------------------------------------
shown_x: dict = {}  # (m, u, q) -> value or None (hidden "c")
shown_T: dict = {}  # (u, q) -> value or None
T_conflict = 0
quarters = set()
for (m, u, r), table in published.points.items():
    if m not in GRADE_FAMILY or r != UNIT_ALL:
        continue
    for qe, y, n in zip(table["quarter_end"], table["yes"], table["asked"], strict=True):
        q = pd.Timestamp(qe)
        quarters.add(q)
        shown_x[(m, u, q)] = number(y)
        n = number(n)
        if n is not None:
            if shown_T.get((u, q)) is not None and shown_T[(u, q)] != n:
                T_conflict += 1
            shown_T[(u, q)] = n
        else:
            shown_T.setdefault((u, q), None)
quarters = sorted(quarters)
log("quarters shown", len(quarters), "trials conflicts", T_conflict)

ALL_UNITS = [UNIT_ALL, *units]
absent = []  # cells no table row shows at all (treated as unknown >= 0 in both variants)
for q in quarters:
    for u in ALL_UNITS:
        for m in GRADE_FAMILY:
            if (m, u, q) not in shown_x:
                absent.append((m, u, q))
                shown_x[(m, u, q)] = None
        shown_T.setdefault((u, q), None)
log("absent cells (no row shown):", len(absent))


# -- variables and equations -------------------------------------------------------------------
def var_x(m, u, q):
    return ("x", m, u, q)


def var_T(u, q):
    return ("T", u, q)


def known(v):
    return shown_x[v[1:]] if v[0] == "x" else shown_T[v[1:]]


def truth_of(v):
    return true_x(*v[1:]) if v[0] == "x" else true_T(*v[1:])


equations = []  # (dict var -> coef, tag, quarter or None); sum coef*var = 0 after substitution
eq_with_known = []


def add(terms: dict, tag, q, rhs=0.0):
    """sum terms = rhs, with published terms moved to the right."""
    coefs, const = {}, 0.0
    for v, c in terms.items():
        val = known(v)
        if val is None:
            coefs[v] = coefs.get(v, 0.0) + c
        else:
            const += c * val
    coefs = {v: c for v, c in coefs.items() if c != 0}
    if not coefs:
        return
    equations.append((coefs, rhs - const, tag, q))


for q in quarters:
    for m in GRADE_FAMILY:  # unit margin per measure
        add({var_x(m, UNIT_ALL, q): 1.0, **{var_x(m, u, q): -1.0 for u in units}}, "unit margin", q)
    add({var_T(UNIT_ALL, q): 1.0, **{var_T(u, q): -1.0 for u in units}}, "unit margin trials", q)
    for u in ALL_UNITS:
        add({**{var_x(g, u, q): 1.0 for g in GRADES}, var_T(u, q): -1.0}, "grades sum to audits", q)
        add(
            {
                var_x(GOB, u, q): 1.0,
                var_x("grade:Good", u, q): -1.0,
                var_x("grade:Outstanding", u, q): -1.0,
            },
            "good_or_better = O + G",
            q,
        )
n_quarter_eq = len(equations)

# Optional extras (global system): change-since-rollout windows and latest figures.
extra_counts = defaultdict(int)
truth_obj = truths[GOB]
for m in GRADE_FAMILY:
    table = published.change.get((m, UNIT_ALL))
    if table is None:
        continue
    unit_rows = table[~table["group"].str.startswith("Wave ") & (table["group"] != "All units")]
    starts = dict(zip(unit_rows["group"], unit_rows["start_date"], strict=True))
    waves = dict(zip(unit_rows["group"], unit_rows["wave"], strict=True))
    for row in table.itertuples(index=False):
        if row.group == "All units":
            members = list(starts)
        elif row.group.startswith("Wave "):
            members = [u for u, w in waves.items() if number(w) == number(row.group.split()[1])]
        else:
            members = [row.group]
        for side in ("before", "after"):
            qs = {
                u: [q for q in _window(truth_obj, starts[u], side) if q in set(quarters)]
                for u in members
                if starts[u]
            }
            asked = number(getattr(row, f"{side}_asked"))
            pct = number(getattr(row, f"{side}_per_cent"))
            if asked is None:
                extra_counts["change side hidden"] += 1
                continue
            tx = {var_T(u, q): 1.0 for u, ql in qs.items() for q in ql}
            # trials window (shared by all grade measures; duplicates are harmless)
            add(tx, "change window trials", None, rhs=asked)
            extra_counts["change trials eq"] += 1
            if asked > 0 and pct is not None:
                ks = share_candidates(int(asked), pct, 1)
                if len(ks) == 1:
                    add(
                        {var_x(m, u, q): 1.0 for u, ql in qs.items() for q in ql},
                        "change window successes",
                        None,
                        rhs=float(ks[0]),
                    )
                    extra_counts["change successes eq"] += 1
                else:
                    extra_counts["change successes ambiguous"] += 1

for (m, u, r), fig in published.latest.items():
    if m not in GRADE_FAMILY or r != UNIT_ALL or fig.hidden:
        extra_counts["latest hidden"] += 1
        continue
    qs = [
        q
        for q in quarters
        if pd.Timestamp(fig.first_quarter_end) <= q <= pd.Timestamp(fig.last_quarter_end)
    ]
    n = int(fig.n)
    add({var_T(u, q): 1.0 for q in qs}, "latest trials", None, rhs=float(n))
    ks = set(share_candidates(n, round(100 * fig.proportion), 0))
    ks &= set(wilson_candidates(n, round(100 * fig.lower), round(100 * fig.upper), 0))
    if len(ks) == 1:
        add({var_x(m, u, q): 1.0 for q in qs}, "latest successes", None, rhs=float(ks.pop()))
        extra_counts["latest successes eq"] += 1
    else:
        extra_counts["latest successes ambiguous"] += 1
log(
    "equations: per-quarter",
    n_quarter_eq,
    "extras",
    len(equations) - n_quarter_eq,
    dict(extra_counts),
)

# sanity: the truth satisfies every equation
bad = defaultdict(int)
for coefs, rhs, tag, _quarter in equations:
    if abs(sum(c * truth_of(v) for v, c in coefs.items()) - rhs) > 1e-6:
        bad[tag] += 1
log("equations violated by the truth:", dict(bad) or "none")
equations = [
    e for e in equations if not (abs(sum(c * truth_of(v) for v, c in e[0].items()) - e[1]) > 1e-6)
]

hidden_x = [var_x(*k) for k, v in shown_x.items() if v is None]
hidden_T = [var_T(*k) for k, v in shown_T.items() if v is None]
absent_set = {var_x(*k) for k in absent}
log(
    f"hidden success cells {len(hidden_x)} (true 1..4: "
    f"{sum(1 <= truth_of(v) <= 4 for v in hidden_x)}, true 0: {sum(truth_of(v) == 0 for v in hidden_x)}); "
    f"hidden trials cells {len(hidden_T)}"
)


# -- LP --------------------------------------------------------------------------------------------
def solve_system(variables, eqs, lower, label, results):
    """min/max each hidden success cell in `variables` s.t. eqs; lower bound per variant."""
    idx = {v: i for i, v in enumerate(variables)}
    rows, cols, vals, b = [], [], [], []
    for r, (coefs, rhs, _, _) in enumerate(eqs):
        for v, c in coefs.items():
            rows.append(r)
            cols.append(idx[v])
            vals.append(c)
        b.append(rhs)
    n = len(variables)
    A = csr_matrix((vals, (rows, cols)), shape=(len(eqs), n)) if eqs else None
    bnds = [(0 if (v in absent_set or lower == 0) else lower, None) for v in variables]
    truth_vec = np.array([truth_of(v) for v in variables])
    far = np.zeros(n, bool)  # some feasible point already >= 1 away from the truth
    for i, v in enumerate(variables):
        if v[0] != "x":
            continue
        res = results.setdefault(v, {})
        if A is None:
            res[label] = ("unbounded", None, None)
            continue
        if far[i]:
            res[label] = ("skipped (point >=1 from truth seen)", None, None)
            results["__skipped__"] = results.get("__skipped__", 0) + 1
            continue
        ends = []
        for d in (1.0, -1.0):
            goal = np.zeros(n)
            goal[i] = d
            s = linprog(goal, A_eq=A, b_eq=np.array(b), bounds=bnds, method="highs")
            results["__lps__"] = results.get("__lps__", 0) + 1
            if s.status == 0:
                far |= np.abs(s.x - truth_vec) >= 1 - 1e-9
                ends.append(d * s.fun)
            elif s.status == 3:
                ends.append(np.inf * d * -1 if d == 1 else np.inf)  # unbounded
            else:
                ends = None
                break
        if ends is None:
            res[label] = ("infeasible", None, None)
        else:
            lo, hi = ends
            res[label] = ("ok", lo, hi)


def report(results, label):
    rec, narrow, infeas = [], [], 0
    for v, r in results.items():
        if isinstance(v, str) or label not in r:
            continue
        status, lo, hi = r[label]
        t = truth_of(v)
        if status == "infeasible":
            infeas += 1
            continue
        if status != "ok":
            continue
        if abs(hi - lo) < 1e-6 and 1 <= t <= 4 and abs(lo - t) < 1e-6:
            rec.append((v, t))
        if hi - lo < 1 and lo - 1e-9 <= t <= hi + 1e-9 and 1 <= t <= 4:
            narrow.append((v, t, lo, hi))
        if abs(hi - lo) < 1e-6:
            PINNED[label].append((v, t, lo))
    return rec, narrow, infeas


PINNED = defaultdict(list)


summary = {}
for variant, lower in (("a: hidden >= 0", 0), ("b: hidden >= 1", 1)):
    # per-quarter systems
    res_q: dict = {}
    t = time.monotonic()
    for q in quarters:
        eqs = [e for e in equations if e[3] == q]
        vs = sorted({v for e in eqs for v in e[0]} | {v for v in hidden_x if v[3] == q}, key=str)
        solve_system(vs, eqs, lower, "q", res_q)
    PINNED.clear()
    rq = report(res_q, "q")
    pin = PINNED["q"]
    wrong = [(v, t, lo) for v, t, lo in pin if abs(t - lo) > 1e-6]
    feas_q = sum(
        1
        for q in quarters
        if not any(
            r.get("q", ("",))[0] == "infeasible"
            for v, r in res_q.items()
            if not isinstance(v, str) and v[3] == q
        )
    )
    log(
        f"[{variant}] per-quarter: cells solved {sum(1 for v, r in res_q.items() if not isinstance(v, str) and r['q'][0] == 'ok')}, "
        f"skipped {res_q.get('__skipped__', 0)}, pinned (min==max, any value) {len(pin)}, "
        f"pinned to a WRONG value {len(wrong)} (of which pinned value in 1..4: {sum(1 <= lo <= 4 for _, _, lo in wrong)}), "
        f"quarters with a feasible system {feas_q}/{len(quarters)}"
    )
    for v, t, lo in wrong[:4]:
        log(f"   wrong pin: {v[1]} | {v[2]} | {v[3]:%Y-%m-%d} pinned {lo:g}, true {t:g}")
    log(
        f"[{variant}] per-quarter: LPs {res_q.get('__lps__', 0)}, recoveries {len(rq[0])}, "
        f"narrow(<1) {len(rq[1])}, infeasible {rq[2]}, {time.monotonic() - t:.1f}s"
    )
    summary[(variant, "per-quarter")] = (res_q.get("__lps__", 0), rq)
    # global system with change windows and latest figures
    res_g: dict = {}
    t = time.monotonic()
    vs = sorted({v for e in equations for v in e[0]} | set(hidden_x), key=str)
    solve_system(vs, equations, lower, "g", res_g)
    rg = report(res_g, "g")
    log(
        f"[{variant}] global pinned (any value) {len(PINNED['g'])}, wrong {sum(abs(t - lo) > 1e-6 for _, t, lo in PINNED['g'])}"
    )
    log(
        f"[{variant}] global (+change +latest): vars {len(vs)}, eqs {len(equations)}, "
        f"LPs {res_g.get('__lps__', 0)}, skipped {res_g.get('__skipped__', 0)}, "
        f"recoveries {len(rg[0])}, narrow(<1) {len(rg[1])}, infeasible {rg[2]}, "
        f"{time.monotonic() - t:.1f}s"
    )
    summary[(variant, "global")] = (res_g.get("__lps__", 0), rg)
    for name, (_, (rec, narrow, _)) in (
        ("per-quarter", summary[(variant, "per-quarter")]),
        ("global", summary[(variant, "global")]),
    ):
        for v, tv in rec[:8]:
            log(
                f"   {name} recovery: {v[1]} | unit {v[2]} | respondent All | {v[3]:%Y-%m-%d} = {tv:g}"
            )
        for v, tv, lo, hi in narrow[:5]:
            log(
                f"   {name} narrow: {v[1]} | {v[2]} | {v[3]:%Y-%m-%d} true {tv:g} in [{lo:.3f},{hi:.3f}]"
            )
    # how wide are the intervals for true 1..4 (global)?
    widths = [
        r["g"][2] - r["g"][1]
        for v, r in res_g.items()
        if not isinstance(v, str) and r.get("g", ("",))[0] == "ok" and 1 <= truth_of(v) <= 4
    ]
    if widths:
        log(
            f"   global widths for true 1..4 solved: min {min(widths):.3f}, "
            f"median {np.median(widths):.3f}, n {len(widths)}"
        )
log("done")
shutil.rmtree(OUT, ignore_errors=True)
