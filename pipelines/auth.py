"""Roles, permissions, local accounts, OIDC role mapping and demo mode.

Three roles, each with everything the one before has:

- **viewer**: the read-only pages (board, report, trends, cohorts, training, benchmarks), with
  small numbers suppressed;
- **analyst**: also upload, data quality and unsuppressed tables;
- **admin**: also user and role settings, deleting an upload, restoring a backup and allowing
  a column past the identifiable-data guard.

Permissions are enforced in the pipeline functions (`require(role, action)` raises
`PermissionError`), not only by hiding pages: `pipelines.load.ingest.ingest_file(role=...)` calls it.

Identity comes from one of three places (see `dashboard/auth.py`):

1. Streamlit's OIDC login (`st.login`) when `.streamlit/secrets.toml` has an `[auth]` section;
   the e-mail address is mapped to a role by the roles file (`RP_IMPACT_ROLES`, default
   `config/roles.toml`): exact addresses first, then domains, then `default_role` if set.
2. Local accounts in the users file (`RP_IMPACT_USERS`, default `var/users.toml`), created
   with `rp-impact users add NAME --role ROLE`; passwords are stored as salted scrypt hashes and
   compared in constant time.
3. Demo mode, only when neither is configured and `RP_IMPACT_DEMO=1`: the synthetic sample,
   with a banner. Demo mode refuses to serve a warehouse holding anything but the sample, or
   public data only (DfE's published files and a rollout table, `rp-impact build-public`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import tempfile
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
    "view_unsuppressed": "analyst",
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


def can_see_unsuppressed(role: str | None) -> bool:
    """Analysts and admins see small numbers; viewers (and everyone else) see them as 'c'."""
    return can(role, "view_unsuppressed")


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


def non_sample_uploads(warehouse) -> int:
    """How many loaded uploads did not come from the sample build (0 for a sample warehouse)."""
    if warehouse is None:
        return 0
    row = (
        warehouse.cursor()
        .execute(
            "SELECT count(*) FROM raw_uploads WHERE outcome = 'loaded' AND source <> 'sample' "
            "AND coalesce(user_name, '') <> ?",
            [SAMPLE_USER],
        )
        .fetchone()
    )
    return int(row[0])


def public_data_only(warehouse) -> bool:
    """True when everything loaded beyond the sample is public: DfE's published statistics,
    and the rollout table and areas file that `rp-impact build-public` loaded. Demo mode
    serves such a warehouse (with a banner saying it is public data only)."""
    if warehouse is None or not non_sample_uploads(warehouse):
        return False
    row = (
        warehouse.cursor()
        .execute(
            "SELECT count(*) FROM raw_uploads WHERE outcome = 'loaded' AND source <> 'sample' "
            "AND coalesce(user_name, '') <> ? AND NOT (source = 'dfe' OR (user_name = ? "
            "AND dataset IN ('rollout', 'areas')))",
            [SAMPLE_USER, PUBLIC_BUILD_USER],
        )
        .fetchone()
    )
    return int(row[0]) == 0


def demo_refusal(warehouse) -> str | None:
    """Why demo mode must not serve this warehouse, or None when it holds only the sample or
    only public data (:func:`public_data_only`)."""
    count = non_sample_uploads(warehouse)
    if not count or public_data_only(warehouse):
        return None
    return (
        f"Demo mode is for the synthetic sample only, but this warehouse holds {count} "
        "upload(s) of other data. Sign-in is required: create an account with "
        "`rp-impact users add NAME --role admin` (or configure OIDC in "
        ".streamlit/secrets.toml) and start the dashboard without RP_IMPACT_DEMO."
    )


def sample_file_hashes(folder: Path | None = None) -> set[str]:
    """SHA-256 of every file under the sample folder: the files demo mode may upload."""
    from pipelines.load.readers import sha256_of

    folder = folder or config.SAMPLE_DIR
    if not folder.is_dir():
        return set()
    return {
        sha256_of(p)
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in {".csv", ".xlsx"}
    }
