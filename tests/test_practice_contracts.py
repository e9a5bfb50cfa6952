"""The practice evidence's contracts and rules: framework, audits, family feedback, FGCs.

One section per rule (`pipelines.load.practice_rules`), each with a file that breaks it and the
sentence it gets, then the sample's files loading cleanly and the guard refusing comments.
"""

from __future__ import annotations

import pytest

from pipelines.contracts import CONTRACTS, LOAD_ORDER, template_csv
from pipelines.contracts_practice import (
    AUDIT_GRADES,
    DEFAULT_PRINCIPLES,
    DEFAULT_STATEMENTS,
    PRACTICE_DATASETS,
)
from pipelines.load.ingest import ingest_file
from pipelines.sample import practice
from pipelines.store.warehouse import Warehouse

AREA = "E06999901"


def _issues(result, rule: str):
    return [i for i in result.issues if i.rule == rule]


def _load(wh, write_file, name: str, text: str):
    return ingest_file(wh, write_file(name, text), user="test")


def _audit_rows(*rows: str) -> str:
    return "period_end,area_code,unit,judgement,audits_completed,audits_judged\n" + "\n".join(rows)


def _feedback_rows(*rows: str) -> str:
    header = "period_end,area_code,unit,respondent,statement,responses,agreed\n"
    return header + "\n".join(rows)


FGC_HEADER = (
    "period_end,area_code,unit,fgc_offered,fgc_held,family_plan_agreed,children_in_fgcs,"
    "children_followed_6m,in_network_6m,children_followed_12m,in_network_12m\n"
)


# --- the contracts ---------------------------------------------------------------------------


def test_the_practice_datasets_are_registered_and_load_after_the_reference_data():
    for dataset in PRACTICE_DATASETS:
        assert dataset in CONTRACTS
        assert LOAD_ORDER.index(dataset) > LOAD_ORDER.index("rollout")
    assert LOAD_ORDER.index("practice_framework") < LOAD_ORDER.index("practice_audit")


@pytest.mark.parametrize("dataset", PRACTICE_DATASETS)
def test_each_template_loads_as_its_own_dataset(reference_wh, write_file, dataset):
    result = _load(reference_wh, write_file, f"{dataset}.csv", template_csv(dataset))
    assert result.outcome == "loaded", [i.message for i in result.issues]
    assert result.dataset == dataset


# --- practice_framework: kind_unknown --------------------------------------------------------


def test_a_framework_kind_other_than_principle_or_statement_is_refused(reference_wh, write_file):
    result = _load(
        reference_wh,
        write_file,
        "framework.csv",
        f"area_code,kind,name,position\n{AREA},principle,Relational,1\n{AREA},value,Honest,2\n",
    )
    assert result.refused
    (issue,) = _issues(result, "kind_unknown")
    assert (issue.row, issue.column) == (3, "kind")


# --- practice_audit: judgement_unknown -------------------------------------------------------


def test_a_misspelt_principle_is_refused_with_the_name_it_probably_means(reference_wh, write_file):
    result = _load(
        reference_wh,
        write_file,
        "audit.csv",
        _audit_rows(f"2024-06-30,{AREA},Ashby,Relationel,12,5"),
    )
    (issue,) = _issues(result, "judgement_unknown")
    assert issue.row == 2 and issue.column == "judgement"
    assert "Did you mean Relational?" in issue.message
    assert all(name in issue.hint for name in (*AUDIT_GRADES, *DEFAULT_PRINCIPLES))


def test_a_councils_own_framework_replaces_the_five_rs(reference_wh, write_file):
    framework = (
        f"area_code,kind,name,position\n{AREA},principle,Curious,1\n{AREA},principle,Honest,2\n"
    )
    assert _load(reference_wh, write_file, "framework.csv", framework).outcome == "loaded"
    own = _load(
        reference_wh, write_file, "own.csv", _audit_rows(f"2024-06-30,{AREA},Ashby,Curious,12,5")
    )
    assert own.outcome == "loaded", [i.message for i in own.issues]
    default = _load(
        reference_wh,
        write_file,
        "default.csv",
        _audit_rows(f"2024-09-30,{AREA},Ashby,Relational,12,5"),
    )
    (issue,) = _issues(default, "judgement_unknown")
    assert "Curious; Honest" in issue.hint and "Relational" not in issue.hint


# --- practice_audit: judged_above_completed --------------------------------------------------


def test_more_audits_judged_than_completed_is_refused(reference_wh, write_file):
    result = _load(
        reference_wh, write_file, "audit.csv", _audit_rows(f"2024-06-30,{AREA},Ashby,Good,12,13")
    )
    (issue,) = _issues(result, "judged_above_completed")
    assert issue.column == "audits_judged" and "13 against 12" in issue.message


# --- practice_audit: completed_differs -------------------------------------------------------


def test_audits_completed_must_be_one_figure_per_period_and_unit(reference_wh, write_file):
    result = _load(
        reference_wh,
        write_file,
        "audit.csv",
        _audit_rows(
            f"2024-06-30,{AREA},Ashby,Good,12,5",
            f"2024-06-30,{AREA},Ashby,Respect,11,5",
            f"2024-06-30,{AREA},Brookfield,Good,9,5",
        ),
    )
    (issue,) = _issues(result, "completed_differs")
    assert issue.row == 3 and "(12 audits)" in issue.message


