"""A council with only DfE's published data and a rollout date gets an answer (issue 14).

The warehouse is built once for the module by `rp-impact build-public` from the real DfE
files in ../shared/data/dfe (or $RP_IMPACT_SHARED_DFE) and a rollout CSV for the five councils
of the issue's Done-when: Staffordshire (E10000028), whose first Restorative Practice training
was in October 2019, and Stoke-on-Trent (E06000021), Wolverhampton (E08000031), Newcastle upon
Tyne (E08000021) and Devon (E10000008) with illustrative starts (dates chosen for the test, not
the councils' own). No local outcomes extract is loaded for any. The tests skip, saying why,
when the DfE folder is not there.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from apptest_text import page_text
from streamlit.testing.v1 import AppTest
from test_dfe import shared_dfe_dir

from pipelines import auth, marts
from pipelines.analysis.benchmarks import benchmark_analysis
from pipelines.analysis.board import ANNUAL_NOTE, board_summary, verdict_summary
from pipelines.analysis.plan import load_plan
from pipelines.analysis.verdict import ANNUAL_FIGURES
from pipelines.cli import main
from pipelines.present.verdicts import verdict_views
from pipelines.store.warehouse import open_warehouse

pytestmark = pytest.mark.dfe

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
STAFFORDSHIRE, STOKE = "E10000028", "E06000021"
WOLVERHAMPTON, NEWCASTLE, DEVON = "E08000031", "E08000021", "E10000008"
ROLLOUT = {
    STAFFORDSHIRE: dt.date(2019, 10, 1),
    STOKE: dt.date(2020, 4, 1),  # the four after Staffordshire: illustrative dates
    WOLVERHAMPTON: dt.date(2019, 4, 1),
    NEWCASTLE: dt.date(2020, 10, 1),
    DEVON: dt.date(2020, 4, 1),
}
#: Each council's DfE three-digit code and name (DfE's own files).
DFE_CODE = {
    STAFFORDSHIRE: "860",
    STOKE: "861",
    WOLVERHAMPTON: "336",
    NEWCASTLE: "391",
    DEVON: "878",
}
NAME = {
    STAFFORDSHIRE: "Staffordshire",
    STOKE: "Stoke-on-Trent",
    WOLVERHAMPTON: "Wolverhampton",
    NEWCASTLE: "Newcastle upon Tyne",
    DEVON: "Devon",
}
BANNED = re.compile(r"\bcaused?\b|costs? avoided|-0%|−0%|\+0\b|\+0 ", re.IGNORECASE)
#: In the whole report, which says findings "describe association, not cause".
REPORT_BANNED = re.compile(r"\bcaused\b|costs? avoided|-0%|−0%|\+0\b|\+0 ", re.IGNORECASE)


@pytest.fixture(scope="module")
def public_path(tmp_path_factory) -> Path:
    """A public-data warehouse: the real DfE files and the rollout CSV, nothing else."""
    folder = shared_dfe_dir()
    if not folder.is_dir() or not list(folder.glob("*.csv")):
        pytest.skip(
            f"The real DfE files are not at {folder} (set RP_IMPACT_SHARED_DFE to their folder)."
        )
    tmp = tmp_path_factory.mktemp("public")
    rollout = tmp / "rollout.csv"
    rollout.write_text(
        "area_code,unit,programme,wave,start_date\n"
        + "".join(f"{c},All,Restorative Practice,1,{d.isoformat()}\n" for c, d in ROLLOUT.items()),
        encoding="utf-8",
    )
    path = tmp / "public.duckdb"
    code = main(["--warehouse", str(path), "build-public", str(folder), "--rollout", str(rollout)])
    assert code == 0
    return path


@pytest.fixture
def public_wh(public_path):
    """The public warehouse, read-only, for one test that runs neither the dashboard nor a
    command: DuckDB refuses a second connection of another kind in the same process."""
    with open_warehouse(public_path, read_only=True) as wh:
        yield wh


@pytest.fixture(scope="module")
def summaries(public_path):
    with open_warehouse(public_path, read_only=True) as wh:
        return {code: board_summary(wh, code) for code in ROLLOUT}


def test_the_public_build_holds_no_outcomes_extract_and_demo_mode_serves_it(public_wh):
    uploads = public_wh.query("SELECT DISTINCT dataset FROM raw_uploads WHERE outcome = 'loaded'")
    datasets = set(uploads["dataset"])
    assert "outcomes" not in datasets and {"rollout", "areas"} <= datasets
    assert auth.public_data_only(public_wh)
    assert auth.demo_refusal(public_wh) is None


@pytest.mark.parametrize("code", list(ROLLOUT))
def test_the_benchmarks_know_the_rollout_date(public_wh, code):
    bench = benchmark_analysis(public_wh, code, "cpp_at_31_march")
    assert bench.rollout_date == ROLLOUT[code]
    assert "No rollout date is known" not in " ".join(bench.notes.values())


@pytest.mark.parametrize("code", list(ROLLOUT))
def test_verdict_summary_gives_the_annual_verdict_per_primary_outcome(public_wh, code):
    summary = verdict_summary(public_wh, code)
    assert [v.outcome for v in summary.verdicts] == list(load_plan(code).primary)
    assert summary.note == ANNUAL_NOTE
    for v in summary.verdicts:
        assert v.design == "controlled", v.caveats
        assert v.rate_ratio is not None and v.ci_lower < v.rate_ratio < v.ci_upper
        assert ANNUAL_FIGURES in v.design_label
        assert any(c.startswith("Figures: ") and "recomputed" in c for c in v.caveats)
        assert v.sentence and not BANNED.search(v.sentence)


@pytest.mark.parametrize("code", list(ROLLOUT))
def test_board_summary_shows_the_same_verdicts_published_tiles_and_findings(
    public_wh, summaries, code
):
    summary = summaries[code]
    assert summary.verdicts == verdict_summary(public_wh, code).verdicts
    tiles = {t.key: t for t in summary.headlines}
    assert set(tiles) == {"cla_rate", "cpp_rate", "training_coverage"}
    cla = tiles["cla_rate"]
    assert cla.grain == "financial_year" and cla.latest_period == dt.date(2025, 3, 31)
    assert ANNUAL_FIGURES in cla.source
    keys = [f.key for f in summary.findings]
    assert keys[0] == "public_only" and "no_data" not in keys
    assert "dfe_level:cla_at_31_march" in keys and "dfe_level:cpp_at_31_march" in keys
    for f in summary.findings:
        assert not BANNED.search(f.text), f.text


def test_the_published_cla_rate_is_the_tile(summaries):
    # DfE, CLA on 31 March 2025 (2025 release): Stoke-on-Trent 170 per 10,000 (test_dfe).
    tile = next(t for t in summaries[STOKE].headlines if t.key == "cla_rate")
    assert tile.latest_rate == 170 and "as published by DfE" in tile.finding


def test_the_report_builds_with_the_verdicts_and_says_what_annual_data_cannot_do(
    public_path, summaries, tmp_path, capsys
):
    out = tmp_path / "x.html"
    args = ["--warehouse", str(public_path), "report", "--year", "2026"]
    assert main([*args, "--area", STAFFORDSHIRE, "--out", str(out)]) == 0
    assert "no outcome data" not in capsys.readouterr().err
    text = html.unescape(out.read_text(encoding="utf-8"))
    for view in verdict_views(summaries[STAFFORDSHIRE].verdicts):
        assert view.sentence in text
    assert "Staffordshire Safeguarding Children Partnership" in text
    assert "Against England, the region and neighbours" in text
    assert "needs at least 8 points on each side of the rollout" in text
    assert "shorter period" not in text
    words = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style).*?</\1>", " ", text, flags=re.S))
    assert not REPORT_BANNED.search(words), REPORT_BANNED.search(words)


def test_demo_mode_serves_the_public_warehouse_with_a_banner(public_path, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(public_path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Public data only" in str(i.value) for i in at.info)


def test_the_board_page_shows_the_annual_verdict(public_path, summaries, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(public_path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["area"] = STAFFORDSHIRE
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    board = page_text(at)
    assert "Staffordshire" in board and "no outcome data" not in board.lower()
    for view in verdict_views(summaries[STAFFORDSHIRE].verdicts):
        assert view.sentence in board
    assert ANNUAL_NOTE in board


def test_the_area_list_holds_the_rollout_councils_with_dfe_names(public_wh):
    listed = marts.areas(public_wh)
    assert sorted(listed["area_code"]) == sorted(ROLLOUT)
    assert dict(zip(listed["area_code"], listed["area_name"], strict=True)) == NAME
    assert dict(zip(listed["area_code"], listed["old_la_code"], strict=True)) == DFE_CODE
    whole = marts.units(public_wh, STAFFORDSHIRE)
    assert whole["unit"].tolist() == ["All"]
    assert pd.Timestamp(whole["start_date"].iloc[0]).date() == ROLLOUT[STAFFORDSHIRE]


def test_the_controlled_verdict_says_what_it_compared(summaries):
    for code in ROLLOUT:
        for verdict, view in zip(
            summaries[code].verdicts, verdict_views(summaries[code].verdicts), strict=True
        ):
            (used,) = verdict.designs_considered
            expected = (
                f"the council and its {used.n_units - 1} statistical neighbours over "
                f"{verdict.n_periods} years."
            )
            assert any(d.endswith(expected) for d in view.details), view.details
            assert not any("localities over" in d for d in view.details)
    # Staffordshire's children starting care: 2017-18 to 2024-25 against 9 neighbours
    # (Westmorland and Furness, created in 2023, has too few years).
    first = verdict_views(summaries[STAFFORDSHIRE].verdicts)[0]
    assert first.details[1].endswith("the council and its 9 statistical neighbours over 8 years.")


@pytest.mark.parametrize("code", list(ROLLOUT))
def test_analyse_prints_the_board_verdicts_and_findings(public_path, summaries, code, capsys):
    assert main(["--warehouse", str(public_path), "analyse", "--area", code]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "no outcome data" not in out.lower()
    summary = summaries[code]
    assert out.startswith(f"{NAME[code]} ({code})\n")
    for view in verdict_views(summary.verdicts):
        assert f"- {view.title}: {view.sentence} [{view.grade_label}]" in out
    for finding in summary.findings:
        assert finding.text in out
    assert f"Rollout: {ROLLOUT[code].day} " in out and "(the rollout table)." in out
    assert main(["--warehouse", str(public_path), "analyse", "--area", code, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["rollout_date"] == ROLLOUT[code].isoformat()
    assert [v["sentence"] for v in answer["verdicts"]] == [v.sentence for v in summary.verdicts]
    assert [v["design"] for v in answer["verdicts"]] == ["controlled"] * len(summary.verdicts)
    assert [f["key"] for f in answer["findings"]] == [f.key for f in summary.findings]


def test_analyse_takes_the_rollout_date_from_the_command_line(public_path, summaries, capsys):
    base = ["--warehouse", str(public_path), "analyse", "--area", STAFFORDSHIRE, "--json"]
    assert main([*base, "--rollout", "2019-10-01"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["rollout_source"] == "given with --rollout"
    assert [v["sentence"] for v in same["verdicts"]] == [
        v.sentence for v in summaries[STAFFORDSHIRE].verdicts
    ]
    assert main([*base, "--rollout", "2021-04-01"]) == 0
    later = json.loads(capsys.readouterr().out)
    assert later["rollout_date"] == "2021-04-01"
    assert all(
        "Years from 2021-22 (the year ending 31 March in which the rollout began) count as after "
        "it." in v["caveats"]
        for v in later["verdicts"]
    )
    assert [f["key"] for f in later["findings"]][:2] == ["dfe_level:cla_at_31_march"] * 2


def test_analyse_refuses_a_bad_date_or_an_unknown_council_in_one_sentence(public_path, capsys):
    base = ["--warehouse", str(public_path), "analyse"]
    assert main([*base, "--area", STAFFORDSHIRE, "--rollout", "1/10/2019"]) == 2
    assert capsys.readouterr().err == (
        "error: --rollout must be a date such as 2019-10-01, not '1/10/2019'.\n"
    )
    assert main([*base, "--area", "E06999999"]) == 2
    assert capsys.readouterr().err == (
        "error: No council with code E06999999: the warehouse holds neither its outcomes "
        "extracts nor DfE's published figures for it. Check the code (ONS or DfE three-digit) "
        "or import the DfE tables (rp-impact import-dfe).\n"
    )


@pytest.mark.parametrize("code", list(ROLLOUT))
def test_the_benchmarks_page_opens_on_the_chosen_council(public_path, code, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(public_path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["area"] = code
    at.run()
    at.switch_page("views/benchmarks.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    council = next(s for s in at.selectbox if s.label == "Council")
    assert council.value == DFE_CODE[code]  # not the first council alphabetically
    text = page_text(at)
    name = NAME[code]
    assert f"In 2024-25 {name}'s CLA rate (" in text
    assert f"In 2024-25 {name} was " in text and " councils in England and " in text
    assert "The dashed vertical line marks the rollout." in text
    assert "no outcome data" not in text.lower() and "No rollout date is known" not in text


def test_the_report_ranks_on_the_latest_published_year_and_says_which(public_path, tmp_path):
    out = tmp_path / "staffs.html"
    args = ["--warehouse", str(public_path), "report", "--year", "2026", "--area", STAFFORDSHIRE]
    assert main([*args, "--out", str(out)]) == 0
    text = html.unescape(out.read_text(encoding="utf-8"))
    # DfE, 2025 release: Staffordshire's CLA rate on 31 March 2025 (75 per 10,000) ranks 91st
    # lowest of 151 councils with a figure.
    assert (
        "In the year to 31 March 2025 (2024-25, the latest year DfE has published; 2025-26 is "
        "not yet published), Staffordshire's CLA rate was the 91st lowest of 151 councils with "
        "a published figure" in text
    )
    assert f'<p class="verdict-note">{html.unescape(ANNUAL_NOTE)}</p>' in text
    # CPP at 31 March: DfE publishes counts only, so the rates are recomputed, to 1 decimal.
    assert "CPP rate on 31 March 2025: Staffordshire 30.0 per 10,000" in text
    assert "recomputed by rp-impact from DfE's published counts" in text
    assert "Published DfE rates" not in text


def test_the_report_says_why_there_is_no_verdict(public_path, tmp_path):
    out = tmp_path / "leeds.html"
    leeds = ["report", "--year", "2026", "--area", "E08000035", "--out", str(out)]
    assert main(["--warehouse", str(public_path), *leeds]) == 0
    text = html.unescape(out.read_text(encoding="utf-8"))
    assert (
        '<p class="verdict-note">No verdict could be reached. No rollout date is known for Leeds, '
        "so there is no 'after' to compare." in text
    )
    assert "the verdicts need each locality's outcomes" not in text
