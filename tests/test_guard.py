"""The identifiable-data guard refuses child-level data and never echoes the offending value."""

from __future__ import annotations

import random

import duckdb
import pytest

from pipelines.load import guard
from pipelines.load.ingest import ingest_file

HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"
ROW = "2023-04-30,E06999901,All,All,12,7\n"

VALID_UPN = "D801200109001"  # check letter computed by the DfE algorithm
VALID_NHS = "9434765919"  # the NHS's own published example number


def make_upn(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789") for _ in range(11)) + rng.choice(
        "0123456789ABCDEFGHJKLMNPQRTUVWXYZ"
    )
    return guard.upn_check_letter(body) + body


def make_nhs(rng: random.Random) -> str:
    while True:
        first = "".join(rng.choice("0123456789") for _ in range(9))
        check = guard.nhs_check_digit(first)
        if check is not None and len(set(first + str(check))) > 1:
            return first + str(check)


# -- reference algorithms ----------------------------------------------------------------------


def test_upn_check_letter():
    assert guard.is_upn(VALID_UPN)
    assert not guard.is_upn("A" + VALID_UPN[1:])
    assert not guard.is_upn(VALID_UPN[:-1] + "7")
    # A temporary UPN (letter in position 13) uses the letter's index in the check alphabet.
    body = "80120010900A"
    assert guard.is_upn(guard.upn_check_letter(body) + body)
    assert guard.upn_check_letter("8012001090I") is None  # wrong length


def test_nhs_modulus_11():
    assert guard.is_nhs_number(VALID_NHS)
    assert guard.is_nhs_number("943 476 5919")
    assert guard.is_nhs_number("943-476-5919")
    assert not guard.is_nhs_number("9434765918")
    assert not guard.is_nhs_number("0000000000")
    # A remainder giving check 10 is never a valid NHS number.
    first = next(
        f"{n:09d}" for n in range(100000000, 100001000) if guard.nhs_check_digit(f"{n:09d}") is None
    )
    assert not any(guard.is_nhs_number(first + str(d)) for d in range(10))


def test_the_sql_checks_agree_with_the_reference_algorithms():
    rng = random.Random(7)
    upns = [make_upn(rng) for _ in range(150)]
    near_upns = [rng.choice("ABCDEFGHJKLMNPQRTUVWXYZ") + u[1:] for u in upns]
    nhs = [make_nhs(rng) for _ in range(150)]
    near_nhs = [n[:9] + str((int(n[9]) + 1) % 10) for n in nhs]
    values = upns + near_upns + nhs + near_nhs
    con = duckdb.connect()
    con.execute("CREATE TABLE t (_row BIGINT, c0 VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values, start=2)))
    findings = guard.scan_values(con, "t", ["ref"], {})
    counts = {f.message.split(":")[0]: f.n_rows for f in findings}
    expected_upn = sum(guard.is_upn(v) for v in values)
    expected_nhs = sum(guard.is_nhs_number(v) for v in values)
    assert counts["looks like it holds UPNs (Unique Pupil Numbers)"] == expected_upn
    assert counts["looks like it holds NHS numbers"] == expected_nhs
    assert expected_upn >= 150 and expected_nhs >= 150


# -- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "name",
        "child_name",
        "Child Name",
        "first_name",
        "FirstName",
        "Forename",
        "surname",
        "Last Name",
        "DOB",
        "Date of Birth",
        "birthDate",
        "Postcode",
        "Post Code",
        "post_code",
        "Address",
        "Address Line 1",
        "UPN",
        "upn_number",
        "ULN",
        "NHS Number",
        "NHS No.",
        "ChildID",
        "child_id",
        "Case ID",
        "case_ref",
        "Person ID",
        "LCS ID",
        "Email",
        "E-mail",
        "email_address",
        "Phone",
        "Mobile",
        "Telephone number",
    ],
)
def test_identifying_headers_are_recognised(header):
    assert guard.header_kind(header) is not None


@pytest.mark.parametrize(
    "header",
    [
        "period_end",
        "area_code",
        "area_name",
        "la_name",
        "unit name",
        "region_name",
        "course_name",
        "agency",
        "age_band",
        "cla_starts",
        "population_0_17",
        "notes",
        "referral_date",
        "wave",
        "programme",
    ],
)
def test_ordinary_headers_are_not_flagged(header):
    assert guard.header_kind(header) is None


# -- through validation and ingest ---------------------------------------------------------------


def _all_text(wh, result) -> str:
    """Everything the upload left anywhere a person or a log could read it."""
    parts = [result.summary(), *result.notes]
    parts += [f"{i.as_text()} {i.value}" for i in result.issues]
    frame = wh.query("SELECT * FROM upload_issues")
    parts += [str(v) for v in frame.to_numpy().ravel().tolist()]
    frame = wh.query("SELECT * FROM raw_uploads")
    parts += [str(v) for v in frame.to_numpy().ravel().tolist()]
    return "\n".join(parts)


