"""DfE published statistics: recognising tables, reading them as published, importing releases
side by side, and benchmarking a council against England, its region and its neighbours.

Most tests use tiny hand-made files in tests/data/dfe_fixtures. The tests marked `dfe` import
every real DfE file in ../shared/data/dfe (or $RP_IMPACT_SHARED_DFE) and check published
figures; they skip, saying why, when that folder is not there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from pipelines import benchmarks as dfe_reads
from pipelines.load import dfe
from pipelines.store.warehouse import open_warehouse

FIXTURES = Path(__file__).parent / "data" / "dfe_fixtures"
CLA_2025 = FIXTURES / "cla_release2025_tiny.csv"
CLA_2023 = FIXTURES / "cla_release2023_tiny.csv"
CPP = FIXTURES / "d5_cpp_tiny.csv"
POPULATION = FIXTURES / "ons_population_tiny.csv"
NEIGHBOURS = FIXTURES / "sn_model_2025_tiny.csv"
UNKNOWN = FIXTURES / "unknown_table.csv"
BOM = b"\xef\xbb\xbf"


def shared_dfe_dir() -> Path:
    configured = os.environ.get("RP_IMPACT_SHARED_DFE")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "dfe"


@pytest.fixture
def wh(tmp_path):
    warehouse = open_warehouse(tmp_path / "warehouse.duckdb")
    yield warehouse
    warehouse.close()


def figure(wh, area_code, measure, year, release=None, view="mart_dfe_current"):
    sql = f"SELECT * FROM {view} WHERE area_code = ? AND measure = ? AND time_period = ?"
    params = [area_code, measure, year]
    if release is not None:
        sql = "SELECT * FROM dfe_figures WHERE area_code = ? AND measure = ? AND time_period = ?"
        sql += " AND release = ?"
        params.append(release)
    rows = wh.query(sql, params)
    assert len(rows) == 1, rows
    return rows.iloc[0]


# -- recognising and reading ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "kind"),
    [
        (["time_period", "geographic_level", "population_type", "children_count",
          "rate_per_10000", "population_estimate"], "cla_number_and_rate"),
        (["rate_per_10000", "number", "population_count", "time_period", "geographic_level"],
         "cla_number_and_rate"),
        (["\ufefftime_period", "geographic_level", "CPP_At31"], "cpp_at_31_march"),
        (["time_period", "geographic_level", "CPP_start", "CPP_subsequent"], "cpp_subsequent"),
        (["time_period", "geographic_level", "At31_episodes", "Started_episodes"],
         "children_in_need"),
        (["time_period", "geographic_level", "referral_count", "rereferral_count"], "referrals"),
        (["time_period", "geographic_level", "age_group", "population_estimate"], "population"),
        (["\ufeffold_la_code", "la_name", "SN_1", "SN_1P"], "statistical_neighbours"),
    ],
)  # fmt: skip
def test_recognise_names_the_table_from_its_columns_in_any_order(columns, kind):
    assert dfe.recognise(columns) == kind
    assert dfe.recognise(list(reversed(columns))) == kind


def test_an_unknown_header_is_refused_with_the_list_of_recognised_tables():
    with pytest.raises(dfe.DfeFormatError) as caught:
        dfe.recognise(["time_period", "geographic_level", "school_name", "pupils_on_roll"])
    message = str(caught.value)
    assert "school_name" in message
    for kind in dfe.RECOGNISED_TABLES:
        assert kind in message


@pytest.mark.parametrize(
    ("raw", "value", "reason"),
    [
        ("81770", 81770.0, None),
        ("1,498", 1498.0, None),
        ("c", None, "c"),
        ("x", None, "x"),
        ("z", None, "z"),
        ("u", None, "u"),
        ("k", None, "k"),
        ("low", None, "low"),
        ("[c]", None, "c"),
        (" X ", None, "x"),
        ("", None, "empty"),
        ("n/a?", None, "unreadable: n/a?"),
    ],
)
def test_suppression_markers_become_null_with_their_reason_never_zero(raw, value, reason):
    assert dfe.parse_value(raw) == (value, reason)


def test_read_cla_2025_release_into_a_tidy_table_with_its_release_and_codes():
    table = dfe.read_dfe_file(CLA_2025)
    assert (table.kind, table.release, table.n_rows) == ("cla_number_and_rate", "2025", 14)
    assert list(table.figures.columns) == list(dfe.FIGURE_COLUMNS)
    leeds = table.figures.query("area_code == '383' and time_period == 2025").set_index("measure")
    assert leeds.loc["cla_at_31_march", "value"] == 180
    assert leeds.loc["cla_at_31_march", "published_rate_per_10k"] == 90
    assert leeds.loc["cla_at_31_march", "population_estimate"] == 20000
    assert leeds.loc["cla_at_31_march", "new_la_code"] == "E08000035"
    assert leeds.loc["cla_starts", "value"] == 50
    wakefield = table.figures.query("area_code == '384' and time_period == 2025").iloc[0]
    assert pd.isna(wakefield["value"]) and wakefield["null_reason"] == "c"
    assert wakefield["published_rate_null_reason"] == "c"
    england = table.figures.query("geographic_level == 'National' and time_period == 2025")
    assert england["area_code"].tolist() == ["E92000001"]
    region = table.figures.query("geographic_level == 'Regional' and time_period == 2025")
    assert region["area_code"].tolist() == ["E12000003"]


def test_the_2023_release_names_its_columns_differently_but_gives_the_same_measures():
    table = dfe.read_dfe_file(CLA_2023)
    assert table.release == "2023"
    assert set(table.figures["measure"]) == {"cla_at_31_march"}
    leeds = table.figures.query("area_code == '383' and time_period == 2023").iloc[0]
    assert (leeds["value"], leeds["published_rate_per_10k"]) == (170, 86)


def test_quoted_empty_codes_are_read_as_missing_and_england_keeps_its_code():
    table = dfe.read_dfe_file(CPP)
    england = table.figures.query("geographic_level == 'National'").iloc[0]
    assert england["area_code"] == "E92000001"
    assert england["region_code"] is None and england["la_name"] is None
    assert england["value"] == 4000
    wakefield = table.figures.query("area_code == '384'").iloc[0]
    assert wakefield["null_reason"] == "low"


def test_a_file_with_its_columns_reordered_gives_the_same_figures(tmp_path):
    original = pd.read_csv(CLA_2025, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    shuffled = original[list(reversed(original.columns))]
    path = tmp_path / "cla_reordered_2025.csv"
    shuffled.to_csv(path, index=False)
    keys = list(dfe.KEY_COLUMNS)
    a = dfe.read_dfe_file(CLA_2025).figures.sort_values(keys).reset_index(drop=True)
    b = dfe.read_dfe_file(path).figures.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_a_file_reads_the_same_with_or_without_a_byte_order_mark(tmp_path):
    raw = CLA_2025.read_bytes()
    assert raw.startswith(BOM)
    without = tmp_path / "cla_no_bom.csv"
    without.write_bytes(raw[len(BOM) :])
    a = dfe.read_dfe_file(CLA_2025, release="2025").figures
    b = dfe.read_dfe_file(without, release="2025").figures
    pd.testing.assert_frame_equal(a, b)


def test_statistical_neighbours_are_read_as_ranked_links_by_old_code():
    table = dfe.read_dfe_file(NEIGHBOURS)
    assert (table.kind, table.release) == ("statistical_neighbours", "2025")
    leeds = table.neighbours.query("old_la_code == '383'")
    assert leeds["neighbour_rank"].tolist() == [1, 2]
    assert leeds["neighbour_old_la_code"].tolist() == ["384", "942"]
    assert leeds["closeness"].tolist() == ["Close", "Somewhat close"]


# -- importing -----------------------------------------------------------------------------------


def test_import_loads_figures_and_records_the_upload(wh):
    [result] = dfe.import_dfe_files(wh, [CLA_2025], user="analyst")
    assert result.outcome == "loaded"
    assert (result.table_kind, result.release, result.n_added) == (
        "cla_number_and_rate",
        "2025",
        14,
    )
    audit = wh.query("SELECT * FROM raw_uploads").iloc[0]
    assert audit["source"] == "dfe"
    assert audit["dataset"] == "dfe:cla_number_and_rate"
    assert audit["outcome"] == "loaded"
    assert audit["user_name"] == "analyst"
    assert len(audit["sha256"]) == 64
    leeds = figure(wh, "383", "cla_at_31_march", 2025)
    assert (leeds["value"], leeds["published_rate_per_10k"]) == (180, 90)


def test_reimporting_the_same_file_is_a_no_op_that_says_so(wh, tmp_path):
    dfe.import_dfe_files(wh, [CLA_2025])
    before = wh.query("SELECT * FROM dfe_figures ORDER BY ALL")
    copy = tmp_path / "renamed_copy.csv"
    copy.write_bytes(CLA_2025.read_bytes())
    again, renamed = dfe.import_dfe_files(wh, [CLA_2025, copy])
    assert again.outcome == renamed.outcome == "no-op"
    assert "already imported" in again.message and "nothing changed" in again.message
    assert again.summary().startswith("no-op: ")
    pd.testing.assert_frame_equal(before, wh.query("SELECT * FROM dfe_figures ORDER BY ALL"))
    assert wh.query("SELECT outcome FROM raw_uploads ORDER BY upload_id")["outcome"].tolist() == [
        "loaded",
        "no-op",
        "no-op",
    ]


def test_an_unknown_file_is_refused_listing_what_is_recognised_and_others_still_load(wh):
    refused, loaded = dfe.import_dfe_files(wh, [UNKNOWN, CPP])
    assert refused.outcome == "refused"
    assert "cla_number_and_rate" in refused.message and "statistical_neighbours" in refused.message
    assert loaded.outcome == "loaded"
    audit = wh.query("SELECT dataset, outcome, n_errors FROM raw_uploads ORDER BY upload_id")
    assert audit.values.tolist() == [
        ["dfe:unrecognised", "refused", 1],
        ["dfe:cpp_at_31_march", "loaded", 0],
    ]
    assert wh.query("SELECT count(*) AS n FROM dfe_figures")["n"][0] == 3


def test_overlapping_releases_keep_each_figure_and_the_newest_is_used(wh):
    dfe.import_dfe_files(wh, [CLA_2025, CLA_2023])  # newest first: order must not matter
    assert figure(wh, "383", "cla_at_31_march", 2023, release="2023")["value"] == 170
    assert figure(wh, "383", "cla_at_31_march", 2023, release="2025")["value"] == 171
    current = figure(wh, "383", "cla_at_31_march", 2023)
    assert (current["release"], current["value"]) == ("2025", 171)
    only_older = figure(wh, "383", "cla_at_31_march", 2022)
    assert (only_older["release"], only_older["value"]) == ("2023", 160)


def test_revisions_between_releases_are_listed(wh):
    dfe.import_dfe_files(wh, [CLA_2023, CLA_2025])
    revisions = dfe_reads.dfe_revisions(wh)
    assert len(revisions) == 1  # Cumbria 2023 is the same in both releases
    row = revisions.iloc[0]
    assert (row["area_code"], row["time_period"], row["measure"]) == (
        "383",
        2023,
        "cla_at_31_march",
    )
    assert (row["earlier_release"], row["later_release"]) == ("2023", "2025")
    assert (row["earlier_value"], row["later_value"], row["value_change"]) == (170, 171, 1)


def test_a_corrected_file_of_the_same_release_revises_figures_and_keeps_history(wh, tmp_path):
    dfe.import_dfe_files(wh, [CLA_2025])
    corrected = tmp_path / "cla_2025_corrected.csv"
    corrected.write_text(
        CLA_2025.read_text(encoding="utf-8-sig").replace(
            "383,Leeds,E08000035,Children looked after on 31 March each year,20000,180,90",
            "383,Leeds,E08000035,Children looked after on 31 March each year,20000,182,91",
        ),
        encoding="utf-8",
    )
    [result] = dfe.import_dfe_files(wh, [corrected])
    assert (result.n_added, result.n_revised, result.n_unchanged) == (0, 1, 13)
    assert figure(wh, "383", "cla_at_31_march", 2025)["value"] == 182
    history = wh.query("SELECT value, superseded_by FROM dfe_figures_history")
    assert history.values.tolist() == [[180, result.upload_id]]


def test_published_rates_are_labelled_published_and_others_recomputed_with_population_year(wh):
    dfe.import_dfe_files(wh, [CLA_2025, CPP, POPULATION])
    cla = figure(wh, "383", "cla_at_31_march", 2025, view="mart_dfe_rates")
    assert (cla["rate_per_10k"], cla["rate_source"]) == (90, "published")
    cpp = figure(wh, "383", "cpp_at_31_march", 2025, view="mart_dfe_rates")
    assert cpp["rate_source"] == "recomputed"
    assert cpp["population_year"] == 2024  # mid-2024 for the year ending 31 March 2025
    assert cpp["rate_per_10k"] == pytest.approx(100 / 20000 * 10000)
    suppressed = figure(wh, "384", "cpp_at_31_march", 2025, view="mart_dfe_rates")
    assert pd.isna(suppressed["rate_per_10k"]) and pd.isna(suppressed["rate_source"])


def test_reorganised_councils_start_and_stop_and_are_never_joined(wh):
    dfe.import_dfe_files(wh, [CLA_2025])
    areas = wh.query(
        "SELECT area_code, new_la_code, la_name, first_year, last_year FROM dfe_areas "
        "WHERE area_code IN ('909', '942') ORDER BY area_code"
    )
    assert areas.values.tolist() == [
        ["909", "E10000006", "Cumbria", 2023, 2023],
        ["942", "E06000063", "Cumberland", 2024, 2024],
    ]
    cumbria = dfe_reads.resolve_council(wh, "E10000006")
    assert cumbria["area_code"] == "909"
    series = dfe_reads.benchmark_series(wh, "909", "cla_at_31_march")
    assert series.dropna(subset=["council_value"])["time_period"].tolist() == [2023]


def test_council_codes_map_both_ways(wh):
    dfe.import_dfe_files(wh, [CLA_2025])
    by_old = dfe_reads.resolve_council(wh, "383")
    by_new = dfe_reads.resolve_council(wh, "E08000035")
    assert by_old == by_new
    assert (by_old["old_la_code"], by_old["new_la_code"]) == ("383", "E08000035")
    with pytest.raises(KeyError, match="No council with code 999"):
        dfe_reads.resolve_council(wh, "999")


def test_benchmark_against_england_region_and_neighbours(wh):
    dfe.import_dfe_files(wh, [CLA_2025, NEIGHBOURS])
    series = dfe_reads.benchmark_series(wh, "E08000035", "cla_at_31_march").set_index("time_period")
    y2025 = series.loc[2025]
    assert (y2025["council_value"], y2025["council_rate"]) == (180, 90)
    assert y2025["council_rate_source"] == "published"
    assert (y2025["england_rate"], y2025["region_rate"]) == (70, 80)
    assert y2025["region_code"] == "E12000003"
    # neighbours 384 (suppressed in 2025) and 942 (no 2025 row): nothing to compare
    assert y2025["sn_n"] == 0 and pd.isna(y2025["sn_median"])
    y2024 = series.loc[2024]
    assert y2024["sn_n"] == 2
    assert (y2024["sn_min"], y2024["sn_median"], y2024["sn_max"]) == (61, 75.5, 90)


def test_rank_among_all_councils_and_among_neighbours(wh):
    dfe.import_dfe_files(wh, [CLA_2025, NEIGHBOURS])
    ranks = dfe_reads.rank_among(wh, "383", "cla_at_31_march", 2024).set_index("scope")
    # 2024 rates: Wakefield 61, Leeds 88, Cumberland 90 (Cumbria suppressed)
    assert ranks.loc["all councils", ["rank", "n"]].tolist() == [2, 3]
    assert ranks.loc["statistical neighbours", ["rank", "n"]].tolist() == [2, 3]
    none = dfe_reads.rank_among(wh, "384", "cla_at_31_march", 2025).set_index("scope")
    assert pd.isna(none.loc["all councils", "rank"])


def test_neighbours_and_council_options(wh):
    dfe.import_dfe_files(wh, [CLA_2025, NEIGHBOURS])
    leeds = dfe_reads.neighbours(wh, "E08000035")
    assert leeds[["neighbour_rank", "old_la_code", "new_la_code", "la_name"]].values.tolist() == [
        [1, "384", "E08000036", "Wakefield"],
        [2, "942", "E06000063", "Cumberland"],
    ]
    options = dfe_reads.council_options(wh)
    assert "Leeds (383, E08000035)" in options["label"].tolist()
    assert "Cumbria (909, E10000006), to 2023" in options["label"].tolist()


def test_synth_panel_gives_the_council_and_its_neighbours(wh):
    dfe.import_dfe_files(wh, [CLA_2025, NEIGHBOURS])
    panel = dfe_reads.synth_panel(wh, "383", "cla_at_31_march")
    assert set(panel.loc[panel["role"] == "treated", "area_code"]) == {"383"}
    assert set(panel.loc[panel["role"] == "donor", "area_code"]) == {"384", "942"}


# -- the real DfE files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_files():
    folder = shared_dfe_dir()
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        pytest.skip(
            f"The real DfE files are not at {folder} (set RP_IMPACT_SHARED_DFE to their folder)."
        )
    return files


@pytest.fixture(scope="module")
def real_import(real_files, tmp_path_factory):
    """A warehouse with every real file imported once, and the import's results."""
    warehouse = open_warehouse(tmp_path_factory.mktemp("dfe") / "warehouse.duckdb")
    results = dfe.import_dfe_files(warehouse, real_files, user="pytest")
    yield warehouse, results
    warehouse.close()


