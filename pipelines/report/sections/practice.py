"""Section 5, working with families (issue 18): the Board tile's two figures in the same words
(`pipelines.present.practice_summary`), then the change since rollout in audits graded good or
outstanding by locality and wave, and its Laney p′ chart, both through the Practice page's gate
(`pipelines.present.practice.practice_view`), so the report hides what the dashboard hides."""

from __future__ import annotations

from typing import Any

from pipelines.present import practice as present_practice
from pipelines.present.practice_summary import PracticeSummary
from pipelines.report.tables import Block, Builder, num

#: The measure the section's charts show: audits graded good or outstanding.
CHART_MEASURE = "good_or_better"


def practice_section(
    b: Builder, summary: PracticeSummary | None
) -> tuple[list[Block], dict[str, Any]]:
    """The section's blocks, in the report's order, and the numbers they show."""
    intro = Block("practice-brief", "In brief")
    if summary is None:
        intro.paragraphs.append(
            "No case-file audits or family feedback are loaded for this area, so there is "
            "nothing yet to say about working with families."
        )
        return [intro], {}
    intro.paragraphs.append(
        "Are we working with families? Two figures from the Board summary's tile, each over the "
        "latest four quarters loaded (as on the Board, so they may run past 31 March), with the "
        "change since Restorative Practice started (every locality pooled: the quarters before "
        "its start against those from a year after it)."
    )
    intro.paragraphs.extend(summary.sentences)
    intro.bullets = list(dict.fromkeys([*summary.caveats, *_small_notes(summary)]))
    numbers = {
        "practice": {
            f.key: {
                "share": num(f.proportion),
                "lower": num(f.lower),
                "upper": num(f.upper),
                "change": num(f.change),
                "change_lower": num(f.change_lower),
                "change_upper": num(f.change_upper),
                "sentence": f.sentence,
            }
            for f in summary.figures
        }
    }
    if CHART_MEASURE not in {f.key for f in summary.figures}:
        return [intro], numbers
    view = present_practice.practice_view(b.wh, b.area, CHART_MEASURE)
    return [intro, _change_block(b, view), _pprime_block(b, view)], numbers


def _small_notes(summary: PracticeSummary) -> list[str]:
    return [c for f in summary.figures if f.small_sample for c in f.caveats[:1]]


def _change_block(b: Builder, view) -> Block:
    block = Block("practice-change", "Audits graded good or outstanding: change since rollout")
    if not view.has_change:
        block.paragraphs.append(
            "There are not yet quarters on both sides of the rollout (or the counts are too "
            "small to show) to measure a change."
        )
        return block
    block.paragraphs.append(
        "Each locality's share before its start against its share from a year after it, then "
        "each wave and every locality pooled (the pooled change is the one in the sentence "
        "above). Localities that started later had fewer quarters after, so wider intervals."
    )
    block.charts.append(
        b.chart(
            view.change_figure(),
            "practice-change",
            view.change_title,
            "Change in the share of audits graded good or outstanding, in percentage points, "
            "for each locality, each wave and all units pooled, with Newcombe 95% intervals. "
            "A locality, wave or pool whose counts would show 1 to "
            f"{b.threshold} audits is left out. Associated with the rollout: no comparison "
            "group.",
            view.change_table(),
            "Audits graded good or outstanding: change since rollout by locality and wave",
            count_columns=["before_asked", "after_asked"],
        )
    )
    return block


def _pprime_block(b: Builder, view) -> Block:
    block = Block("practice-pprime", "Audits graded good or outstanding, quarter by quarter")
    block.charts.append(
        b.chart(
            view.pprime_figure(),
            "practice-pprime",
            view.chart_title,
            "Each quarter's share of audits graded good or outstanding with its Wilson 95% "
            "interval, the centre line and Laney p′ process limits (wider where a quarter had "
            "fewer audits), rebased at the rollout. Quarters that would show a count of 1 to "
            f"{b.threshold} are gaps.",
            view.points_table(),
            "Audits graded good or outstanding: quarterly shares and p′ limits",
            count_columns=["yes", "asked"],
        )
    )
    block.bullets = list(view.small_sample_notes)
    return block
