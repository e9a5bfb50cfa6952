"""What real councils' extracts get wrong, and the exact message each gets (issue 14).

Each test reads as: this file -> this message (`Issue.as_text()`: file, row as Excel counts it,
column, what is wrong, how to fix it). A refused file leaves the warehouse unchanged.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from pipelines.load.ingest import ingest_file, not_ready_message, validate_only

HEADER = "period_end,area_code,unit,age_band,cla_at_period_end\n"


def load(wh, path, **kwargs):
    """Ingest `path` (no backup: these tests are about messages); a refusal changes nothing."""
    before = wh.table_checksums()
    result = ingest_file(wh, path, user="test", backup=False, **kwargs)
    if result.refused:
        assert wh.table_checksums() == before, "a refused file changed the warehouse"
    return result


def texts(result, rule):
    return [i.as_text() for i in result.issues if i.rule == rule]


def rows(*lines: str) -> str:
    return HEADER + "".join(f"{line}\n" for line in lines)


# -- cadence -------------------------------------------------------------------------------------


def test_dfe_31_march_counts_loaded_as_an_extract_are_refused_and_pointed_to_import_dfe(
    reference_wh, write_file
):
    """DfE's year-end counts as an outcomes extract: each year would have been a quarter."""
    path = write_file(
        "cla_31_march.csv",
        rows(
            *(f"{year}-03-31,E06999901,All,All,{700 + year - 2022}" for year in range(2022, 2026))
        ),
    )
    result = load(reference_wh, path)
    assert result.refused
    assert [i.rule for i in result.errors] == ["period_cadence"]
    assert texts(result, "period_cadence") == [
        "cla_31_march.csv, row 3, column 'period_end': the periods are a year apart "
        "(31 March 2022 to 31 March 2025, 4 periods): an outcomes extract holds monthly or "
        "quarterly figures, so each year would be read as a quarter. For DfE's published "
        "statistics use `rp-impact import-dfe FILE` instead; otherwise export one row per "
        "month or per quarter."
    ]


def test_an_irregular_cadence_is_refused_naming_the_first_period_out_of_step(
    reference_wh, write_file
):
    path = write_file(
        "half_years.csv",
        rows(
            "2023-03-31,E06999901,All,All,60",
            "2023-09-30,E06999901,All,All,61",
            "2024-03-31,E06999901,All,All,62",
        ),
    )
    result = load(reference_wh, path)
    assert texts(result, "period_cadence") == [
        "half_years.csv, row 3, column 'period_end': 30 September 2023 comes 6 months after "
        "31 March 2023: the periods of an outcomes extract are months, or quarters ending in "
        "March, June, September or December. For DfE's published statistics use "
        "`rp-impact import-dfe FILE` instead; otherwise export one row per month or per quarter."
    ]
    assert result.refused


@pytest.mark.parametrize(
    "periods",
    [
        ("2023-04-30", "2023-05-31", "2023-06-30"),
        ("2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31"),
        ("2023-06-30",),
    ],
    ids=["monthly", "quarterly", "one_period"],
)
def test_monthly_and_quarterly_files_are_accepted(reference_wh, write_file, periods):
    path = write_file("ok.csv", rows(*(f"{p},E06999901,All,All,60" for p in periods)))
    result = load(reference_wh, path)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert not [i for i in result.issues if i.rule in ("period_cadence", "period_gap")]


def test_months_missing_inside_a_file_are_a_warning_naming_them(reference_wh, write_file):
    path = write_file(
        "holes.csv",
        rows(
            "2023-04-30,E06999901,All,All,60",
            "2023-05-31,E06999901,All,All,61",
            "2023-09-30,E06999901,All,All,62",
        ),
    )
    result = load(reference_wh, path)
    assert result.outcome == "loaded"
    assert texts(result, "period_gap") == [
        "holes.csv, row 4, column 'period_end': there are no rows for June to August 2023, "
        "between 31 May 2023 and 30 September 2023. Add the missing periods' rows, or check the "
        "period_end dates; the file can be loaded as it is."
    ]


