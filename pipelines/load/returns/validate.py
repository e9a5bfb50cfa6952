"""The structural problems the aggregation depends on, each with its file, row and field.

These are not DfE's full validation rules (those are packaged as `csc-validator-be-903` and
`csc-validator-be-cin`; see docs/returns.md): they are the checks without which the counts
would be wrong. Every one is an error, so an import with any of them writes nothing:

- a code outside its collection year's list (RNE, LS, PLACE, REC, SEX), or a required code
  missing ([903] Annex A code sets, per year: `pipelines.load.returns.codes`);
- a date that is not a date (DD/MM/YYYY or YYYY-MM-DD);
- DEC before DECOM; DEC without REC, or REC without DEC;
- overlapping episodes of one child in a year's return (an episode starting before the
  previous one ended, or after an episode still open);
- a child in the episodes but not in the same year's header; a DOB after the DECOM;
- for the CIN census: a plan with no start date, or ending before it starts; an unknown
  category of abuse.

Rows are numbered as a spreadsheet shows them (the heading is row 1) and, for XML, by the line
of the element. Only a CIN category of abuse is quoted; never an identifier or a date.
Each rule lists at most `MAX_PER_RULE` rows per file, then says how many more there are.
"""

from __future__ import annotations

import pandas as pd

from pipelines.load.returns.cin import ABUSE_CATEGORIES, ReadCin
from pipelines.load.returns.ssda903 import Read903
from pipelines.load.validate import Issue

MAX_PER_RULE = 20


def _issues_for(
    frame: pd.DataFrame,
    mask: pd.Series,
    rule: str,
    field: str,
    message: str,
    hint: str,
    value_column: str | None = None,
) -> list[Issue]:
    """One issue per flagged row (at most MAX_PER_RULE per file), then a summary."""
    flagged = frame.loc[mask.fillna(False).astype(bool)]
    issues: list[Issue] = []
    for file_name, rows in flagged.groupby("file", sort=True):
        for _, row in rows.head(MAX_PER_RULE).iterrows():
            value = None if value_column is None else row.get(value_column)
            issues.append(
                Issue(
                    str(file_name),
                    int(row["row"]) if pd.notna(row["row"]) else None,
                    field,
                    None if value is None or pd.isna(value) else str(value),
                    rule,
                    "error",
                    message,
                    hint,
                )
            )
        if len(rows) > MAX_PER_RULE:
            issues.append(
                Issue(
                    str(file_name),
                    None,
                    field,
                    None,
                    rule,
                    "error",
                    f"{len(rows) - MAX_PER_RULE} more rows have the same problem: {message}",
                    hint,
                )
            )
    return issues


def _code_issues(frame: pd.DataFrame, field: str, required: bool):
    name = field.lower()
    issues = _issues_for(
        frame,
        frame[f"{name}_unknown"],
        "unknown_code",
        field,
        f"{field} is not a code of the SSDA903 for this collection year.",
        f"Use a {field} code from the DfE SSDA903 guide for the year of the return.",
    )
    if required:
        missing = frame[name].isna() & ~frame[f"{name}_unknown"]
        issues += _issues_for(
            frame,
            missing,
            "missing_code",
            field,
            f"{field} is empty.",
            f"Every episode needs a {field} code.",
        )
    return issues


def check_903(read: Read903) -> list[Issue]:
    """Structural problems of the 903 tables read (see the module docstring)."""
    issues: list[Issue] = []
    header, episodes = read.header, read.episodes
    if not len(episodes):
        if not any(i.severity == "error" for i in read.issues):
            issues.append(
                Issue(
                    None,
                    None,
                    None,
                    None,
                    "no_episodes",
                    "error",
                    "No SSDA903 episodes table was given.",
                    "Give the episodes CSV of each collection year with its header CSV.",
                )
            )
        return issues
    if len(header):
        issues += _issues_for(
            header,
            header["child_missing"],
            "child_missing",
            "CHILD",
            "CHILD is empty.",
            "Every row needs the child's identifier.",
        )
        issues += _issues_for(
            header,
            header["dob_bad"],
            "date_invalid",
            "DOB",
            "DOB is not a date.",
            "Write dates as DD/MM/YYYY.",
        )
        issues += _issues_for(
            header,
            header["dob"].isna() & ~header["dob_bad"],
            "dob_missing",
            "DOB",
            "DOB is empty.",
            "Every child needs a date of birth.",
        )
        issues += _code_issues(header, "SEX", required=False)
    issues += _issues_for(
        episodes,
        episodes["child_missing"],
        "child_missing",
        "CHILD",
        "CHILD is empty.",
        "Every episode needs the child's identifier.",
    )
    for field in ("DECOM", "DEC"):
        issues += _issues_for(
            episodes,
            episodes[f"{field.lower()}_bad"],
            "date_invalid",
            field,
            f"{field} is not a date.",
            "Write dates as DD/MM/YYYY.",
        )
    issues += _issues_for(
        episodes,
        episodes["decom"].isna() & ~episodes["decom_bad"],
        "decom_missing",
        "DECOM",
        "DECOM is empty.",
        "Every episode needs the date it started.",
    )
    for field, required in (("RNE", True), ("LS", True), ("PLACE", True), ("REC", False)):
        issues += _code_issues(episodes, field, required)
    has_dec = episodes["dec"].notna() | episodes["dec_bad"]
    has_rec = episodes["rec"].notna() | episodes["rec_unknown"]
    issues += _issues_for(
        episodes,
        has_dec & ~has_rec,
        "rec_missing",
        "REC",
        "the episode has a DEC but no REC.",
        "Give the reason the episode ceased (X1 if the next one follows).",
    )
    issues += _issues_for(
        episodes,
        has_rec & ~has_dec,
        "dec_missing",
        "DEC",
        "the episode has a REC but no DEC.",
        "Give the date the episode ceased, or leave REC empty.",
    )
    issues += _issues_for(
        episodes,
        episodes["dec"] < episodes["decom"],
        "dec_before_decom",
        "DEC",
        "DEC is before DECOM.",
        "Check both dates of the episode.",
    )
    issues += _overlaps(episodes)
    issues += _header_checks(header, episodes)
    return issues


