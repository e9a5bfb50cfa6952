"""Roles, permissions, local accounts, OIDC role mapping and demo mode.

Three roles, each with everything the one before has:

- **viewer**: the read-only pages (board, report, trends, cohorts, training, practice,
  benchmarks);
- **analyst**: also upload and data quality;
- **admin**: also user and role settings, deleting an upload, restoring a backup and allowing
  a column past the identifiable-data guard.

Every role sees the same figures: small numbers are suppressed for everyone, because what one
person sees on screen can be copied to anyone (`pipelines.disclosure`).

Permissions are enforced in the pipeline functions (`require(role, action)` raises
`PermissionError`), not only by hiding pages: `pipelines.load.ingest.ingest_file(role=...)` calls it.

Identity comes from one of three places (see `dashboard/auth.py`):

1. Streamlit's OIDC login (`st.login`) when `.streamlit/secrets.toml` has an `[auth]` section;
   the e-mail address is mapped to a role by the roles file (`RP_IMPACT_ROLES`, default
   `config/roles.toml`): exact addresses first, then domains, then `default_role` if set.
2. Local accounts in the users file (`RP_IMPACT_USERS`, default `var/users.toml`), created
   with `rp-impact users add NAME --role ROLE`; passwords are stored as salted scrypt hashes and
   compared in constant time. Failed sign-ins are counted in a small SQLite file beside the
   users file (:func:`sign_in_attempt`), per name and overall, across every process; a signed
   session token (:func:`issue_session_token`) lets a browser refresh keep the session.
3. Demo mode, only when neither is configured and `RP_IMPACT_DEMO=1`: the synthetic sample,
   with a banner. Demo mode serves a warehouse only when every loaded upload is one of the
   sample's own files by SHA-256, or public data (DfE's published files, rollout and areas
   tables, `rp-impact build-public`); :func:`demo_refusal` says why otherwise.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipelines import config

ROLES: tuple[str, ...] = ("viewer", "analyst", "admin")
SAMPLE_USER = "sample-build"
#: The user `rp-impact build-public` loads as: DfE's published files, a rollout table and
#: an areas file, nothing about any child (:func:`public_data_only`).
PUBLIC_BUILD_USER = "public-build"

# action -> the least role that may do it
ACTIONS: dict[str, str] = {
    "view": "viewer",
    "download_suppressed": "viewer",
    "validate": "analyst",
    "upload": "analyst",
    "import_dfe": "analyst",
    "view_audit": "analyst",
    "allow_column": "admin",
    "delete_upload": "admin",
    "manage_users": "admin",
    "backup": "admin",
    "restore": "admin",
}

# page key -> the least role that may open it, in menu order
PAGES: dict[str, str] = {
    "board": "viewer",
    "report": "viewer",
    "trends": "viewer",
    "cohorts": "viewer",
    "training": "viewer",
    "practice": "viewer",
    "benchmarks": "viewer",
    "upload": "analyst",
    "data_quality": "analyst",
    "admin": "admin",
}
PAGE_ALIASES = {"quality": "data_quality"}

MIN_PASSWORD_LENGTH = 10
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# scrypt parameters: 2**14 x 8 x 128 bytes = 16 MiB of memory per hash (OWASP's minimum).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class AuthError(ValueError):
    """A user-management request that cannot be done; the message says why."""


def _rank(role: str | None) -> int:
    if role not in ROLES:
        return -1
    return ROLES.index(role)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(f"'{role}' is not a role. Roles: {', '.join(ROLES)}.")
    return role


def can(role: str | None, action: str) -> bool:
    """May `role` do `action`? Unknown roles and unknown actions may do nothing."""
    needed = ACTIONS.get(action)
    return needed is not None and _rank(role) >= _rank(needed)


def require(role: str | None, action: str) -> None:
    """Raise PermissionError unless `role` may do `action`."""
    if can(role, action):
        return
    needed = ACTIONS.get(action)
    if needed is None:
        raise PermissionError(f"'{action}' is not an action rp-impact knows.")
    who = f"the {role} role" if role in ROLES else "a user without a role"
    raise PermissionError(
        f"Permission denied: {who} cannot {action.replace('_', ' ')}; it needs the {needed} "
        "role. Ask an admin."
    )


def page_key(key: str) -> str:
    return PAGE_ALIASES.get(key, key)


def can_view_page(role: str | None, key: str) -> bool:
    needed = PAGES.get(page_key(key))
    return needed is not None and _rank(role) >= _rank(needed)


def allowed_pages(role: str | None) -> list[str]:
    """The page keys `role` may open, in menu order (empty for no role)."""
    return [key for key, needed in PAGES.items() if _rank(role) >= _rank(needed)]


# -- passwords -------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=64 * 1024 * 1024,
        dklen=32,
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash (scrypt, or pbkdf2_sha256 from elsewhere)."""
    try:
        scheme, *parts = stored.split("$")
        if scheme == "scrypt":
            n, r, p, salt, expected = parts
            digest = hashlib.scrypt(
                password.encode("utf-8"),
                salt=base64.b64decode(salt),
                n=int(n),
                r=int(r),
                p=int(p),
                maxmem=64 * 1024 * 1024,
                dklen=len(base64.b64decode(expected)),
            )
        elif scheme == "pbkdf2_sha256":
            iterations, salt, expected = parts
            digest = hashlib.pbkdf2_hmac(
                "sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations)
            )
        else:
            return False
        return hmac.compare_digest(digest, base64.b64decode(expected))
    except (ValueError, TypeError):
        return False