# -- the warehouse and the new extract -----------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "message"),
    [
        pytest.param(
            ("apr_may.csv", ["2023-04-30", "2023-05-31"]),
            ("sep_oct.csv", ["2023-09-30", "2023-10-31"]),
            "sep_oct.csv, row 2, column 'period_end': E06999901 has no figures for June to "
            "August 2023: the warehouse's latest period for it is 31 May 2023 and this file "
            "starts at 30 September 2023. Load the missing periods' extract as well, or check "
            "the period_end dates; the file can be loaded as it is.",
            id="missing months",
        ),
        pytest.param(
            ("q1.csv", ["2023-06-30"]),
            ("q3.csv", ["2023-12-31"]),
            "q3.csv, row 2, column 'period_end': E06999901 has no figures for the quarter "
            "ending 30 September 2023: the warehouse's latest period for it is 30 June 2023 and "
            "this file starts at 31 December 2023. Load the missing periods' extract as well, or "
            "check the period_end dates; the file can be loaded as it is.",
            id="a skipped quarter is named as a quarter",
        ),
    ],
)
def test_a_gap_between_the_warehouse_and_the_new_extract_is_a_warning(
    reference_wh, write_file, earlier, later, message
):
    def extract(name, periods):
        lines = [f"{period},E06999901,All,All,{60 + i}" for i, period in enumerate(periods)]
        return write_file(name, rows(*lines))

    assert load(reference_wh, extract(*earlier)).outcome == "loaded"
    result = load(reference_wh, extract(*later))
    assert result.outcome == "loaded"
    assert texts(result, "period_gap") == [message]


def test_the_next_period_or_a_backfill_is_no_gap(reference_wh, write_file):
    assert load(reference_wh, write_file("may.csv", rows("2023-05-31,E06999901,All,All,60")))
    for name, period in (("june.csv", "2023-06-30"), ("backfill.csv", "2022-01-31")):
        result = load(reference_wh, write_file(name, rows(f"{period},E06999901,All,All,60")))
        assert result.outcome == "loaded"
        assert texts(result, "period_gap") == []


def test_a_unit_the_warehouse_has_never_seen_is_named_with_the_likely_one(reference_wh, write_file):
    known = rows(
        "2023-04-30,E06999901,All,All,50",
        "2023-04-30,E06999901,Ashby,All,25",
        "2023-04-30,E06999901,Brookfield,All,25",
    )
    assert load(reference_wh, write_file("april.csv", known)).outcome == "loaded"
    misspelt = rows(
        "2023-05-31,E06999901,All,All,50",
        "2023-05-31,E06999901,Ashbey,All,25",
        "2023-05-31,E06999901,Brookfield,All,25",
    )
    result = load(reference_wh, write_file("may.csv", misspelt))
    assert result.outcome == "loaded"
    assert texts(result, "unit_unknown") == [
        "may.csv, row 3, column 'unit': the unit 'Ashbey' is new for E06999901 (the warehouse "
        "has Ashby, Brookfield): did you mean Ashby? Check the spelling: a misspelt unit starts "
        "a series of its own. A new locality or team needs no action."
    ]
    [warning] = [i for i in result.warnings if i.rule == "unit_unknown"]
    assert (warning.severity, warning.value) == ("warning", "Ashbey")


def test_units_are_not_flagged_before_the_warehouse_knows_any(reference_wh, write_file):
    first = rows("2023-04-30,E06999901,All,All,50", "2023-04-30,E06999901,Ashby,All,25")
    result = load(reference_wh, write_file("first.csv", first))
    assert result.outcome == "loaded" and texts(result, "unit_unknown") == []