SECRET_CASES = [
    ("unit", VALID_UPN, "UPN"),
    ("unit", "943 476 5919", "NHS number"),
    ("unit", "SW1A 1AA", "postcode"),
    ("unit", "Ashby LS1 4AP", "postcode"),
    ("unit", "jo.bloggs@example.org", "e-mail"),
    ("unit", "07700 900123", "phone"),
    ("unit", "14/02/2013", "dates"),
    ("age_band", "2013-02-14", "dates"),
    ("unit", "x" * 200, "free text"),
]


@pytest.mark.parametrize(("column", "secret", "fragment"), SECRET_CASES)
def test_identifying_values_are_refused_without_echo(
    reference_wh, write_file, column, secret, fragment
):
    values = {"unit": "All", "age_band": "All"}
    values[column] = secret
    text = HEADER + f"2023-04-30,E06999901,{values['unit']},{values['age_band']},12,7\n"
    before = reference_wh.table_checksums()
    result = ingest_file(reference_wh, write_file("leak.csv", text), user="ana")
    assert result.refused
    issues = [i for i in result.issues if i.rule in guard.GUARD_RULES]
    assert issues, result.issues
    assert any(fragment in i.message for i in issues), [i.message for i in issues]
    assert all(i.value is None and i.row == 2 and i.column == column for i in issues)
    assert secret not in _all_text(reference_wh, result)
    assert reference_wh.table_checksums() == before
    stored = reference_wh.query(
        "SELECT value FROM upload_issues WHERE upload_id = ?", [result.upload_id]
    )
    assert stored.value.isna().all()


def test_a_value_in_an_unknown_column_is_refused(reference_wh, write_file):
    text = HEADER.strip() + ",ref\n" + ROW.strip() + f",{VALID_NHS}\n"
    result = ingest_file(reference_wh, write_file("extra.csv", text), user="ana")
    assert result.refused
    (issue,) = [i for i in result.issues if i.rule == guard.RULE_VALUE]
    assert (issue.column, issue.row, issue.value) == ("ref", 2, None)
    assert VALID_NHS not in _all_text(reference_wh, result)


@pytest.mark.parametrize("header", ["child_name", "DOB", "UPN", "Post Code", "ChildID", "E-mail"])
def test_identifying_columns_are_refused_before_staging(reference_wh, write_file, header):
    text = HEADER.strip() + f",{header}\n" + ROW.strip() + ",\n"
    result = ingest_file(reference_wh, write_file("extra.csv", text), user="ana")
    assert result.refused
    (issue,) = [i for i in result.issues if i.rule == guard.RULE_COLUMN]
    assert issue.column == header and issue.value is None and "identify" in issue.message
    assert "remove the column" in issue.hint.lower()


def test_a_header_that_is_itself_an_identifier_is_not_echoed(reference_wh, write_file):
    text = HEADER.strip() + f",{VALID_NHS}\n" + ROW.strip() + ",x\n"
    result = ingest_file(reference_wh, write_file("shifted.csv", text), user="ana")
    assert result.refused
    assert VALID_NHS not in _all_text(reference_wh, result)
    assert any(i.column == "column 7" for i in result.issues)


def test_dates_in_the_contract_date_columns_are_fine(reference_wh, write_file):
    rollout = (
        "area_code,unit,programme,wave,start_date,complete_date\n"
        "E06999901,Ashby,Restorative Practice,1,01/10/2019,2020-09-30\n"
    )
    result = ingest_file(reference_wh, write_file("rollout.csv", rollout), user="ana")
    assert result.outcome == "loaded", result.issues


def test_area_name_is_not_a_person_name(empty_wh, write_file):
    for header in ("area_name", "la_name", "name"):
        text = f"area_code,{header},old_la_code\nE06999902,Southmoor,992\n"
        result = ingest_file(empty_wh, write_file(f"areas_{header}.csv", text), user="ana")
        assert result.outcome == "loaded", (header, result.issues)


def test_an_unrelated_name_column_is_not_flagged(reference_wh, write_file):
    text = HEADER.strip() + ",unit name,la_name\n" + ROW.strip() + ",Ashby,Northmoor\n"
    result = ingest_file(reference_wh, write_file("names.csv", text), user="ana")
    assert result.outcome == "loaded"
    assert {i.rule for i in result.issues} == {"unknown_column"}


def test_free_text_in_a_count_column_is_not_echoed(reference_wh, write_file):
    text = HEADER + "2023-04-30,E06999901,All,All,Jane Smith,7\n"
    result = ingest_file(reference_wh, write_file("text.csv", text), user="ana")
    assert result.refused
    assert "Jane Smith" not in _all_text(reference_wh, result)


