"""Who is using the dashboard, and what they may see: the Streamlit side of `pipelines.auth`.

Three modes, chosen in this order:

1. **OIDC** when `.streamlit/secrets.toml` has an `[auth]` section: Streamlit's own `st.login()`
   (Microsoft Entra, Google, Okta...). The e-mail address is mapped to a role by the roles file
   (`RP_IMPACT_ROLES`, default `config/roles.toml`); an address with no role is refused.
2. **Local accounts** when the users file (`RP_IMPACT_USERS`, default `var/users.toml`) has any
   account: a sign-in form; passwords checked by `pipelines.auth.authenticate` (scrypt,
   constant time); five failures for a name within 15 minutes lock it for 15 minutes.
3. **Demo** only when neither is configured and `RP_IMPACT_DEMO=1` (`make run` sets it for the
   sample): a banner on every page, and a refusal to serve a warehouse that holds any upload
   that is not the sample. The demo user is an analyst (`RP_IMPACT_DEMO_ROLE=viewer` to try the
   board member's view), and uploads accept only the sample's own files.

Otherwise nothing is served: the page explains how to configure sign-in.

How `dashboard/app.py` uses this (see docs/security.md):

    identity = auth.require_identity(warehouse)      # draws sign-in; st.stop() until signed in
    pages = [p for p in PAGES if auth.can_open(identity, p.key)]
    auth.sidebar(identity)                           # who, role, sign-out, demo banner
    ...
    # at the top of each page script (protects a URL typed by hand):
    auth.require_page(identity, "upload")
    # when calling the pipeline:
    ingest_file(wh, path, user=identity.name, role=identity.role, demo=identity.demo)
    # suppression: auth.unsuppressed(identity) -> bool
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import streamlit as st

from pipelines import auth as core

SESSION_KEY = "rp_impact_identity"
LOCKOUT_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
_failures: dict[str, list[float]] = {}
_failures_lock = threading.Lock()


@dataclass(frozen=True)
class Identity:
    name: str
    role: str
    mode: str  # oidc | local | demo

    @property
    def demo(self) -> bool:
        return self.mode == "demo"


# -- configuration ---------------------------------------------------------------------------


def oidc_configured() -> bool:
    """True when secrets.toml has an [auth] section that st.login can use."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets file, or an unreadable one
        return False
    return bool(section)


def auth_mode() -> str:
    """'oidc', 'local', 'demo' or 'none' (nothing configured: the app refuses to serve)."""
    if oidc_configured():
        return "oidc"
    if core.local_accounts_configured():
        return "local"
    if core.demo_requested():
        return "demo"
    return "none"


# -- permissions -----------------------------------------------------------------------------


def can_open(identity: Identity | None, page_key: str) -> bool:
    return identity is not None and core.can_view_page(identity.role, page_key)


def unsuppressed(identity: Identity | None) -> bool:
    """May this person see counts of 1-4 (and download them)? Analysts and admins only."""
    return identity is not None and core.can_see_unsuppressed(identity.role)


def require_page(identity: Identity | None, page_key: str) -> None:
    """Stop the page unless the identity may open it (also when the URL was typed by hand)."""
    if can_open(identity, page_key):
        return
    st.error(
        "You do not have access to this page. "
        + (f"Your role is {identity.role}. " if identity else "")
        + "Ask an admin if you need it."
    )
    st.stop()


# -- sign-in ---------------------------------------------------------------------------------


def _locked(name: str) -> bool:
    now = time.monotonic()
    with _failures_lock:
        recent = [t for t in _failures.get(name, []) if now - t < LOCKOUT_SECONDS]
        _failures[name] = recent
        return len(recent) >= LOCKOUT_FAILURES


def _record_failure(name: str) -> None:
    with _failures_lock:
        _failures.setdefault(name, []).append(time.monotonic())


def _local_sign_in() -> Identity | None:
    st.title("Sign in to rp-impact")
    with st.form("rp_impact_sign_in"):
        name = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return None
    name = name.strip()
    if _locked(name):
        st.error("Too many failed attempts for this user. Try again in 15 minutes.")
        return None
    user = core.authenticate(name, password)
    if user is None:
        _record_failure(name)
        st.error("The user name or password is not right.")
        return None
    with _failures_lock:
        _failures.pop(name, None)
    return Identity(user.name, user.role, "local")


def _oidc_sign_in() -> Identity | None:
    user = st.user
    if not getattr(user, "is_logged_in", False):
        st.title("Sign in to rp-impact")
        st.button("Sign in with your organisation's account", on_click=st.login)
        return None
    email = user.get("email")
    if user.get("email_verified") is False:
        st.error("Your e-mail address is not verified by the identity provider.")
        st.button("Sign out", on_click=st.logout)
        return None
    role = core.role_for_email(email)
    if role is None:
        st.error(
            f"You are signed in as {email}, but that address has no role in rp-impact. "
            "Ask an admin to add it to the roles file."
        )
        st.button("Sign out", on_click=st.logout)
        return None
    return Identity(str(email), role, "oidc")


def _demo_identity(warehouse) -> Identity | None:
    refusal = core.demo_refusal(warehouse)
    if refusal:
        st.error(refusal)
        return None
    role = os.environ.get("RP_IMPACT_DEMO_ROLE", "analyst")
    return Identity("demo", role if role in ("viewer", "analyst") else "analyst", "demo")


def sign_in(warehouse) -> Identity | None:
    """The signed-in identity, drawing the sign-in UI (or a refusal) when there is none."""
    mode = auth_mode()
    current = st.session_state.get(SESSION_KEY)
    if isinstance(current, Identity) and current.mode == mode:
        if mode == "oidc" and not getattr(st.user, "is_logged_in", False):
            st.session_state.pop(SESSION_KEY, None)
        elif mode == "demo" and core.demo_refusal(warehouse):
            st.session_state.pop(SESSION_KEY, None)
            return _demo_identity(warehouse)
        else:
            return current
    if mode == "oidc":
        identity = _oidc_sign_in()
    elif mode == "local":
        identity = _local_sign_in()
    elif mode == "demo":
        identity = _demo_identity(warehouse)
    else:
        st.error(
            "Sign-in is not configured, so rp-impact will not show any data. Create an account "
            "with `rp-impact users add NAME --role admin`, or configure OIDC in "
            ".streamlit/secrets.toml. To try the synthetic sample only, start it with "
            "RP_IMPACT_DEMO=1 (`make run` does)."
        )
        identity = None
    if identity is not None:
        st.session_state[SESSION_KEY] = identity
        if mode == "local":
            st.rerun()
    return identity


def require_identity(warehouse) -> Identity:
    identity = sign_in(warehouse)
    if identity is None:
        st.stop()
    return identity


def sign_out(identity: Identity) -> None:
    st.session_state.pop(SESSION_KEY, None)
    if identity.mode == "oidc":
        st.logout()


def demo_banner() -> None:
    st.warning(
        "Demo mode: synthetic sample data for a fictional partnership. Nothing here is real, "
        "and only the sample's own files can be uploaded.",
        icon=":material/science:",
    )


def sidebar(identity: Identity) -> None:
    """Who is signed in, their role, and a sign-out button; the demo banner in demo mode."""
    if identity.demo:
        demo_banner()
    with st.sidebar:
        st.caption(f"Signed in as **{identity.name}** ({identity.role})")
        if not identity.demo:
            st.button("Sign out", on_click=sign_out, args=(identity,), key="rp_sign_out")