def test_a_training_unit_is_checked_against_the_rollout(reference_wh, write_file):
    rollout = "area_code,unit,wave,start_date\nE06999901,Ashby,1,2019-10-01\n"
    assert load(reference_wh, write_file("rollout.csv", rollout)).outcome == "loaded"
    training = (
        "period_end,area_code,unit,agency,course,staff_in_scope,staff_trained\n"
        "2023-06-30,E06999901,Asbhy,Police,Awareness,10,4\n"
    )
    result = load(reference_wh, write_file("training.csv", training))
    assert texts(result, "unit_unknown") == [
        "training.csv, row 2, column 'unit': the unit 'Asbhy' is new for E06999901 (the "
        "warehouse has Ashby): did you mean Ashby? Check the spelling: a misspelt unit starts a "
        "series of its own. A new locality or team needs no action."
    ]


# -- headers and layout ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "period_end,area_code,unit,age_band,cla_at_period_ending",
        "period_end,area_code,unit,age_band,cla_starts,cla_at_period_ending",
    ],
    ids=["the_only_count_column", "beside_a_good_one"],
)
def test_a_misspelt_measure_column_is_an_error_saying_what_it_means(
    reference_wh, write_file, header
):
    values = ",".join(["2023-04-30", "E06999901", "All", "All"] + ["5"] * (header.count(",") - 3))
    result = load(reference_wh, write_file("misspelt.csv", f"{header}\n{values}\n"))
    assert result.refused
    assert [i.as_text() for i in result.errors] == [
        "misspelt.csv, row 1, column 'cla_at_period_ending': the column 'cla_at_period_ending' "
        "is not part of the outcomes contract: did you mean cla_at_period_end? Rename the column "
        "to cla_at_period_end and upload the file again."
    ]


def test_an_unrelated_extra_column_is_still_only_a_warning(reference_wh, write_file):
    path = write_file("notes.csv", HEADER.strip() + ",notes\n2023-04-30,E06999901,All,All,5,ok\n")
    result = load(reference_wh, path)
    assert result.outcome == "loaded"
    assert [i.rule for i in result.warnings] == ["unknown_column"]


