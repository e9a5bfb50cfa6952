"""Undoing DfE imports (issue 14): a backup before each import, `delete-upload` for a DfE
upload (the figures it replaced, and earlier releases, are current again), and re-importing the
original file after an edited copy applies its figures again.

Small hand-made DfE-format files (tests/data/dfe_fixtures); the test marked `dfe` uses the real
releases in ../shared/data/dfe, read in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.load import dfe
from pipelines.load.ingest import delete_upload
from pipelines.store import backup
from pipelines.store.warehouse import open_warehouse

FIXTURES = Path(__file__).parent / "data" / "dfe_fixtures"
CLA_2025 = FIXTURES / "cla_release2025_tiny.csv"
CLA_2023 = FIXTURES / "cla_release2023_tiny.csv"
NEIGHBOURS = FIXTURES / "sn_model_2025_tiny.csv"
LEEDS_2025 = "383,Leeds,E08000035,Children looked after on 31 March each year,20000,180,90"
DFE_TABLES = ["dfe_figures", "dfe_figures_history", "dfe_neighbours", "dfe_areas", "dfe_area_codes"]


@pytest.fixture
def wh(tmp_path):
    warehouse = open_warehouse(tmp_path / "warehouse.duckdb")
    yield warehouse
    warehouse.close()


def current(wh, area="383", measure="cla_at_31_march", year=2023):
    """(release, value) of the figure the marts use."""
    found = wh.query(
        "SELECT release, value FROM mart_dfe_current WHERE area_code = ? AND measure = ? "
        "AND time_period = ?",
        [area, measure, year],
    )
    return tuple(found.iloc[0]) if len(found) else None


def edited_copy(tmp_path, value=182, rate=91) -> Path:
    path = tmp_path / "cla_2025_edited.csv"
    path.write_text(
        CLA_2025.read_text(encoding="utf-8-sig").replace(
            LEEDS_2025, LEEDS_2025.replace(",180,90", f",{value},{rate}")
        ),
        encoding="utf-8",
    )
    return path


def state(wh):
    return wh.table_checksums([*DFE_TABLES, "raw_uploads"])


# -- backups ---------------------------------------------------------------------------------------


def test_a_backup_is_taken_before_each_dfe_import_and_restores_it_exactly(wh):
    [older] = dfe.import_dfe_files(wh, [CLA_2023], user="ana")
    before = state(wh)
    [newer] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    backups = backup.list_backups(wh.path)
    assert [b.reason for b in backups] == ["before-dfe-import", "before-dfe-import"]
    assert f"Backup {backups[0].id} taken before importing." in newer.message
    assert current(wh) == ("2025", 171)

    target = backup.find_backup(wh.path, newer.upload_id)
    assert target.max_upload_id == older.upload_id
    backup.restore(wh, target)
    assert state(wh) == before
    assert current(wh) == ("2023", 170)


def test_no_backup_for_a_no_op_the_sample_build_or_when_backups_are_off(wh, monkeypatch):
    dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    taken = backup.list_backups(wh.path)
    [again] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    assert again.outcome == "no-op" and "Backup" not in again.message
    dfe.import_dfe_files(wh, [CLA_2023], user=dfe.SAMPLE_BUILD_USER)
    monkeypatch.setenv("RP_IMPACT_BACKUP_KEEP", "0")
    dfe.import_dfe_files(wh, [NEIGHBOURS], user="ana")
    assert backup.list_backups(wh.path) == taken


def test_an_in_memory_warehouse_imports_without_a_backup():
    with open_warehouse(":memory:") as scratch:
        [result] = dfe.import_dfe_files(scratch, [CLA_2025], user="ana", backup=True)
    assert result.outcome == "loaded" and "Backup" not in result.message


# -- delete-upload ---------------------------------------------------------------------------------


def test_deleting_a_newer_release_makes_the_earlier_release_current_again(wh):
    dfe.import_dfe_files(wh, [CLA_2023], user="ana")
    before = state(wh)
    [newer] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    assert current(wh) == ("2025", 171)

    result = delete_upload(wh, newer.upload_id, role="admin", user="admin")
    assert result.summary() == (
        f"Upload {newer.upload_id} (dfe:cla_number_and_rate) deleted: its 14 figures were "
        "removed and 0 figures it had replaced are current again. 2 of the removed figures are "
        "given by an earlier release again. The audit log keeps the upload, marked deleted, and "
        "the file can be imported again."
    )
    assert current(wh) == ("2023", 170)  # Leeds 2023, as the 2023 release published it
    assert current(wh, year=2025) is None  # only the deleted release had 2025
    assert wh.table_checksums(DFE_TABLES) == {k: v for k, v in before.items() if k in DFE_TABLES}
    audit = wh.query("SELECT outcome, message FROM raw_uploads WHERE upload_id = ?", [2]).iloc[0]
    assert audit.outcome == "deleted" and "Deleted by admin" in audit.message
    assert wh.integrity_problems() == []

    # Deleted, so the same file imports again (not a no-op).
    [again] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    assert (again.outcome, again.n_added) == ("loaded", 14)
    assert current(wh) == ("2025", 171)


def test_deleting_a_corrected_file_puts_back_the_figures_it_replaced(wh, tmp_path):
    [original] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    before = state(wh)
    [edited] = dfe.import_dfe_files(wh, [edited_copy(tmp_path)], user="ana")
    assert current(wh, year=2025) == ("2025", 182)

    result = delete_upload(wh, edited.upload_id, role="admin", user="admin")
    # The copy owned only the figure it changed; the other 13 stayed the original's.
    assert result.summary() == (
        f"Upload {edited.upload_id} (dfe:cla_number_and_rate) deleted: its 1 figure was removed "
        "and 1 figure it had replaced is current again. The audit log keeps the upload, marked "
        "deleted, and the file can be imported again."
    )
    assert current(wh, year=2025) == ("2025", 180)
    assert wh.query("SELECT count(*) AS n FROM dfe_figures_history").n.iloc[0] == 0
    assert wh.table_checksums(DFE_TABLES) == {k: v for k, v in before.items() if k in DFE_TABLES}
    owners = wh.query("SELECT DISTINCT upload_id FROM dfe_figures").upload_id.tolist()
    assert owners == [original.upload_id]


def test_deleting_the_middle_of_three_revisions_keeps_the_chain(wh, tmp_path):
    """A replaced B, C replaced B: deleting B leaves C current, with A's figure superseded by C."""
    [a] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    [b] = dfe.import_dfe_files(wh, [edited_copy(tmp_path, 182, 91)], user="ana")
    third = edited_copy(tmp_path, 185, 92).rename(tmp_path / "third.csv")
    [c] = dfe.import_dfe_files(wh, [third], user="ana")
    delete_upload(wh, b.upload_id, role="admin", user="admin")
    assert current(wh, year=2025) == ("2025", 185)
    history = wh.query("SELECT value, upload_id, superseded_by FROM dfe_figures_history")
    assert history.values.tolist() == [[180, a.upload_id, c.upload_id]]
    delete_upload(wh, c.upload_id, role="admin", user="admin")
    assert current(wh, year=2025) == ("2025", 180)


