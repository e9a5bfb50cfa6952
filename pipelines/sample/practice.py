"""Fictional practice evidence for Northmoor: case-file audits, family feedback and FGCs.

Restorative Practice claims to change how practitioners work before it changes how many
children come into care, so the sample plants a change in the mechanism too. Each locality's
audits, feedback and Family Group Conferences (FGCs) improve from its own rollout date,
ramping in linearly over :data:`RAMP_MONTHS` months as the outcomes' planted effect does
(`pipelines.sample.process.planted_multiplier`). The planted changes are in
:data:`PLANTED_PRACTICE` (percentage points at full effect) and documented in
``data/sample/README.md``; tests and the calibration harness check that the analysis recovers
them.

Two features make the data honest rather than easy:

- **small samples**: a locality audits about 12 cases and hears from about 25 families a
  quarter, and holds a handful of FGCs, so single quarters are noisy and many cells are 1-4
  (the disclosure gate must handle them);
- **between-quarter variation**: each quarter's true rate is drawn around its expected value
  (a beta draw with concentration :data:`CONCENTRATION`), as real audit samples and survey
  responders vary, so a plain p chart would over-signal and the Laney p′ chart is needed.

The generator uses its own random stream (:data:`PRACTICE_SEED`), so adding it changes none of
the existing sample files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipelines.contracts_practice import AUDIT_GRADES, DEFAULT_PRINCIPLES
from pipelines.contracts_practice import DEFAULT_STATEMENTS as STATEMENT_TEXTS
from pipelines.contracts_practice import RESPONDENTS as RESPONDENT_NAMES
from pipelines.sample.dates import _months_since, rollout_start
from pipelines.sample.params import AREA_CODE, LOCALITIES, RAMP_MONTHS, SAMPLE_END

PRACTICE_SEED = 20191002
#: The first quarter of audits and feedback: six quarters before the first wave.
PRACTICE_START = date(2018, 6, 30)
#: Beta concentration of each quarter's true rate around its expected value.
CONCENTRATION = 150.0

#: Each survey statement's short key (its column in the simulated frame) and its text.
DEFAULT_STATEMENTS = dict(
    zip(("listened_to", "understood", "involved", "respected"), STATEMENT_TEXTS, strict=True)
)
#: Simulated respondent keys and the contract's names for them.
RESPONDENTS = dict(zip(("parent_carer", "child_young_person"), RESPONDENT_NAMES, strict=True))

#: Expected share before rollout.
BASELINE = {
    "good_or_better": 0.45,
    "principle:Relational": 0.50,
    "principle:Respect": 0.60,
    "principle:Responsibility": 0.45,
    "principle:Resilience": 0.40,
    "principle:Reflective": 0.50,
    "agree:listened_to": 0.62,
    "agree:understood": 0.55,
    "agree:involved": 0.48,
    "agree:respected": 0.75,
    "fgc_held": 0.60,
    "plan_agreed": 0.80,
    "in_network_6m": 0.70,
    "in_network_12m": 0.62,
}
#: Planted change at full effect, in percentage points of the share (0.20 = +20 points).
PLANTED_PRACTICE = {
    "good_or_better": 0.20,
    "principle:Relational": 0.25,
    "principle:Respect": 0.15,
    "principle:Responsibility": 0.20,
    "principle:Resilience": 0.10,
    "principle:Reflective": 0.15,
    "agree:listened_to": 0.15,
    "agree:understood": 0.10,
    "agree:involved": 0.20,
    "agree:respected": 0.05,
    "fgc_held": 0.15,
    "plan_agreed": 0.0,
    "in_network_6m": 0.10,
    "in_network_12m": 0.10,
    # Not a share: FGCs offered grow by this proportion at full effect (+50%).
    "fgc_offered": 0.5,
}
#: Expected counts per locality per quarter.
AUDITS_PER_QUARTER = 12.0
RESPONSES_PER_QUARTER = 25.0
CHILD_RESPONDENT_SHARE = 0.3
FGC_OFFERED_BEFORE = 4.0
CHILDREN_PER_FGC = 1.8


@dataclass(frozen=True)
class PracticeSample:
    """The three fictional datasets, one row per quarter and locality (feedback also per
    respondent group)."""

    practice_audit: pd.DataFrame
    family_feedback: pd.DataFrame
    fgc_outcomes: pd.DataFrame


def quarter_ends(start: date = PRACTICE_START, end: date = SAMPLE_END) -> list[date]:
    """Every quarter end from ``start`` to ``end``."""
    return [d.date() for d in pd.date_range(start, end, freq="QE")]


@functools.cache
def ramp(unit: str, quarter_end: date) -> float:
    """The share of the planted change reached by ``quarter_end`` in ``unit``: 0 before its
    rollout, rising linearly to 1 over :data:`RAMP_MONTHS` months (the quarter's middle month
    counts)."""
    months = _months_since(quarter_end.year, quarter_end.month - 1, rollout_start(unit))
    return float(np.clip(months / RAMP_MONTHS, 0.0, 1.0)) if months >= 0 else 0.0


def expected_share(measure: str, unit: str, quarter_end: date, effects=None) -> float:
    """Expected share of ``measure`` (a key of :data:`BASELINE`) in a quarter."""
    effects = PLANTED_PRACTICE if effects is None else effects
    return BASELINE[measure] + effects.get(measure, 0.0) * ramp(unit, quarter_end)


def _draw_share(rng: np.random.Generator, expected: float) -> float:
    """This quarter's true share: a beta draw around the expected share."""
    return float(rng.beta(expected * CONCENTRATION, (1 - expected) * CONCENTRATION))


