"""Deterministic synthetic sample data for rp-impact, and an in-memory simulator of it.

Run ``python -m pipelines.sample data/sample`` (or call :func:`generate`) to (re)write the
whole sample folder. Everything is synthetic: a fictional partnership ("Northmoor"), six
fictional localities, ten fictional comparator councils and fictional England and regional
figures. A known effect is planted in CLA starts and CPP starts after each locality's
Restorative Practice rollout, so the estimators can be checked against it.
:func:`simulate` draws the same process with any seed and any effect, in memory, for the
calibration harness (``benchmarks/calibrate.py``).

Reproducibility: one fixed seed (:data:`SEED`), numpy ``default_rng``, a constant end date
(:data:`SAMPLE_END`, never today's date), sorted rows, fixed column order, ``\\n`` line
endings. Two runs give byte-identical files (for a given numpy version: numpy may change
the algorithms behind its random distributions between releases).

Modules: :mod:`~pipelines.sample.params` (constants and parameters),
:mod:`~pipelines.sample.dates`, :mod:`~pipelines.sample.process` (the data process),
:mod:`~pipelines.sample.dfe_files`, :mod:`~pipelines.sample.write` (files and README),
:mod:`~pipelines.sample.simulate`. ``PLANTED_EFFECTS`` is read from this package at call time,
so setting it here switches the file generator's effect.
"""

from importlib import import_module

# The submodules, in the order a name is looked for (the parameters first: the others import
# from them, so a shared name is the same object wherever it is found).
_SUBMODULES = ("params", "dates", "process", "dfe_files", "simulate", "write")


def _lookup(name: str):
    if name.startswith("__"):  # a module's own dunders (``__annotations__``) are not shared
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for part in _SUBMODULES:
        namespace = vars(import_module(f"{__name__}.{part}"))
        if name in namespace:
            return namespace[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __getattr__(name: str):
    """Any submodule name, private parameters included, as ``pipelines.sample.<name>``.

    ``benchmarks/generate.py`` and the tests read the private parameters through the package;
    resolving them here spares restating every submodule's names in this file (PEP 562).
    """
    return _lookup(name)


__all__ = [
    "AGENCIES",
    "AGE_BANDS",
    "AREA_CODE",
    "AREA_NAME",
    "COMPARATORS",
    "COMPARATOR_CODES",
    "COUNTRY_CODE",
    "COUNTRY_NAME",
    "COURSES",
    "COVID_REFERRAL_FACTORS",
    "DFE_CLA_TYPES",
    "DFE_YEARS",
    "LOCALITIES",
    "OLD_LA_CODE",
    "OUTCOME_COLUMNS",
    "OUTCOME_MEASURES",
    "OutcomeArrays",
    "PARTNERSHIP_NAME",
    "PLANTED_EFFECTS",
    "POPULATION_YEARS",
    "PROGRAMME",
    "RAMP_MONTHS",
    "REGION_CODE",
    "REGION_NAME",
    "SAMPLE_END",
    "SAMPLE_START",
    "SEED",
    "SimulatedPanel",
    "TRAINING_COLUMNS",
    "TRAINING_START",
    "WAVES",
    "current_planted_effects",
    "generate",
    "main",
    "planted_multiplier",
    "rollout_start",
    "simulate",
    "wave_of",
]

# The public names are bound eagerly, so they are real package attributes: the ``simulate``
# function (not its submodule), and ``PLANTED_EFFECTS`` as the one switch the file generator
# reads at call time (tests turn the effect off by setting it here).
globals().update({name: _lookup(name) for name in __all__})