def test_deleting_neighbours_removes_their_links_unless_they_replaced_others(wh, tmp_path):
    [first] = dfe.import_dfe_files(wh, [NEIGHBOURS], user="ana")
    changed = tmp_path / "sn_model_2025_changed.csv"
    changed.write_text(
        NEIGHBOURS.read_text(encoding="utf-8-sig").replace("Close ", "Very close", 1),
        encoding="utf-8",
    )
    [second] = dfe.import_dfe_files(wh, [changed], user="ana")
    with pytest.raises(ValueError) as refused:
        delete_upload(wh, second.upload_id, role="admin", user="admin")
    assert str(refused.value) == (
        f"Upload {second.upload_id} replaced the statistical neighbours of upload(s) "
        f"{first.upload_id}, and replaced links are not kept: restore the backup taken before "
        f"it (`rp-impact restore {second.upload_id}`) instead."
    )
    assert wh.query("SELECT outcome FROM raw_uploads").outcome.tolist() == ["loaded", "loaded"]

    with open_warehouse(tmp_path / "other.duckdb") as other:
        [only] = dfe.import_dfe_files(other, [NEIGHBOURS], user="ana")
        result = delete_upload(other, only.upload_id, role="admin", user="admin")
        assert result.n_removed > 0
        assert other.query("SELECT count(*) AS n FROM dfe_neighbours").n.iloc[0] == 0


