"""The estimators recover the effect planted in the synthetic sample, inside their 95% intervals.

The sample (data/sample/README.md, pipelines/sample.py) multiplies each locality's expected
monthly CLA starts by ``1 - 0.15 * min(1, m/12)`` and CPP starts by ``1 - 0.20 * min(1, m/12)``
from month m = 0, its rollout month: a linear 12-month ramp to a permanent level shift. Waves
start in October 2019 (Ashby, Brookfield), April 2021 (Castleton, Dunmore) and April 2023
(Elmwood, Fairhaven). Referrals and re-referrals have no effect, only a COVID-19 dip in
referrals (April to September 2020).

Why the comparisons below are set up as they are:

- **The ramp.** A segmented model ``post + (t - t0)*post`` with the interruption at rollout
  reads the ramp as a slope change that goes on for ever and the level change as the small
  step at month 0, so neither term is the planted -15%/-20%. After month 12 the effect is a
  constant multiplier, i.e. a pure level shift on the log scale. So the ITS here puts the
  interruption at ramp completion, leaves the 12 ramp months out (as missing values: the ITS
  keeps the time index, so the trend is fitted through the gap) and fits a level change only
  (``slope_change=False``), which is the correctly specified model.
- **Before/after** compares the 4 quarters before rollout with the 4 quarters from ramp
  completion, so the "after" side carries the full effect. (The +2%/year trend adds about
  +4% over the two-year gap; the intervals are wide enough that this does not matter.)
- **Staggered DiD** (Callaway & Sant'Anna) averages every post-rollout period, ramp included,
  so its estimand is the ramp-weighted effect: we compute it from the planted multiplier for
  exactly the group-time cells the estimator used, and check the interval contains both that
  and the full effect. It runs at financial-year grain: C&S compares every post period with
  the single period before a wave starts, and with two localities per wave one noisy quarter
  shifts a whole wave. At quarterly grain the CLA-starts estimate misses (see the strict
  xfail below): that is a real limitation of the cohort view with six localities, kept here
  as documentation.
- **Pooling** stacks all six localities on months since rollout over the event-time window
  every locality covers (54 months before to 38 after), which roughly triples the numbers.

Figures on the committed sample (estimate, 95% CI), for the report:

    ITS level change, pooled:   CLA starts 0.740 (0.620-0.883), CPP starts 0.883 (0.770-1.012)
    ITS by wave (CLA / CPP):    w1 0.997 (0.779-1.276) / 0.911 (0.738-1.124)
                                w2 0.890 (0.701-1.129) / 0.846 (0.692-1.036)
                                w3 0.694 (0.546-0.881) / 0.836 (0.716-0.975)
    Before/after, pooled:       CLA starts 0.813 (0.695-0.949), CPP starts 0.843 (0.746-0.954)
    Staggered DiD, FY, vs pre-period mean: CLA -20.5% (-55.8% to +14.8%),
                                CPP -1.6% (-22.0% to +18.8%)
    2x2 wave 1 vs wave 3, after ramp: CLA -12.4% (-23.8% to -1.0%), CPP -7.6% (-21.6% to +6.4%)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import analysis, marts
from pipelines.sample import PLANTED_EFFECTS, RAMP_MONTHS, WAVES, planted_multiplier
from pipelines.stats import did_2x2, interrupted_time_series, poisson_rate_ratio_test
from pipelines.stats.before_after import before_after
from pipelines.store.warehouse import open_warehouse

AREA = "E06999901"
PLANTED = {m: 1 + e for m, e in PLANTED_EFFECTS.items()}  # rate ratios: 0.85 and 0.80
COVID = (pd.Timestamp("2020-03-01"), pd.Timestamp("2021-03-31"))


@pytest.fixture(scope="module")
def sample_wh(sample_warehouse_path):
    """The sample warehouse, opened read-only once for the module (these tests only read)."""
    with open_warehouse(sample_warehouse_path, read_only=True) as wh:
        yield wh


def wave_series(wh, measure: str, wave: int, grain: str) -> pd.DataFrame:
    """Counts and population of one wave's localities, summed per period."""
    units = list(WAVES[wave][1])
    panel = marts.outcome_panel(wh, AREA, measure, grain=grain)
    panel = panel[panel["series"].isin(units)]
    return panel.groupby("period_end", as_index=False)[["value", "population"]].sum()