def _audit_row(rng, unit: str, quarter: date, effects) -> dict:
    audits = int(rng.poisson(AUDITS_PER_QUARTER))
    good_or_better = int(
        rng.binomial(
            audits, _draw_share(rng, expected_share("good_or_better", unit, quarter, effects))
        )
    )
    outstanding = int(rng.binomial(good_or_better, 0.2))
    inadequate = int(rng.binomial(audits - good_or_better, 0.25 * (1 - ramp(unit, quarter) / 2)))
    row = {
        "period_end": quarter.isoformat(),
        "area_code": AREA_CODE,
        "unit": unit,
        "audits_completed": audits,
        "graded_outstanding": outstanding,
        "graded_good": good_or_better - outstanding,
        "graded_requires_improvement": audits - good_or_better - inadequate,
        "graded_inadequate": inadequate,
    }
    for principle in DEFAULT_PRINCIPLES:
        share = _draw_share(rng, expected_share(f"principle:{principle}", unit, quarter, effects))
        row[f"meets_{principle.lower()}"] = int(rng.binomial(audits, share))
    return row


def _feedback_rows(rng, unit: str, quarter: date, effects) -> list[dict]:
    rows = []
    for respondent in RESPONDENTS:
        share_of_responses = (
            CHILD_RESPONDENT_SHARE
            if respondent == "child_young_person"
            else 1 - CHILD_RESPONDENT_SHARE
        )
        responses = int(rng.poisson(RESPONSES_PER_QUARTER * share_of_responses))
        row = {
            "period_end": quarter.isoformat(),
            "area_code": AREA_CODE,
            "unit": unit,
            "respondent": respondent,
            "responses": responses,
        }
        for key in DEFAULT_STATEMENTS:
            share = _draw_share(rng, expected_share(f"agree:{key}", unit, quarter, effects))
            row[f"agree_{key}"] = int(rng.binomial(responses, share))
        rows.append(row)
    return rows


def _fgc_row(rng, unit: str, quarter: date, effects) -> dict:
    growth = 1 + effects.get("fgc_offered", 0.0) * ramp(unit, quarter)
    offered = int(rng.poisson(FGC_OFFERED_BEFORE * growth))
    held = int(
        rng.binomial(offered, _draw_share(rng, expected_share("fgc_held", unit, quarter, effects)))
    )
    plan = int(
        rng.binomial(held, _draw_share(rng, expected_share("plan_agreed", unit, quarter, effects)))
    )
    children = int(rng.binomial(max(held, 0) * 3, CHILDREN_PER_FGC / 3)) if held else 0
    row = {
        "period_end": quarter.isoformat(),
        "area_code": AREA_CODE,
        "unit": unit,
        "fgc_offered": offered,
        "fgc_held": held,
        "family_plan_agreed": plan,
        "children_in_fgcs": children,
    }
    # Follow-up is only known once 6 (12) months have passed since the quarter's conferences.
    for months in (6, 12):
        followed_known = _follow_up_known(quarter, months)
        share = _draw_share(rng, expected_share(f"in_network_{months}m", unit, quarter, effects))
        row[f"children_followed_{months}m"] = children if followed_known else None
        row[f"in_network_{months}m"] = (
            int(rng.binomial(children, share)) if followed_known else None
        )
    return row


@functools.cache
def _follow_up_known(quarter: date, months: int) -> bool:
    return (pd.Timestamp(quarter) + pd.DateOffset(months=months)).date() <= SAMPLE_END