def test_delete_upload_on_the_command_line_names_the_dfe_upload_first(wh, capsys):
    [newer] = dfe.import_dfe_files(wh, [CLA_2023, CLA_2025], user="ana")[1:]
    path = str(wh.path)
    wh.close()
    args = ["--warehouse", path, "--role", "admin", "delete-upload", str(newer.upload_id)]
    assert main(args) == 2
    out = capsys.readouterr().out
    assert out.startswith(
        f"Upload {newer.upload_id}: cla_release2025_tiny.csv (dfe:cla_number_and_rate), "
        "loaded by ana on "
    )
    assert f"Would delete upload {newer.upload_id}. Run again with --yes" in out
    assert main([*args, "--yes"]) == 0
    assert "its 14 figures were removed" in capsys.readouterr().out
    with open_warehouse(path) as reopened:
        assert current(reopened) == ("2023", 170)


# -- re-importing ----------------------------------------------------------------------------------


def test_reimporting_the_original_after_an_edited_copy_applies_its_figures_again(wh, tmp_path):
    [original] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    [edited] = dfe.import_dfe_files(wh, [edited_copy(tmp_path)], user="ana")
    assert current(wh, year=2025) == ("2025", 182)

    [again] = dfe.import_dfe_files(wh, [CLA_2025], user="ana", backup=False)
    assert (again.outcome, again.n_added, again.n_revised, again.n_unchanged) == (
        "loaded",
        0,
        1,
        13,
    )
    assert again.message == (
        "cla_release2025_tiny.csv: Children looked after on 31 March, starting and ceasing: "
        "number and rate per 10,000, release 2025: 14 figures (3 suppressed); 0 new, 1 revised, "
        f"13 unchanged. The same file was imported as upload {original.upload_id}; a later "
        "upload had changed its figures, so they are applied again."
    )
    assert current(wh, year=2025) == ("2025", 180)
    history = wh.query(
        "SELECT value, upload_id, superseded_by FROM dfe_figures_history ORDER BY superseded_by"
    )
    assert history.values.tolist() == [
        [180, original.upload_id, edited.upload_id],
        [182, edited.upload_id, again.upload_id],
    ]
    # Now its figures are the ones in use: importing it once more changes nothing.
    [once_more] = dfe.import_dfe_files(wh, [CLA_2025], user="ana")
    assert once_more.outcome == "no-op"


def test_reimporting_neighbours_after_an_edited_copy_applies_them_again(wh, tmp_path):
    dfe.import_dfe_files(wh, [NEIGHBOURS], user="ana", backup=False)
    links = wh.query("SELECT * EXCLUDE (upload_id, loaded_at) FROM dfe_neighbours ORDER BY ALL")
    changed = tmp_path / "sn_model_2025_changed.csv"
    changed.write_text(
        NEIGHBOURS.read_text(encoding="utf-8-sig").replace("Close ", "Very close", 1),
        encoding="utf-8",
    )
    dfe.import_dfe_files(wh, [changed], user="ana", backup=False)
    [again] = dfe.import_dfe_files(wh, [NEIGHBOURS], user="ana", backup=False)
    assert (again.outcome, again.n_revised) == ("loaded", 1)
    after = wh.query("SELECT * EXCLUDE (upload_id, loaded_at) FROM dfe_neighbours ORDER BY ALL")
    assert after.equals(links)


# -- the real releases -----------------------------------------------------------------------------


def _real(name: str) -> Path:
    from tests.test_dfe import shared_dfe_dir

    path = shared_dfe_dir() / name
    if not path.is_file():
        pytest.skip(f"The real DfE file {path} is not there (set RP_IMPACT_SHARED_DFE).")
    return path


@pytest.mark.dfe
def test_real_deleting_the_2025_cla_release_makes_the_2023_release_current(wh):
    older = _real("cla_number_and_rate_per_10k_children_release2023.csv")
    newest = _real("cla_number_and_rate_per_10k_children.csv")
    dfe.import_dfe_files(wh, [older], user="ana", backup=False)
    england_2023 = current(wh, "E92000001", year=2022)
    [latest] = dfe.import_dfe_files(wh, [newest], user="ana", backup=False)
    assert current(wh, "E92000001", year=2022)[0] == "2025"
    result = delete_upload(wh, latest.upload_id, role="admin", user="admin")
    assert result.n_restored == 0 and "given by an earlier release again" in result.summary()
    assert current(wh, "E92000001", year=2022) == england_2023
    assert england_2023[0] == "2023"
    assert current(wh, "E92000001", year=2025) is None
    assert wh.integrity_problems() == []
