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

import numpy as np
import pandas as pd

from pipelines.load.returns.cin import ABUSE_CATEGORIES, ReadCin
from pipelines.load.returns.order import in_order
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
    in_row_order: bool = False,
) -> list[Issue]:
    """One issue per flagged row (at most MAX_PER_RULE per file), then a summary.

    `in_row_order` lists each file's rows by row number (the 903 episodes are held sorted by
    child, so their flagged rows are put back in the order the file has them)."""
    flags = mask.fillna(False).to_numpy(dtype=bool)
    if not flags.any():  # the usual case, at national scale: no row is copied
        return []
    flagged = frame.loc[flags]
    if in_row_order:
        flagged = flagged.sort_values("row", kind="mergesort")
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


def _row_issues(*args, **kwargs) -> list[Issue]:
    """`_issues_for` listing each file's rows in row order (the 903 frames are held sorted)."""
    return _issues_for(*args, in_row_order=True, **kwargs)


def _code_issues(frame: pd.DataFrame, field: str, required: bool):
    name = field.lower()
    issues = _row_issues(
        frame,
        frame[f"{name}_unknown"],
        "unknown_code",
        field,
        f"{field} is not a code of the SSDA903 for this collection year.",
        f"Use a {field} code from the DfE SSDA903 guide for the year of the return.",
    )
    if required:
        missing = frame[name].isna() & ~frame[f"{name}_unknown"]
        issues += _row_issues(
            frame,
            missing,
            "missing_code",
            field,
            f"{field} is empty.",
            f"Every episode needs a {field} code.",
        )
    return issues


def _child_and_dates(frame: pd.DataFrame, rows: str, dates: tuple[str, ...], hint: str):
    """An empty CHILD; each of the `dates` fields that is not a date; and the first of them
    empty (it is required: `hint` says why)."""
    issues = _row_issues(
        frame,
        frame["child_missing"],
        "child_missing",
        "CHILD",
        "CHILD is empty.",
        f"Every {rows} needs the child's identifier.",
    )
    for field in dates:
        issues += _row_issues(
            frame,
            frame[f"{field.lower()}_bad"],
            "date_invalid",
            field,
            f"{field} is not a date.",
            "Write dates as DD/MM/YYYY.",
        )
    required = dates[0].lower()
    missing = frame[required].isna() & ~frame[f"{required}_bad"]
    issues += _row_issues(
        frame, missing, f"{required}_missing", dates[0], f"{dates[0]} is empty.", hint
    )
    return issues


