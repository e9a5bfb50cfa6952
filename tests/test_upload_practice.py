"""The practice datasets are checked on the dashboard's Upload page (issue 18) as the other
extracts are: a bad file is refused with the row, column and a suggestion. (The AppTests run
in demo mode, which commits only the sample's own files; committing a file is the same code
for every dataset, `dashboard.data.commit_upload`, tested with an outcomes file in
tests/test_app_pages.py, and the practice files load through `rp-impact ingest` in
tests/test_practice_contracts.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_text import page_text

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")

HEADER = "period_end,area_code,unit,judgement,audits_completed,audits_judged\n"
GRADES = {"Outstanding": 8, "Good": 20, "Requires improvement": 9, "Inadequate": 3}
PRINCIPLES = {"Relational": 30, "Respect": 31, "Responsibility": 25, "Resilience": 22}
PRINCIPLES["Reflective"] = 24


def revised_quarter(judgement_names: dict[str, int], unit: str = "Ashby") -> bytes:
    rows = [f"2026-09-30,E06999901,{unit},{name},40,{n}\n" for name, n in judgement_names.items()]
    return (HEADER + "".join(rows)).encode()


@pytest.fixture
def app(sample_copy, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(sample_copy))
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    assert not at.exception
    at.switch_page("views/upload.py").run()
    return at


def test_a_misspelt_principle_is_refused_on_the_upload_page(app):
    bad = revised_quarter(GRADES | {"Relationl": 30})
    app.get("file_uploader")[0].set_value(("audits_2026-09_revised.csv", bad, "text/csv"))
    app.run()
    assert not app.exception
    text = page_text(app)
    assert "Refused" in text
    report = app.dataframe[0].value
    row = report[report["column"] == "judgement"].iloc[0]
    assert row["row"] == 6 and "Relationl" in str(row["value"])
    assert "Relational" in row["problem"] + row["how to fix"]  # "Did you mean"
