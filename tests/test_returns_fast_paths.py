"""The aggregation's fast paths give what the definitions say, on random cases (issue 15).

The national-scale 903 is counted with array shortcuts: stocks from a running sum of changes
rather than a row for each month an interval spans, the 31 March measures for every period at
once, files sniffed once and read two at a time, rows sorted only when a pass finds them out
of order. Each is checked here against the plain rule it stands for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.load.returns import aggregate as agg
from pipelines.load.returns import definitions as d
from pipelines.load.returns import order, preview_903, ssda903

AREA = "E06999990"


def _stock_by_rule(start, end, dob, unit, grid: agg.Grid) -> np.ndarray:
    """Each interval open at each month end of the grid (start ≤ month end < end), with the
    age band on that day; a DOB not known counts in band slot 5 (All only)."""
    counts = np.zeros((len(grid.months), grid.n_units, len(d.AGE_BANDS) + 1), dtype="int64")
    for position, month in enumerate(grid.months):
        at = pd.Timestamp(d.month_end_of(np.array([month]))[0])
        for s, e, born, u in zip(start, end, dob, unit, strict=True):
            starts = pd.isna(s) or s <= at  # no start date: open from the grid's first month
            if starts and (pd.isna(e) or e > at):
                age = d.age_at(pd.Series([born]), at).iloc[0]
                band = len(d.AGE_BANDS) if pd.isna(age) else d.band_codes(np.array([age]))[0]
                counts[position, u, band] += 1
    return counts


@pytest.mark.parametrize("seed", range(6))
def test_stock_counts_agree_with_the_rule_at_every_month_end(seed):
    rng = np.random.default_rng(seed)
    n = 60
    base = np.datetime64("2019-01-01")
    start = pd.Series(base + rng.integers(-900, 1500, n).astype("timedelta64[D]"))
    end = pd.Series(start + pd.to_timedelta(rng.integers(-20, 1200, n), unit="D"))
    end[rng.random(n) < 0.3] = pd.NaT
    start[rng.random(n) < 0.05] = pd.NaT
    dob = pd.Series(base + rng.integers(-6500, 900, n).astype("timedelta64[D]"))
    dob[rng.random(n) < 0.15] = pd.Timestamp("2008-02-29")  # a birthday some Februaries lack
    dob[rng.random(n) < 0.1] = pd.NaT
    years = sorted({2019, 2020, int(rng.choice([2021, 2022]))})  # a gap in some grids
    grid = agg.Grid(agg.collection_months(years), tuple(f"u{i}" for i in range(seed % 3)))
    unit = rng.integers(0, grid.n_units, n)
    expected = _stock_by_rule(start, end, dob, unit, grid)
    assert (agg.stock_counts(start, end, dob, unit, grid) == expected).all()


def _random_episodes(rng, n_children: int) -> pd.DataFrame:
    """Chains of episodes, one child each: new placements (P, B), legal changes (L) and same
    carers (T), X1 between them, some periods ended, some children placed for adoption."""
    rows = []
    for child in range(n_children):
        day = pd.Timestamp("2019-04-01") + pd.Timedelta(days=int(rng.integers(0, 1800)))
        for k in range(int(rng.integers(1, 7))):
            length = pd.Timedelta(days=int(rng.integers(20, 500)))
            last = rng.random() < 0.25
            rne = "S" if k == 0 else str(rng.choice(["P", "B", "L", "T"]))
            place = str(rng.choice(["U1", "U4", "K2", "A4", "A5"]))
            rows.append((child, day, day + length, rne, "C2", place, "E13" if last else "X1"))
            day += length
            if last:
                break
        else:
            rows[-1] = (*rows[-1][:2], pd.NaT, *rows[-1][3:6], None)  # still looked after
    frame = pd.DataFrame(rows, columns=["child", "decom", "dec", "rne", "ls", "place", "rec"])
    frame["child"] = frame["child"].astype("uint64")
    return frame


@pytest.mark.parametrize("seed", range(4))
def test_the_31_march_measures_agree_with_the_definitions(seed):
    rng = np.random.default_rng(seed)
    episodes = _random_episodes(rng, 150)
    children = episodes["child"].unique()
    dob = pd.Series(
        pd.Timestamp("2007-01-01") + pd.to_timedelta(rng.integers(0, 5000, len(children)), "D"),
        index=children,
    )
    periods = d.periods_of_care(episodes)
    grid = agg.Grid(agg.collection_months([2021, 2022, 2023, 2024]), ("North",))
    unit = rng.integers(0, grid.n_units, len(periods))
    arrays = agg._year_end_stability(periods, episodes, periods["child"].map(dob), unit, grid)
    rows = d.placements(episodes)
    for position in np.flatnonzero(grid.months % 12 == 2):
        at = pd.Timestamp(d.month_end_of(grid.months[position : position + 1])[0])
        current = periods.loc[d.looked_after_at(periods, at)]
        three = d.three_or_more_placements(current, rows, at)
        stability = d.long_term_stability(current, rows, dob, at)
        bands = agg._band_slots(
            current["child"].map(dob), np.full(len(current), grid.months[position])
        )
        for name, flags in (
            ("cla_3plus_placements", current["child"].map(three)),
            ("cla_long_term_eligible", current["child"].map(stability["eligible"])),
            ("cla_long_term_stable", current["child"].map(stability["stable"])),
        ):
            expected = np.zeros((grid.n_units, len(d.AGE_BANDS) + 1))
            flag = flags.to_numpy(bool)
            np.add.at(expected, (unit[current.index][flag], bands[flag]), 1)
            assert (arrays[name][position] == expected).all(), (name, at)
    others = grid.months % 12 != 2
    assert all(np.isnan(a[others]).all() for a in arrays.values())


def test_a_sort_is_skipped_only_when_the_rows_are_in_order():
    rng = np.random.default_rng(15)
    for _ in range(300):
        n = int(rng.integers(0, 40))
        child = rng.integers(0, 6, n).astype("uint64")
        key = rng.integers(0, 5, n)
        if rng.random() < 0.5:
            key = np.sort(key)
        assert (order.by_child_then(child, key) == np.lexsort((key, child))).all()
        keys = [child, key]
        assert order.in_order(keys) == bool((np.lexsort((key, child)) == np.arange(n)).all())


def _write(folder, header: str, episodes: str, newline: str, delimiter: str, bom: str = ""):
    folder.mkdir()
    for name, text in (("header_2024-25.csv", header), ("episodes_2024-25.csv", episodes)):
        lines = [line.replace(",", delimiter) for line in text.strip().splitlines()]
        (folder / name).write_bytes((bom + newline.join(lines) + newline).encode("utf-8"))
    return [folder / "header_2024-25.csv", folder / "episodes_2024-25.csv"]


HEADER = "CHILD,SEX,DOB\nA1,M,01/02/2012\nA2,F,03/04/2015\nA3,U,05/06/2020\n"
EPISODES = (
    "CHILD,DECOM,RNE,LS,PLACE,DEC,REC\n"
    "A1,01/05/2024,S,C2,U4,01/07/2024,X1\nA1,01/07/2024,P,C2,K2,,\n"
    "A2,10/06/2024,S,C2,U6,10/09/2024,E13\nA3,02/02/2025,S,E1,A5,,\n"
)


@pytest.mark.parametrize(
    "newline, delimiter, bom",
    [("\r\n", ",", ""), ("\n", ";", ""), ("\n", "\t", "\ufeff"), ("\r\n", "|", "\ufeff")],
)
def test_a_file_sniffed_once_reads_as_a_plain_csv_does(tmp_path, newline, delimiter, bom):
    plain = preview_903(_write(tmp_path / "plain", HEADER, EPISODES, "\n", ","), area_code=AREA)
    other = _write(tmp_path / "other", HEADER, EPISODES, newline, delimiter, bom)
    odd = preview_903(other, area_code=AREA)
    assert plain.ok and odd.ok, [i.as_text() for i in odd.issues]
    pd.testing.assert_frame_equal(plain.outcomes, odd.outcomes)
    pd.testing.assert_frame_equal(plain.extra, odd.extra)


def test_files_read_two_at_a_time_are_reported_in_the_order_given(tmp_path, monkeypatch):
    files = _write(tmp_path / "ok", HEADER, EPISODES, "\n", ",")
    (tmp_path / "episodes_2023-24.csv").write_bytes(b"\x00\xff\xfe not a csv")
    (tmp_path / "reviews_2024-25.csv").write_text("CHILD,REVIEW,REVIEW_CODE\nA1,01/06/2024,PN1\n")
    (tmp_path / "episodes.csv").write_text(EPISODES)
    given = [
        tmp_path / "reviews_2024-25.csv",
        files[1],
        tmp_path / "episodes_2023-24.csv",
        tmp_path / "episodes.csv",
        files[0],
    ]
    two = preview_903(given, area_code=AREA)
    monkeypatch.setattr(ssda903, "READ_THREADS", 1)
    one = preview_903(given, area_code=AREA)
    assert [f.name for f in two.files] == [f.name for f in one.files]
    assert [f.name for f in two.files] == [
        p.name for p in given if p.name != "episodes_2023-24.csv"
    ]
    assert [i.as_text() for i in two.issues] == [i.as_text() for i in one.issues]
    assert [i.rule for i in two.errors] == ["unreadable", "collection_year"]
    assert two.notes == one.notes and "reviews" in two.notes[0]
