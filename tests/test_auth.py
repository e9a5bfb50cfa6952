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
        "practice",
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


def test_no_role_is_shown_unsuppressed_figures():
    """Small numbers are suppressed for every role (the README no longer promises analysts
    unsuppressed tables): there is no permission that could switch the gate off."""
    assert not any("unsuppressed" in action for action in auth.ACTIONS)
    assert not hasattr(auth, "can_see_unsuppressed")


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


def refusal(count: int) -> str:
    return (
        f"Demo mode will not serve this warehouse because it holds {count} upload(s) that are "
        "neither the sample's own files nor public DfE statistics, so sign-in is required: "
        "create an account with `rp-impact users add NAME --role admin` and start the "
        "dashboard without RP_IMPACT_DEMO."
    )


def test_demo_mode_serves_the_sample_only(sample_wh, write_file):
    assert auth.demo_refusal(sample_wh) is None
    assert ingest_file(sample_wh, write_file("mine.csv", Q1), user="ana").outcome == "loaded"
    assert auth.demo_refusal(sample_wh) == refusal(1)


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
    assert refusal(1) in _texts(at)  # the population extract; an areas list is public
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
    assert [e.value for e in at.error] == [auth.WRONG_PASSWORD]
    at.text_input[0].input("vera")
    at.text_input[1].input("a long password 1")
    at.button[0].click().run()
    assert [e.value for e in at.error] == [
        "You do not have access to the Upload page; ask an analyst or administrator."
    ]
    at = _app(tmp_path, empty_wh.path).run()
    at.text_input[0].input("ana")
    at.text_input[1].input("a long password 2")
    at.button[0].click().run()
    assert "UPLOAD PAGE" in _texts(at)
    # the browser is given the signed session token as a cookie, and only that
    scripts = [h.proto.body for h in at.get("html")]
    assert len(scripts) == 1 and f"{auth.SESSION_COOKIE}=v1." in scripts[0]
    token = scripts[0].split(f"{auth.SESSION_COOKIE}=")[1].split(";")[0]
    assert auth.session_user(token).name == "ana"
    # signing out ends the token on the server and clears the cookie
    at.sidebar.button[0].click().run()
    assert auth.session_user(token) is None and "UPLOAD PAGE" not in _texts(at)
    assert any(f"{auth.SESSION_COOKIE}=; Max-Age=0" in h.proto.body for h in at.get("html"))


def test_the_sign_in_form_shows_the_lockout(empty_wh, tmp_path, unconfigured):
    auth.add_user("ana", "analyst", "a long password 2")
    for n in range(auth.LOCKOUT_FAILURES):
        auth.sign_in_attempt("ana", f"guess {n}")
    at = _app(tmp_path, empty_wh.path).run()
    at.text_input[0].input("ana")
    at.text_input[1].input("a long password 2")
    at.button[0].click().run()
    assert [e.value for e in at.error] == [auth.LOCKED_NAME] and "UPLOAD PAGE" not in _texts(at)


def test_a_damaged_users_file_is_one_sentence_not_a_traceback(empty_wh, tmp_path, unconfigured):
    users = auth.users_path()
    users.write_text("[users.ana\nrole = ")
    at = _app(tmp_path, empty_wh.path).run()
    at.text_input[0].input("ana")
    at.text_input[1].input("a long password 2")
    at.button[0].click().run()
    assert not at.exception and "UPLOAD PAGE" not in _texts(at)
    assert len(at.error) == 1
    assert at.error[0].value.startswith(f"The users file {users} is not valid TOML: ")


# -- demo mode cannot be talked into serving real data ------------------------------------------

REAL_OUTCOMES = HEADER + "2023-04-30,E06999901,All,All,31,9\n"


def _real_folder(tmp_path):
    """A folder laid out like the sample, holding a council's own (not the sample's) files."""
    from conftest import AREAS_CSV, POPULATION_CSV

    folder = tmp_path / "real_folder"
    (folder / "outcomes").mkdir(parents=True)
    (folder / "areas.csv").write_text(AREAS_CSV)
    (folder / "population.csv").write_text(POPULATION_CSV)
    (folder / "outcomes" / "outcomes_2023-04.csv").write_text(REAL_OUTCOMES)
    return folder


def test_building_a_real_folder_as_the_sample_is_refused_in_demo_mode(tmp_path):
    from pipelines.cli import main
    from pipelines.store.warehouse import open_warehouse

    warehouse = tmp_path / "warehouse.duckdb"
    assert main(["--warehouse", str(warehouse), "build", str(_real_folder(tmp_path))]) == 0
    with open_warehouse(warehouse) as wh:
        sources = set(wh.query("SELECT DISTINCT source FROM raw_uploads")["source"])
        assert sources == {"sample"}  # what the old check trusted
        assert auth.demo_refusal(wh) == refusal(2)  # population and outcomes; areas are public
        assert not auth.public_data_only(wh)


