"""The Data pages' tables as people read them: names beside codes, rules in words, dates in
one style.

The marts give codes (``E06999901``, ``jump_over_50pct``, ``dfe:cla_number_and_rate``); the
Upload and Data quality pages show each beside or instead of its plain-English name, built
here once so the pages stay thin. Counts stay numbers (the page formats them with thousands
separators), so a column still sorts as numbers.
"""

from __future__ import annotations

import pandas as pd

from pipelines.contracts import CONTRACTS
from pipelines.load.row_rules import split_place
from pipelines.measures import MEASURES

#: Each rule code any contract lists, with the sentence the contract states it in.
RULE_TEXT: dict[str, str] = {
    rule.code: rule.description for contract in CONTRACTS.values() for rule in contract.rules
}
SEVERITY_TEXT = {"error": "Error (file refused)", "warning": "Warning"}


def rule_words(code: str | None) -> str:
    """``jump_over_50pct`` -> "No count changes by more than 50% quarter on quarter."; a code
    no contract lists reads as words ("some_rule" -> "Some rule")."""
    if code is None or (not isinstance(code, str) and pd.isna(code)) or code == "":
        return ""
    if code in RULE_TEXT:
        return RULE_TEXT[code]
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def dataset_words(dataset: str | None) -> str:
    """``outcomes`` -> "Outcomes"; ``dfe:cla_number_and_rate`` -> "DfE: cla number and rate"."""
    if dataset is None or (not isinstance(dataset, str) and pd.isna(dataset)):
        return ""
    text = str(dataset)
    if text.startswith("dfe:"):
        return "DfE: " + text.removeprefix("dfe:").replace("_", " ")
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def _with_name(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``frame`` with ``area_name`` beside ``area_code`` (the code where no name is known)."""
    out = frame.copy()
    codes = out["area_code"].astype(str)
    out.insert(
        out.columns.get_loc("area_code") + 1,
        "area_name",
        [names.get(code, code) for code in codes],
    )
    return out


def area_names(areas: pd.DataFrame) -> dict[str, str]:
    """``marts.areas`` as code -> name."""
    if areas is None or areas.empty:
        return {}
    return dict(zip(areas["area_code"].astype(str), areas["area_name"].astype(str), strict=False))


def coverage_table(coverage: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``marts.coverage_summary`` for the Data quality page: the area's name beside its code
    and each measure by its label; counts kept as integers."""
    out = _with_name(coverage, names)
    out["measure"] = out["measure"].map(lambda m: MEASURES[m].label if m in MEASURES else m)
    for column in ("periods", "units", "age_bands", "values_present", "suppressed"):
        if column in out:
            out[column] = out[column].astype("Int64")
    return out


def with_place_columns(frame: pd.DataFrame, message_col: str) -> pd.DataFrame:
    """``frame`` with the unit, age band and period each message names moved out of the
    message into columns of their own (``unit``, ``age_band``, ``period``) just before it, so
    a reader sees where the problem is even when the message is cut short by its column."""
    out = frame.copy()
    split = [split_place(str(m)) if isinstance(m, str) else (m, {}) for m in out[message_col]]
    out[message_col] = [text for text, _ in split]
    at = out.columns.get_loc(message_col)
    for offset, key in enumerate(("unit", "age_band", "period")):
        out.insert(at + offset, key, [place.get(key, "") for _, place in split])
    return out


def validation_report_table(issues: pd.DataFrame) -> pd.DataFrame:
    """The Upload page's validation report (``dashboard.data.issues_table``), with the place
    of each problem in columns of its own before the problem (:func:`with_place_columns`)."""
    if issues.empty or "problem" not in issues:
        return issues
    out = with_place_columns(issues, "problem")
    if "severity" in out:
        out["severity"] = out["severity"].map(lambda s: SEVERITY_TEXT.get(s, s))
    return out


def upload_issues_table(issues: pd.DataFrame) -> pd.DataFrame:
    """``marts.upload_issues`` for the Data quality page: the rule in words instead of its code,
    the severity in words, the unit, age band and period the message names in columns of
    their own before it; the hint as it was recorded."""
    out = issues.copy()
    if "rule" in out:
        out["rule"] = out["rule"].map(rule_words)
    if "severity" in out:
        out["severity"] = out["severity"].map(lambda s: SEVERITY_TEXT.get(s, s))
    if "message" in out and len(out):
        out = with_place_columns(out, "message")
    if "rule" in out:  # the rule last: the place, the problem and the fix come first
        out = out[[c for c in out.columns if c != "rule"] + ["rule"]]
    return out


def upload_history_table(history: pd.DataFrame) -> pd.DataFrame:
    """``marts.uploads`` for the Upload page: less what is long or internal (the unchanged-row
    count, the SHA-256 fingerprint, the message), the dataset and outcome in words."""
    out = history.drop(
        columns=[c for c in ("n_unchanged", "sha256", "message") if c in history]
    ).copy()
    if "dataset" in out:
        out["dataset"] = out["dataset"].map(dataset_words)
    if "outcome" in out:
        out["outcome"] = out["outcome"].map(
            lambda o: o[:1].upper() + o[1:] if isinstance(o, str) else o
        )
    return out