def test_an_admin_may_allow_a_column_and_it_is_audited(reference_wh, write_file):
    text = HEADER.strip() + ",case_ref\n" + ROW.strip() + ",batch-7\n"
    path = write_file("allowed.csv", text)
    with pytest.raises(PermissionError):
        ingest_file(reference_wh, path, role="analyst", allow_columns=["case_ref"])
    result = ingest_file(reference_wh, path, user="root", role="admin", allow_columns=["case_ref"])
    assert result.outcome == "loaded", result.issues
    audit = reference_wh.query(
        "SELECT rule, column_name, value FROM upload_issues WHERE upload_id = ? "
        "AND rule = 'guard_override'",
        [result.upload_id],
    )
    assert audit.column_name.tolist() == ["case_ref"] and audit.value.isna().all()
    # The allowed column is still not part of the contract: nothing of it is stored.
    assert "case_ref" not in reference_wh.query("SELECT * FROM fct_outcomes").columns


def test_the_guard_runs_on_xlsx_too(reference_wh, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["period_end", "area_code", "unit", "age_band", "cla_starts", "Date of Birth"])
    sheet.append(["2023-04-30", "E06999901", "All", "All", 3, "2012-05-01"])
    path = tmp_path / "dob.xlsx"
    book.save(path)
    result = ingest_file(reference_wh, path, user="ana")
    assert result.refused and any(i.rule == guard.RULE_COLUMN for i in result.issues)


# -- a refused file's cells are never echoed (issue 16) ------------------------------------------


def test_a_headerless_child_record_is_refused_without_echoing_a_cell(reference_wh, write_file):
    text = "Jayden Smith,14/02/2013,E06999901,3\n2023-04-30,E06999901,All,All\n"
    before = reference_wh.table_checksums()
    result = ingest_file(reference_wh, write_file("record.csv", text), user="ana")
    assert result.refused and reference_wh.table_checksums() == before
    found = [(i.rule, i.row, i.column, i.value, i.message) for i in result.issues]
    assert found == [
        (
            guard.RULE_VALUE,
            1,
            "column 1",
            None,
            "the first row is a record, not a header, and this cell holds a person's name, "
            "perhaps. The values are not shown.",
        ),
        (
            guard.RULE_VALUE,
            1,
            "column 2",
            None,
            "the first row is a record, not a header, and this cell holds a date (a date of "
            "birth, perhaps). The values are not shown.",
        ),
        (
            guard.RULE_VALUE,
            2,
            "column 1",
            None,
            "looks like it holds dates (dates of birth, perhaps) in a column that is not one of "
            "the contract's date columns: 1 row(s) (row 2). The values are not shown.",
        ),
        (
            "unknown_dataset",
            1,
            None,
            None,
            "Could not tell which dataset this file is from its header: its first row holds "
            "values, not column names, so the header row is missing.",
        ),
    ]
    said = _all_text(reference_wh, result)
    for cell in ("Jayden", "Smith", "14/02/2013", "E06999901"):
        assert cell not in said.replace(result.file_name, "")
    stored = reference_wh.query(
        "SELECT column_name, value FROM upload_issues WHERE upload_id = ?", [result.upload_id]
    )
    assert stored.value.isna().all()
    assert set(stored.column_name.dropna()) == {"column 1", "column 2"}


DATE_FORMS = [
    "14-Feb-2013",
    "14-feb-13",
    "14 Feb 2013",
    "14 February 2013",
    "14th February 2013",
    "14th of Feb 2013",
    "February 14, 2013",
    "Sept. 3, 2012",
    "born 14 February 2013",
    "DOB 14.02.2013 (aged 10)",
    "b. 2013-02-14",
]


@pytest.mark.parametrize("secret", DATE_FORMS)
def test_dates_in_words_and_in_sentences_are_refused_without_echo(reference_wh, write_file, secret):
    text = HEADER.strip() + ",notes\n" + ROW.strip() + f',"{secret}"\n'
    before = reference_wh.table_checksums()
    result = ingest_file(reference_wh, write_file("dob.csv", text), user="ana")
    assert result.refused and reference_wh.table_checksums() == before
    (issue,) = [i for i in result.issues if i.rule == guard.RULE_VALUE]
    assert (issue.row, issue.column, issue.value) == (2, "notes", None)
    assert issue.message == (
        "looks like it holds dates (dates of birth, perhaps) in a column that is not one of the "
        "contract's date columns: 1 row(s) (row 2). The values are not shown."
    )
    assert secret not in _all_text(reference_wh, result)


@pytest.mark.parametrize(
    "text", ["Ashby", "0-4", "Team 3", "Sept 2013 cohort", "March", "Wave 2 from May", "10-15"]
)
def test_words_that_are_not_dates_of_birth_are_not_flagged(text):
    assert not guard.looks_like_date(text)


def test_a_surname_in_a_count_column_is_not_kept_in_upload_issues(reference_wh, write_file):
    text = HEADER + "2023-04-30,E06999901,All,All,Okonkwo,7\n"
    result = ingest_file(reference_wh, write_file("surname.csv", text), user="ana")
    assert result.refused
    (issue,) = result.errors
    assert (issue.row, issue.column, issue.value, issue.message) == (
        2,
        "cla_starts",
        None,
        "is not a number.",
    )
    assert "Okonkwo" not in _all_text(reference_wh, result)
