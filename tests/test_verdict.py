"""The verdict: one frozen answer per outcome, graded from measured calibration, honest words."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from pipelines.analysis.plan import DEFAULT_PLAN
from pipelines.analysis.verdict import (
    Verdict,
    grade_for,
    holm,
    verdict_from_panel,
    verdict_sentence,
    verdicts_from_panels,
)
from pipelines.sample import SEED, simulate

CALIBRATED = {
    "estimates": {
        "ri_did:cla_starts": {"coverage": 0.95, "false_positive_rate": 0.04},
        "ri_did:cpp_starts": {"coverage": 0.94, "false_positive_rate": 0.05},
    }
}
BANNED = re.compile(
    r"\bcaus|\bavoided\b|\bprove[sd]?\b|[-+\u2212]0(?:\.0+)?%|\+0\b|\bsignificant", re.I
)


def _panels(seed: int, effects=None) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    sim = simulate(seed, effects)
    return {m: sim.locality_panel(m) for m in DEFAULT_PLAN.primary}, dict(sim.truth)


def test_a_verdict_is_frozen_and_complete_on_the_sample_process() -> None:
    panels, truth = _panels(SEED)
    out = verdicts_from_panels(panels, DEFAULT_PLAN, CALIBRATED, area_code="E06999901")
    assert [v.outcome for v in out] == ["cla_starts", "cpp_starts"]
    for v in out:
        assert isinstance(v, Verdict)
        with pytest.raises(dataclasses.FrozenInstanceError):
            v.grade = "high"  # type: ignore[misc]
        assert v.design == "ri_did"
        assert v.ci_lower <= truth[v.outcome] <= v.ci_upper
        assert (v.n_localities, v.n_periods) == (6, 32)
        assert v.p_adjusted >= v.p_value
        assert v.mde_percent > 0
        assert v.plan_hash == DEFAULT_PLAN.plan_hash
        assert {d.design for d in v.designs_considered} == {
            "ri_did",
            "its_pooled",
            "area_before_after",
        }
        assert v.sentence.endswith(".")
        assert not BANNED.search(v.sentence), v.sentence
        assert any("not proof" in c for c in v.caveats)


def test_grades_follow_measured_calibration_and_design() -> None:
    good = {"coverage": 0.95, "false_positive_rate": 0.05}
    assert grade_for("ri_did", good, detected=True, corroborated=False)[0] == "moderate"
    assert grade_for("ri_did", good, detected=True, corroborated=True)[0] == "high"
    assert grade_for("ri_did", good, detected=False, corroborated=False)[0] == "low"
    under = {"coverage": 0.72, "false_positive_rate": 0.05}
    grade, reason = grade_for("ri_did", under, detected=True, corroborated=True)
    assert grade == "low" and "72%" in reason
    noisy = {"coverage": 0.95, "false_positive_rate": 0.20}
    assert grade_for("ri_did", noisy, detected=True, corroborated=True)[0] == "low"
    assert grade_for("ri_did", None, detected=True, corroborated=True)[0] == "low"
    # An uncontrolled before/after is never above low, however well it is calibrated.
    assert grade_for("area_before_after", good, detected=True, corroborated=True)[0] == "low"


def test_without_calibration_every_verdict_is_low() -> None:
    panels, _ = _panels(SEED)
    assert {v.grade for v in verdicts_from_panels(panels, DEFAULT_PLAN, {})} == {"low"}


def test_holm_matches_statsmodels_and_keeps_missing() -> None:
    assert holm([0.01, 0.04, None]) == [0.02, 0.04, None]
    assert holm([0.3, 0.01]) == [0.3, 0.02]


def test_sentences_read_plainly() -> None:
    text = verdict_sentence("cla_starts", "moderate", True, 0.88, (0.79, 0.98), 15.0, 6)
    assert text == (
        "Probably fewer children starting care where Restorative Practice had started "
        "(about 12% fewer, plausible range 2% to 21% fewer)."
    )
    text = verdict_sentence("cpp_starts", "low", False, 0.97, (0.85, 1.12), 21.6, 6)
    assert text == (
        "We cannot yet tell for child protection plans (about 3% fewer, plausible range 15% "
        "fewer to 12% more; with 6 localities, only a change of about 22% or more would show)."
    )
    assert verdict_sentence("cla_starts", "low", False, None, None, None, 6).startswith(
        "We cannot yet tell"
    )


def test_no_sentence_over_many_replicates_breaks_the_wording_rules() -> None:
    for seed in range(12):
        panels, _ = _panels(900 + seed, {} if seed % 3 == 0 else None)
        for v in verdicts_from_panels(panels, DEFAULT_PLAN, CALIBRATED):
            assert not BANNED.search(v.sentence), v.sentence
            assert "to 0% " not in v.sentence and "range 0%" not in v.sentence, v.sentence
            for c in v.caveats:
                assert not re.search(r"\bcaused\b|\bavoided\b", c), c


def test_a_panel_without_rollout_dates_gives_a_plain_no_verdict() -> None:
    panels, _ = _panels(SEED)
    panel = panels["cla_starts"].assign(start_date=pd.NaT)
    v = verdict_from_panel(panel, DEFAULT_PLAN, CALIBRATED, outcome="cla_starts")
    assert v.design is None and v.grade == "low"
    assert v.sentence.startswith("We cannot yet tell for children starting care")
