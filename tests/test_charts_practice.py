"""Practice charts: the p′ chart and the change chart, and the gate in front of both."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.present.charts import practice as charts
from pipelines.stats.pprime import pprime


def _chart_of(successes, trials):
    frame = pd.DataFrame(
        {
            "period_end": pd.date_range("2022-06-30", periods=len(trials), freq="QE"),
            "x": successes,
            "n": trials,
        }
    )
    return pprime(frame, "period_end", "x", "n")


# --- gated_points ----------------------------------------------------------------------------


def test_a_quarter_is_blanked_when_agreeing_not_agreeing_or_asked_is_1_to_4():
    chart = _chart_of([3, 40, 38, 50, 2], [60, 43, 80, 100, 4])
    gated = charts.gated_points(chart.points)
    # 3 agreed; 3 did not (40 of 43); 50 of 100 is fine; 2 of 4 asked.
    assert gated["proportion"].isna().tolist() == [True, True, False, False, True]
    assert gated.loc[0, ["ci_lower", "ci_upper", "upper", "lower"]].isna().all()


def test_zero_is_not_a_small_count():
    gated = charts.gated_points(_chart_of([0, 40, 30], [50, 60, 70]).points)
    assert not np.isnan(gated.loc[0, "proportion"])


# --- pprime_chart ----------------------------------------------------------------------------


def test_the_chart_has_limits_centre_and_points_with_intervals():
    chart = _chart_of([30, 35, 40, 38, 45, 50], [60, 70, 80, 75, 80, 90])
    fig = charts.pprime_chart(chart, title="t", source="s", rollout_date="2023-01-01")
    names = [t.name for t in fig.data]
    assert names == [
        "Process limits (p′)",
        "Process limits (p′)",
        "Centre line",
        "Quarter (95% interval)",
    ]
    points = fig.data[-1]
    assert points.error_y.array is not None
    assert max(points.y) <= 100


def test_a_blanked_quarter_has_no_point_and_no_hover():
    chart = _chart_of([3, 40, 38, 50], [60, 70, 80, 100])
    fig = charts.pprime_chart(chart, title="t", source="s")
    assert np.isnan(fig.data[-1].y[0])


# --- change_chart ----------------------------------------------------------------------------


def _change_table():
    return pd.DataFrame(
        {
            "group": ["Ashby", "Brookfield", "All units"],
            "before_successes": [3.0, 40.0, 43.0],
            "before_trials": [20.0, 80.0, 100.0],
            "after_successes": [30.0, 60.0, 90.0],
            "after_trials": [40.0, 90.0, 130.0],
            "before": [0.15, 0.5, 0.43],
            "after": [0.75, 0.67, 0.69],
            "change": [0.6, 0.17, 0.26],
            "change_lower": [0.4, 0.02, 0.13],
            "change_upper": [0.75, 0.31, 0.38],
        }
    )


def test_the_change_chart_leaves_out_a_group_whose_counts_are_small():
    fig = charts.change_chart(_change_table(), title="t", source="s")
    assert list(fig.data[0].y) == ["All units", "Brookfield"]