@pytest.mark.parametrize("spoof", ["--user", "RP_IMPACT_USER"])
def test_loading_as_the_sample_user_is_refused_in_demo_mode(
    spoof, sample_copy, write_file, monkeypatch
):
    from pipelines.cli import main
    from pipelines.store.warehouse import open_warehouse

    extract = str(write_file("outcomes_2023-04.csv", REAL_OUTCOMES))
    args = ["--warehouse", str(sample_copy), "ingest", extract]
    if spoof == "--user":
        args += ["--user", auth.SAMPLE_USER]
    else:
        monkeypatch.setenv("RP_IMPACT_USER", auth.SAMPLE_USER)
    assert main(args) == 0
    with open_warehouse(sample_copy) as wh:
        users = wh.query("SELECT DISTINCT user_name FROM raw_uploads WHERE outcome = 'loaded'")
        assert set(users["user_name"]) == {auth.SAMPLE_USER}  # what the old check trusted
        assert auth.demo_refusal(wh) == refusal(1)


@pytest.fixture
def public_only(tmp_path):
    """`rp-impact build-public` from copies of the sample's DfE files and rollout table that
    are not byte for byte the sample's, so only the public-data rule can admit them."""
    from pipelines import config
    from pipelines.cli import main
    from pipelines.store.warehouse import open_warehouse

    dfe = tmp_path / "dfe"
    dfe.mkdir()
    for source in sorted((config.SAMPLE_DIR / "dfe").glob("*.csv")):
        (dfe / source.name).write_bytes(source.read_bytes() + b"\n")
    rollout = tmp_path / "rollout.csv"
    rollout.write_bytes((config.SAMPLE_DIR / "rollout.csv").read_bytes() + b"\n")
    warehouse = tmp_path / "public.duckdb"
    assert (
        main(["--warehouse", str(warehouse), "build-public", str(dfe), "--rollout", str(rollout)])
        == 0
    )
    with open_warehouse(warehouse) as wh:
        yield wh


def test_public_data_only_is_served_and_a_local_extract_cannot_pass_as_public(
    public_only, write_file
):
    from pipelines.load.ingest import ingest_file

    assert auth.public_data_only(public_only) and auth.demo_refusal(public_only) is None
    extract = write_file("outcomes_2023-04.csv", REAL_OUTCOMES)
    loaded = ingest_file(public_only, extract, user=auth.PUBLIC_BUILD_USER, source="dfe")
    assert loaded.outcome == "loaded", loaded.issues
    assert not auth.public_data_only(public_only)
    assert auth.demo_refusal(public_only) == refusal(1)


# -- sign-in attempts: a lockout per name and overall, shared by every process -----------------


@pytest.fixture
def accounts(users_file):
    auth.add_user("ana", "analyst", "correct horse battery")
    auth.add_user("vera", "viewer", "another long password")
    return users_file


def test_five_failures_lock_a_name_and_the_lock_is_kept_in_the_sign_in_record(accounts):
    now = 1_000_000.0
    results = [auth.sign_in_attempt("ana", f"guess {n}", now=now + n) for n in range(5)]
    assert [r.message for r in results] == [auth.WRONG_PASSWORD] * 5
    locked = auth.sign_in_attempt("ANA ", "correct horse battery", now=now + 6)  # same name
    assert (locked.user, locked.message) == (None, auth.LOCKED_NAME)
    assert (
        auth.LOCKED_NAME == "Too many failed sign-ins for this user name; try again in 15 minutes."
    )
    assert auth.sign_in_attempt("vera", "another long password", now=now + 7).user.name == "vera"
    later = now + 4 + auth.LOCKOUT_SECONDS  # the fifth failure is older than the window
    assert auth.sign_in_attempt("ana", "correct horse battery", now=later).user.role == "analyst"
    assert stat.S_IMODE(os.stat(auth.signin_state_path()).st_mode) == 0o600


def _guess_in_a_process(barrier, queue, users, name, password):
    os.environ["RP_IMPACT_USERS"] = users
    barrier.wait()
    queue.put(auth.sign_in_attempt(name, password).message)