@pytest.fixture(scope="module")
def real_wh(real_import):
    return real_import[0]


@pytest.mark.dfe
def test_every_real_file_is_recognised_and_loaded(real_files, real_import):
    _, results = real_import
    assert [r.outcome for r in results] == ["loaded"] * len(real_files)
    kinds = {r.table_kind for r in results}
    assert kinds == set(dfe.RECOGNISED_TABLES)


@pytest.mark.dfe
@pytest.mark.parametrize(
    ("area_code", "count", "rate"),
    [("E92000001", 81_770, 67), ("383", 1_498, 85), ("861", 1_063, 170)],
    ids=["England", "Leeds", "Stoke-on-Trent"],
)
def test_real_cla_on_31_march_2025_matches_the_publication(real_wh, area_code, count, rate):
    row = figure(real_wh, area_code, "cla_at_31_march", 2025, view="mart_dfe_rates")
    assert (row["value"], row["rate_per_10k"], row["rate_source"]) == (count, rate, "published")
    assert row["release"] == "2025"


@pytest.mark.dfe
def test_real_codes_map_both_ways_for_leeds_and_stoke(real_wh):
    assert dfe_reads.resolve_council(real_wh, "E08000035")["old_la_code"] == "383"
    assert dfe_reads.resolve_council(real_wh, "861")["new_la_code"] == "E06000021"


