"""Write the whole sample folder: extracts, DfE-format files and the README."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.sample import practice
from pipelines.sample.dates import _add_months, _fmt_num, _fy_end, _quarter_end_month, wave_of
from pipelines.sample.dfe_files import _area_names, _dfe_frames, _sn_frame
from pipelines.sample.params import (
    _CIN_RATE,
    _CLA_START_RATE,
    _CLA_TREND,
    _CPP_REPEAT_P,
    _CPP_START_RATE,
    _CPP_TREND,
    _FGC_AFTER,
    _FGC_BEFORE,
    _POP_GROWTH,
    _REFERRAL_RATE,
    _REFERRAL_TREND,
    _REREFERRAL_P,
    AGE_BANDS,
    AREA_CODE,
    AREA_NAME,
    COMPARATOR_CODES,
    COMPARATORS,
    DFE_YEARS,
    LOCALITIES,
    OLD_LA_CODE,
    OUTCOME_COLUMNS,
    PARTNERSHIP_NAME,
    PLANTED_EFFECTS,
    POPULATION_YEARS,
    PROGRAMME,
    RAMP_MONTHS,
    REGION_CODE,
    REGION_NAME,
    SAMPLE_END,
    SAMPLE_START,
    SEED,
    TRAINING_COLUMNS,
    TRAINING_START,
    WAVES,
)
from pipelines.sample.process import (
    _annual_from_monthly,
    _simulate_comparators,
    _simulate_national,
    _simulate_outcomes,
    _simulate_population,
    _simulate_training,
    _sort,
    _with_total,
)


def _write_csv(df: pd.DataFrame, path: Path, columns: Sequence[str], bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.loc[:, list(columns)].to_csv(
        path,
        index=False,
        lineterminator="\n",
        encoding="utf-8-sig" if bom else "utf-8",
    )
    return path


_GENERATED_DIRS = ("outcomes", "training", "unloaded", "dfe")


def _clean(out_dir: Path) -> None:
    """Delete previously generated CSVs (only where the generator writes; README is rewritten)."""
    for path in sorted(out_dir.glob("*.csv")):
        path.unlink()
    for sub in _GENERATED_DIRS:
        folder = out_dir / sub
        if folder.is_dir():
            for path in sorted(folder.glob("*.csv")):
                path.unlink()


def _quarter_label(period_end: str) -> str:
    y, m = int(period_end[:4]), int(period_end[5:7])
    return f"{y:04d}-{_quarter_end_month(m):02d}"


def generate(out_dir: Path) -> list[Path]:
    """Write the whole synthetic sample into ``out_dir``; return the files written (sorted)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    rng_pop, rng_out, rng_train, rng_cmp, rng_nat, rng_dfe = np.random.default_rng(SEED).spawn(6)
    written: list[Path] = []

    # areas.csv
    areas = pd.DataFrame(
        [
            (code, name, old, REGION_CODE, REGION_NAME)
            for code, (name, old) in _area_names().items()
        ],
        columns=["area_code", "area_name", "old_la_code", "region_code", "region_name"],
    ).sort_values("area_code")
    written.append(_write_csv(areas, out_dir / "areas.csv", areas.columns))

    # population.csv
    pop_loc = _simulate_population(rng_pop)
    pop = _with_total(pop_loc, ["year", "unit"], "population_0_17", "age_band")
    pop = _with_total(pop, ["year", "age_band"], "population_0_17", "unit")
    pop["area_code"] = AREA_CODE
    pop = _sort(pop, ["year", "unit", "age_band"])
    written.append(
        _write_csv(
            pop,
            out_dir / "population.csv",
            ["year", "area_code", "unit", "age_band", "population_0_17"],
        )
    )

    # rollout.csv
    rollout = pd.DataFrame(
        [
            (
                AREA_CODE,
                unit,
                PROGRAMME,
                wave,
                start.isoformat(),
                _add_months(start, 12).isoformat(),
            )
            for wave, (start, units) in WAVES.items()
            for unit in units
        ],
        columns=["area_code", "unit", "programme", "wave", "start_date", "complete_date"],
    )
    written.append(_write_csv(rollout, out_dir / "rollout.csv", rollout.columns))

    # outcomes, one file per quarter; the last quarter goes to unloaded/.
    outcomes = _simulate_outcomes(rng_out, pop_loc)
    last_q = _quarter_label(SAMPLE_END.isoformat())
    for label, part in outcomes.groupby(outcomes["period_end"].map(_quarter_label), sort=True):
        folder = "unloaded" if label == last_q else "outcomes"
        written.append(
            _write_csv(part, out_dir / folder / f"outcomes_{label}.csv", OUTCOME_COLUMNS)
        )

    # training, one file per quarter from 2019-06.
    training = _simulate_training(rng_train)
    for label, part in training.groupby(training["period_end"].map(_quarter_label), sort=True):
        folder = "unloaded" if label == last_q else "training"
        written.append(
            _write_csv(part, out_dir / folder / f"training_{label}.csv", TRAINING_COLUMNS)
        )

    # Practice evidence (audits, family feedback, FGCs): its own random stream, so the files
    # above are unchanged by it.
    for dataset, frame in practice.as_contract_frames(practice.simulate_practice()).items():
        written.append(_write_csv(frame, out_dir / f"{dataset}.csv", frame.columns))

    # DfE-format annual comparator data.
    total = outcomes[(outcomes["unit"] == "All") & (outcomes["age_band"] == "All")]
    total = total.sort_values("period_end")
    nm_annual = _annual_from_monthly(
        total["period_end"].tolist(),
        total["cla_at_period_end"].to_numpy(),
        total["cla_starts"].to_numpy(),
        total["cla_ceased"].to_numpy(),
        total["cpp_at_period_end"].to_numpy(),
        total["cpp_starts"].to_numpy(),
        total["cpp_repeat_starts"].to_numpy(),
    )
    nm_pop_rows = pop[(pop["unit"] == "All") & (pop["age_band"] == "All")]
    nm_pop = {
        int(y): int(n)
        for y, n in zip(nm_pop_rows["year"], nm_pop_rows["population_0_17"], strict=True)
    }
    cmp_pop, cmp_annual = _simulate_comparators(rng_cmp)
    nat_pop, nat_annual = _simulate_national(rng_nat)
    populations: dict = {AREA_CODE: nm_pop, **cmp_pop, "NATIONAL": nat_pop}
    annual: dict = {AREA_CODE: nm_annual, **cmp_annual, "NATIONAL": nat_annual}
    la_codes = [AREA_CODE, *COMPARATOR_CODES]
    populations["REGION"] = {y: sum(populations[c][y] for c in la_codes) for y in POPULATION_YEARS}
    annual["REGION"] = {
        y: {k: sum(annual[c][y][k] for c in la_codes) for k in nm_annual[y]} for y in DFE_YEARS
    }
    for name, (df, cols, bom) in _dfe_frames(rng_dfe, populations, annual).items():
        written.append(_write_csv(df, out_dir / "dfe" / name, cols, bom=bom))
    sn = _sn_frame(rng_dfe)
    sn_cols = ["old_la_code", "la_name", "region_ind", "region_name"]
    for rank in range(1, 11):
        sn_cols += [f"SN_{rank}", f"SN_{rank}P"]
    written.append(_write_csv(sn, out_dir / "dfe" / "sn_model_2025_wide.csv", sn_cols, bom=True))

    # Keep git from touching line endings, so a checkout stays byte-identical to the generator.
    attributes = out_dir / ".gitattributes"
    attributes.write_text("* -text\n", encoding="utf-8")
    written.append(attributes)

    readme = out_dir / "README.md"
    readme.write_text(_readme(out_dir, written, pop, outcomes, training), encoding="utf-8")
    written.append(readme)
    return sorted(written)