def _overlaps(episodes: pd.DataFrame) -> list[Issue]:
    """An episode starting before the child's previous episode (same year's return) ended."""
    ordered = episodes.loc[episodes["decom"].notna()].sort_values(
        ["file", "child", "decom", "row"], kind="mergesort"
    )
    same = ordered["child"].eq(ordered["child"].shift(1)) & ordered["file"].eq(
        ordered["file"].shift(1)
    )
    prev_dec = ordered["dec"].shift(1)
    overlap = same & (prev_dec.isna() | (ordered["decom"] < prev_dec))
    return _issues_for(
        ordered,
        overlap,
        "overlapping_episodes",
        "DECOM",
        "the episode starts before the child's previous episode ended (or while it is still open).",
        "Close the earlier episode on the day this one starts, or correct DECOM.",
    )


def _header_checks(header: pd.DataFrame, episodes: pd.DataFrame) -> list[Issue]:
    issues: list[Issue] = []
    years_with_header = set(header["year"].unique()) if len(header) else set()
    for file_name, year in episodes[["file", "year"]].drop_duplicates().itertuples(index=False):
        if year not in years_with_header:
            issues.append(
                Issue(
                    file_name,
                    None,
                    None,
                    None,
                    "header_missing",
                    "error",
                    f"no header table was given for the collection year ending {year}, so "
                    "the children's ages cannot be known.",
                    "Give that year's header CSV as well.",
                )
            )
    if not len(header):
        return issues
    known = header[["year", "child", "dob"]].drop_duplicates(["year", "child"], keep="last")
    joined = episodes.merge(known, on=["year", "child"], how="left", indicator=True)
    in_header_year = joined["year"].isin(years_with_header).to_numpy()
    missing = (joined["_merge"] == "left_only").to_numpy() & in_header_year
    missing &= ~joined["child_missing"].to_numpy()
    issues += _issues_for(
        joined,
        pd.Series(missing, index=joined.index),
        "child_not_in_header",
        "CHILD",
        "the child is not in the same year's header.",
        "Add the child to the header, or correct CHILD.",
    )
    issues += _issues_for(
        joined,
        joined["dob"] > joined["decom"],
        "dob_after_decom",
        "DOB",
        "the child's DOB (in the header) is after this episode's DECOM.",
        "Check the DOB in the header and the episode's DECOM.",
    )
    return issues


def check_cin(read: ReadCin) -> list[Issue]:
    """Structural problems of the CIN census plans read (see the module docstring)."""
    plans = read.plans
    if not len(plans) and not len(read.episodes):
        if not any(i.severity == "error" for i in read.issues):
            return [
                Issue(
                    None,
                    None,
                    None,
                    None,
                    "no_children",
                    "error",
                    "No CIN census children were found.",
                    "Give the CIN census XML of each census year.",
                )
            ]
        return []
    issues = _issues_for(
        plans,
        plans["start_bad"],
        "date_invalid",
        "CPPstartDate",
        "the plan has no valid CPPstartDate.",
        "Write dates as YYYY-MM-DD.",
    )
    issues += _issues_for(
        plans,
        plans["end_bad"],
        "date_invalid",
        "CPPendDate",
        "CPPendDate is not a date.",
        "Write dates as YYYY-MM-DD.",
    )
    issues += _issues_for(
        plans,
        plans["end"] < plans["start"],
        "end_before_start",
        "CPPendDate",
        "the plan ends before it starts.",
        "Check CPPstartDate and CPPendDate.",
    )
    unknown = plans["category"].notna() & ~plans["category"].isin(ABUSE_CATEGORIES)
    issues += _issues_for(
        plans,
        unknown,
        "unknown_code",
        "LatestCategoryOfAbuse",
        "is not a category of abuse of the CIN census.",
        "Use NEG, PHY, EMO, SAB or MUL.",
        value_column="category",
    )
    episodes = read.episodes
    issues += _issues_for(
        episodes,
        episodes["referral"].isna(),
        "date_invalid",
        "CINreferralDate",
        "the CIN episode has no valid CINreferralDate.",
        "Write dates as YYYY-MM-DD.",
    )
    return issues
