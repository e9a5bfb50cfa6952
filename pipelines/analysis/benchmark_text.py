"""A benchmark's sentences: the chart title, the board's context line, ranks, synthetic control.

Pure functions of the figures :func:`pipelines.analysis.benchmarks.benchmark_analysis` has
read; each says what the comparison shows and never more ("associated", never "caused").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.present.numbers import difference_words
from pipelines.present.wording import fy_label, ordinal

#: A pre-period RMSPE up to this share of the mean is a close fit; up to the stats layer's
#: limit (10%) the comparison is usable with care.
MAX_GOOD_FIT = 0.05


def format_figure(value: float | None, unit: str, decimals: int) -> str:
    """A DfE figure as a sentence shows it: '1,234' or '12.5%'; missing -> 'no figure'."""
    if value is None or pd.isna(value):
        return "no figure"
    return f"{value:,.{decimals}f}%" if unit == "%" else f"{value:,.{decimals}f}"


def compare_word(a: float, b: float) -> str:
    """'above', 'below' or 'level with' (compare rounded figures, as the reader sees them)."""
    return "above" if a > b else "below" if a < b else "level with"


def benchmark_title(name: str, short: str, table: pd.DataFrame, decimals: int) -> str:
    """A title that states the finding: the council against its neighbours' median."""
    against, against_col = "its statistical neighbours' median", "neighbours_median"
    rows = table.dropna(subset=["council", against_col])
    if rows.empty:
        against, against_col = "England", "england"
        rows = table.dropna(subset=["council", against_col])
    if rows.empty:
        return f"{name}'s {short} over time"
    council = rows["council"].round(decimals)
    other = rows[against_col].round(decimals)
    signs = np.sign(council - other).astype(int).tolist()
    years = [fy_label(y) for y in rows["time_period"]]
    latest = signs[-1]
    start = len(signs) - 1
    while start > 0 and signs[start - 1] == latest:
        start -= 1
    word = {1: "above", -1: "below", 0: "level with"}[latest]
    if start == 0 and len(signs) > 1:
        return f"{name}'s {short} has been {word} {against} in every year since {years[0]}"
    if start < len(signs) - 1:
        return f"{name}'s {short} has stayed {word} {against} since {years[start]}"
    if latest == 0:
        text = f"{name}'s {short} was level with {against} in {years[-1]}"
        if start > 0:
            before, end = signs[start - 1], start - 1
            while end > 0 and signs[end - 1] == before:
                end -= 1
            n_before = start - end
            word = "above" if before > 0 else "below"
            text += f", after {n_before} year{'s' if n_before != 1 else ''} {word} it"
        return text
    move = "rose above" if latest > 0 else "fell below"
    return f"{name}'s {short} {move} {against} in {years[-1]}"


def context_sentence(
    name: str, short: str, table: pd.DataFrame, unit: str, decimals: int
) -> str | None:
    rows = table.dropna(subset=["council"])
    if rows.empty:
        return None
    row = rows.iloc[-1]
    value = round(float(row["council"]), decimals)
    unit_text = f" {unit}" if unit != "%" else ""
    parts = []
    for col, what in (
        ("england", "England"),
        ("region", "the region"),
        ("neighbours_median", "the neighbours' median"),
    ):
        other = row[col]
        if other is None or pd.isna(other):
            continue
        other = round(float(other), decimals)
        parts.append(
            f"{compare_word(value, other)} {what} ({format_figure(other, unit, decimals)})"
        )
    if not parts:
        return None
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"In {fy_label(row['time_period'])} {name}'s {short} "
        f"({format_figure(value, unit, decimals)}{unit_text}) was {joined}."
    )


#: England has 153 councils with children's services (DfE, 2024); a year's ranking pool of at
#: least this many is "councils in England". A smaller pool (a sample, or imported files that
#: cover a region) is only the councils in this comparison, and is never called England.
ENGLAND_POOL_MIN = 140


def rank_pool_words(n: int) -> str:
    """Who a rank among all councils is out of: "151 councils in England" for a full year of
    DfE figures, "the 11 councils in this comparison" for fewer (the imported files)."""
    n = int(n)
    if n >= ENGLAND_POOL_MIN:
        return f"{n} councils in England"
    return f"the {n} council{'s' if n != 1 else ''} in this comparison"


def rank_heading(ranks: pd.DataFrame) -> str:
    """The label over the rank among all councils: "Among all councils in England", or
    "Among the 11 councils in this comparison" when the imported files hold fewer."""
    pool = ranks.loc[ranks["scope"] == "all councils", "n"] if len(ranks) else pd.Series()
    if pool.empty or int(pool.iloc[0]) >= ENGLAND_POOL_MIN:
        return "Among all councils in England"
    return f"Among {rank_pool_words(int(pool.iloc[0]))}"