# ---------------------------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------------------------


def _readme(
    out_dir: Path,
    written: list[Path],
    pop: pd.DataFrame,
    outcomes: pd.DataFrame,
    training: pd.DataFrame,
) -> str:
    def rows(path: Path) -> int:
        with path.open(encoding="utf-8-sig") as fh:
            return sum(1 for _ in fh) - 1

    def count_files(folder: str, prefix: str) -> int:
        return sum(1 for p in written if p.parent.name == folder and p.name.startswith(prefix))

    total = outcomes[(outcomes["unit"] == "All") & (outcomes["age_band"] == "All")].copy()
    total["fy"] = [_fy_end(int(p[:4]), int(p[5:7])) for p in total["period_end"]]
    fy = total[total["fy"] == DFE_YEARS[-1]]
    pop_all = pop[(pop["unit"] == "All") & (pop["age_band"] == "All")].set_index("year")
    pop_prev = int(pop_all.loc[DFE_YEARS[-1] - 1, "population_0_17"])
    last_training = training[training["period_end"] == training["period_end"].max()]
    coverage = (
        last_training.groupby("unit")[["staff_trained", "staff_in_scope"]]
        .sum()
        .pipe(lambda d: d["staff_trained"] / d["staff_in_scope"])
    )

    def per10k(x: float) -> str:
        return _fmt_num(x / pop_prev * 10000, 1)

    fy_label = f"{DFE_YEARS[-1] - 1}-{str(DFE_YEARS[-1])[2:]}"
    annual_lines = []
    for col, label in (
        ("referrals", "Referrals"),
        ("rereferrals", "Re-referrals"),
        ("cla_starts", "CLA starts"),
        ("cla_ceased", "CLA ceased"),
        ("cpp_starts", "CPP starts"),
        ("cpp_repeat_starts", "CPP second or subsequent plans"),
        ("cpp_ends", "CPP ends"),
        ("fgc_held", "Family group conferences held"),
    ):
        n = int(fy[col].sum())
        annual_lines.append(f"| {label} | {n:,} | {per10k(n)} |")
    march = fy[fy["period_end"].str[5:7] == "03"].iloc[0]
    for col, label in (
        ("cla_at_period_end", "Children looked after on 31 March"),
        ("cpp_at_period_end", "Children on a CPP on 31 March"),
        ("cin_at_period_end", "Children in need on 31 March"),
    ):
        n = int(march[col])
        annual_lines.append(f"| {label} | {n:,} | {per10k(n)} |")

    wave_lines = [
        f"| {w} | {', '.join(units)} | {start.isoformat()} | {_add_months(start, 12).isoformat()} |"
        f" {_add_months(start, RAMP_MONTHS).isoformat()} |"
        for w, (start, units) in WAVES.items()
    ]
    coverage_lines = [
        f"| {u} | {wave_of(u)} | {_fmt_num(100 * coverage[u], 0)}% |" for u in LOCALITIES
    ]
    comparator_lines = [f"| {c} | {n} | {o} |" for c, (n, o) in COMPARATORS.items()]
    file_lines = []
    for p in sorted(written):
        rel = p.relative_to(out_dir).as_posix()
        if rel.startswith(("outcomes/", "training/", ".")):
            continue
        file_lines.append(f"| `{rel}` | {rows(p):,} |")
    outcome_files = count_files("outcomes", "outcomes_")
    training_files = count_files("training", "training_")
    first_q = _quarter_label(SAMPLE_START.isoformat())
    pop_first = int(pop_all.loc[POPULATION_YEARS[0], "population_0_17"])
    pop_last = int(pop_all.loc[POPULATION_YEARS[-1], "population_0_17"])
    last_q = _quarter_label(SAMPLE_END.isoformat())
    penultimate_q = _quarter_label(_add_months(SAMPLE_END.replace(day=1), -3).isoformat())

    return f"""# Sample data (synthetic)

> **EVERYTHING IN THIS FOLDER IS SYNTHETIC.** Northmoor, its localities, the comparator
> councils, the "North Fictional" region and the "England" figures are invented. No number
> here describes a real child, team, council or country. The codes (`E06999901`...,
> `E12999901`, old LA codes 981-991) were chosen not to exist. The national rows reuse
> England's real code `E92000001` only so that the DfE importer treats them as national;
> their numbers are made up.

This file is written by the generator too. Do not edit it or the CSVs by hand: change
`pipelines/sample/` and run

```
python -m pipelines.sample data/sample
```

`tests/test_sample.py` regenerates the folder and checks every file is byte-identical.

## How the data were made

- Seed `{SEED}` (numpy `default_rng`, split into independent streams per component), fixed
  column order, sorted rows, `\\n` line endings. Byte-identical on every run with the same
  numpy version (numpy may change its random algorithms between releases; if it does,
  regenerate and commit).
- Period: {SAMPLE_START.isoformat()} to {SAMPLE_END.isoformat()}. `SAMPLE_END` is the latest
  full quarter when the sample was written: a constant, never today's date.
- {PARTNERSHIP_NAME}:
  council {AREA_NAME} (`{AREA_CODE}`, old LA code {OLD_LA_CODE}),
  region {REGION_NAME} (`{REGION_CODE}`),
  six localities: {", ".join(LOCALITIES)}.
- Children aged 0-17: {pop_first:,} at mid-{POPULATION_YEARS[0]},
  {pop_last:,} at mid-{POPULATION_YEARS[-1]} (about {_POP_GROWTH:.1%} growth a year).
- Every locality x age band cell is its own monthly process, so the age band `All` rows
  (sum of the bands) and the unit `All` rows (sum of the localities) add up exactly.
  Rates vary by age band and locality (a fixed "need" factor per locality).
  - **Referrals**: Poisson, about {_REFERRAL_RATE:.0f} per 10,000 children a year,
    +{_REFERRAL_TREND:.1%} a year, dips in August and December, and a COVID-19 dip (about
    -25% April-June 2020, recovering through September 2020). **Re-referrals**:
    Binomial(referrals, {_REREFERRAL_P}).
  - **CLA starts**: Poisson, about {_CLA_START_RATE:.0f} per 10,000 a year,
    +{_CLA_TREND:.0%} a year, mild seasonality, times the planted multiplier.
    **CLA ceased**: Binomial(previous month's stock, 1/30).
    **CLA at period end**: previous stock + starts - ceased, starting near steady state.
  - **CPP starts**: Poisson, about {_CPP_START_RATE:.0f} per 10,000 a year,
    +{_CPP_TREND:.0%} a year, mild seasonality, times the planted multiplier.
    **CPP ends**: Binomial(previous stock, 1/9). **CPP repeat starts** (second or
    subsequent plan): Binomial(CPP starts, {_CPP_REPEAT_P}).
  - **CIN at period end**: Poisson around about {_CIN_RATE:.0f} per 10,000 with a slow
    six-year wave per locality.
  - **FGC held**: about {_FGC_BEFORE} a month per locality before rollout, ramping to about
    {_FGC_AFTER:.0f} a month over the {RAMP_MONTHS} months after the locality's start (a
    process measure that moves with the rollout by design).
  - Age bands: {", ".join(AGE_BANDS)}. Counts per age band are often small (1-4), which
    exercises disclosure control.
- **Training**: per locality x agency x course, staff in scope drift slightly; cumulative
  staff trained starts 2 quarters before the locality's wave start and rises along a
  logistic curve to a coverage that differs by locality, agency and course. Coverage does
  **not** change the planted effect (the effect is the same in every locality).

## Planted effects

The expected monthly count is multiplied by `1 + effect x min(1, m / {RAMP_MONTHS})` from
month `m = 0` (the locality's start month) on, and by 1 before. The full effect is reached
{RAMP_MONTHS} months (4 quarters) after the start.

| measure | effect at full ramp | applies to |
|---|---|---|
| CLA starts (`cla_starts`) | {PLANTED_EFFECTS["cla_starts"]:+.0%} | each locality, from its rollout start |
| CPP starts (`cpp_starts`) | {PLANTED_EFFECTS["cpp_starts"]:+.0%} | each locality, from its rollout start |
| CLA and CPP stocks, CLA ceased, CPP ends, repeat plans | none planted; they follow from fewer starts | - |
| Referrals, re-referrals, CIN | none (but referrals have the COVID-19 dip) | - |
| Comparator councils, region, England | none | - |

| wave | localities | start_date | complete_date | full effect from |
|---|---|---|---|---|
{chr(10).join(wave_lines)}

Training coverage (all agencies and courses) at {training["period_end"].max()}:

| locality | wave | staff trained / in scope |
|---|---|---|
{chr(10).join(coverage_lines)}

{practice.readme_section()}

## Rough annual figures (Northmoor, financial year {fy_label})

Rates per 10,000 children use the mid-{DFE_YEARS[-1] - 1} population ({pop_prev:,}).

| measure | count | per 10,000 |
|---|---|---|
{chr(10).join(annual_lines)}

## Files

| file | rows |
|---|---|
{chr(10).join(file_lines)}
| `outcomes/outcomes_YYYY-MM.csv` | {outcome_files} quarterly files, {first_q} to {penultimate_q}, monthly rows |
| `training/training_YYYY-MM.csv` | {training_files} quarterly files, {_quarter_label(TRAINING_START.isoformat())} to {penultimate_q} |

`YYYY-MM` is the quarter's last month. Outcome files hold monthly rows (`period_end` is the
month end) for each locality x age band, age band `All` and unit `All`. Training files hold
one row per locality x agency x course at the quarter end (no unit `All`: sum the localities).

## Left unloaded

`unloaded/outcomes_{last_q}.csv` and `unloaded/training_{last_q}.csv` are the last quarter
(July-September {SAMPLE_END.year}). `rp-impact build` loads everything else, so a new user
can try the Upload page (or `rp-impact ingest`) with a real-looking quarterly extract.

## DfE-format comparator data (`dfe/`)

Annual figures in the layout of DfE's published CSVs (headers copied, data invented) for
reporting years {DFE_YEARS[0]}-{DFE_YEARS[-1]} (year ending 31 March), and ONS-style mid-year
populations {POPULATION_YEARS[0]}-{POPULATION_YEARS[-1]}. Rows: National ("England",
synthetic), Regional ({REGION_NAME}: the sum of the 11 councils) and Local authority rows for
{AREA_NAME} and the comparators:

| area_code | name | old_la_code |
|---|---|---|
{chr(10).join(comparator_lines)}

- {AREA_NAME}'s figures equal what its monthly outcomes imply: CLA and CPP on 31 March are the
  March `cla_at_period_end` / `cpp_at_period_end` (unit `All`, age band `All`); starts,
  ceased, CPP starts and subsequent plans are sums over April-March; populations are
  `population.csv` (unit `All`, age band `All`).
- Comparators are simulated the same monthly way with their own rates, trends and noise and
  no effect.
- Rates per 10,000 use the previous mid-year population and are rounded half up like DfE's
  (CLA rates to whole numbers, percentages to 1 d.p.). National and regional counts are
  rounded to the nearest 10, as DfE does; local authority counts are exact.
- CPP durations (`d5`) are a random split of the 31 March count (the monthly data have no
  plan lengths); small cells are suppressed with the next smallest (`c`).
- Deliberately suppressed cells, to exercise the importer: Redmarsh 2016 is "not available"
  (`x` counts and rates, `z` CPP duration percentages); Thornwick 2019 CLA ceasing is `c`;
  Greyhaven 2018 CPP subsequent plans are `c`.
- `cla_number_and_rate_per_10k_children.csv` and `sn_model_2025_wide.csv` start with a UTF-8
  BOM, as DfE's do. `sn_model_2025_wide.csv` gives each council ten neighbours (Northmoor's are
  the ten comparators; each comparator's are the other nine and Northmoor), ranks 1-5
  "Close", 6-10 "Somewhat close"; `region_ind` 99 is fictional.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.sample",
        description="Write the deterministic synthetic sample data.",
    )
    parser.add_argument("out_dir", nargs="?", default="data/sample", type=Path)
    args = parser.parse_args(argv)
    files = generate(args.out_dir)
    print(f"wrote {len(files)} files to {args.out_dir}")
    return 0