# --- practice_audit: grades_not_total --------------------------------------------------------


def test_grades_that_do_not_add_up_to_the_audits_get_a_warning_not_a_refusal(
    reference_wh, write_file
):
    grades = [5, 4, 2, 0]  # 11 of 12 audits graded
    rows = [
        f"2024-06-30,{AREA},Ashby,{grade},12,{n}"
        for grade, n in zip(AUDIT_GRADES, grades, strict=True)
    ]
    result = _load(reference_wh, write_file, "audit.csv", _audit_rows(*rows))
    assert result.outcome == "loaded"
    (issue,) = _issues(result, "grades_not_total")
    assert issue.severity == "warning"
    assert "add up to 11, not the 12 audits" in issue.message and "30 June 2024" in issue.message


# --- family_feedback: statement_unknown, respondent_unknown, agreed_above_responses -----------


def test_a_statement_outside_the_framework_is_refused(reference_wh, write_file):
    text = _feedback_rows(f"2024-06-30,{AREA},Ashby,Parent or carer,I was listened,20,15")
    (issue,) = _issues(_load(reference_wh, write_file, "fb.csv", text), "statement_unknown")
    assert "Did you mean I was listened to?" in issue.message
    assert all(s in issue.hint for s in DEFAULT_STATEMENTS)


def test_an_unknown_respondent_group_is_refused(reference_wh, write_file):
    text = _feedback_rows(f"2024-06-30,{AREA},Ashby,Grandparent,I was listened to,20,15")
    (issue,) = _issues(_load(reference_wh, write_file, "fb.csv", text), "respondent_unknown")
    assert "Parent or carer; Child or young person; All" in issue.hint
    assert "framework" not in issue.hint


def test_more_agreeing_than_answering_is_refused(reference_wh, write_file):
    text = _feedback_rows(f"2024-06-30,{AREA},Ashby,All,I was listened to,20,21")
    (issue,) = _issues(_load(reference_wh, write_file, "fb.csv", text), "agreed_above_responses")
    assert "21 against 20" in issue.message


def test_a_comments_column_is_refused_by_the_guard_without_showing_a_word(reference_wh, write_file):
    text = (
        "period_end,area_code,unit,respondent,statement,responses,agreed,Comments\n"
        f"2024-06-30,{AREA},Ashby,All,I was listened to,20,15,Ms Jones was kind\n"
    )
    result = _load(reference_wh, write_file, "fb.csv", text)
    assert result.refused
    (issue,) = _issues(result, "free_text")
    assert issue.column == "Comments" and issue.value is None
    assert "Jones" not in issue.message + (issue.hint or "")


# --- fgc_outcomes: fgc_not_nested ------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ("6,7,3,7,,,,", "fgc_held"),
        ("6,4,5,7,,,,", "family_plan_agreed"),
        ("6,4,3,7,8,6,,", "children_followed_6m"),
        ("6,4,3,7,7,8,,", "in_network_6m"),
        ("6,4,3,7,7,6,7,8", "in_network_12m"),
    ],
)
def test_each_fgc_count_is_within_the_one_it_is_part_of(reference_wh, write_file, values, column):
    result = _load(
        reference_wh, write_file, "fgc.csv", FGC_HEADER + f"2024-06-30,{AREA},Ashby,{values}\n"
    )
    (issue,) = _issues(result, "fgc_not_nested")
    assert issue.column == column


def test_follow_up_left_empty_is_stored_as_not_known(reference_wh, write_file):
    result = _load(
        reference_wh, write_file, "fgc.csv", FGC_HEADER + f"2024-06-30,{AREA},Ashby,6,4,3,7,,,,\n"
    )
    assert result.outcome == "loaded"
    row = reference_wh.query(
        "SELECT in_network_6m, children_followed_12m FROM fct_fgc_outcomes"
    ).iloc[0]
    assert row.isna().all()


# --- the sample's practice files -------------------------------------------------------------


def test_the_sample_practice_files_load_without_an_error(reference_wh, write_file):
    frames = practice.as_contract_frames(practice.simulate_practice())
    for dataset, frame in frames.items():
        result = _load(reference_wh, write_file, f"{dataset}.csv", frame.to_csv(index=False))
        assert result.outcome == "loaded", [i.message for i in result.errors][:3]
        assert result.n_added == len(frame)


# --- migration 7: a warehouse from before the practice evidence ------------------------------


def test_a_warehouse_from_before_the_practice_evidence_gains_its_tables(empty_wh):
    from pipelines.contracts_practice import PRACTICE_CONTRACTS
    from pipelines.store.warehouse import schema_version_target

    cur = empty_wh.cursor()
    for contract in PRACTICE_CONTRACTS:
        cur.execute(f"DROP TABLE {contract.table}")
        cur.execute(f"DROP TABLE {contract.history_table}")
    cur.execute("DELETE FROM meta_schema_version WHERE version >= 7")
    assert empty_wh.schema_version() == 6
    path = empty_wh.path
    empty_wh.close()
    reopened = Warehouse(path)
    try:
        assert reopened.schema_version() == schema_version_target()
        tables = set(reopened.data_tables())
        assert {c.table for c in PRACTICE_CONTRACTS} <= tables
    finally:
        reopened.close()