@pytest.mark.dfe
def test_real_cpp_on_31_march_2025_matches_the_publication(real_wh):
    row = figure(real_wh, "E92000001", "cpp_at_31_march", 2025, view="mart_dfe_rates")
    assert row["value"] == 49_420
    assert row["rate_source"] == "recomputed"
    assert row["rate_per_10k"] == pytest.approx(49_420 / 12_183_016 * 10_000)


@pytest.mark.dfe
def test_real_cla_releases_overlap_and_the_newest_is_used(real_wh):
    releases = real_wh.query(
        "SELECT release, value FROM dfe_figures WHERE area_code = 'E92000001' "
        "AND measure = 'cla_at_31_march' AND time_period = 2022 ORDER BY release"
    )
    assert releases["release"].tolist() == ["2022", "2023", "2025"]
    assert releases["value"].notna().all()
    current = figure(real_wh, "E92000001", "cla_at_31_march", 2022)
    assert current["release"] == "2025"
    assert current["value"] == releases["value"].iloc[-1]
    revisions = dfe_reads.dfe_revisions(real_wh)
    assert len(revisions) > 0
    assert (revisions["earlier_release"] < revisions["later_release"]).all()


@pytest.mark.dfe
def test_real_reorganisations_start_and_stop(real_wh):
    areas = real_wh.query(
        "SELECT area_code, new_la_code, first_year, last_year FROM dfe_areas "
        "WHERE area_code IN ('909', '942', '943', '928', '940', '941') ORDER BY area_code"
    ).set_index("area_code")
    assert areas.loc["909"].tolist() == ["E10000006", 2013, 2023]  # Cumbria stops
    assert areas.loc["942"].tolist() == ["E06000063", 2024, 2025]  # Cumberland starts
    assert areas.loc["943"].tolist() == ["E06000064", 2024, 2025]  # Westmorland and Furness
    assert areas.loc["928"].tolist() == ["E10000021", 2013, 2021]  # Northamptonshire stops
    assert areas.loc["940"].tolist() == ["E06000061", 2022, 2025]  # North Northamptonshire
    assert areas.loc["941"].tolist() == ["E06000062", 2022, 2025]  # West Northamptonshire
    cumbria = dfe_reads.benchmark_series(real_wh, "909", "cla_at_31_march").dropna(
        subset=["council_value"]
    )
    assert cumbria["time_period"].max() == 2023