def test_twelve_processes_guessing_at_once_get_at_most_five_guesses(accounts):
    import multiprocessing

    context = multiprocessing.get_context("fork")
    barrier, queue = context.Barrier(12), context.Queue()
    workers = [
        context.Process(
            target=_guess_in_a_process,
            args=(barrier, queue, str(accounts), "ana", f"wrong guess {n}"),
        )
        for n in range(12)
    ]
    for worker in workers:
        worker.start()
    messages = sorted(queue.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert messages.count(auth.WRONG_PASSWORD) == auth.LOCKOUT_FAILURES == 5
    assert messages.count(auth.LOCKED_NAME) == 7
    # and the lock is now in the file, so this process (which guessed nothing) sees it too
    assert auth.sign_in_attempt("ana", "correct horse battery").message == auth.LOCKED_NAME


def test_password_spraying_across_names_is_limited_overall(accounts):
    from concurrent.futures import ThreadPoolExecutor

    names = [f"user{n}" for n in range(30)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        messages = list(
            pool.map(lambda name: auth.sign_in_attempt(name, "Winter2026!").message, names)
        )
    assert messages.count(auth.WRONG_PASSWORD) == auth.LOCKOUT_FAILURES_OVERALL == 20
    assert messages.count(auth.LOCKED_OVERALL) == 10
    assert auth.sign_in_attempt("ana", "correct horse battery").message == auth.LOCKED_OVERALL
    assert auth.LOCKED_OVERALL == (
        "Too many failed sign-ins on this dashboard in the last 15 minutes, so sign-in is "
        "paused for everyone; try again in 15 minutes."
    )


def test_a_damaged_sign_in_record_refuses_sign_in_in_one_sentence(accounts):
    auth.signin_state_path().write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(auth.AuthError) as caught:
        auth.sign_in_attempt("ana", "correct horse battery")
    assert str(caught.value) == (
        f"Sign-in is unavailable because the sign-in record {auth.signin_state_path()} cannot "
        "be used (file is not a database); ask an administrator."
    )


# -- session tokens (the cookie that keeps a session through a browser refresh) --------------


def test_a_session_token_names_its_user_until_it_expires(accounts):
    ana = auth.load_users()["ana"]
    now = 2_000_000.0
    token = auth.issue_session_token(ana, now=now)
    assert auth.session_user(token, now=now + 1) == ana
    assert auth.session_user(token, now=now + auth.SESSION_SECONDS - 1) == ana
    assert auth.session_user(token, now=now + auth.SESSION_SECONDS) is None
    assert auth.SESSION_SECONDS == 8 * 60 * 60
    secret = auth.users_path().with_suffix(".session-secret")
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert "correct horse" not in token and ana.password_hash not in token


def test_a_forged_or_altered_token_is_refused(accounts, tmp_path, monkeypatch):
    import base64

    ana = auth.load_users()["ana"]
    token = auth.issue_session_token(ana)
    version, name, token_id, expires, signature = token.split(".")
    vera = base64.urlsafe_b64encode(b"vera").decode().rstrip("=")
    altered = {
        "another user": ".".join([version, vera, token_id, expires, signature]),
        "a later expiry": ".".join([version, name, token_id, str(int(expires) + 3600), signature]),
        "another signature": ".".join([version, name, token_id, expires, "A" * 43]),
        "garbage": "not a token",
        "empty": "",
    }
    for why, forged in altered.items():
        assert auth.session_user(forged) is None, why
    assert auth.session_user(token) == ana
    monkeypatch.setenv("RP_IMPACT_SESSION_SECRET", "a different secret of at least 32 chars")
    assert auth.session_user(token) is None  # signed with another key
    monkeypatch.setenv("RP_IMPACT_SESSION_SECRET", "too short")
    with pytest.raises(auth.AuthError) as caught:
        auth.session_user(token)
    assert str(caught.value) == "RP_IMPACT_SESSION_SECRET must have at least 32 characters."


def test_sign_out_a_new_password_or_a_removed_account_ends_a_session(accounts):
    ana = auth.load_users()["ana"]
    first, second = auth.issue_session_token(ana), auth.issue_session_token(ana)
    auth.end_session(first)
    assert auth.session_user(first) is None and auth.session_user(second) == ana
    auth.set_role("ana", "viewer")
    assert auth.session_user(second).role == "viewer"  # the role now, not at sign-in
    auth.remove_user("ana")
    auth.add_user("ana", "analyst", "a brand new password")  # how a password is changed
    assert auth.session_user(second) is None
    vera = auth.issue_session_token(auth.load_users()["vera"])
    auth.remove_user("vera")
    assert auth.session_user(vera) is None


def test_page_refusals_name_the_page_and_who_to_ask():
    assert auth.page_refusal("Upload", "upload") == (
        "You do not have access to the Upload page; ask an analyst or administrator."
    )
    assert auth.page_refusal("Admin", "admin") == (
        "You do not have access to the Admin page; ask an administrator."
    )


def test_the_public_data_banner_is_one_line_and_never_says_synthetic(public_only, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from pipelines import config

    monkeypatch.setenv("RP_IMPACT_WAREHOUSE", str(public_only.path))
    public_only.close()
    at = AppTest.from_file(str(config.PROJECT_ROOT / "dashboard" / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    banners = [i.value for i in at.info if "Public data only" in str(i.value)]
    assert banners == [
        "**Public data only:** DfE's published statistics, no council's own records."
    ]
    shown = [str(e.value) for kind in ("info", "warning", "caption") for e in getattr(at, kind)]
    assert not any("synthetic" in text.lower() for text in shown)
