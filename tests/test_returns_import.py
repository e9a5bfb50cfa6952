"""Importing statutory returns: the hand-written fictional council (Fernleigh), the CLI
handlers, the preview, atomic failure, validation problems, safe XML and the identifier test."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pytest
from faults import InjectedFault, fail_after

from pipelines.cli_returns import add_parsers
from pipelines.load.returns import commit, preview_903, preview_cin, read_unit_map
from pipelines.load.returns.cin import UnsafeXml, parse_safely
from pipelines.store.warehouse import open_warehouse

DATA = Path(__file__).parent / "data" / "returns"
AREA = "E06999990"
F903 = sorted(DATA.glob("header_*.csv")) + sorted(DATA.glob("episodes_*.csv"))
FCIN = sorted(DATA.glob("cin_census_*.xml"))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rp-impact")
    p.add_argument("--warehouse")
    p.add_argument("--role", default="analyst")
    add_parsers(p.add_subparsers(dest="command", required=True))
    return p


def run(argv) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


def cell(frame, period_end, measure, unit="All", band="All"):
    row = frame.loc[
        (frame["period_end"] == period_end) & (frame["unit"] == unit) & (frame["age_band"] == band)
    ]
    assert len(row) == 1
    return int(row[measure].iloc[0])


def total(frame, measure, unit="All", band="All"):
    rows = frame.loc[(frame["unit"] == unit) & (frame["age_band"] == band)]
    return int(rows[measure].sum())


# -- hand-computed counts -----------------------------------------------------------------------


def test_903_counts_match_the_hand_computed_figures():
    p = preview_903(F903 + [DATA / "reviews_2024-25.csv"], area_code=AREA)
    assert p.ok, [i.as_text() for i in p.issues]
    o = p.outcomes
    assert sorted(o["period_end"].unique())[0] == "2023-04-30"
    assert o["period_end"].nunique() == 24
    # Starts: FL0001 Apr 2023 (10-15), FL0002 Jun 2023 and Jan 2024 (1-4), FL0003 Mar 2024
    # (1-4), FL0006 Jan 2025 (Under 1); FL0004's short break is not counted.
    assert total(o, "cla_starts") == 5
    assert {b: total(o, "cla_starts", band=b) for b in ("Under 1", "1-4", "10-15")} == {
        "Under 1": 1,
        "1-4": 3,
        "10-15": 1,
    }
    assert cell(o, "2023-05-31", "cla_starts") == 0  # the V3 start in May 2023
    # Ceased: FL0002 Aug 2023 (3) and Feb 2025 (5), FL0005 on its 18th birthday (16-17).
    # X1 episode ends (FL0001, FL0003, FL0006) are not leavings.
    assert total(o, "cla_ceased") == 3
    assert cell(o, "2024-09-30", "cla_ceased", band="16-17") == 1
    assert cell(o, "2025-02-28", "cla_ceased", band="5-9") == 1
    assert cell(o, "2023-06-30", "cla_ceased") == 0
    # Looked after at 31 March.
    assert cell(o, "2024-03-31", "cla_at_period_end") == 4
    assert cell(o, "2024-03-31", "cla_at_period_end", band="1-4") == 2
    assert cell(o, "2025-03-31", "cla_at_period_end") == 3
    assert cell(o, "2025-03-31", "cla_at_period_end", band="Under 1") == 1
    assert "reviews" in " ".join(p.notes)
    x = p.extra
    assert cell(x, "2024-01-31", "cla_reentry_starts") == 1  # FL0002 within 12 months
    assert cell(x, "2025-03-31", "cla_3plus_placements", band="10-15") == 1  # FL0001
    assert x.loc[x["period_end"] == "2024-10-31", "cla_3plus_placements"].isna().all()


def test_cin_counts_match_the_hand_computed_figures():
    p = preview_cin(FCIN, area_code=AREA)
    assert p.ok, [i.as_text() for i in p.issues]
    o = p.outcomes
    assert total(o, "cpp_starts") == 4
    assert cell(o, "2023-07-31", "cpp_starts", band="5-9") == 1
    assert cell(o, "2025-02-28", "cpp_starts", band="Under 1") == 1  # unborn
    assert total(o, "cpp_ends") == 3  # the plan open at 31 March 2024 ends once, in May 2024
    assert cell(o, "2024-05-31", "cpp_ends", band="5-9") == 1
    assert cell(o, "2024-02-29", "cpp_ends", band="10-15") == 1
    assert cell(o, "2024-03-31", "cpp_at_period_end") == 1
    assert cell(o, "2025-03-31", "cpp_at_period_end") == 2
    assert total(o, "cpp_repeat_starts") == 2
    assert cell(o, "2024-03-31", "cin_at_period_end") == 1
    assert total(o, "referrals") == 3  # FL0009's 2021 referral is before the years read
    x = p.extra
    assert total(x, "cpp_repeat_2y_starts") == 1  # FL0007's second plan
    assert cell(x, "2024-02-29", "cpp_ends_2y_plus") == 1  # FL0009, two years and more


def test_unit_maps_place_children_by_postcode_sector_or_by_child():
    p = preview_903(F903, area_code=AREA, unit_map=read_unit_map(DATA / "unit_map_sectors.csv"))
    o = p.outcomes
    assert set(o["unit"]) == {"All", "North", "South"}
    assert total(o, "cla_starts", unit="North") == 3  # FL0001, FL0003, FL0006
    assert total(o, "cla_starts", unit="South") == 2  # FL0002 twice
    assert total(o, "cla_starts") == 5
    c = preview_cin(FCIN, area_code=AREA, unit_map=read_unit_map(DATA / "unit_map_children.csv"))
    assert total(c.outcomes, "cpp_starts", unit="North") == 3
    assert total(c.outcomes, "cpp_starts", unit="South") == 1


# -- validation ---------------------------------------------------------------------------------


def test_structural_problems_are_reported_with_file_row_and_field(tmp_path):
    header = tmp_path / "header_2024-25.csv"
    header.write_text("CHILD,SEX,DOB\nQQ1,1,01/02/2020\nQQ2,M,05/06/2021\n")
    episodes = tmp_path / "episodes_2024-25.csv"
    episodes.write_text(
        "CHILD,DECOM,RNE,LS,PLACE,DEC,REC\n"
        "QQ2,10/05/2024,S,ZZ,U6,,\n"  # unknown LS
        "QQ2,01/06/2024,S,C1,U6,01/05/2024,E13\n"  # DEC before DECOM, overlapping
        "QQ3,01/06/2024,S,C1,U6,,\n"  # not in the header
        "QQ2,01/01/2021,S,C1,U6,02/01/2021,E13\n"  # before the DOB
    )
    p = preview_903([header, episodes], area_code=AREA)
    assert not p.ok and p.outcomes.empty
    found = {(i.file, i.row, i.column, i.rule) for i in p.issues}
    assert ("header_2024-25.csv", 2, "SEX", "unknown_code") in found  # 1/2 ended in 2023-24
    assert ("episodes_2024-25.csv", 2, "LS", "unknown_code") in found
    assert ("episodes_2024-25.csv", 3, "DEC", "dec_before_decom") in found
    assert ("episodes_2024-25.csv", 3, "DECOM", "overlapping_episodes") in found
    assert ("episodes_2024-25.csv", 4, "CHILD", "child_not_in_header") in found
    assert ("episodes_2024-25.csv", 5, "DOB", "dob_after_decom") in found
    text = " ".join(i.as_text() for i in p.issues)
    assert "QQ2" not in text and "05/06/2021" not in text  # never an identifier or a DOB


def test_a_year_it_cannot_tell_is_an_error(tmp_path):
    shutil.copy(DATA / "episodes_2024-25.csv", tmp_path / "episodes.csv")
    p = preview_903([tmp_path / "episodes.csv"], area_code=AREA)
    assert [i.rule for i in p.errors] == ["collection_year"]


def test_xml_with_a_dtd_or_entities_is_refused(tmp_path):
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;">]><Message>&b;</Message>'
    )
    with pytest.raises(UnsafeXml):
        parse_safely(bomb)
    external = b'<?xml version="1.0"?><!DOCTYPE m SYSTEM "http://example.invalid/x.dtd"><m/>'
    with pytest.raises(UnsafeXml):
        parse_safely(external)
    path = tmp_path / "cin_census_2024-25.xml"
    path.write_bytes(bomb)
    p = preview_cin([path], area_code=AREA)
    assert [i.rule for i in p.errors] == ["unsafe_xml"]


# -- commit through the ordinary ingest ---------------------------------------------------------


def test_commit_loads_the_aggregates_and_a_repeat_is_a_no_op(empty_wh):
    p = preview_903(F903, area_code=AREA)
    result = commit(empty_wh, p, user="tester", role="analyst", backup=False)
    assert result.outcome == "loaded" and result.n_added == len(p.outcomes)
    audit = empty_wh.query("SELECT file_name, source, n_rows FROM raw_uploads")
    assert audit["source"].tolist() == ["returns"]
    assert re.fullmatch(r"returns-ssda903_2024-2025_[0-9a-f]{12}\.csv", audit["file_name"][0])
    value = empty_wh.query(
        "SELECT cla_at_period_end FROM fct_outcomes WHERE period_end = DATE '2024-03-31' "
        "AND unit = 'All' AND age_band = 'All'"
    )
    assert value.iloc[0, 0] == 4
    again = commit(empty_wh, preview_903(F903, area_code=AREA), user="tester", backup=False)
    assert again.outcome == "no-op"


def test_a_failure_mid_merge_leaves_the_warehouse_unchanged(empty_wh, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    p = preview_cin(FCIN, area_code=AREA)
    before = empty_wh.query("SELECT count(*) AS n FROM fct_outcomes")["n"][0]
    with fail_after("insert"), pytest.raises(InjectedFault):
        commit(empty_wh, p, user="tester", backup=False)
    assert empty_wh.query("SELECT count(*) AS n FROM fct_outcomes")["n"][0] == before
    assert empty_wh.query("SELECT count(*) AS n FROM raw_uploads")["n"][0] == 0
    assert list(tmp_path.glob("rp-impact-returns-*")) == []  # the temporary CSV is gone


def test_a_preview_with_errors_is_refused_without_writing(empty_wh, tmp_path):
    bad = tmp_path / "episodes_2024-25.csv"
    bad.write_text("CHILD,DECOM,RNE,LS,PLACE,DEC,REC\nZ1,10/05/2024,S,ZZ,U6,,\n")
    result = commit(empty_wh, preview_903([bad], area_code=AREA), user="tester")
    assert result.refused
    assert empty_wh.query("SELECT count(*) AS n FROM raw_uploads")["n"][0] == 0


# -- the CLI handlers ---------------------------------------------------------------------------


def test_cli_dry_run_previews_and_writes_nothing(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    code = run(
        ["--warehouse", str(warehouse), "import-903", *map(str, F903), "--area", AREA, "--dry-run"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "aggregate rows" in out and "sha256" in out
    assert not warehouse.exists()
    assert " c " in out or "c\n" in out  # the small yearly totals are suppressed


def _import_903_by_sector(warehouse: str) -> int:
    """Run ``import-903`` on the fixtures with the sector unit map; return the exit code."""
    return run(
        [
            "--warehouse",
            warehouse,
            "import-903",
            *map(str, F903),
            "--area",
            AREA,
            "--unit-map",
            str(DATA / "unit_map_sectors.csv"),
        ]
    )


def test_cli_imports_both_returns(tmp_path, capsys):
    warehouse = str(tmp_path / "w.duckdb")
    assert _import_903_by_sector(warehouse) == 0
    assert run(["--warehouse", warehouse, "import-cin", *map(str, FCIN), "--area", AREA]) == 0
    with open_warehouse(warehouse) as wh:
        row = wh.query(
            "SELECT cla_at_period_end, cpp_at_period_end FROM fct_outcomes WHERE period_end = "
            "DATE '2025-03-31' AND unit = 'All' AND age_band = 'All'"
        )
    assert row.iloc[0].tolist() == [3, 2]


def test_cli_exit_codes(tmp_path, capsys):
    warehouse = str(tmp_path / "w.duckdb")
    assert (
        run(["--warehouse", warehouse, "import-903", str(tmp_path / "none.csv"), "--area", AREA])
        == 2
    )
    bad = tmp_path / "episodes_2024-25.csv"
    bad.write_text("CHILD,DECOM,RNE,LS,PLACE,DEC,REC\nZ1,10/05/2024,S,ZZ,U6,,\n")
    assert run(["--warehouse", warehouse, "import-903", str(bad), "--area", AREA]) == 1
    assert "LS is not a code" in capsys.readouterr().out
    with pytest.raises(PermissionError):  # rp-impact's main turns this into exit code 1
        run(
            [
                "--warehouse",
                warehouse,
                "--role",
                "viewer",
                "import-cin",
                *map(str, FCIN),
                "--area",
                AREA,
            ]
        )


# -- no identifier reaches the warehouse --------------------------------------------------------


def _identifiers() -> set[str]:
    """Every CHILD id, UPN, DOB and postcode in the fixtures, in the forms they are written."""
    found: set[str] = set()
    for path in F903 + FCIN + [DATA / "unit_map_children.csv"]:
        text = path.read_text()
        found |= set(re.findall(r"FL\d{4}", text))  # CHILD / LAchildID
        found |= set(re.findall(r"F80\d{10}", text))  # UPN
        found |= set(re.findall(r"FL\d \d[A-Z]{2}", text))  # HOME_POST, PL_POST
    for path in DATA.glob("header_*.csv"):
        for line in path.read_text().splitlines()[1:]:
            day, month, year = line.split(",")[2].split("/")
            found |= {f"{day}/{month}/{year}", f"{year}-{month}-{day}"}
    for path in FCIN:
        found |= set(re.findall(r"<(?:Expected)?PersonBirthDate>([^<]+)<", path.read_text()))
    return found


def test_no_identifier_reaches_the_warehouse(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    assert _import_903_by_sector(str(warehouse)) == 0
    assert (
        run(
            [
                "--warehouse",
                str(warehouse),
                "import-cin",
                *map(str, FCIN),
                "--area",
                AREA,
                "--unit-map",
                str(DATA / "unit_map_children.csv"),
            ]
        )
        == 0
    )
    identifiers = _identifiers()
    assert len(identifiers) > 30
    with open_warehouse(warehouse) as wh:
        tables = wh.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        )["table_name"].tolist()
        assert "fct_outcomes" in tables
        for table in tables:
            frame = wh.query(f'SELECT * FROM "{table}"')
            text = frame.astype(str).to_csv(index=False)
            leaked = [i for i in identifiers if i in text]
            assert not leaked, (table, leaked)
    raw = warehouse.read_bytes()
    for identifier in identifiers:
        assert identifier.encode() not in raw, identifier


def test_the_audit_records_each_return_file_and_the_new_measures_load(empty_wh):
    from pipelines import marts

    result = commit(empty_wh, preview_903(F903, area_code=AREA), user="tester", backup=False)
    assert result.outcome == "loaded"
    sources = marts.upload_sources(empty_wh, result.upload_id)
    assert sorted(sources["file_name"]) == sorted(p.name for p in F903)
    assert set(sources["collection"]) == {"ssda903"} and set(sources["collection_year"]) == {
        2024,
        2025,
    }
    year_end = empty_wh.query(
        "SELECT period_end, cla_long_term_eligible, cla_long_term_eligible_null_reason AS why "
        "FROM fct_outcomes WHERE unit = 'All' AND age_band = 'All' ORDER BY period_end"
    )
    march = year_end[year_end["period_end"].astype(str).str.endswith("03-31")]
    others = year_end.drop(march.index)
    assert set(others["why"]) == {"z"}  # not applicable outside 31 March, never a zero
    assert march["why"].isna().all()
