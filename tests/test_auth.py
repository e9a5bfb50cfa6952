"""Roles are enforced in the pipeline; local accounts store only salted hashes; demo mode is safe."""

from __future__ import annotations

import os
import stat

import pytest

from pipelines import auth
from pipelines.load.ingest import delete_upload, ingest_file, validate_only

HEADER = "period_end,area_code,unit,age_band,cla_starts,cpp_starts\n"
Q1 = HEADER + "2023-04-30,E06999901,All,All,12,7\n"


@pytest.fixture
def users_file(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    monkeypatch.setenv("RP_IMPACT_USERS", str(path))
    return path


def test_pages_by_role():
    assert auth.allowed_pages("viewer") == [
        "board",
        "report",
        "trends",
        "cohorts",
        "training",
        "benchmarks",
    ]
    assert "upload" in auth.allowed_pages("analyst") and "admin" not in auth.allowed_pages(
        "analyst"
    )
    assert auth.allowed_pages("admin") == list(auth.PAGES)
    assert auth.allowed_pages(None) == [] and auth.allowed_pages("root") == []
    assert not auth.can_view_page("viewer", "upload")
    assert not auth.can_view_page("viewer", "quality")  # the router's alias for data_quality
    assert auth.can_view_page("analyst", "quality")


def test_only_analysts_and_admins_see_small_numbers():
    assert [auth.can_see_unsuppressed(r) for r in ("viewer", "analyst", "admin", None)] == [
        False,
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("viewer", "upload", False),
        ("viewer", "view", True),
        ("analyst", "upload", True),
        ("analyst", "delete_upload", False),
        ("analyst", "manage_users", False),
        ("admin", "delete_upload", True),
        ("admin", "restore", True),
        ("admin", "no_such_action", False),
        (None, "view", False),
        ("superuser", "upload", False),
    ],
)
def test_require(role, action, allowed):
    if allowed:
        auth.require(role, action)
    else:
        with pytest.raises(PermissionError, match="Permission denied|not an action"):
            auth.require(role, action)


def test_a_viewer_cannot_upload_through_the_pipeline(reference_wh, write_file):
    before = reference_wh.table_checksums([*reference_wh.data_tables(), "raw_uploads"])
    with pytest.raises(PermissionError, match="viewer role cannot upload"):
        ingest_file(reference_wh, write_file("q1.csv", Q1), role="viewer")
    with pytest.raises(PermissionError):
        validate_only(write_file("q1.csv", Q1), reference_wh, role="viewer")
    assert reference_wh.table_checksums([*reference_wh.data_tables(), "raw_uploads"]) == before
    assert ingest_file(reference_wh, write_file("q1.csv", Q1), role="analyst").outcome == "loaded"


def test_only_an_admin_deletes_an_upload(reference_wh, write_file):
    first = ingest_file(reference_wh, write_file("q1.csv", Q1), user="ana")
    revised = HEADER + "2023-04-30,E06999901,All,All,13,7\n2023-05-31,E06999901,All,All,4,2\n"
    second = ingest_file(reference_wh, write_file("q1b.csv", revised), user="ana")
    with pytest.raises(PermissionError):
        delete_upload(reference_wh, second.upload_id, role="analyst")
    result = delete_upload(reference_wh, second.upload_id, role="admin", user="root")
    assert (result.n_removed, result.n_restored) == (1, 1)
    rows = reference_wh.query("SELECT period_end, cla_starts, upload_id FROM fct_outcomes")
    assert rows.to_dict("records") == [
        {"period_end": rows.period_end.iloc[0], "cla_starts": 12, "upload_id": first.upload_id}
    ]
    assert reference_wh.query("SELECT count(*) AS n FROM hist_outcomes").n.iloc[0] == 0
    assert reference_wh.integrity_problems() == []
    audit = reference_wh.query(
        "SELECT outcome, message FROM raw_uploads WHERE upload_id = ?", [second.upload_id]
    ).iloc[0]
    assert audit.outcome == "deleted" and "Deleted by root" in audit.message
    # The same file can be loaded again once its upload is deleted.
    again = ingest_file(reference_wh, write_file("q1b.csv", revised), user="ana")
    assert again.outcome == "loaded" and again.n_added == 1


