"""The synthetic sample: reproducible, internally consistent, and carrying its planted effect."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import sample

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "sample"
MEASURES = list(sample.OUTCOME_MEASURES)


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    written = sample.generate(out)
    assert written == sorted(written)
    assert set(written) == set(_files(out).values())
    return out


@pytest.fixture(scope="module")
def outcomes(generated: Path) -> pd.DataFrame:
    paths = sorted((generated / "outcomes").glob("outcomes_*.csv"))
    paths += sorted((generated / "unloaded").glob("outcomes_*.csv"))
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


@pytest.fixture(scope="module")
def training(generated: Path) -> pd.DataFrame:
    paths = sorted((generated / "training").glob("training_*.csv"))
    paths += sorted((generated / "unloaded").glob("training_*.csv"))
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


def test_committed_sample_is_what_the_generator_writes(generated: Path) -> None:
    fresh, committed = _files(generated), _files(COMMITTED)
    assert sorted(fresh) == sorted(committed), "run `python -m pipelines.sample data/sample`"
    different = [rel for rel in fresh if fresh[rel].read_bytes() != committed[rel].read_bytes()]
    assert different == [], "run `python -m pipelines.sample data/sample`"


def test_generation_is_repeatable_and_removes_stale_files(generated: Path, tmp_path: Path) -> None:
    (tmp_path / "outcomes").mkdir()
    stale = tmp_path / "outcomes" / "outcomes_1999-03.csv"
    stale.write_text("old\n")
    keep = tmp_path / "notes.txt"
    keep.write_text("not generated\n")
    sample.generate(tmp_path)
    assert not stale.exists()
    assert keep.exists()
    keep.unlink()
    first, second = _files(generated), _files(tmp_path)
    assert sorted(first) == sorted(second)
    assert all(first[k].read_bytes() == second[k].read_bytes() for k in first)


def test_files_are_plain_csv(generated: Path) -> None:
    for path in generated.rglob("*.csv"):
        raw = path.read_bytes()
        assert b"\r" not in raw, path
        raw.decode("utf-8")


def test_outcome_files_are_quarters_of_monthly_rows(generated: Path, outcomes: pd.DataFrame):
    files = sorted(p.name for p in (generated / "outcomes").glob("*.csv"))
    assert files[0] == "outcomes_2015-06.csv"
    assert files[-1] == "outcomes_2026-06.csv"
    assert len(files) == 45
    assert list(outcomes.columns) == list(sample.OUTCOME_COLUMNS)
    assert (outcomes["area_code"] == sample.AREA_CODE).all()
    assert outcomes.duplicated(["period_end", "unit", "age_band"]).sum() == 0
    periods = pd.to_datetime(outcomes["period_end"])
    assert (periods.dt.is_month_end).all()
    assert periods.min() == pd.Timestamp("2015-04-30")
    assert periods.max() == pd.Timestamp(sample.SAMPLE_END)
    assert periods.nunique() == 138
    for measure in MEASURES:
        assert pd.api.types.is_integer_dtype(outcomes[measure]), measure
        assert (outcomes[measure] >= 0).all(), measure


def test_all_rows_are_sums(outcomes: pd.DataFrame) -> None:
    _assert_all_rows_sum(outcomes, "age_band", "unit")
    locs = outcomes[outcomes["unit"] != "All"]
    assert set(locs["unit"]) == set(sample.LOCALITIES)
    _assert_all_rows_sum(outcomes, "unit", "age_band")


def _assert_all_rows_sum(outcomes: pd.DataFrame, summed: str, kept: str) -> None:
    """The "All" rows of ``summed`` equal the sum of its other rows, per period and ``kept``."""
    parts = outcomes[outcomes[summed] != "All"]
    part_sum = parts.groupby(["period_end", kept])[MEASURES].sum().sort_index()
    all_rows = (
        outcomes[outcomes[summed] == "All"].set_index(["period_end", kept])[MEASURES].sort_index()
    )
    pd.testing.assert_frame_equal(part_sum, all_rows)


@pytest.mark.parametrize(
    ("stock", "inflow", "outflow"),
    [
        ("cla_at_period_end", "cla_starts", "cla_ceased"),
        ("cpp_at_period_end", "cpp_starts", "cpp_ends"),
    ],
)
def test_stock_identity(outcomes: pd.DataFrame, stock: str, inflow: str, outflow: str) -> None:
    df = outcomes.sort_values(["unit", "age_band", "period_end"])
    prev = df.groupby(["unit", "age_band"])[stock].shift(1)
    ok = prev.notna()
    assert ok.sum() == len(df) - 7 * 6
    assert (df.loc[ok, stock] - prev[ok] == df.loc[ok, inflow] - df.loc[ok, outflow]).all()


def test_derived_counts_within_their_totals(outcomes: pd.DataFrame) -> None:
    assert (outcomes["rereferrals"] <= outcomes["referrals"]).all()
    assert (outcomes["cpp_repeat_starts"] <= outcomes["cpp_starts"]).all()


def test_training(training: pd.DataFrame, generated: Path) -> None:
    files = sorted(p.name for p in (generated / "training").glob("*.csv"))
    assert files[0] == "training_2019-06.csv" and files[-1] == "training_2026-06.csv"
    assert list(training.columns) == list(sample.TRAINING_COLUMNS)
    assert set(training["agency"]) == set(sample.AGENCIES)
    assert set(training["course"]) == set(sample.COURSES)
    assert (training["staff_in_scope"] > 0).all()
    assert (training["staff_trained"] >= 0).all()
    assert (training["staff_trained"] <= training["staff_in_scope"]).all()
    df = training.sort_values(["unit", "agency", "course", "period_end"])
    steps = df.groupby(["unit", "agency", "course"])["staff_trained"].diff().dropna()
    assert (steps >= 0).all()
    last = df[df["period_end"] == df["period_end"].max()].groupby("unit")
    coverage = last["staff_trained"].sum() / last["staff_in_scope"].sum()
    assert coverage.between(0.55, 0.92).all(), coverage
    # Training starts two quarters before each wave: wave 3 has nobody trained before then.
    wave3 = df[df["unit"].isin(sample.WAVES[3][1]) & (df["period_end"] < "2022-12-31")]
    assert (wave3["staff_trained"] == 0).all()


def test_planted_multiplier() -> None:
    f = sample.planted_multiplier
    assert f(-1, "cla_starts") == 1.0
    assert f(-30, "cpp_starts") == 1.0
    assert f(0, "cla_starts") == 1.0
    assert f(6, "cla_starts") == pytest.approx(1 - 0.075)
    assert f(6, "cpp_starts") == pytest.approx(0.9)
    assert f(12, "cla_starts") == pytest.approx(0.85)
    assert f(40, "cpp_starts") == pytest.approx(0.80)
    assert f(40, "referrals") == 1.0
    np.testing.assert_allclose(
        f(np.array([-3, 0, 3, 12, 24]), "cla_starts"), [1, 1, 0.9625, 0.85, 0.85]
    )
    assert sample.PLANTED_EFFECTS == {"cla_starts": -0.15, "cpp_starts": -0.20}
    assert sample.RAMP_MONTHS == 12


def test_constants() -> None:
    assert (date(2015, 4, 1), date(2026, 9, 30)) == (sample.SAMPLE_START, sample.SAMPLE_END)
    assert sample.AGE_BANDS == ("Under 1", "1-4", "5-9", "10-15", "16-17")
    assert sorted(u for _, units in sample.WAVES.values() for u in units) == list(sample.LOCALITIES)
    expected_codes = tuple(f"E069999{n:02d}" for n in range(2, 12))
    assert expected_codes == sample.COMPARATOR_CODES


def test_rollout_population_and_areas(generated: Path) -> None:
    rollout = pd.read_csv(generated / "rollout.csv")
    assert len(rollout) == 6
    for row in rollout.itertuples():
        start, units = sample.WAVES[row.wave]
        assert row.unit in units and row.start_date == start.isoformat()
        assert row.complete_date == start.replace(year=start.year + 1).isoformat()
    pop = pd.read_csv(generated / "population.csv")
    assert (pop["population_0_17"] > 0).all()
    bands = pop[pop["age_band"] != "All"].groupby(["year", "unit"])["population_0_17"].sum()
    alls = pop[pop["age_band"] == "All"].set_index(["year", "unit"])["population_0_17"]
    pd.testing.assert_series_equal(bands.sort_index(), alls.sort_index(), check_names=False)
    locs = pop[pop["unit"] != "All"].groupby(["year", "age_band"])["population_0_17"].sum()
    alls = pop[pop["unit"] == "All"].set_index(["year", "age_band"])["population_0_17"]
    pd.testing.assert_series_equal(locs.sort_index(), alls.sort_index(), check_names=False)
    areas = pd.read_csv(generated / "areas.csv", dtype=str)
    assert list(areas["area_code"]) == [sample.AREA_CODE, *sample.COMPARATOR_CODES]


def test_dfe_cla_matches_monthly(generated: Path, outcomes: pd.DataFrame) -> None:
    dfe = pd.read_csv(
        generated / "dfe" / "cla_number_and_rate_per_10k_children.csv",
        dtype=str,
        encoding="utf-8-sig",
    )
    nm = dfe[dfe["new_la_code"] == sample.AREA_CODE]
    total = outcomes[(outcomes["unit"] == "All") & (outcomes["age_band"] == "All")].copy()
    total["fy"] = [int(p[:4]) + (int(p[5:7]) >= 4) for p in total["period_end"]]
    years = sorted(nm["time_period"].astype(int).unique())
    assert years == list(range(2016, 2027))
    for year in years:
        rows = nm[nm["time_period"] == str(year)].set_index("population_type")
        march = total[total["period_end"] == f"{year}-03-31"]["cla_at_period_end"].item()
        at31 = rows.loc["Children looked after on 31 March each year"]
        assert int(at31["children_count"]) == march
        pop = int(at31["population_estimate"])
        assert int(at31["rate_per_10000"]) == int(march / pop * 10000 + 0.5)
        fy = total[total["fy"] == year]
        starts = rows.loc["Children starting to be looked after each year", "children_count"]
        assert int(starts) == fy["cla_starts"].sum()
    # A few cells are suppressed on purpose, to exercise the importer.
    assert {"c", "x"} <= set(dfe["children_count"])


def test_dfe_files_carry_dfe_headers(generated: Path) -> None:
    heads = {
        p.name: p.read_text(encoding="utf-8-sig").splitlines()[0]
        for p in (generated / "dfe").glob("*.csv")
    }
    assert heads["cla_number_and_rate_per_10k_children.csv"].endswith(
        "population_type,population_estimate,children_count,rate_per_10000"
    )
    assert heads["d5_cpps_at31march_by_duration_2016_to_2026.csv"].split(",")[11] == "CPP_At31"
    assert heads["d3_cpps_subsequent_plan_2016_to_2026.csv"].endswith(
        "CPP_start,CPP_subsequent,CPP_subsequent_percent"
    )
    sn = pd.read_csv(generated / "dfe" / "sn_model_2025_wide.csv", encoding="utf-8-sig")
    northmoor = sn[sn["old_la_code"] == sample.OLD_LA_CODE].iloc[0]
    assert sorted(northmoor[[f"SN_{i}" for i in range(1, 11)]]) == list(range(981, 991))


def test_unloaded_is_the_last_quarter(generated: Path, outcomes: pd.DataFrame) -> None:
    unloaded = sorted(p.name for p in (generated / "unloaded").iterdir())
    assert unloaded == ["outcomes_2026-09.csv", "training_2026-09.csv"]
    out = pd.read_csv(generated / "unloaded" / "outcomes_2026-09.csv")
    assert sorted(out["period_end"].unique()) == ["2026-07-31", "2026-08-31", "2026-09-30"]
    tr = pd.read_csv(generated / "unloaded" / "training_2026-09.csv")
    assert set(tr["period_end"]) == {sample.SAMPLE_END.isoformat()}
    loaded = pd.concat(
        [pd.read_csv(p) for p in (generated / "outcomes").glob("*.csv")], ignore_index=True
    )
    assert loaded["period_end"].max() == "2026-06-30"


def test_planted_effect_is_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starts in full-effect months, against the same simulation with no effect planted."""
    pop = sample._simulate_population(np.random.default_rng(sample.SEED).spawn(1)[0])

    def full_effect_totals() -> pd.Series:
        out = sample._simulate_outcomes(np.random.default_rng(1), pop)
        out = out[(out["unit"] != "All") & (out["age_band"] == "All")]
        start = out["unit"].map(lambda u: sample.rollout_start(u).isoformat())
        full = out["period_end"] >= start.map(lambda s: f"{int(s[:4]) + 1}{s[4:]}")
        return out.loc[full, ["cla_starts", "cpp_starts"]].sum()

    with_effect = full_effect_totals()
    monkeypatch.setattr(sample, "PLANTED_EFFECTS", {})
    without = full_effect_totals()
    for measure, effect in {"cla_starts": -0.15, "cpp_starts": -0.20}.items():
        ratio = with_effect[measure] / without[measure]
        assert abs(ratio - (1 + effect)) < 0.06, (measure, ratio)
