"""The Northmoor sample as fictional statutory returns: an SSDA903 and a CIN census.

`write_sample_returns(sample_dir, out_dir)` reads the sample's own monthly outcomes extracts
(`data/sample/outcomes/`, `unloaded/`) and writes children whose episodes and plans reproduce
them: per locality, each month's starts, ceased, and the stock at the month's end; and per
locality and age band, each month's starts (and repeat plan starts). Everything is fictional:
ids are `NM` serials, postcodes are in made-up `NM` sectors, dates of birth are drawn.

Where the definitions cannot agree with the aggregate sample, and why:
- stocks and ceased **by age band**: the sample keeps each child in one age band for life, but
  a return has a date of birth, so a child looked after (or on a plan) for years moves up the
  bands at the month ends. Only the All-ages row of a stock or of ceased can agree; the test
  compares those, and starts by age band (the band at the start month's end is chosen).
- `cin_at_period_end`, `referrals`, `rereferrals`: the sample draws them independently of the
  plans; the CIN census written here has one CIN episode per plan, so these are not compared.
- `fgc_held`: not in either return.

Also written: `unit_map_sectors.csv` (postcode sector → locality, for the 903) and
`unit_map_children.csv` (child → locality, for the CIN census), and a few V3 short-break
episodes that the headline counts must leave out. `python -m pipelines.sample_returns OUT`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines import config

SEED = 20150401
BAND_AGES = {"Under 1": (0, 0), "1-4": (1, 4), "5-9": (5, 9), "10-15": (10, 15), "16-17": (16, 17)}
COLLECTION_FIRST = 2016  # the year ending March 2016 holds April 2015 on


def sample_outcomes(sample_dir: Path | str = config.SAMPLE_DIR) -> pd.DataFrame:
    """The sample's monthly outcomes, loaded and unloaded quarters together."""
    folder = Path(sample_dir)
    files = sorted((folder / "outcomes").glob("outcomes_*.csv"))
    files += sorted((folder / "unloaded").glob("outcomes_*.csv"))
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame.sort_values("period_end", kind="mergesort").reset_index(drop=True)


def _dob_for(rng, month_end: pd.Timestamp, band: str, latest: pd.Timestamp, n: int):
    """Dates of birth giving an age in `band` at `month_end`, none after `latest`."""
    low, high = BAND_AGES[band]
    ages = rng.integers(low, high + 1, n)
    days = rng.integers(0, 365, n)
    out = []
    for age, day in zip(ages, days, strict=True):
        birthday = month_end - pd.DateOffset(years=int(age)) - pd.Timedelta(days=int(day))
        out.append(min(birthday, latest))
    return out


def _child(child_id: str, unit, dob, start, band) -> dict:
    """One child in care, as :func:`_intervals` tracks it (``end`` is set on leaving)."""
    return {"id": child_id, "unit": unit, "dob": dob, "start": start, "band": band}


def _intervals(rng, rows: pd.DataFrame, starts: str, ends: str, stock: str, prefix: str):
    """Children with (unit, start, end, dob, band at start) reproducing a locality's flows and
    stock; those leaving each month are the oldest then in care (so few reach 18 in care)."""
    records = []
    serial = 0
    for unit, cells in rows.groupby("unit", sort=True):
        by_month = cells.pivot_table(
            index="period_end", columns="age_band", values=[starts, ends, stock], aggfunc="sum"
        )
        months = by_month.index
        first = months[0]
        initial = by_month[stock].iloc[0] - by_month[starts].iloc[0] + by_month[ends].iloc[0]
        in_care: list[dict] = []
        opened = first - pd.offsets.MonthBegin(1)  # 1 April of the first month
        for band, n in initial.items():
            for dob in _dob_for(
                rng, opened - pd.Timedelta(days=1), band, opened - pd.Timedelta(days=1), int(n)
            ):
                earliest = max(dob, opened - pd.Timedelta(days=700))
                span = max((opened - earliest).days - 1, 0)
                start = earliest + pd.Timedelta(days=int(rng.integers(0, span + 1)))
                serial += 1
                in_care.append(_child(f"{prefix}{serial:06d}", unit, dob, start, None))
        for month_end in months:
            month_start = month_end - pd.offsets.MonthBegin(1)
            n_exit = int(by_month[ends].loc[month_end].sum())
            in_care.sort(key=lambda c: c["dob"])  # the oldest leave first
            leaving, in_care = in_care[:n_exit], in_care[n_exit:]
            for child in leaving:
                low = max(month_start, child["start"] + pd.Timedelta(days=1))
                span = max((month_end - low).days, 0)
                child["end"] = low + pd.Timedelta(days=int(rng.integers(0, span + 1)))
                records.append(child)
            for band, n in by_month[starts].loc[month_end].items():
                for _ in range(int(n)):
                    start = month_start + pd.Timedelta(days=int(rng.integers(0, month_end.day)))
                    dob = _dob_for(rng, month_end, band, start, 1)[0]
                    serial += 1
                    in_care.append(_child(f"{prefix}{serial:06d}", unit, dob, start, band))
        for child in in_care:
            child["end"] = pd.NaT
            records.append(child)
    return pd.DataFrame(records)