# A hash to check against when the user does not exist, so that a wrong name takes as long as
# a wrong password (no user enumeration by timing).
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(16))
    return _DUMMY_HASH


# -- local accounts --------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str = ""
    password_hash: str = ""

    def __repr__(self) -> str:  # never print the hash
        return f"User(name={self.name!r}, role={self.role!r})"


def users_path() -> Path:
    configured = os.environ.get("RP_IMPACT_USERS")
    return Path(configured).expanduser() if configured else config.PROJECT_ROOT / "var/users.toml"


def load_users(path: Path | None = None) -> dict[str, User]:
    path = path or users_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuthError(f"The users file {path} is not valid TOML: {exc}") from exc
    users = {}
    for name, entry in (data.get("users") or {}).items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES:
            continue
        users[name] = User(
            name, entry["role"], str(entry.get("created_at", "")), str(entry.get("password", ""))
        )
    return users


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def save_users(users: dict[str, User], path: Path | None = None) -> Path:
    """Write the users file atomically, readable by its owner only (0600)."""
    path = path or users_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# rp-impact local accounts. Managed with `rp-impact users`; passwords are salted",
        "# scrypt hashes. Keep this file private (mode 0600) and out of version control.",
        "",
    ]
    for user in sorted(users.values(), key=lambda u: u.name):
        lines += [
            f"[users.{_toml_string(user.name)}]",
            f"role = {_toml_string(user.role)}",
            f"password = {_toml_string(user.password_hash)}",
            f"created_at = {_toml_string(user.created_at)}",
            "",
        ]
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".users-", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def add_user(name: str, role: str, password: str, path: Path | None = None) -> User:
    if not _NAME_RE.match(name or ""):
        raise AuthError(
            "A user name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter "
            "or digit."
        )
    check_role(role)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip() == "" or password.lower() == name.lower():
        raise AuthError("Choose a password that is not blank and not the user name.")
    users = load_users(path)
    if name in users:
        raise AuthError(f"User '{name}' already exists. Remove it first to reset it.")
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    users[name] = User(name, role, created, hash_password(password))
    save_users(users, path)
    return users[name]


def remove_user(name: str, path: Path | None = None) -> None:
    users = load_users(path)
    if name not in users:
        raise AuthError(f"No user '{name}'.")
    remaining_admins = [u for u in users.values() if u.role == "admin" and u.name != name]
    if users[name].role == "admin" and not remaining_admins and len(users) > 1:
        raise AuthError("This is the last admin; add another admin before removing it.")
    del users[name]
    save_users(users, path)


def set_role(name: str, role: str, path: Path | None = None) -> User:
    check_role(role)
    users = load_users(path)
    if name not in users:
        raise AuthError(f"No user '{name}'.")
    user = users[name]
    others = [u for u in users.values() if u.role == "admin" and u.name != name]
    if user.role == "admin" and role != "admin" and not others:
        raise AuthError("This is the last admin; add another admin first.")
    users[name] = User(name, role, user.created_at, user.password_hash)
    save_users(users, path)
    return users[name]


