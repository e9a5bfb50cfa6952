"""One practice estimate, one sentence: the Practice page's headline, the Board tile and the
report's section 5 print the same words and the same grade (issue 18)."""

from __future__ import annotations

from pipelines.analysis.practice import practice_verdict
from pipelines.present.practice import practice_view
from pipelines.present.practice_summary import practice_summary

AREA = "E06999901"
MEASURES = ("good_or_better", "statement:I was listened to")


def test_the_page_headline_is_the_tiles_sentence_with_practice_verdicts_grade(sample_wh):
    summary = practice_summary(sample_wh, AREA)
    figures = {f.key: f for f in summary.figures}
    for key in MEASURES:
        view = practice_view(sample_wh, AREA, key)
        figure = figures[key]
        assert view.headline == figure.sentence, key
        verdict = practice_verdict(sample_wh, AREA, key)
        assert figure.grade == verdict.grade == "low"
        assert figure.grade_label == "Low confidence"
        assert figure.grade_reason.lower() == verdict.grade_reason[len("Low: ") :].lower()
        assert figure.sentence.endswith(f"Low confidence: {figure.grade_reason}")
        # the planted rise is shown, with an interval above 0
        assert figure.change_lower > 0.05