def _uk(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%d/%m/%Y")


def _iso(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _episodes(rng, children: pd.DataFrame, sectors: dict[str, str]) -> pd.DataFrame:
    """One or two episodes per child: a stay longer than 60 days changes legal status midway
    (REC X1, then RNE L), so the X1 rule is exercised."""
    rows = []
    last_day = pd.Timestamp("2099-12-31")
    for c in children.itertuples(index=False):
        end = c.end if pd.notna(c.end) else last_day
        home = f"{sectors[c.unit]}{'ABDEFGHJ'[rng.integers(0, 8)]}{'LNPQRSTU'[rng.integers(0, 8)]}"
        base = {
            "CHILD": c.id,
            "CIN": "N1",
            "PLACE_PROVIDER": "PR1",
            "REASON_PLACE_CHANGE": "",
            "HOME_POST": home,
            "PL_POST": "",
            "URN": "XXXXXXX",
        }
        if (end - c.start).days > 60:
            split = c.start + pd.Timedelta(days=30)
            rows.append(
                {
                    **base,
                    "DECOM": c.start,
                    "RNE": "S",
                    "LS": "C1",
                    "PLACE": "U6",
                    "DEC": split,
                    "REC": "X1",
                }
            )
            rows.append(
                {
                    **base,
                    "DECOM": split,
                    "RNE": "L",
                    "LS": "C2",
                    "PLACE": "U6",
                    "DEC": c.end,
                    "REC": "E13" if pd.notna(c.end) else "",
                }
            )
        else:
            rows.append(
                {
                    **base,
                    "DECOM": c.start,
                    "RNE": "S",
                    "LS": "V2",
                    "PLACE": "U6",
                    "DEC": c.end,
                    "REC": "E13" if pd.notna(c.end) else "",
                }
            )
    return pd.DataFrame(rows)


def _short_breaks(units, sectors, first, last) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A two-day V3 short break each quarter in one locality: left out of the headline counts."""
    rows, header = [], []
    for number, month in enumerate(pd.date_range(first, last, freq="QE")):
        child = f"NMSB{number:04d}"
        start = month - pd.Timedelta(days=20)
        rows.append(
            {
                "CHILD": child,
                "DECOM": start,
                "RNE": "S",
                "LS": "V3",
                "CIN": "N1",
                "PLACE": "R1",
                "PLACE_PROVIDER": "PR1",
                "DEC": start + pd.Timedelta(days=2),
                "REC": "E13",
                "REASON_PLACE_CHANGE": "",
                "HOME_POST": f"{sectors[units[0]]}AA",
                "PL_POST": "",
                "URN": "SC000001",
            }
        )
        header.append({"id": child, "dob": start - pd.DateOffset(years=9)})
    return pd.DataFrame(rows), pd.DataFrame(header)


def _year_bounds(year: int, last: pd.Timestamp):
    return pd.Timestamp(year - 1, 4, 1), min(pd.Timestamp(year, 3, 31), last)


def _write_903(out: Path, episodes: pd.DataFrame, dobs: pd.Series, last: pd.Timestamp) -> list:
    written = []
    for year in range(COLLECTION_FIRST, last.year + 2):
        first_day, last_day = _year_bounds(year, last)
        if first_day > last:
            break
        open_in = (episodes["DECOM"] <= last_day) & (
            episodes["DEC"].isna() | (episodes["DEC"] >= first_day)
        )
        part = episodes.loc[open_in].copy()
        still_open = part["DEC"].isna() | (part["DEC"] > last_day)
        part.loc[still_open, "REC"] = ""
        part["DEC"] = part["DEC"].where(~still_open)
        for column in ("DECOM", "DEC"):
            part[column] = part[column].map(_uk)
        label = f"{year - 1}-{year % 100:02d}"
        columns = [
            "CHILD",
            "DECOM",
            "RNE",
            "LS",
            "CIN",
            "PLACE",
            "PLACE_PROVIDER",
            "DEC",
            "REC",
            "REASON_PLACE_CHANGE",
            "HOME_POST",
            "PL_POST",
            "URN",
        ]
        path = out / f"ssda903_episodes_{label}.csv"
        part[columns].sort_values(["CHILD", "DECOM"]).to_csv(path, index=False)
        children = sorted(part["CHILD"].unique())
        sexes = ["M", "F"] if year >= 2025 else ["1", "2"]
        header = pd.DataFrame(
            {
                "CHILD": children,
                "SEX": [sexes[int(c[-1]) % 2] if c[-1].isdigit() else sexes[0] for c in children],
                "DOB": [_uk(dobs[c]) for c in children],
                "ETHNIC": "WBRI",
                "UPN": "",
                "MOTHER": "",
                "MC_DOB": "",
            }
        )
        header_path = out / f"ssda903_header_{label}.csv"
        header.to_csv(header_path, index=False)
        written += [header_path, path]
    return written


def _cin_xml(plans: pd.DataFrame, year: int, reference: pd.Timestamp) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<Message>",
        "  <Header>",
        "    <CollectionDetails><Collection>CIN</Collection>"
        f"<Year>{year}</Year><ReferenceDate>{_iso(reference)}</ReferenceDate>"
        "</CollectionDetails>",
        "    <Source><SourceLevel>L</SourceLevel><LEA>991</LEA></Source>",
        "  </Header>",
        "  <Children>",
    ]
    for p in plans.itertuples(index=False):
        end = p.end if pd.notna(p.end) and p.end <= reference else None
        lines += [
            "    <Child>",
            f"      <ChildIdentifiers><LAchildID>{p.id}</LAchildID>"
            f"<PersonBirthDate>{_iso(p.dob)}</PersonBirthDate>"
            "<GenderCurrent>9</GenderCurrent></ChildIdentifiers>",
            "      <CINdetails>",
            f"        <CINreferralDate>{_iso(p.start - pd.Timedelta(days=14))}"
            "</CINreferralDate><ReferralNFA>0</ReferralNFA>",
        ]
        if end is not None:
            lines.append(f"        <CINclosureDate>{_iso(end)}</CINclosureDate>")
        lines.append(f"        <ChildProtectionPlans><CPPstartDate>{_iso(p.start)}</CPPstartDate>")
        if end is not None:
            lines.append(f"          <CPPendDate>{_iso(end)}</CPPendDate>")
        lines += [
            "          <InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>"
            "<LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse>",
            f"          <NumberOfPreviousCPP>{p.previous}</NumberOfPreviousCPP>",
            "        </ChildProtectionPlans>",
            "      </CINdetails>",
            "    </Child>",
        ]
    lines += ["  </Children>", "</Message>", ""]
    return "\n".join(lines)


def write_sample_returns(sample_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write the sample's fictional 903 and CIN census (and unit maps) into `out_dir`."""
    rng = np.random.default_rng(SEED)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outcomes = sample_outcomes(sample_dir)
    cells = outcomes.loc[(outcomes["unit"] != "All") & (outcomes["age_band"] != "All")]
    units = sorted(cells["unit"].unique())
    sectors = {u: f"NM{n + 1} {n + 1}" for n, u in enumerate(units)}
    last = outcomes["period_end"].max()

    cla = _intervals(rng, cells, "cla_starts", "cla_ceased", "cla_at_period_end", "NMC")
    episodes = _episodes(rng, cla, sectors)
    breaks, break_header = _short_breaks(units, sectors, outcomes["period_end"].min(), last)
    episodes = pd.concat([episodes, breaks], ignore_index=True)
    dobs = pd.concat([cla.set_index("id")["dob"], break_header.set_index("id")["dob"]])
    written = _write_903(out, episodes, dobs, last)

    plans = _intervals(rng, cells, "cpp_starts", "cpp_ends", "cpp_at_period_end", "NMP")
    plans["previous"] = 0
    repeats = cells.set_index(["period_end", "unit", "age_band"])["cpp_repeat_starts"]
    for key, group in plans.loc[plans["band"].notna()].groupby(
        [plans["start"] + pd.offsets.MonthEnd(0), "unit", "band"]
    ):
        chosen = group.index[: int(repeats.get(key, 0))]
        plans.loc[chosen, "previous"] = 1
    for year in range(COLLECTION_FIRST, last.year + 2):
        first_day, last_day = _year_bounds(year, last)
        if first_day > last:
            break
        part = plans.loc[
            (plans["start"] <= last_day) & (plans["end"].isna() | (plans["end"] >= first_day))
        ]
        path = out / f"cin_census_{year - 1}-{year % 100:02d}.xml"
        path.write_text(_cin_xml(part, year, last_day), encoding="utf-8")
        written.append(path)

    sector_map = out / "unit_map_sectors.csv"
    pd.DataFrame({"postcode_sector": list(sectors.values()), "unit": list(sectors)}).to_csv(
        sector_map, index=False
    )
    child_map = out / "unit_map_children.csv"
    plans[["id", "unit"]].rename(columns={"id": "child"}).to_csv(child_map, index=False)
    return sorted(written + [sector_map, child_map])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pipelines.sample_returns OUT_DIR", file=sys.stderr)
        return 2
    for path in write_sample_returns(config.SAMPLE_DIR, Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
