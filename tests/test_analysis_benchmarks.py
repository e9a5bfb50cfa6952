"""The Benchmarks analysis: a council against England, its region and its DfE statistical
neighbours, ranks, the synthetic control (or why it was refused) and the board's context lines."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

from pipelines import analysis
from pipelines import benchmarks as dfe_reads
from pipelines.analysis import benchmark_analysis, first_treatment_year
from pipelines.load import dfe
from pipelines.present.wording import fy_label, ordinal

SHARED_DFE = Path(
    os.environ.get("RP_IMPACT_SHARED_DFE")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "dfe"
)
AREA = "E06999901"  # Northmoor in the warehouse; DfE code 991


def test_year_labels_and_ordinals():
    assert fy_label(2026) == "2025-26"
    assert fy_label(2000) == "1999-00"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]


def test_treatment_year_is_the_first_financial_year_starting_after_rollout():
    assert first_treatment_year(None) is None
    assert first_treatment_year(dt.date(2019, 10, 1)) == 2021  # 2020-21
    assert first_treatment_year(dt.date(2019, 4, 1)) == 2020  # starts 2019-20 itself
    assert first_treatment_year(dt.date(2019, 4, 2)) == 2021
    assert first_treatment_year(dt.date(2020, 2, 15)) == 2021


def test_benchmark_figures_are_dfe_figures(sample_wh):
    bench = benchmark_analysis(sample_wh, AREA, "cla_at_31_march")
    series = dfe_reads.benchmark_series(sample_wh, "991", "cla_at_31_march")
    assert bench.area_code == "991" and bench.area_name == "Northmoor"
    assert bench.table["council"].tolist() == series["council_rate"].astype(float).tolist()
    assert bench.table["neighbours_median"].tolist() == series["sn_median"].tolist()
    assert bench.table["england"].tolist() == series["england_rate"].astype(float).tolist()
    assert bench.table["year"].iloc[-1] == "2025-26"
    assert bench.latest_year == int(series["time_period"].max())
    assert bench.unit == "per 10,000" and bench.decimals == 0
    assert set(bench.table["rate_source"].dropna()) == {"published"}


def test_ranks_are_plain_english(sample_wh):
    bench = benchmark_analysis(sample_wh, AREA, "cla_at_31_march")
    ranks = dfe_reads.rank_among(sample_wh, "991", "cla_at_31_march", bench.latest_year)
    row = ranks.set_index("scope").loc["statistical neighbours"]
    assert bench.rank_text["statistical neighbours"] == (
        f"{ordinal(int(row['rank']))} lowest of {int(row['n'])} (1 = lowest rate)"
    )
    assert len(bench.neighbours) == 10


def test_title_and_context_line_state_the_finding(sample_wh):
    bench = benchmark_analysis(sample_wh, AREA, "cla_at_31_march")
    assert bench.title.startswith("Northmoor's CLA rate")
    assert "neighbours' median" in bench.title
    assert bench.context_line == (
        "In 2025-26 Northmoor's CLA rate (72 per 10,000) was above England (68), above the "
        "region (69) and level with the neighbours' median (72)."
    )


def test_source_line_says_published_or_recomputed_with_population_year(sample_wh):
    cla = benchmark_analysis(sample_wh, AREA, "cla_at_31_march")
    assert "release 2026" in cla.source
    assert "as published by DfE" in cla.source
    cpp = benchmark_analysis(sample_wh, AREA, "cpp_starts")
    assert "recomputed" in cpp.source and "ONS mid-year population estimates" in cpp.source
    assert "2015–2025" in cpp.source  # the year before each reporting year 2016-2026
    assert cpp.decimals == 1
    assert (cpp.table["population_year"] == cpp.table["time_period"] - 1).all()


def test_synthetic_control_defaults_to_the_year_after_rollout(sample_wh):
    bench = benchmark_analysis(sample_wh, AREA, "cla_at_31_march")
    assert bench.rollout_date == dt.date(2019, 10, 1)
    assert bench.treatment_year == 2021
    result = bench.synth
    assert result is not None and bench.fit_ok is True
    assert result.pre_rmspe_relative <= 0.10
    assert bench.weights["weight"].sum() == pytest.approx(1.0)
    assert set(bench.weights["la_name"]) <= set(bench.neighbours["la_name"])
    assert 1 <= result.placebo_rank <= result.n_donors + 1
    assert bench.verdict.startswith(("Good enough to use", "Usable, with care"))
    assert bench.synth_findings and f"p = {result.p_value:.2f}" in bench.synth_findings[-1]
    for text in bench.findings:
        assert not any(word in text.lower() for word in ("caused", "led to", "due to"))


def test_synthetic_control_refusal_is_a_reason_not_an_error(sample_wh):
    bench = benchmark_analysis(sample_wh, AREA, "cla_at_31_march", treatment_year=2019)
    assert bench.synth is None
    assert "pre-period year" in bench.notes["synthetic_control"]
    assert bench.fit_ok is None
    assert bench.verdict == "Could not be run with these data."


def test_a_poor_fit_is_refused_and_says_so(sample_wh, monkeypatch):
    from pipelines.stats import synth

    original = synth.synthetic_control
    monkeypatch.setattr(
        synth,
        "synthetic_control",
        lambda *a, **k: original(*a, **{**k, "max_pre_rmspe_relative": 0.0001}),
    )
    bench = benchmark_analysis(sample_wh, AREA, "cla_at_31_march")
    assert bench.synth is None and bench.fit_ok is False
    assert bench.verdict.startswith("Not good enough to use")
    assert "Northmoor" in bench.notes["synthetic_control"]  # the code is replaced by the name


def test_no_rollout_means_no_synthetic_control_until_a_year_is_chosen(sample_wh):
    bench = benchmark_analysis(sample_wh, "982", "cla_at_31_march")  # Eastbridge: no rollout
    assert bench.rollout_date is None and bench.treatment_year is None
    assert "No rollout date is known for Eastbridge" in bench.notes["synthetic_control"]
    chosen = benchmark_analysis(sample_wh, "982", "cla_at_31_march", treatment_year=2022)
    assert chosen.treatment_year == 2022
    assert chosen.synth is not None or "synthetic_control" in chosen.notes


def test_percentages_are_compared_as_published(sample_wh):
    bench = benchmark_analysis(sample_wh, AREA, "cpp_subsequent_percent")
    assert bench.compared_on == "value" and bench.unit == "%"
    assert "council_count" not in bench.table
    assert "(1 = lowest figure)" in bench.rank_text["all councils"]


def test_measures_councils_and_codes(sample_wh):
    measures = analysis.benchmark_measures(sample_wh, AREA)
    assert measures[:2] == ["cla_at_31_march", "cla_starts"]
    assert "referrals" not in measures  # the sample has no referrals table
    assert analysis.benchmark_council_code(sample_wh, AREA) == "991"
    assert analysis.benchmark_council_code(sample_wh, "E00000000") is None
    assert "Northmoor (991, E06999901)" in set(analysis.benchmark_councils(sample_wh)["label"])
    with pytest.raises(KeyError):
        benchmark_analysis(sample_wh, "E00000000", "cla_at_31_march")
    with pytest.raises(ValueError, match="Unknown DfE measure"):
        benchmark_analysis(sample_wh, AREA, "cla_at_period_end")


def test_board_context_lines(sample_wh):
    lines = analysis.benchmark_context(sample_wh, AREA)
    assert [line.split("'s ")[1].split(" (")[0] for line, _ in lines] == ["CLA rate", "CPP rate"]
    assert all("England" in line and "neighbours' median" in line for line, _ in lines)
    assert "as published by DfE" in lines[0][1] and "recomputed" in lines[1][1]


def test_no_dfe_data_no_context(reference_wh):
    assert analysis.benchmark_context(reference_wh, AREA) == []
    assert analysis.benchmark_councils(reference_wh).empty
    assert analysis.benchmark_revisions(reference_wh).empty


@pytest.fixture(scope="module")
def real_wh(tmp_path_factory):
    files = sorted(SHARED_DFE.glob("*.csv"))
    if not files:
        pytest.skip(
            f"The real DfE files are not at {SHARED_DFE} (set RP_IMPACT_SHARED_DFE to their folder)."
        )
    from pipelines.store.warehouse import open_warehouse

    with open_warehouse(tmp_path_factory.mktemp("real") / "dfe.duckdb") as wh:
        results = dfe.import_dfe_files(wh, files, user="test")
        assert all(r.outcome == "loaded" for r in results), [r.message for r in results]
        yield wh


@pytest.mark.dfe
def test_real_council_with_overlapping_releases(real_wh):
    bench = benchmark_analysis(real_wh, "383", "cla_at_31_march")
    assert bench.area_name == "Leeds" and bench.rollout_date is None
    assert "releases 2022, 2023 and 2025" in bench.source
    assert "as published by DfE" in bench.source
    assert bench.table["release"].iloc[0] == "2022"  # only the 2022 release has 2017-18
    assert bench.rank_text["all councils"].endswith("(1 = lowest rate)")
    assert not analysis.benchmark_revisions(real_wh).empty
    cpp = benchmark_analysis(real_wh, "E08000035", "cpp_starts")  # the ONS code works too
    assert "recomputed" in cpp.source and "2012–2024" in cpp.source
    assert isinstance(cpp.table, pd.DataFrame) and cpp.latest_year == 2025


def test_a_rollout_date_is_refused_for_a_council_with_local_extracts(sample_wh):
    from pipelines.analysis.benchmarks import council_answer

    with pytest.raises(ValueError) as refused:
        council_answer(sample_wh, AREA, rollout=dt.date(2020, 1, 1))
    assert str(refused.value) == (
        "--rollout applies only to a council with no local outcomes extracts: Northmoor's "
        "verdicts use each locality's start date from the rollout table."
    )
    answer = council_answer(sample_wh, AREA)
    assert answer.rollout_date == dt.date(2019, 10, 1)
    assert answer.rollout_source == "the rollout table"
    assert [v.outcome for v in answer.verdicts] == ["cla_starts", "cpp_starts"]


def test_annual_counts_are_the_council_its_neighbours_and_england(sample_wh):
    counts = dfe_reads.annual_counts(sample_wh, AREA, "cla_at_31_march")
    assert set(counts["role"]) == {"council", "neighbour", "england"}
    mine = counts[counts["role"] == "council"]
    assert set(mine["area_code"]) == {"991"}
    # Northmoor, 31 March 2026 (the sample's DfE file): 815 children, population 113,637.
    latest = mine[mine["year"] == 2026].iloc[0]
    assert (latest["value"], latest["population"]) == (815, 113637)
    neighbours = set(counts.loc[counts["role"] == "neighbour", "area_code"])
    assert neighbours == set(dfe_reads.neighbours(sample_wh, AREA)["old_la_code"])
