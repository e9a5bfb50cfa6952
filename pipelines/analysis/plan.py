"""The per-council analysis plan: what the board is told about, fixed before the answer is seen.

A pre-specified plan is what makes a verdict defensible: the primary outcomes, the design
and the COVID-19 window are chosen once, dated and hashed, so a later reader can check that
the outcome reported is the one planned (the rationale of SPIRIT 2013, Chan et al., BMJ
2013;346:e7586, item 12, and of the UK Government Analysis Function's "Quality Assurance of
Code for Analysis and Research" on pre-registered analyses).

Defaults (:data:`DEFAULT_PLAN`): primary outcomes are the rates of CLA starts and CPP starts,
because flows can move with practice while stocks lag and are autocorrelated; secondary are
the stocks, re-referrals and repeat plans; everything else is exploratory. The COVID-19
window is :mod:`pipelines.stats.covid`'s.

A council's plan comes from ``config/analysis_plan.toml`` (or ``$RP_IMPACT_ANALYSIS_PLAN``)::

    [default]                     # every council unless overridden
    fixed_on = 2026-10-01
    primary = ["cla_starts", "cpp_starts"]

    [area.E06999901]              # one council's own choices
    secondary = ["cla_at_period_end"]
    covid_start = 2020-03-01
    covid_end = 2021-03-31

The hash (:attr:`AnalysisPlan.plan_hash`) is the SHA-256 of the plan's canonical JSON
(sorted keys, no ``fixed_on``), so it changes exactly when a choice changes.
:func:`plan_change` compares a plan with the last one recorded for the area and returns the
row to record (the warehouse table ``meta_analysis_plan``, `pipelines/store/sql/meta_analysis_plan.sql`;
:func:`pipelines.load.plan_record.record_plan` writes it, :func:`plan_history` reads it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.config import PROJECT_ROOT
from pipelines.measures import MEASURES
from pipelines.stats.covid import COVID_END, COVID_START

PLAN_FILE = PROJECT_ROOT / "config" / "analysis_plan.toml"
PLAN_ENV = "RP_IMPACT_ANALYSIS_PLAN"

_CHOICES = (
    "primary",
    "secondary",
    "covid_start",
    "covid_end",
    "grain",
    "confidence",
    "multiple_testing",
    "preferred_design",
)


@dataclass(frozen=True)
class AnalysisPlan:
    """The choices that decide a verdict, fixed on ``fixed_on``.

    ``primary``: measure names the board is told about (one verdict each, Holm-corrected
    across them); ``secondary``: reported, labelled secondary; the rest are exploratory.
    ``covid_start``/``covid_end``: the one COVID-19 window. ``grain``: the panel's period.
    ``preferred_design``: the design a verdict rests on when it can run.
    """

    primary: tuple[str, ...] = ("cla_starts", "cpp_starts")
    secondary: tuple[str, ...] = (
        "cla_at_period_end",
        "cpp_at_period_end",
        "rereferrals",
        "cpp_repeat_starts",
    )
    covid_start: pd.Timestamp = COVID_START
    covid_end: pd.Timestamp = COVID_END
    grain: str = "quarter"
    confidence: float = 0.95
    multiple_testing: str = "holm"
    preferred_design: str = "ri_did"
    fixed_on: dt.date = dt.date(2026, 10, 1)
    source: str = field(default="the shipped default plan", compare=False)

    def role(self, measure: str) -> str:
        """'primary', 'secondary' or 'exploratory'."""
        if measure in self.primary:
            return "primary"
        return "secondary" if measure in self.secondary else "exploratory"

    def canonical(self) -> str:
        """The choices as canonical JSON (sorted keys, ISO dates): what the hash covers."""
        values: dict[str, Any] = {}
        for name in _CHOICES:
            value = getattr(self, name)
            if isinstance(value, pd.Timestamp | dt.date):
                value = pd.Timestamp(value).date().isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            values[name] = value
        return json.dumps(values, sort_keys=True, separators=(",", ":"))

    @property
    def plan_hash(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits, as shown beside the plan."""
        return self.plan_hash[:12]

    def describe(self) -> str:
        """One line for the dashboard and the report."""
        return (
            f"Analysis plan fixed on {self.fixed_on:%-d %B %Y} (reference {self.short_hash}): "
            f"the primary outcomes are {_labels(self.primary)}; COVID-19 period "
            f"{self.covid_start:%B %Y} to {self.covid_end:%B %Y}."
        )


DEFAULT_PLAN = AnalysisPlan()