def ramp_window(wave: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(WAVES[wave][0])
    return start, start + pd.DateOffset(months=RAMP_MONTHS)


def its_after_ramp(frame: pd.DataFrame, full_effect_from, blank=None):
    """Level-change ITS with the interruption at ramp completion (ramp months missing)."""
    return interrupted_time_series(
        frame,
        "period_end",
        "value",
        "population",
        intervention_date=full_effect_from,
        family="quasipoisson",
        seasonality_harmonics=1,
        season_length=12,
        slope_change=False,
    )


def blank_months(frame: pd.DataFrame, start, end) -> pd.DataFrame:
    out = frame.copy()
    out.loc[(out["period_end"] >= start) & (out["period_end"] < end), "value"] = np.nan
    return out


def pooled_event_time(wh, measure: str) -> pd.DataFrame:
    """All localities stacked on months since rollout, over the window every one covers."""
    panel = marts.event_time_panel(wh, AREA, measure, grain="month")
    lo = panel.groupby("unit")["months_since_rollout"].min().max()
    hi = panel.groupby("unit")["months_since_rollout"].max().min()
    panel = panel[panel["months_since_rollout"].between(lo, hi)]
    pooled = panel.groupby("months_since_rollout", as_index=False)[["value", "population"]].sum()
    # A stand-in calendar (one month per step) for the ITS, which wants dates.
    pooled["period_end"] = [
        pd.Timestamp("2000-01-31") + pd.offsets.MonthEnd(int(m - lo))
        for m in pooled["months_since_rollout"]
    ]
    return pooled


@pytest.mark.parametrize("measure", sorted(PLANTED))
def test_its_pooled_over_localities_recovers_the_planted_level_shift(sample_wh, measure):
    pooled = pooled_event_time(sample_wh, measure)
    ramp = pooled["months_since_rollout"].between(0, RAMP_MONTHS - 1)
    pooled.loc[ramp, "value"] = np.nan
    full = pooled.loc[pooled["months_since_rollout"] == RAMP_MONTHS, "period_end"].iloc[0]
    result = its_after_ramp(pooled, full)
    level = result.level_change
    assert level.ci_lower <= PLANTED[measure] <= level.ci_upper, level
    assert level.estimate < 1
    assert result.n_pre >= 8 and result.n_post >= 8


@pytest.mark.parametrize("wave", sorted(WAVES))
@pytest.mark.parametrize("measure", sorted(PLANTED))
def test_its_for_each_wave_contains_the_planted_effect(sample_wh, measure, wave):
    series = wave_series(sample_wh, measure, wave, "month")
    start, full = ramp_window(wave)
    result = its_after_ramp(blank_months(series, start, full), full)
    level = result.level_change
    assert level.ci_lower <= PLANTED[measure] <= level.ci_upper, level


@pytest.mark.parametrize("measure", sorted(PLANTED))
def test_ramp_included_step_at_rollout_understates_the_effect(sample_wh, measure):
    """The same pooled data with the interruption at rollout and the ramp kept: the level
    change (step at month 0) is closer to 1 than the after-ramp level change."""
    pooled = pooled_event_time(sample_wh, measure)
    at_rollout = pooled.loc[pooled["months_since_rollout"] == 0, "period_end"].iloc[0]
    naive = interrupted_time_series(
        pooled, "period_end", "value", "population", intervention_date=at_rollout,
        family="quasipoisson", seasonality_harmonics=1, season_length=12,
    )  # fmt: skip
    ramp = pooled["months_since_rollout"].between(0, RAMP_MONTHS - 1)
    full = pooled.loc[pooled["months_since_rollout"] == RAMP_MONTHS, "period_end"].iloc[0]
    after_ramp = its_after_ramp(pooled.assign(value=pooled["value"].mask(ramp)), full)
    assert naive.level_change.estimate > after_ramp.level_change.estimate


@pytest.mark.parametrize("wave", sorted(WAVES))
@pytest.mark.parametrize("measure", sorted(PLANTED))
def test_before_after_with_the_after_window_past_the_ramp(sample_wh, measure, wave):
    series = wave_series(sample_wh, measure, wave, "quarter")
    start, full = ramp_window(wave)
    without_ramp = series[~((series["period_end"] >= start) & (series["period_end"] < full))]
    result = before_after(without_ramp, "period_end", "value", "population", full, window=4)
    assert result.before_end < start and result.after_start >= full
    assert result.rate_ratio_lower <= PLANTED[measure] <= result.rate_ratio_upper


@pytest.mark.parametrize("measure", sorted(PLANTED))
def test_before_after_pooled_over_localities_recovers_and_detects_the_effect(sample_wh, measure):
    panel = marts.event_time_panel(sample_wh, AREA, measure, grain="quarter")
    q = panel["quarters_since_rollout"]
    before = panel[q.between(-4, -1)]
    after = panel[q.between(4, 7)]  # the year after the ramp completes
    ratio, lower, upper, p = poisson_rate_ratio_test(
        before["value"].sum(), before["population"].sum(),
        after["value"].sum(), after["population"].sum(),
    )  # fmt: skip
    assert lower <= PLANTED[measure] <= upper
    assert upper < 1 and p < 0.05


def expected_att(result, panel: pd.DataFrame, measure: str, grain: str) -> float:
    """The planted effect averaged over the post-rollout group-time cells the DiD used."""
    months = {"quarter": 3, "financial_year": 12}[grain]
    starts = panel.groupby("cohort")["start_date"].first()
    times = panel.groupby("time")["period_end"].first()
    effects = []
    for cell in result.group_time.itertuples():
        if cell.relative_period < 0:
            continue
        start, end = pd.Timestamp(starts[cell.cohort]), pd.Timestamp(times[cell.time])
        since = [(end.year - start.year) * 12 + end.month - start.month - k for k in range(months)]
        effects.append(np.mean(planted_multiplier(np.array(since), measure)) - 1)
    return float(np.mean(effects))


@pytest.mark.parametrize("measure", sorted(PLANTED))
def test_staggered_did_relative_att_contains_the_planted_effect(sample_wh, measure):
    cohort = analysis.cohort_analysis(sample_wh, AREA, measure, grain="financial_year")
    assert cohort.control == "not_yet_treated"
    estimate, lower, upper = cohort.relative_att
    ramp_weighted = expected_att(cohort.did, cohort.panel, measure, "financial_year")
    assert PLANTED[measure] - 1 < ramp_weighted < 0
    assert lower <= ramp_weighted <= upper
    assert lower <= PLANTED[measure] - 1 <= upper


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Known limitation: at quarterly grain the CLA-starts simple ATT is -35% of the "
        "pre-period mean (95% CI -54% to -15%) against a ramp-weighted planted -12%. C&S "
        "anchors each wave on the quarter before it starts, two localities per wave make that "
        "quarter noisy, and few-cluster standard errors are too small. Strict: if this starts "
        "passing (new sample or a better estimator), remove the xfail."
    ),
)
def test_quarterly_staggered_did_on_cla_starts_contains_the_planted_effect(sample_wh):
    cohort = analysis.cohort_analysis(sample_wh, AREA, "cla_starts", grain="quarter")
    _, lower, upper = cohort.relative_att
    assert lower <= expected_att(cohort.did, cohort.panel, "cla_starts", "quarter") <= upper