def test_deleting_a_middle_revision_keeps_the_chain(reference_wh, write_file):
    versions = [12, 13, 14]
    uploads = []
    for n, value in enumerate(versions):
        text = HEADER + f"2023-04-30,E06999901,All,All,{value},7\n"
        uploads.append(ingest_file(reference_wh, write_file(f"v{n}.csv", text), user="ana"))
    delete_upload(reference_wh, uploads[1].upload_id, role="admin")
    current = reference_wh.query("SELECT cla_starts, upload_id FROM fct_outcomes").iloc[0]
    assert (current.cla_starts, current.upload_id) == (14, uploads[2].upload_id)
    history = reference_wh.query("SELECT cla_starts, upload_id, superseded_by FROM hist_outcomes")
    assert history.to_dict("records") == [
        {"cla_starts": 12, "upload_id": uploads[0].upload_id, "superseded_by": uploads[2].upload_id}
    ]


# -- local accounts ------------------------------------------------------------------------------


def test_accounts_store_salted_hashes_only(users_file):
    auth.add_user("ana", "analyst", "correct horse battery")
    auth.add_user("bob", "viewer", "correct horse battery")
    text = users_file.read_text()
    assert "correct horse" not in text
    hashes = [line for line in text.splitlines() if line.startswith("password")]
    assert len(hashes) == 2 and hashes[0] != hashes[1]  # same password, different salts
    assert all("scrypt$" in h for h in hashes)
    assert stat.S_IMODE(os.stat(users_file).st_mode) == 0o600
    assert auth.authenticate("ana", "correct horse battery").role == "analyst"
    assert auth.authenticate("ana", "wrong password!") is None
    assert auth.authenticate("nobody", "correct horse battery") is None
    assert "scrypt" not in repr(auth.load_users()["ana"])


def test_account_rules(users_file):
    with pytest.raises(auth.AuthError, match="at least"):
        auth.add_user("ana", "analyst", "short")
    with pytest.raises(auth.AuthError, match="not a role"):
        auth.add_user("ana", "root", "long enough password")
    with pytest.raises(auth.AuthError, match="user name"):
        auth.add_user('ana"]\n[users.evil', "admin", "long enough password")
    auth.add_user("root", "admin", "long enough password")
    auth.add_user("ana", "analyst", "long enough password")
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.add_user("ana", "admin", "long enough password")
    with pytest.raises(auth.AuthError, match="last admin"):
        auth.remove_user("root")
    auth.set_role("ana", "admin")
    auth.remove_user("root")
    assert {u.name: u.role for u in auth.load_users().values()} == {"ana": "admin"}


def test_pbkdf2_hashes_from_elsewhere_verify():
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", b"a long password", salt, 100_000)
    stored = f"pbkdf2_sha256$100000${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert auth.verify_password("a long password", stored)
    assert not auth.verify_password("another password", stored)
    assert not auth.verify_password("x", "garbage")


