"""A refused returns import leaves one audit row in `raw_uploads`, as a refused extract does:
the preview's name, the SHA-256 of its files, the outcome and a one-sentence reason; never a
child's identifier, a date or any other content of the returns (issue 15)."""

from __future__ import annotations

import argparse
import re

import pytest

from pipelines.cli_returns import add_parsers
from pipelines.load.returns import preview_903, preview_cin, record_refusal
from pipelines.store.warehouse import open_warehouse

AREA = "E06999990"
#: Identifiable values the refused files hold: none may reach the warehouse.
CHILD_ID, DOB, DECOM, POSTCODE = "QZ90817", "05/06/2019", "10/05/2024", "QZ9 8XY"


def _returns(tmp_path, ls: str = "ZZ"):
    """A header and an episodes file of 2024-25, the episode's LS `ls` (ZZ is no code)."""
    header = tmp_path / "header_2024-25.csv"
    header.write_text(f"CHILD,SEX,DOB,UPN\n{CHILD_ID},M,{DOB},A123456789012\n")
    episodes = tmp_path / "episodes_2024-25.csv"
    episodes.write_text(
        f"CHILD,DECOM,RNE,LS,PLACE,DEC,REC,HOME_POST\n{CHILD_ID},{DECOM},S,{ls},U6,,,{POSTCODE}\n"
    )
    return [header, episodes]


def _run(argv) -> int:
    p = argparse.ArgumentParser(prog="rp-impact")
    p.add_argument("--warehouse")
    p.add_argument("--role", default="analyst")
    add_parsers(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return args.func(args)


def _audit(wh):
    return wh.query(
        "SELECT upload_id, file_name, sha256, dataset, n_rows, outcome, n_added, n_errors, "
        "message, source FROM raw_uploads ORDER BY upload_id"
    )


def _assert_nothing_identifiable(wh):
    for table in ("raw_uploads", "upload_issues", "upload_sources", "fct_outcomes"):
        text = wh.query(f"SELECT * FROM {table}").astype(str).to_csv(index=False)
        for value in (CHILD_ID, DOB, DECOM, POSTCODE, "A123456789012"):
            assert value not in text, (table, value)
    assert wh.query("SELECT count(*) AS n FROM upload_issues")["n"][0] == 0
    assert wh.query("SELECT count(*) AS n FROM upload_sources")["n"][0] == 0
    assert wh.query("SELECT count(*) AS n FROM fct_outcomes")["n"][0] == 0


def test_a_refused_903_records_one_audit_row_without_its_content(empty_wh, tmp_path):
    preview = preview_903(_returns(tmp_path), area_code=AREA)
    assert not preview.ok
    result = record_refusal(empty_wh, preview, user="tester", role="analyst")
    assert result.refused and result.upload_id == 1
    audit = _audit(empty_wh)
    assert len(audit) == 1
    row = audit.iloc[0]
    assert re.fullmatch(r"returns-ssda903_2025-2025_[0-9a-f]{12}\.csv", row.file_name)
    assert row.file_name == preview.display_name()
    assert row.sha256 == preview.digest() and re.fullmatch(r"[0-9a-f]{64}", row.sha256)
    assert (row.outcome, row.source, row.dataset) == ("refused", "returns", "outcomes")
    assert (row.n_rows, row.n_added, row.n_errors) == (0, 0, len(preview.errors))
    # One sentence: the collection, the number of problems, the first one's file and message.
    assert row.message == (
        "ssda903 returns refused with 1 problem(s), the first in episodes_2024-25.csv: LS is "
        "not a code of the SSDA903 for this collection year; nothing was loaded."
    )
    assert row.message.count(". ") == 0 and row.message.endswith(".")
    _assert_nothing_identifiable(empty_wh)


def test_the_cli_records_a_refusal_and_a_dry_run_writes_nothing(tmp_path, capsys):
    files = [str(p) for p in _returns(tmp_path)]
    dry = tmp_path / "dry.duckdb"
    assert _run(["--warehouse", str(dry), "import-903", *files, "--area", AREA, "--dry-run"]) == 1
    assert not dry.exists()
    warehouse = tmp_path / "w.duckdb"
    assert _run(["--warehouse", str(warehouse), "import-903", *files, "--area", AREA]) == 1
    out = capsys.readouterr().out
    assert "LS is not a code" in out and "refused with 1 error(s)" in out
    with open_warehouse(warehouse) as wh:
        audit = _audit(wh)
        assert audit["outcome"].tolist() == ["refused"]
        _assert_nothing_identifiable(wh)
    raw = warehouse.read_bytes()
    for value in (CHILD_ID, DOB, DECOM, POSTCODE):
        assert value.encode() not in raw, value


@pytest.mark.parametrize(
    "case, rule",
    [
        ("unreadable", "unreadable"),
        ("no area", "area_missing"),
        ("unsafe xml", "unsafe_xml"),
    ],
)
def test_every_kind_of_refusal_is_recorded(empty_wh, tmp_path, case, rule):
    if case == "unreadable":
        bad = tmp_path / "episodes_2024-25.csv"
        bad.write_bytes(b"\x00\xff\xfe" + CHILD_ID.encode() + b"\xff")
        preview = preview_903([bad], area_code=AREA)
    elif case == "no area":
        preview = preview_903(_returns(tmp_path, ls="C1"), area_code=None)
    else:
        bomb = tmp_path / "cin_census_2024-25.xml"
        bomb.write_text(
            '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "a">]>'
            f"<Message><LAchildID>{CHILD_ID}</LAchildID>&a;</Message>"
        )
        preview = preview_cin([bomb], area_code=AREA)
    assert rule in {i.rule for i in preview.errors}
    result = record_refusal(empty_wh, preview, user="tester")
    audit = _audit(empty_wh)
    assert audit["upload_id"].tolist() == [result.upload_id]
    assert audit["outcome"].tolist() == ["refused"]
    assert audit["message"][0].startswith(f"{preview.collection} returns refused with ")
    _assert_nothing_identifiable(empty_wh)


def test_only_a_refused_preview_is_recorded_and_never_to_a_read_only_warehouse(tmp_path):
    good = preview_903(_returns(tmp_path, ls="C1"), area_code=AREA)
    path = tmp_path / "w.duckdb"
    assert good.ok
    with open_warehouse(path) as wh, pytest.raises(ValueError):
        record_refusal(wh, good)
    bad = preview_903(_returns(tmp_path), area_code=AREA)
    with open_warehouse(path, read_only=True) as wh:
        assert record_refusal(wh, bad).upload_id is None
    with open_warehouse(path) as wh:
        assert wh.query("SELECT count(*) AS n FROM raw_uploads")["n"][0] == 0
    with pytest.raises(PermissionError):
        record_refusal(None, bad, role="viewer")