def check_903(read: Read903) -> list[Issue]:
    """Structural problems of the 903 tables read (see the module docstring)."""
    issues: list[Issue] = []
    header, episodes = read.header, read.episodes
    if not len(episodes):
        if not any(i.severity == "error" for i in read.issues):
            issues.append(
                Issue.refusal(
                    None,
                    "no_episodes",
                    "No SSDA903 episodes table was given.",
                    "Give the episodes CSV of each collection year with its header CSV.",
                )
            )
        return issues
    if len(header):
        issues += _child_and_dates(header, "row", ("DOB",), "Every child needs a date of birth.")
        issues += _code_issues(header, "SEX", required=False)
    issues += _child_and_dates(
        episodes, "episode", ("DECOM", "DEC"), "Every episode needs the date it started."
    )
    for field, required in (("RNE", True), ("LS", True), ("PLACE", True), ("REC", False)):
        issues += _code_issues(episodes, field, required)
    has_dec = episodes["dec"].notna() | episodes["dec_bad"]
    has_rec = episodes["rec"].notna() | episodes["rec_unknown"]
    issues += _row_issues(
        episodes,
        has_dec & ~has_rec,
        "rec_missing",
        "REC",
        "the episode has a DEC but no REC.",
        "Give the reason the episode ceased (X1 if the next one follows).",
    )
    issues += _row_issues(
        episodes,
        has_rec & ~has_dec,
        "dec_missing",
        "DEC",
        "the episode has a REC but no DEC.",
        "Give the date the episode ceased, or leave REC empty.",
    )
    issues += _row_issues(
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
    """An episode starting before the child's previous episode (same year's return) ended.

    Episodes are taken file by file, each child's in DECOM order (ties in row order), and
    each compared with the one before. `read_903` gives each file in that order already, so
    the sort is skipped when a pass over the keys finds them in order."""
    decom = episodes["decom"].to_numpy()
    dated = np.flatnonzero(~np.isnat(decom))
    if not len(dated):
        return []
    every = len(dated) == len(decom)  # the usual case: no copy of the dated rows is needed

    def dated_rows(array: np.ndarray) -> np.ndarray:
        return array if every else array[dated]

    file_codes = dated_rows(_file_codes(episodes["file"]))
    keys = [
        dated_rows(episodes["child"].to_numpy()),
        dated_rows(decom).view("int64"),
        dated_rows(episodes["row"].to_numpy()),
    ]
    order = (
        None if _in_order_within(file_codes, keys) else np.lexsort((*reversed(keys), file_codes))
    )

    def ordered_rows(array: np.ndarray) -> np.ndarray:
        return array if order is None else array[order]

    child, codes = ordered_rows(keys[0]), ordered_rows(file_codes)
    same = np.r_[False, (child[1:] == child[:-1]) & (codes[1:] == codes[:-1])]
    prev_dec = ordered_rows(dated_rows(episodes["dec"].to_numpy()))
    prev_dec = np.r_[np.array(["NaT"], dtype=prev_dec.dtype), prev_dec[:-1]]
    overlap = same & (np.isnat(prev_dec) | (ordered_rows(dated_rows(decom)) < prev_dec))
    if not overlap.any():
        return []
    found = np.flatnonzero(overlap)
    ordered = episodes.iloc[dated[found if order is None else order[found]]]
    return _issues_for(
        ordered,
        pd.Series(True, index=ordered.index),
        "overlapping_episodes",
        "DECOM",
        "the episode starts before the child's previous episode ended (or while it is still open).",
        "Close the earlier episode on the day this one starts, or correct DECOM.",
    )


def _in_order_within(groups: np.ndarray, keys: list[np.ndarray]) -> bool:
    """Whether each group's rows are contiguous and in lexicographic order of `keys`."""
    if len(groups) < 2:
        return True
    changes = np.count_nonzero(groups[1:] != groups[:-1])
    if changes != len(pd.unique(groups)) - 1:
        return False
    return in_order(keys, ties=groups[1:] == groups[:-1])


def _header_checks(header: pd.DataFrame, episodes: pd.DataFrame) -> list[Issue]:
    issues: list[Issue] = []
    years_with_header = set(header["year"].unique()) if len(header) else set()
    for file_name, year in _file_years(episodes):
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
    missing, dob_after = _header_join(header, episodes, years_with_header)
    for flags, rule, field, message, hint in (
        (
            missing,
            "child_not_in_header",
            "CHILD",
            "the child is not in the same year's header.",
            "Add the child to the header, or correct CHILD.",
        ),
        (
            dob_after,
            "dob_after_decom",
            "DOB",
            "the child's DOB (in the header) is after this episode's DECOM.",
            "Check the DOB in the header and the episode's DECOM.",
        ),
    ):
        flagged = pd.Series(flags, index=episodes.index)
        issues += _row_issues(episodes, flagged, rule, field, message, hint)
    return issues


def _file_years(episodes: pd.DataFrame):
    """The distinct (file, year) pairs of the episodes, in the order they first appear. Each
    file's rows are together, so only the rows where the pair changes are looked at."""
    pairs = episodes[["file", "year"]]
    if len(pairs) > 1:
        files, years = _file_codes(pairs["file"]), pairs["year"].to_numpy()
        changed = (files[1:] != files[:-1]) | (years[1:] != years[:-1])
        pairs = pairs.loc[np.r_[True, changed]]
    return pairs.drop_duplicates().itertuples(index=False)


def _file_codes(files: pd.Series) -> np.ndarray:
    """An integer per file name (`read_903` holds them as a categorical: its codes)."""
    if isinstance(files.dtype, pd.CategoricalDtype):
        return files.cat.codes.to_numpy()
    return pd.factorize(files.to_numpy(), sort=True)[0]


def _header_join(header: pd.DataFrame, episodes: pd.DataFrame, years_with_header):
    """Each episode against its year's header: (not in the header, DOB after DECOM) flags in
    the episodes' order. A child twice in a year's header takes its last row's DOB. Year by
    year, the header's children are sorted once and each episode's child found by binary
    search (no merge of the wide frames)."""
    h_year, h_child, h_dob = (header[c].to_numpy() for c in ("year", "child", "dob"))
    e_year, e_child, e_decom = (episodes[c].to_numpy() for c in ("year", "child", "decom"))
    missing = np.zeros(len(episodes), dtype=bool)
    dob_after = np.zeros(len(episodes), dtype=bool)
    for year in np.unique(e_year):
        rows = np.flatnonzero(e_year == year)
        in_header = np.flatnonzero(h_year == year)
        if not len(in_header):
            missing[rows] = True
            continue
        order = in_header[np.argsort(h_child[in_header], kind="stable")]
        children = h_child[order]
        last = np.r_[children[1:] != children[:-1], True]  # a child's last row in the header
        keys, dobs = children[last], h_dob[order[last]]
        at = np.minimum(np.searchsorted(keys, e_child[rows]), len(keys) - 1)
        found = keys[at] == e_child[rows]
        missing[rows[~found]] = True
        dob = dobs[at]
        after = found & ~np.isnat(dob) & ~np.isnat(e_decom[rows])
        after[after] = dob[after] > e_decom[rows][after]
        dob_after[rows[after]] = True
    missing &= np.isin(e_year, list(years_with_header))
    missing &= ~episodes["child_missing"].to_numpy(dtype=bool)
    return missing, dob_after


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