def test_oidc_roles_by_email_then_domain(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text(
        'default_role = ""\n[emails]\n"Boss@Council.gov.uk" = "admin"\n'
        '[domains]\n"council.gov.uk" = "viewer"\n"analysts.council.gov.uk" = "analyst"\n'
    )
    roles = auth.load_role_map(path)
    assert auth.role_for_email("boss@council.gov.uk", roles) == "admin"
    assert auth.role_for_email("x@council.gov.uk", roles) == "viewer"
    assert auth.role_for_email("y@analysts.council.gov.uk", roles) == "analyst"
    assert auth.role_for_email("z@evil.example", roles) is None
    assert auth.role_for_email("x@council.gov.uk.evil.example", roles) is None
    assert auth.role_for_email(None, roles) is None


# -- demo mode ----------------------------------------------------------------------------------


def test_demo_mode_serves_the_sample_only(sample_wh, write_file):
    assert auth.demo_refusal(sample_wh) is None
    assert ingest_file(sample_wh, write_file("mine.csv", Q1), user="ana").outcome == "loaded"
    message = auth.demo_refusal(sample_wh)
    assert message and "1 upload(s) of other data" in message


def test_demo_uploads_accept_only_the_sample_files(sample_wh, write_file):
    from pipelines import config

    result = ingest_file(sample_wh, write_file("mine.csv", Q1), demo=True)
    assert result.refused and result.issues[0].rule == "demo_mode"
    assert auth.demo_refusal(sample_wh) is None
    unloaded = sorted((config.SAMPLE_DIR / "unloaded").glob("outcomes_*.csv"))[0]
    result = ingest_file(sample_wh, unloaded, demo=True)
    assert result.outcome == "loaded", result.issues
    assert auth.demo_refusal(sample_wh) is None


# -- the Streamlit side (dashboard/auth.py) ---------------------------------------------------

APP = """
import sys
sys.path.insert(0, {root!r})
import streamlit as st
from dashboard import auth
from pipelines.store.warehouse import open_warehouse

wh = open_warehouse({warehouse!r})
identity = auth.require_identity(wh)
auth.sidebar(identity)
auth.require_page(identity, "upload")
st.write("UPLOAD PAGE")
"""


def _app(tmp_path, warehouse):
    from streamlit.testing.v1 import AppTest

    from pipelines import config

    script = APP.format(root=str(config.PROJECT_ROOT), warehouse=str(warehouse))
    return AppTest.from_string(script, default_timeout=30)


def _texts(at) -> str:
    parts = (
        [e.value for e in at.error] + [m.value for m in at.markdown] + [w.value for w in at.warning]
    )
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def unconfigured(tmp_path, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_USERS", str(tmp_path / "none.toml"))
    monkeypatch.setenv("RP_IMPACT_ROLES", str(tmp_path / "none-roles.toml"))
    monkeypatch.delenv("RP_IMPACT_DEMO", raising=False)
    monkeypatch.delenv("RP_IMPACT_DEMO_ROLE", raising=False)


def test_nothing_is_served_without_sign_in_configured(empty_wh, tmp_path, unconfigured):
    at = _app(tmp_path, empty_wh.path).run()
    assert "Sign-in is not configured" in _texts(at) and "UPLOAD PAGE" not in _texts(at)


def test_demo_mode_banner_and_roles(empty_wh, tmp_path, unconfigured, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_DEMO", "1")
    at = _app(tmp_path, empty_wh.path).run()
    assert "Demo mode" in _texts(at) and "UPLOAD PAGE" in _texts(at)
    monkeypatch.setenv("RP_IMPACT_DEMO_ROLE", "viewer")
    at = _app(tmp_path, empty_wh.path).run()
    assert "do not have access" in _texts(at) and "UPLOAD PAGE" not in _texts(at)


def test_demo_mode_refuses_a_warehouse_with_real_uploads(
    reference_wh, tmp_path, unconfigured, monkeypatch
):
    monkeypatch.setenv("RP_IMPACT_DEMO", "1")
    at = _app(tmp_path, reference_wh.path).run()
    assert "Demo mode is for the synthetic sample only" in _texts(at)
    assert "UPLOAD PAGE" not in _texts(at)


def test_local_sign_in(empty_wh, tmp_path, unconfigured, monkeypatch):
    monkeypatch.setenv("RP_IMPACT_DEMO", "1")  # ignored: local accounts exist
    auth.add_user("vera", "viewer", "a long password 1")
    auth.add_user("ana", "analyst", "a long password 2")
    at = _app(tmp_path, empty_wh.path).run()
    assert "UPLOAD PAGE" not in _texts(at) and len(at.text_input) == 2
    at.text_input[0].input("ana")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert "not right" in _texts(at)
    at.text_input[0].input("vera")
    at.text_input[1].input("a long password 1")
    at.button[0].click().run()
    assert "do not have access" in _texts(at)
    at = _app(tmp_path, empty_wh.path).run()
    at.text_input[0].input("ana")
    at.text_input[1].input("a long password 2")
    at.button[0].click().run()
    assert "UPLOAD PAGE" in _texts(at)
