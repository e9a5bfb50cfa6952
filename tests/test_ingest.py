"""Ingest is atomic, idempotent, keeps revision history and an audit trail."""

from __future__ import annotations

import pytest
from faults import InjectedFault, fail_after

from pipelines.load.ingest import ingest_file, ingest_files, preview_changes
from pipelines.load.validate import validate_file

HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"
Q1 = HEADER + "2023-04-30,E06999901,All,All,12,7\n2023-05-31,E06999901,All,All,10,6\n"
Q1_REVISED = HEADER + "2023-04-30,E06999901,All,All,13,7\n2023-05-31,E06999901,All,All,10,6\n"


def test_loading_the_same_file_twice_is_a_reported_no_op(reference_wh, write_file):
    path = write_file("q1.csv", Q1)
    first = ingest_file(reference_wh, path, user="ana")
    before = reference_wh.table_checksums([*reference_wh.data_tables(), "raw_uploads"])
    second = ingest_file(reference_wh, path, user="ana")
    assert first.outcome == "loaded" and second.outcome == "no-op"
    assert "already loaded" in second.summary()
    assert second.upload_id == first.upload_id
    assert reference_wh.table_checksums([*reference_wh.data_tables(), "raw_uploads"]) == before


def test_a_revised_period_supersedes_and_keeps_history(reference_wh, write_file):
    first = ingest_file(reference_wh, write_file("q1.csv", Q1), user="ana")
    revised = ingest_file(reference_wh, write_file("q1_v2.csv", Q1_REVISED), user="ben")
    assert (revised.n_added, revised.n_revised, revised.n_unchanged) == (0, 1, 1)
    current = reference_wh.query(
        "SELECT cla_starts, upload_id FROM fct_outcomes WHERE period_end = '2023-04-30'"
    ).iloc[0]
    assert current.cla_starts == 13 and current.upload_id == revised.upload_id
    history = reference_wh.query("SELECT cla_starts, upload_id, superseded_by FROM hist_outcomes")
    assert history.to_dict("records") == [
        {"cla_starts": 12, "upload_id": first.upload_id, "superseded_by": revised.upload_id}
    ]
    assert len(reference_wh.query("SELECT * FROM mart_revisions WHERE dataset = 'outcomes'")) == 1


def test_a_file_with_fewer_columns_does_not_blank_the_others(reference_wh, write_file):
    ingest_file(reference_wh, write_file("q1.csv", Q1), user="ana")
    only_cla = "period_end,area_code,cla_starts\n2023-04-30,E06999901,15\n"
    result = ingest_file(reference_wh, write_file("cla_only.csv", only_cla), user="ana")
    assert result.n_revised == 1
    row = reference_wh.query(
        "SELECT cla_starts, cpp_starts FROM fct_outcomes WHERE period_end = '2023-04-30'"
    ).iloc[0]
    assert (row.cla_starts, row.cpp_starts) == (15, 7)


@pytest.mark.parametrize("step", ["history", "update", "insert"])
def test_a_failure_in_the_middle_of_the_merge_writes_nothing(reference_wh, write_file, step):
    ingest_file(reference_wh, write_file("q1.csv", Q1), user="ana")
    tables = [*reference_wh.data_tables(), "raw_uploads", "upload_issues"]
    before = reference_wh.table_checksums(tables)
    revised_and_new = Q1_REVISED + "2023-06-30,E06999901,All,All,9,4\n"
    with fail_after(step), pytest.raises(InjectedFault):
        ingest_file(reference_wh, write_file("q1_v2.csv", revised_and_new))
    assert reference_wh.table_checksums(tables) == before
    retry = ingest_file(reference_wh, write_file("q1_v2.csv", revised_and_new), user="ana")
    assert (retry.outcome, retry.n_added, retry.n_revised) == ("loaded", 1, 1)