def authenticate(name: str, password: str, path: Path | None = None) -> User | None:
    """The user when the name and password match; None otherwise (same work either way)."""
    users = load_users(path)
    user = users.get(name)
    stored = user.password_hash if user else _dummy_hash()
    ok = verify_password(password or "", stored)
    return user if (user is not None and ok) else None


def local_accounts_configured(path: Path | None = None) -> bool:
    try:
        return bool(load_users(path))
    except AuthError:
        return True  # a damaged file must not silently fall back to demo mode


# -- sign-in attempts and sessions -------------------------------------------------------------
# Both live beside the users file, so every dashboard process (and a restart) sees the same
# lockout and the same sessions: `users.signin.sqlite` (attempts, ended sessions) and
# `users.session-secret` (the HMAC key, unless RP_IMPACT_SESSION_SECRET is set).

LOCKOUT_FAILURES = 5  # failed sign-ins per name within the window
LOCKOUT_FAILURES_OVERALL = 20  # across all names (against password spraying)
LOCKOUT_SECONDS = 15 * 60
SESSION_SECONDS = 8 * 60 * 60
SESSION_COOKIE = "rp_impact_session"

WRONG_PASSWORD = "The user name or password is not right."
LOCKED_NAME = "Too many failed sign-ins for this user name; try again in 15 minutes."
LOCKED_OVERALL = (
    "Too many failed sign-ins on this dashboard in the last 15 minutes, so sign-in is paused "
    "for everyone; try again in 15 minutes."
)
_TOKEN_RE = re.compile(
    r"^v1\.[A-Za-z0-9_-]{1,100}\.[A-Za-z0-9_-]{16}\.[0-9]{1,12}\.[A-Za-z0-9_-]{43}$"
)


@dataclass(frozen=True)
class SignIn:
    """One sign-in attempt: the user when it succeeded, else the message to show."""

    user: User | None
    message: str = ""


def signin_state_path(path: Path | None = None) -> Path:
    return (path or users_path()).with_suffix(".signin.sqlite")


def _signin_db(path: Path | None) -> sqlite3.Connection:
    db = signin_state_path(path)
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(db, os.O_CREAT | os.O_RDWR, 0o600))
        con = sqlite3.connect(db, timeout=30, isolation_level=None)
        con.execute("CREATE TABLE IF NOT EXISTS attempts (name TEXT NOT NULL, at REAL NOT NULL)")
        con.execute(
            "CREATE TABLE IF NOT EXISTS ended_sessions (token_id TEXT PRIMARY KEY, "
            "expires REAL NOT NULL)"
        )
    except (OSError, sqlite3.Error) as exc:
        raise AuthError(
            f"Sign-in is unavailable because the sign-in record {db} cannot be used "
            f"({exc}); ask an administrator."
        ) from exc
    return con


def sign_in_attempt(
    name: str, password: str, path: Path | None = None, *, now: float | None = None
) -> SignIn:
    """Check a name and password, unless the name or the whole dashboard is locked out.

    The attempt is counted *before* the password is checked, in one write transaction, so
    parallel guesses cannot all slip in before the count reaches the limit: at most
    LOCKOUT_FAILURES guesses per name, and LOCKOUT_FAILURES_OVERALL across names, are checked
    in any LOCKOUT_SECONDS. A success clears its name's count."""
    now = time.time() if now is None else now
    key = (name or "").strip().lower()
    con = _signin_db(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM attempts WHERE at <= ?", [now - LOCKOUT_SECONDS])
        for_name, overall = con.execute(
            "SELECT count(*) FILTER (WHERE name = ?), count(*) FROM attempts", [key]
        ).fetchone()
        if for_name >= LOCKOUT_FAILURES or overall >= LOCKOUT_FAILURES_OVERALL:
            con.execute("COMMIT")
            return SignIn(None, LOCKED_NAME if for_name >= LOCKOUT_FAILURES else LOCKED_OVERALL)
        con.execute("INSERT INTO attempts (name, at) VALUES (?, ?)", [key, now])
        con.execute("COMMIT")
        user = authenticate((name or "").strip(), password, path)
        if user is None:
            return SignIn(None, WRONG_PASSWORD)
        con.execute("DELETE FROM attempts WHERE name = ?", [key])
        return SignIn(user)
    except sqlite3.Error as exc:
        raise AuthError(
            f"Sign-in is unavailable because the sign-in record {signin_state_path(path)} "
            f"cannot be used ({exc}); ask an administrator."
        ) from exc
    finally:
        con.close()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _session_secret(path: Path | None) -> bytes:
    """The HMAC key for session tokens, made once (0600) and shared by every process."""
    configured = os.environ.get("RP_IMPACT_SESSION_SECRET", "")
    if configured:
        if len(configured) < 32:
            raise AuthError("RP_IMPACT_SESSION_SECRET must have at least 32 characters.")
        return configured.encode("utf-8")
    secret_path = (path or users_path()).with_suffix(".session-secret")
    if not secret_path.exists():
        secret_path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(dir=secret_path.parent, prefix=".secret-")
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, secrets.token_hex(32).encode("ascii"))
            os.close(descriptor)
            os.link(temp_name, secret_path)  # fails if another process made it first: use theirs
        except FileExistsError:
            pass
        finally:
            Path(temp_name).unlink(missing_ok=True)
    secret = secret_path.read_bytes().strip()
    if len(secret) < 32:
        raise AuthError(
            f"The session secret {secret_path} is damaged; delete it to make a new one."
        )
    return secret