def rank_figure(ranks: pd.DataFrame, scope: str) -> str:
    """A rank as a tile shows it, under :func:`rank_heading`: "5th lowest of 11"; "No figure"
    when the council has none that year (or the scope is not in ``ranks``)."""
    rows = ranks[ranks["scope"] == scope] if len(ranks) else ranks
    if rows.empty or pd.isna(rows["rank"].iloc[0]):
        return "No figure"
    return f"{ordinal(int(rows['rank'].iloc[0]))} lowest of {int(rows['n'].iloc[0])}"


def rank_sentences(ranks: pd.DataFrame, figure_word: str) -> dict[str, str]:
    out = {}
    for row in ranks.itertuples():
        if row.rank is None or pd.isna(row.rank):
            out[row.scope] = f"No figure that year (of {row.n})"
        else:
            of = rank_pool_words(row.n) if row.scope == "all councils" else str(int(row.n))
            out[row.scope] = f"{ordinal(int(row.rank))} lowest of {of} (1 = lowest {figure_word})"
    return out


def rank_finding(name: str, year: str, ranks: pd.DataFrame, figure_word: str) -> str:
    """Where the council stood in ``year`` among all councils and among itself and its
    statistical neighbours, as one finding; "" without a rank among all councils.

    When the two pools are the same councils (the neighbour group is part of the comparison, so
    the same size means the same set, as in the synthetic sample's 11) it is said once: "5th
    lowest of the 11 councils in this comparison, which are itself and its 10 statistical
    neighbours (1 = lowest rate)"."""

    def row(scope: str):
        rows = ranks[ranks["scope"] == scope] if len(ranks) else ranks
        return None if rows.empty or pd.isna(rows["rank"].iloc[0]) else rows.iloc[0]

    every, group = row("all councils"), row("statistical neighbours")
    if every is None:
        return ""
    rank, n = int(every["rank"]), int(every["n"])
    key = f"(1 = lowest {figure_word})"
    where = f"{ordinal(rank)} lowest of {rank_pool_words(n)}"
    if group is None:
        return f"In {year} {name} was {where} {key}."
    if int(group["n"]) == n and int(group["rank"]) == rank:
        neighbours = f"{n - 1} statistical neighbour{'s' if n - 1 != 1 else ''}"
        return f"In {year} {name} was {where}, which are itself and its {neighbours} {key}."
    return (
        f"In {year} {name} was {where} and {ordinal(int(group['rank']))} lowest of "
        f"{int(group['n'])} among itself and its statistical neighbours {key}."
    )


def synth_sentences(
    result, name: str, short: str, unit: str, decimals: int
) -> tuple[str, list[str]]:
    """(verdict, findings) for a synthetic-control result that passed the fit check."""
    rel = result.pre_rmspe_relative
    before = fy_label(result.treatment_year)
    unit_text = f" {unit}" if unit != "%" else " percentage points"
    care = rel > MAX_GOOD_FIT
    verdict = (
        f"{'Usable, with care' if care else 'Good enough to use'}: before {before} the "
        f"synthetic {name} tracked the real one to within {result.pre_rmspe:.{decimals + 1}f}"
        f"{unit_text} on average, {rel:.1%} of its average (the limit is 10%"
        f"{'; under 5% is a close fit' if care else ''})."
    )
    gap = result.mean_post_gap
    n_units = result.n_donors + 1
    # A gap that rounds to zero is "less than 0.05 ... either way", never "0.0 ... above".
    size = difference_words(gap, unit_text.strip(), lower="below", higher="above")
    sentences = [
        f"From {before} on, {name}'s {short} averaged {size} its synthetic comparison (a "
        "weighted mix of statistical neighbours that tracked it before)."
        if round(abs(gap), 1)
        else f"From {before} on, {name}'s {short} was level with its synthetic comparison "
        f"(a weighted mix of statistical neighbours that tracked it before): {size}."
    ]
    if result.placebo_rank is not None:
        bigger = result.placebo_rank - 1
        test = f"placebo rank {result.placebo_rank} of {n_units}, p = {result.p_value:.2f}"
        if result.p_value is not None and result.p_value <= 0.1:
            sentences.append(
                f"No neighbour given the same test had a change as large relative to its fit "
                f"({test}): a gap this size is unusual among councils without the programme."
                if bigger == 0
                else f"Only {bigger} of {result.n_donors} neighbours had a change as large "
                f"relative to their fit ({test}): a gap this size is unusual."
            )
        else:
            sentences.append(
                f"{bigger} of {result.n_donors} neighbours had a change as large relative to "
                f"their fit without the programme ({test}), so this gap is within what happens "
                "by chance: it is not evidence of a difference."
            )
    return verdict, sentences