@pytest.mark.dfe
def test_real_recoded_council_keeps_one_series_under_both_ons_codes(real_wh):
    codes = real_wh.query(
        "SELECT new_la_code FROM dfe_area_codes WHERE old_la_code = '815' ORDER BY new_la_code"
    )
    assert codes["new_la_code"].tolist() == ["E06000065", "E10000023"]
    assert dfe_reads.resolve_council(real_wh, "E10000023") == dfe_reads.resolve_council(
        real_wh, "E06000065"
    )


@pytest.mark.dfe
def test_real_benchmark_and_rank_for_leeds(real_wh):
    series = dfe_reads.benchmark_series(real_wh, "383", "cla_at_31_march").set_index("time_period")
    y2025 = series.loc[2025]
    assert (y2025["council_rate"], y2025["england_rate"]) == (85, 67)
    assert y2025["region_code"] == "E12000003" and y2025["sn_n"] == 10
    assert y2025["sn_min"] <= y2025["sn_median"] <= y2025["sn_max"]
    assert len(dfe_reads.neighbours(real_wh, "E08000035")) == 10
    ranks = dfe_reads.rank_among(real_wh, "E08000035", "cla_at_31_march", 2025).set_index("scope")
    assert ranks.loc["statistical neighbours", "n"] == 11
    assert 1 <= ranks.loc["all councils", "rank"] <= ranks.loc["all councils", "n"]


@pytest.mark.dfe
def test_real_reimport_is_a_no_op(real_files, real_wh):
    n_before = real_wh.query("SELECT count(*) AS n FROM dfe_figures")["n"][0]
    results = dfe.import_dfe_files(real_wh, real_files[:2])
    assert [r.outcome for r in results] == ["no-op", "no-op"]
    assert real_wh.query("SELECT count(*) AS n FROM dfe_figures")["n"][0] == n_before


def test_the_synthetic_sample_files_import_when_present(tmp_path):
    sample = Path(__file__).resolve().parents[1] / "data" / "sample" / "dfe"
    files = sorted(sample.glob("*.csv")) if sample.is_dir() else []
    if not files:
        pytest.skip(f"No synthetic DfE files at {sample} yet (python -m pipelines.sample).")
    warehouse = open_warehouse(tmp_path / "sample.duckdb")
    try:
        results = dfe.import_dfe_files(warehouse, files)
        assert [r.outcome for r in results] == ["loaded"] * len(files), [r.message for r in results]
        northmoor = dfe_reads.resolve_council(warehouse, "E06999901")
        assert northmoor["old_la_code"] == "991"
    finally:
        warehouse.close()