def _token_signature(secret: bytes, payload: str, password_hash: str) -> str:
    # The password hash (fresh salt each time) is signed in, so a new password ends old sessions.
    binding = hashlib.sha256(password_hash.encode("utf-8")).hexdigest()
    return _b64url(hmac.new(secret, f"{payload}|{binding}".encode(), hashlib.sha256).digest())


def issue_session_token(user: User, path: Path | None = None, *, now: float | None = None) -> str:
    """A signed token naming `user`, valid for SESSION_SECONDS (the browser keeps it as a
    cookie, so a refresh keeps the session)."""
    now = time.time() if now is None else now
    name = _b64url(user.name.encode("utf-8"))
    payload = f"v1.{name}.{_b64url(secrets.token_bytes(12))}.{int(now + SESSION_SECONDS)}"
    return f"{payload}.{_token_signature(_session_secret(path), payload, user.password_hash)}"


def _token_parts(token: str) -> tuple[str, str, str, int, str] | None:
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        return None
    _, name, token_id, expires, signature = token.split(".")
    try:
        decoded = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded, token_id, token.rsplit(".", 1)[0], int(expires), signature


def session_user(token: str | None, path: Path | None = None, *, now: float | None = None):
    """The user a session token names, or None when it is malformed, forged, expired, ended
    by sign-out, or its user was removed or has a new password. The role is the user's role
    now, not when the token was issued."""
    parts = _token_parts(token or "")
    if parts is None:
        return None
    name, token_id, payload, expires, signature = parts
    now = time.time() if now is None else now
    if now >= expires:
        return None
    user = load_users(path).get(name)
    expected = _token_signature(
        _session_secret(path), payload, user.password_hash if user else _dummy_hash()
    )
    if user is None or not hmac.compare_digest(signature, expected):
        return None
    con = _signin_db(path)
    try:
        ended = con.execute(
            "SELECT 1 FROM ended_sessions WHERE token_id = ?", [token_id]
        ).fetchone()
    finally:
        con.close()
    return None if ended else user


def end_session(token: str | None, path: Path | None = None, *, now: float | None = None) -> None:
    """Sign-out: the token stops working everywhere, even if the browser kept its cookie."""
    parts = _token_parts(token or "")
    if parts is None or session_user(token, path, now=now) is None:
        return
    now = time.time() if now is None else now
    con = _signin_db(path)
    try:
        con.execute("DELETE FROM ended_sessions WHERE expires <= ?", [now])
        con.execute(
            "INSERT OR IGNORE INTO ended_sessions (token_id, expires) VALUES (?, ?)",
            [parts[1], parts[3]],
        )
    finally:
        con.close()


def page_refusal(title: str, key: str) -> str:
    """What a page outside the role says instead of its content."""
    needed = PAGES.get(page_key(key), "admin")
    who = "an administrator" if needed == "admin" else "an analyst or administrator"
    return f"You do not have access to the {title} page; ask {who}."


# -- OIDC role mapping -----------------------------------------------------------------------


def roles_path() -> Path:
    configured = os.environ.get("RP_IMPACT_ROLES")
    return (
        Path(configured).expanduser() if configured else config.PROJECT_ROOT / "config/roles.toml"
    )