def test_every_upload_is_audited_with_its_hash_and_outcome(reference_wh, write_file):
    good = ingest_file(reference_wh, write_file("good.csv", Q1), user="ana")
    bad = ingest_file(reference_wh, write_file("bad.csv", HEADER + "x,y,z\n"), user="ben")
    audit = reference_wh.query(
        "SELECT file_name, sha256, outcome, user_name, n_added, n_errors FROM raw_uploads "
        "WHERE file_name IN ('good.csv', 'bad.csv') ORDER BY upload_id"
    )
    assert audit.file_name.tolist() == ["good.csv", "bad.csv"]
    assert audit.outcome.tolist() == ["loaded", "refused"]
    assert audit.sha256.tolist() == [good.sha256, bad.sha256]
    assert len(good.sha256) == 64
    assert audit.n_added.tolist() == [2, 0]
    assert audit.n_errors.iloc[1] >= 1
    issues = reference_wh.query(
        "SELECT severity, rule FROM upload_issues WHERE upload_id = ?", [bad.upload_id]
    )
    assert set(issues.severity) == {"error"}


def test_preview_shows_what_would_be_added_and_revised(reference_wh, write_file):
    ingest_file(reference_wh, write_file("q1.csv", Q1), user="ana")
    cur = reference_wh.cursor()
    report, _ = validate_file(
        write_file("next.csv", Q1_REVISED + "2023-06-30,E06999901,All,All,9,4\n"), cur
    )
    assert report.ok
    from pipelines.contracts import OUTCOMES

    preview = preview_changes(cur, OUTCOMES)
    assert preview.change.tolist() == ["revise", "add"]
    assert preview.cla_starts_before.iloc[0] == 12 and preview.cla_starts_after.iloc[0] == 13


def test_progress_is_reported_per_file(reference_wh, write_file):
    seen = []
    paths = [write_file("a.csv", Q1), write_file("b.csv", Q1_REVISED)]
    ingest_files(reference_wh, paths, progress=lambda n, total, r: seen.append((n, total)))
    assert seen == [(1, 2), (2, 2)]


def test_the_sample_builds_clean(sample_wh):
    audit = sample_wh.query("SELECT outcome, count(*) AS n FROM raw_uploads GROUP BY outcome")
    assert set(audit.outcome) == {"loaded"}
    assert sample_wh.integrity_problems() == []
    latest = sample_wh.query("SELECT max(period_end) FROM fct_outcomes").iloc[0, 0]
    assert str(latest)[:10] == "2026-06-30", "the last quarter is left for the user to upload"


def test_the_materialised_marts_follow_every_revision_and_deletion(reference_wh, write_file):
    """int_outcome_periods is refreshed inside each ingest: it always equals a recomputation."""
    from pipelines.load.ingest import delete_upload

    ingest_file(reference_wh, write_file("q1.csv", Q1), user="ana")
    revised = ingest_file(reference_wh, write_file("q1_v2.csv", Q1_REVISED), user="ana")
    assert reference_wh.integrity_problems() == []
    quarter = reference_wh.query(
        "SELECT value FROM mart_outcome_rates WHERE grain = 'month' AND measure = 'cla_starts' "
        "AND period_end = '2023-04-30'"
    )
    assert quarter.value.tolist() == [13]
    delete_upload(reference_wh, revised.upload_id, role="admin", user="ana")
    assert reference_wh.integrity_problems() == []
    again = reference_wh.query(
        "SELECT value FROM mart_outcome_rates WHERE grain = 'month' AND measure = 'cla_starts' "
        "AND period_end = '2023-04-30'"
    )
    assert again.value.tolist() == [12]


def test_a_failure_after_the_mart_refresh_still_writes_nothing(reference_wh, write_file):
    ingest_file(reference_wh, write_file("q1.csv", Q1), user="ana")
    tables = [*reference_wh.data_tables(), "int_outcome_periods", "raw_uploads"]
    before = reference_wh.table_checksums(tables)
    with fail_after("refresh"), pytest.raises(InjectedFault):
        ingest_file(reference_wh, write_file("q1_v2.csv", Q1_REVISED))
    assert reference_wh.table_checksums(tables) == before


def test_switching_from_quarterly_to_monthly_rows_rolls_the_area_up_anew(reference_wh, write_file):
    """With only quarter-end rows an area is read as quarterly; one monthly row changes that."""
    quarterly = HEADER + "2023-03-31,E06999901,All,All,11,6\n"
    ingest_file(reference_wh, write_file("quarterly.csv", quarterly), user="ana")
    ingest_file(reference_wh, write_file("monthly.csv", Q1), user="ana")
    assert reference_wh.integrity_problems() == []
