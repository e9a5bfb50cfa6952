"""The statutory returns' measures are in the one vocabulary and the outcomes contract."""

from __future__ import annotations

from pipelines import measures
from pipelines.contracts import OUTCOMES, RETURN_MEASURES, contracts_markdown, template_csv
from pipelines.load.returns.new_measures import NEW_MEASURES
from pipelines.measures import MEASURES, STOCK_MEASURES, YEAR_END_MEASURES

EXPECTED_IMPROVEMENT = {
    "cla_reentry_starts": "decrease",
    "cla_3plus_placements": "decrease",
    "cla_long_term_eligible": "neutral",
    "cla_long_term_stable": "increase",
    "cpp_repeat_2y_starts": "decrease",
    "cpp_ends_2y_plus": "neutral",
}


def test_every_new_measure_is_in_the_vocabulary_and_the_contract():
    names = [m.name for m in NEW_MEASURES]
    assert names == [c.name for c in RETURN_MEASURES]
    assert set(names) <= set(MEASURES)
    assert set(names) <= set(OUTCOMES.value_columns)
    assert set(MEASURES) == set(OUTCOMES.value_columns)
    for name in names:
        column = OUTCOMES.column(name)
        assert column.kind == "count" and not column.required
        assert name in OUTCOMES.nullable_value_columns


def test_improvement_and_short_labels():
    for name, direction in EXPECTED_IMPROVEMENT.items():
        m = measures.measure(name)
        assert m.improvement == direction, name
        assert 0 < len(m.short) <= 16, name
        assert m.label and m.label != m.short


def test_sources_and_descriptions_agree_with_the_returns_definitions():
    for new in NEW_MEASURES:
        column = OUTCOMES.column(new.name)
        assert column.source == new.source
        assert column.description.startswith(new.description.rstrip("."))


def test_year_end_measures_say_so_and_are_stocks():
    year_end = {m.name for m in NEW_MEASURES if m.at_year_end}
    assert year_end == set(YEAR_END_MEASURES)
    assert set(YEAR_END_MEASURES) <= set(STOCK_MEASURES)
    for name in MEASURES:
        column = OUTCOMES.column(name)
        says_year_end = "31 March only" in column.description
        assert says_year_end == (name in year_end), name
        assert MEASURES[name].is_year_end == (name in year_end)
        if name in year_end:
            # A count of looked-after children: not meaningful per 10,000 children.
            assert "not a rate" in column.description
            assert "not a rate" in MEASURES[name].label


def test_the_contract_docs_list_each_new_measure_with_its_source():
    text = contracts_markdown()
    rows = {
        line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")
    }
    for new in NEW_MEASURES:
        row = rows[f"`{new.name}`"]
        assert f"Source: {new.source}." in row
    # Columns without a source are documented as before.
    assert "Source:" not in rows["`cla_starts`"]


def test_the_template_leaves_year_end_measures_not_applicable_at_a_june_period_end():
    header, example = template_csv("outcomes").splitlines()
    cells = dict(zip(header.split(","), example.split(","), strict=True))
    assert cells["period_end"].endswith("-06-30")
    for name in YEAR_END_MEASURES:
        assert cells[name] == "z"
    assert cells["cla_reentry_starts"].isdigit()