def load_role_map(path: Path | None = None) -> dict:
    path = path or roles_path()
    if not path.exists():
        return {"emails": {}, "domains": {}, "default_role": None}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    emails = {str(k).strip().lower(): v for k, v in (data.get("emails") or {}).items()}
    domains = {
        str(k).strip().lower().lstrip("@"): v for k, v in (data.get("domains") or {}).items()
    }
    default = data.get("default_role") or None
    return {
        "emails": {k: v for k, v in emails.items() if v in ROLES},
        "domains": {k: v for k, v in domains.items() if v in ROLES},
        "default_role": default if default in ROLES else None,
    }


def role_for_email(email: str | None, role_map: dict | None = None) -> str | None:
    """The role for a signed-in e-mail: exact address, then its domain, then the default."""
    if not email or "@" not in email:
        return None
    role_map = role_map if role_map is not None else load_role_map()
    address = email.strip().lower()
    if address in role_map["emails"]:
        return role_map["emails"][address]
    domain = address.rsplit("@", 1)[1]
    if domain in role_map["domains"]:
        return role_map["domains"][domain]
    return role_map["default_role"]


# -- demo mode -------------------------------------------------------------------------------


def demo_requested() -> bool:
    return os.environ.get("RP_IMPACT_DEMO", "").strip().lower() in {"1", "true", "yes"}


#: Datasets that say nothing about any child: when to roll out, and which councils exist.
PUBLIC_DATASETS = frozenset({"rollout", "areas"})
_SAMPLE_SUFFIXES = {".csv", ".xlsx"}
_sample_hash_cache: dict[tuple, frozenset[str]] = {}


def sample_file_hashes(folder: Path | None = None) -> frozenset[str]:
    """SHA-256 of every extract under the sample folder: the only files demo mode trusts.

    Hashing about a hundred small files on every page run is wasteful, so the set is kept
    while no file's size or modification time changes."""
    from pipelines.load.readers import sha256_of

    folder = folder or config.SAMPLE_DIR
    if not folder.is_dir():
        return frozenset()
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _SAMPLE_SUFFIXES
    )
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key not in _sample_hash_cache:
        _sample_hash_cache.clear()
        _sample_hash_cache[key] = frozenset(sha256_of(p) for p in files)
    return _sample_hash_cache[key]


def _loaded_uploads(warehouse) -> list[tuple[str, str, str]]:
    # `query` reads in a read-only session: the dashboard checks this on every run and must not
    # take the writer for it.
    frame = warehouse.query(
        "SELECT sha256, coalesce(source, '') AS source, coalesce(dataset, '') AS dataset "
        "FROM raw_uploads WHERE outcome = 'loaded'"
    )
    return list(frame.itertuples(index=False, name=None))


def _upload_kinds(warehouse) -> tuple[int, int]:
    """(public, private): loaded uploads that are not the sample's own files, split into public
    statistics and everything else. Only the file's hash decides what is the sample, and only
    what the upload loaded (a DfE table, a rollout or areas table) decides what is public:
    the folder, `--user` and `RP_IMPACT_USER` are the uploader's word, not evidence."""
    if warehouse is None:
        return 0, 0
    sample = sample_file_hashes()
    public = private = 0
    for sha, source, dataset in _loaded_uploads(warehouse):
        if sha in sample:
            continue
        if (source == "dfe" and dataset.startswith("dfe:")) or dataset in PUBLIC_DATASETS:
            public += 1
        else:
            private += 1
    return public, private


def non_sample_uploads(warehouse) -> int:
    """How many loaded uploads are not one of the sample's own files (0 for the sample)."""
    return sum(_upload_kinds(warehouse))


def public_data_only(warehouse) -> bool:
    """True when something beyond the sample is loaded and all of it is public: DfE's published
    statistics (imported as DfE tables), rollout tables and areas lists, as `rp-impact
    build-public` loads them. Demo mode serves such a warehouse with a public-data banner."""
    public, private = _upload_kinds(warehouse)
    return public > 0 and private == 0


def demo_refusal(warehouse) -> str | None:
    """Why demo mode must not serve this warehouse, or None when every loaded upload is one of
    the sample's own files or public data (:func:`public_data_only`)."""
    _, private = _upload_kinds(warehouse)
    if not private:
        return None
    return (
        f"Demo mode will not serve this warehouse because it holds {private} upload(s) that are "
        "neither the sample's own files nor public DfE statistics, so sign-in is required: "
        "create an account with `rp-impact users add NAME --role admin` and start the "
        "dashboard without RP_IMPACT_DEMO."
    )