def _workbook(path, *footer_rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Period end", "Area code", "Unit", "Age band", "CLA at period end"])
    sheet.append([dt.datetime(2023, 4, 30), "E06999901", "All", "All", 60])
    sheet.append([dt.datetime(2023, 5, 31), "E06999901", "All", "All", 61])
    for row in footer_rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_footer_note_under_an_xlsx_table_is_skipped_with_a_note(reference_wh, tmp_path):
    path = _workbook(
        tmp_path / "with_footer.xlsx",
        [],
        ["Source: Northmoor performance team, case management system extract"],
        [],
        [],
    )
    result = load(reference_wh, path)
    assert result.outcome == "loaded", [i.as_text() for i in result.issues]
    assert (result.n_rows, result.n_added) == (2, 2)
    assert result.notes == [
        "Row 5 below the table is a note (text in the first column only), not data, and was "
        "skipped."
    ]
    assert result.issues == []


def test_several_footer_notes_are_listed(reference_wh, tmp_path):
    path = _workbook(tmp_path / "notes.xlsx", ["Source: case system"], [], ["Notes: c = fewer"])
    result = load(reference_wh, path)
    assert result.outcome == "loaded"
    assert result.notes == [
        "Rows 4 and 6 below the table are notes (text in the first column only), not data, and "
        "were skipped."
    ]


def test_a_short_last_row_of_data_is_not_taken_for_a_note(reference_wh, tmp_path):
    """A last row with only its period filled in is data with cells missing: it is reported."""
    path = _workbook(tmp_path / "short.xlsx", [dt.datetime(2023, 6, 30)])
    result = load(reference_wh, path)
    assert result.refused and result.notes == []
    assert {(i.row, i.column) for i in result.errors} >= {(4, "Area code")}


# -- where a warning points ------------------------------------------------------------------------


def test_warnings_name_the_area_unit_age_band_and_period(reference_wh, write_file):
    april = rows(
        "2023-04-30,E06999901,All,All,50",
        "2023-04-30,E06999901,Ashby,All,30",
        "2023-04-30,E06999901,Brookfield,All,30",
        "2023-04-30,E06999901,All,0-9,20",
        "2023-04-30,E06999901,All,10-17,20",
    )
    result = load(reference_wh, write_file("april.csv", april))
    assert texts(result, "unit_sum_above_all") == [
        "april.csv, row 2, column 'cla_at_period_end': the localities add up to 60, more than "
        "this All row (E06999901, unit All, age band All, 30 April 2023). Check for a locality "
        "counted twice, or an All row that is out of date."
    ]
    assert texts(result, "age_bands_not_all") == [
        "april.csv, row 2, column 'cla_at_period_end': the age bands add up to 40, not to this "
        "All row (E06999901, unit All, age band All, 30 April 2023). Check that every age band "
        "is present and that the All row is the total."
    ]
    july = rows("2023-07-31,E06999901,All,All,50", "2023-07-31,E06999901,Ashby,All,60")
    # May and June are missing too; the jump is measured on the quarters either side.
    result = load(reference_wh, write_file("july.csv", july))
    assert texts(result, "jump_over_50pct") == [
        "july.csv, row 3, column 'cla_at_period_end': the quarter's figure changed by +100% on "
        "the quarter before (E06999901, unit Ashby, age band All, quarter ending 30 September "
        "2023). Check the figure; if it is right, no action is needed."
    ]


def test_re_uploading_an_identical_file_says_it_is_already_loaded_with_its_upload(
    reference_wh, write_file
):
    path = write_file("q1.csv", rows("2023-04-30,E06999901,All,All,60"))
    first = load(reference_wh, path)
    loaded_at = reference_wh.query(
        "SELECT uploaded_at FROM raw_uploads WHERE upload_id = ?", [first.upload_id]
    ).uploaded_at.iloc[0]
    when = f"{loaded_at.day} {loaded_at:%B %Y at %H:%M}"
    for again in (validate_only(path, reference_wh), load(reference_wh, path)):
        assert again.outcome == "no-op" and again.issues == []
        assert again.summary() == (
            f"q1.csv: already loaded as upload {first.upload_id} on {when} (identical file); "
            "nothing changed."
        )
    bad = validate_only(write_file("bad.csv", rows("2023-04-31,E06999901,All,All,60")))
    assert not_ready_message([again]) == again.summary() + " There is nothing new to commit."
    assert not_ready_message([again, bad]) == (
        again.summary() + " Fix the errors shown above for bad.csv, or choose other files."
    )
    assert (
        not_ready_message(
            [validate_only(write_file("new.csv", rows("2023-05-31,E06999901,All,All,61")))]
        )
        is None
    )


# -- a published DfE file given as an extract ----------------------------------------------------


def test_a_published_dfe_file_given_as_an_extract_is_one_error_pointing_to_import_dfe(
    reference_wh,
):
    from tests.test_dfe import CLA_2025

    result = load(reference_wh, CLA_2025)
    assert [i.as_text() for i in result.issues] == [
        "cla_release2025_tiny.csv, row 1: this is DfE's published table 'cla_number_and_rate', "
        "not an extract. Import it with `rp-impact import-dfe FILE`, or on the Upload page's "
        "DfE published statistics tab."
    ]
    assert result.refused


@pytest.mark.dfe
def test_every_real_dfe_file_given_as_an_extract_is_pointed_to_import_dfe(reference_wh):
    from tests.test_dfe import shared_dfe_dir

    files = sorted(shared_dfe_dir().glob("*.csv"))
    if not files:
        pytest.skip(f"The real DfE files are not at {shared_dfe_dir()}.")
    for path in files:
        result = validate_only(path, reference_wh)
        assert [i.rule for i in result.issues] == ["dfe_published_file"], path.name
        assert "`rp-impact import-dfe FILE`" in result.issues[0].hint