def simulate_practice(seed: int = PRACTICE_SEED, effects=None) -> PracticeSample:
    """The three practice datasets for Northmoor's six localities, every quarter from
    :data:`PRACTICE_START` to the sample's end. ``effects`` overrides
    :data:`PLANTED_PRACTICE` (an empty dict plants nothing)."""
    effects = PLANTED_PRACTICE if effects is None else effects
    rng = np.random.default_rng(seed)
    audits, feedback, fgcs = [], [], []
    for quarter in quarter_ends():
        for unit in LOCALITIES:
            audits.append(_audit_row(rng, unit, quarter, effects))
            feedback.extend(_feedback_rows(rng, unit, quarter, effects))
            fgcs.append(_fgc_row(rng, unit, quarter, effects))
    return PracticeSample(
        practice_audit=pd.DataFrame(audits),
        family_feedback=pd.DataFrame(feedback),
        fgc_outcomes=pd.DataFrame(fgcs).astype(
            {
                c: "Int64"
                for c in (
                    "children_followed_6m",
                    "in_network_6m",
                    "children_followed_12m",
                    "in_network_12m",
                )
            }
        ),
    )


_GRADE_COLUMNS = dict(
    zip(
        AUDIT_GRADES,
        (
            "graded_outstanding",
            "graded_good",
            "graded_requires_improvement",
            "graded_inadequate",
        ),
        strict=True,
    )
)


def as_contract_frames(sample: PracticeSample) -> dict[str, pd.DataFrame]:
    """The simulated datasets in the shape of their contracts (`pipelines.contracts_practice`):
    one row per judgement for audits and per statement for feedback."""
    keys = ["period_end", "area_code", "unit"]
    audit = sample.practice_audit
    judged = {**_GRADE_COLUMNS, **{p: f"meets_{p.lower()}" for p in DEFAULT_PRINCIPLES}}
    audit_long = pd.concat(
        [
            audit[[*keys, "audits_completed"]].assign(judgement=name, audits_judged=audit[column])
            for name, column in judged.items()
        ]
    )
    feedback = sample.family_feedback
    feedback_long = pd.concat(
        [
            feedback[[*keys, "responses"]].assign(
                respondent=feedback["respondent"].map(RESPONDENTS),
                statement=text,
                agreed=feedback[f"agree_{key}"],
            )
            for key, text in DEFAULT_STATEMENTS.items()
        ]
    )
    order = {"judgement": list(judged), "statement": list(DEFAULT_STATEMENTS.values())}
    return {
        "practice_audit": _sorted(audit_long, keys, "judgement", order["judgement"])[
            [*keys, "judgement", "audits_completed", "audits_judged"]
        ],
        "family_feedback": _sorted(
            feedback_long, [*keys, "respondent"], "statement", order["statement"]
        )[[*keys, "respondent", "statement", "responses", "agreed"]],
        "fgc_outcomes": sample.fgc_outcomes,
    }


def _sorted(frame: pd.DataFrame, keys: list[str], item: str, order: list[str]) -> pd.DataFrame:
    rank = frame[item].map({name: i for i, name in enumerate(order)})
    return (
        frame.assign(_rank=rank)
        .sort_values([*keys, "_rank"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def readme_section() -> str:
    """The sample README's section on the practice evidence and what was planted in it."""
    rows = [
        f"| `{key}` | {BASELINE[key]:.0%} | {PLANTED_PRACTICE[key] * 100:+.0f} points |"
        for key in BASELINE
    ]
    return "\n".join(
        [
            "## Practice evidence (planted)",
            "",
            "`practice_audit.csv`, `family_feedback.csv` and `fgc_outcomes.csv` hold fictional "
            f"quarterly case-file audits (about {AUDITS_PER_QUARTER:.0f} a quarter per "
            f"locality, judged against Devon's Five Rs), family feedback (about "
            f"{RESPONSES_PER_QUARTER:.0f} responses a quarter per locality, "
            f"{CHILD_RESPONDENT_SHARE:.0%} from children and young people) and Family Group "
            f"Conferences, from {PRACTICE_START:%-d %B %Y} (`pipelines.sample.practice`, its own "
            f"random stream, seed {PRACTICE_SEED}). Each quarter's true share is drawn around "
            f"its expected value (beta, concentration {CONCENTRATION:.0f}), so quarters vary "
            "more than sampling alone would make them.",
            "",
            "Each locality's expected share moves from its baseline by the planted change, "
            f"ramping in linearly over the {RAMP_MONTHS} months from its own rollout start. FGCs "
            f"offered also grow by {PLANTED_PRACTICE['fgc_offered']:.0%} at full effect. "
            "Follow-up at 6 and 12 months is left empty until that time has passed.",
            "",
            "| share | before rollout | planted change at full effect |",
            "|---|---|---|",
            *rows,
        ]
    )