def _labels(names: tuple[str, ...]) -> str:
    """Measure names as a reader knows them ("Children starting to be looked after")."""
    words = [MEASURES[n].label if n in MEASURES else n for n in names]
    words = [w[:1].lower() + w[1:] for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _coerce(key: str, value: Any) -> Any:
    if key in ("primary", "secondary"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"'{key}' in the analysis plan must be a list of measure names.")
        return tuple(value)
    if key in ("covid_start", "covid_end"):
        return pd.Timestamp(value)
    if key == "fixed_on":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if key == "confidence":
        return float(value)
    return value


def plan_from_mapping(
    settings: Mapping[str, Any], area_code: str | None, source: str
) -> AnalysisPlan:
    """The plan for ``area_code`` from a parsed plan file (``[default]`` then ``[area.CODE]``)."""
    plan = DEFAULT_PLAN
    layers = [settings.get("default", {})]
    if area_code:
        layers.append(settings.get("area", {}).get(area_code, {}))
    for layer in layers:
        unknown = set(layer) - set(_CHOICES) - {"fixed_on"}
        if unknown:
            raise ValueError(
                f"Unknown setting(s) in the analysis plan: {', '.join(sorted(unknown))}."
            )
        plan = replace(plan, **{k: _coerce(k, v) for k, v in layer.items()})
    if plan.covid_start > plan.covid_end:
        raise ValueError("The analysis plan's COVID-19 window ends before it starts.")
    if not plan.primary:
        raise ValueError("The analysis plan names no primary outcome.")
    return replace(plan, source=source)


def plan_path() -> Path:
    """$RP_IMPACT_ANALYSIS_PLAN, else config/analysis_plan.toml."""
    configured = os.environ.get(PLAN_ENV)
    return Path(configured).expanduser() if configured else PLAN_FILE


def load_plan(area_code: str | None = None, path: Path | None = None) -> AnalysisPlan:
    """The plan in force for an area: the plan file's, or the shipped default without one."""
    path = plan_path() if path is None else Path(path)
    if not path.is_file():
        return DEFAULT_PLAN
    with path.open("rb") as fh:
        settings = tomllib.load(fh)
    return plan_from_mapping(settings, area_code, source=str(path))


def plan_change(
    plan: AnalysisPlan, last_recorded: Mapping[str, Any] | None, area_code: str, user: str
) -> dict[str, Any] | None:
    """The ``meta_analysis_plan`` row to record, or None when the plan is unchanged.

    ``last_recorded``: the area's latest row (``plan_hash``, ``plan_json``) or None.
    The ``change`` column lists the choices that differ, so the history reads plainly.
    """
    if last_recorded is not None and last_recorded.get("plan_hash") == plan.plan_hash:
        return None
    if last_recorded is None:
        change = "first plan"
    else:
        before = json.loads(last_recorded["plan_json"])
        after = json.loads(plan.canonical())
        changed = [k for k in sorted(after) if before.get(k) != after[k]]
        change = "changed: " + ", ".join(
            f"{k} from {before.get(k)!r} to {after[k]!r}" for k in changed
        )
    return {
        "area_code": area_code,
        "plan_hash": plan.plan_hash,
        "plan_json": plan.canonical(),
        "fixed_on": plan.fixed_on,
        "recorded_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "recorded_by": user,
        "change": change,
    }


@dataclass(frozen=True)
class PlanVersion:
    """One recorded version of an area's plan (a row of ``meta_analysis_plan``)."""

    plan_hash: str
    fixed_on: dt.date
    recorded_at: dt.datetime
    recorded_by: str
    change: str

    @property
    def short_hash(self) -> str:
        return self.plan_hash[:12]


@dataclass(frozen=True)
class PlanStatus:
    """The plan in force for an area and what the warehouse recorded of it."""

    plan: AnalysisPlan
    history: tuple[PlanVersion, ...]

    @property
    def recorded(self) -> bool:
        """Whether the plan in force is the latest one the warehouse recorded."""
        return bool(self.history) and self.history[-1].plan_hash == self.plan.plan_hash

    def lines(self) -> list[str]:
        """The plan line, then one line per later change and any unrecorded difference."""
        out = [self.plan.describe()]
        for version in self.history[1:]:
            out.append(
                f"Plan changed on {version.recorded_at:%-d %B %Y} by {version.recorded_by} "
                f"(reference {version.short_hash}): {version.change.removeprefix('changed: ')}."
            )
        if self.history and not self.recorded:
            out.append(
                "The plan file now differs from the plan last recorded on "
                f"{self.history[-1].recorded_at:%-d %B %Y} (reference "
                f"{self.history[-1].short_hash}); the change is recorded at the next upload "
                "or with `rp-impact plan --record`."
            )
        elif not self.history:
            out.append(
                "This plan is not yet recorded in the warehouse; it is recorded at the next "
                "upload or with `rp-impact plan --record`."
            )
        return out


def plan_history(wh: Any, area_code: str, plan: AnalysisPlan | None = None) -> PlanStatus:
    """The plan in force for ``area_code`` with its recorded versions, oldest first.

    ``wh`` is a :class:`pipelines.store.warehouse.Warehouse` (or a read-once view of one).
    """
    plan = load_plan(area_code) if plan is None else plan
    try:
        rows = wh.query(
            "SELECT plan_hash, fixed_on, recorded_at, recorded_by, change FROM meta_analysis_plan "
            "WHERE area_code = ? ORDER BY recorded_at",
            [area_code],
        )
    except duckdb.CatalogException:  # a warehouse opened read-only before migration 6 ran
        return PlanStatus(plan=plan, history=())
    history = tuple(
        PlanVersion(
            plan_hash=r.plan_hash,
            fixed_on=pd.Timestamp(r.fixed_on).date(),
            recorded_at=pd.Timestamp(r.recorded_at).to_pydatetime(),
            recorded_by=r.recorded_by,
            change=r.change,
        )
        for r in rows.itertuples(index=False)
    )
    return PlanStatus(plan=plan, history=history)
