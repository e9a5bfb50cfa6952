"""The sample's fictional 903 and CIN census reproduce its outcomes extracts where DfE's
definitions and the aggregate sample agree (see pipelines/sample_returns.py for where not)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import config
from pipelines.load.returns import preview_903, preview_cin, read_unit_map
from pipelines.sample_returns import sample_outcomes, write_sample_returns

AREA = "E06999901"


@pytest.fixture(scope="module")
def returns(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample_returns")
    write_sample_returns(config.SAMPLE_DIR, out)
    return out


@pytest.fixture(scope="module")
def expected():
    frame = sample_outcomes(config.SAMPLE_DIR)
    frame["period_end"] = frame["period_end"].dt.strftime("%Y-%m-%d")
    return frame


def _compare(got: pd.DataFrame, expected: pd.DataFrame, measures, bands) -> None:
    key = ["period_end", "unit", "age_band"]
    want = expected.loc[expected["age_band"].isin(bands), key + list(measures)]
    have = got.loc[got["age_band"].isin(bands), key + list(measures)]
    merged = want.merge(have, on=key, how="left", suffixes=("", "_returns"))
    assert len(merged) == len(want) and merged.notna().all().all()
    for m in measures:
        wrong = merged.loc[merged[m] != merged[f"{m}_returns"], key + [m, f"{m}_returns"]]
        assert wrong.empty, f"{m}:\n{wrong.head()}"


def test_903_reproduces_the_sample_cla_counts(returns, expected):
    files = sorted(returns.glob("ssda903_*.csv"))
    last = pd.Timestamp(expected["period_end"].max()).date()
    p = preview_903(
        files,
        area_code=AREA,
        unit_map=read_unit_map(returns / "unit_map_sectors.csv"),
        period_to=last,
    )
    assert p.ok, [i.as_text() for i in p.issues[:5]]
    assert p.outcomes["period_end"].nunique() == expected["period_end"].nunique()
    _compare(p.outcomes, expected, ["cla_starts", "cla_ceased", "cla_at_period_end"], ["All"])
    bands = ["Under 1", "1-4", "5-9", "10-15", "16-17"]
    _compare(p.outcomes, expected, ["cla_starts"], bands)


def test_cin_census_reproduces_the_sample_cpp_counts(returns, expected):
    files = sorted(returns.glob("cin_census_*.xml"))
    p = preview_cin(
        files, area_code=AREA, unit_map=read_unit_map(returns / "unit_map_children.csv")
    )
    assert p.ok, [i.as_text() for i in p.issues[:5]]
    _compare(
        p.outcomes,
        expected,
        ["cpp_starts", "cpp_ends", "cpp_at_period_end", "cpp_repeat_starts"],
        ["All"],
    )
    bands = ["Under 1", "1-4", "5-9", "10-15", "16-17"]
    _compare(p.outcomes, expected, ["cpp_starts", "cpp_repeat_starts"], bands)
