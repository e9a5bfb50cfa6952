"""Pure statistics for rp-impact: rates, SPC, before/after, ITS, DiD, synthetic control,
dose-response, cost avoidance, and plain-English findings.

Every function takes pandas objects or numbers and returns a frozen dataclass (or a
DataFrame); bad input raises :class:`StatsInputError` with a plain-English message. The
public names are re-exported here, so notebooks and the report can write::

    from pipelines.stats import interrupted_time_series, xmr, Finding
    from pipelines.stats.before_after import before_after  # these two share a module's name
    from pipelines.stats.dose_response import dose_response

Names are loaded lazily (PEP 562), so ``import pipelines.stats.rates`` stays cheap and the
heavier modules (statsmodels, pysyncon) load only when one of their names is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, tuple[str, ...]] = {
    "errors": ("StatsInputError",),
    "rates": ("rate_ci", "proportion_ci"),
    "spc": ("XmrLimits", "XmrResult", "xmr", "xmr_limits", "variation_icon", "assurance_icon"),
    # The functions before_after and dose_response share their names with their modules, so
    # the package attributes are the modules: import those two functions from their modules.
    "before_after": ("BeforeAfterResult", "poisson_rate_ratio_test"),
    "its": ("ITSEffect", "ITSResult", "interrupted_time_series"),
    "did": (
        "DiDEstimate",
        "StaggeredDiDResult",
        "DiD2x2Result",
        "staggered_did",
        "did_2x2",
        "period_index",
        "period_label",
    ),
    "synth": ("SyntheticControlResult", "synthetic_control"),
    "randomisation": (
        "RandomisationDiDResult",
        "randomisation_did",
        "minimum_detectable_effect",
        "detection_power",
    ),
    "covid": ("COVID_START", "COVID_END", "covid_label"),
    "dose_response": ("DoseResponseResult", "build_dose_response_table"),
    "cost": (
        "CostAvoidanceResult",
        "cost_avoidance",
        "child_years_from_monthly_stock",
        "DEFAULT_UNIT_COST_PER_CHILD_YEAR",
    ),
    "findings": (
        "Finding",
        "CONFIDENCE_RULE",
        "BANNED_PHRASES",
        "grade_confidence",
        "from_before_after",
        "from_its",
        "from_staggered_did",
        "from_did_2x2",
        "from_dose_response",
        "from_cost_avoidance",
        "from_spc",
        "banned_phrases_in",
        "sort_findings",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pipelines.stats' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"pipelines.stats.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from pipelines.stats.before_after import (  # noqa: F401
        BeforeAfterResult,
        poisson_rate_ratio_test,
    )
    from pipelines.stats.cost import (  # noqa: F401
        DEFAULT_UNIT_COST_PER_CHILD_YEAR,
        CostAvoidanceResult,
        child_years_from_monthly_stock,
        cost_avoidance,
    )
    from pipelines.stats.did import (  # noqa: F401
        DiD2x2Result,
        DiDEstimate,
        StaggeredDiDResult,
        did_2x2,
        period_index,
        period_label,
        staggered_did,
    )
    from pipelines.stats.dose_response import (  # noqa: F401
        DoseResponseResult,
        build_dose_response_table,
    )
    from pipelines.stats.errors import StatsInputError  # noqa: F401
    from pipelines.stats.findings import (  # noqa: F401
        BANNED_PHRASES,
        CONFIDENCE_RULE,
        Finding,
        banned_phrases_in,
        from_before_after,
        from_cost_avoidance,
        from_did_2x2,
        from_dose_response,
        from_its,
        from_spc,
        from_staggered_did,
        grade_confidence,
        sort_findings,
    )
    from pipelines.stats.its import ITSEffect, ITSResult, interrupted_time_series  # noqa: F401
    from pipelines.stats.rates import proportion_ci, rate_ci  # noqa: F401
    from pipelines.stats.spc import (  # noqa: F401
        XmrLimits,
        XmrResult,
        assurance_icon,
        variation_icon,
        xmr,
        xmr_limits,
    )
    from pipelines.stats.synth import SyntheticControlResult, synthetic_control  # noqa: F401