@pytest.mark.parametrize("measure", sorted(PLANTED))
def test_two_by_two_first_against_last_wave_after_the_ramp(sample_wh, measure):
    panel = analysis.unit_panel(sample_wh, AREA, measure, "quarter")
    first_start, full = ramp_window(1)
    last_start = pd.Timestamp(WAVES[3][0])
    data = panel[panel["wave"].isin([1, 3]) & (panel["period_end"] < last_start)]
    data = data[~((data["period_end"] >= first_start) & (data["period_end"] < full))].copy()
    data["treated"] = (data["wave"] == 1).astype(int)
    data["post"] = (data["period_end"] >= full).astype(int)
    result = did_2x2(data, "treated", "post", "rate_per_10k", "unit")
    base = result.means.loc[1, 0]
    lower, upper = result.estimate.ci_lower / base, result.estimate.ci_upper / base
    assert lower <= PLANTED[measure] - 1 <= upper
    assert result.estimate.estimate < 0


# --- measures without a planted effect ---------------------------------------------------------


@pytest.mark.parametrize("wave", sorted(WAVES))
@pytest.mark.parametrize("measure", ["referrals", "rereferrals"])
def test_no_change_in_unaffected_measures_once_covid_months_are_left_out(sample_wh, measure, wave):
    series = wave_series(sample_wh, measure, wave, "month")
    start, full = ramp_window(wave)
    series = blank_months(blank_months(series, start, full), COVID[0], COVID[1])
    level = its_after_ramp(series, full).level_change
    assert level.ci_lower <= 1 <= level.ci_upper, level


@pytest.mark.parametrize("measure", ["referrals", "rereferrals"])
def test_no_change_before_after_for_the_wave_clear_of_covid(sample_wh, measure):
    series = wave_series(sample_wh, measure, 3, "quarter")
    start, full = ramp_window(3)
    series = series[~((series["period_end"] >= start) & (series["period_end"] < full))]
    result = before_after(series, "period_end", "value", "population", full, window=4)
    assert result.before_start > COVID[1]
    assert not any("COVID" in w for w in result.warnings)
    assert result.rate_ratio_lower <= 1 <= result.rate_ratio_upper


def test_a_comparison_spanning_the_covid_dip_shows_a_spurious_rise_in_referrals(sample_wh):
    """Why the comparisons above avoid COVID: wave 2's 'before' year (mid-2020 to March 2021)
    holds the referral dip, so referrals look about 11% higher after rollout, and the
    before/after result warns about COVID-19."""
    series = wave_series(sample_wh, "referrals", 2, "quarter")
    start, full = ramp_window(2)
    series = series[~((series["period_end"] >= start) & (series["period_end"] < full))]
    result = before_after(series, "period_end", "value", "population", full, window=4)
    assert result.rate_ratio_lower > 1
    assert any("COVID" in w for w in result.warnings)
