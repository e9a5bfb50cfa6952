"""Who is using the dashboard, and what they may see: the Streamlit side of `pipelines.auth`.

Three modes, chosen in this order:

1. **OIDC** when `.streamlit/secrets.toml` has an `[auth]` section: Streamlit's own `st.login()`
   (Microsoft Entra, Google, Okta...). The e-mail address is mapped to a role by the roles file
   (`RP_IMPACT_ROLES`, default `config/roles.toml`); an address with no role is refused.
2. **Local accounts** when the users file (`RP_IMPACT_USERS`, default `var/users.toml`) has any
   account: a sign-in form; attempts go through `pipelines.auth.sign_in_attempt` (scrypt,
   constant time, a lockout per name and overall shared by every process). A signed session
   token is kept in a cookie (`rp_impact_session`, 8 hours, SameSite=Strict) so that a browser
   refresh keeps the session; signing out ends the token on the server as well.
3. **Demo** only when neither is configured and `RP_IMPACT_DEMO=1` (`make run` sets it for the
   sample): a one-line banner on every page, and a refusal to serve a warehouse holding any
   upload that is neither one of the sample's own files nor public data. The demo user is an
   analyst (`RP_IMPACT_DEMO_ROLE=viewer` to try the board member's view), and uploads accept
   only the sample's own files.

Otherwise nothing is served: the page explains how to configure sign-in.

How `dashboard/app.py` uses this (see docs/security.md):

    identity = auth.sign_in(warehouse)   # draws sign-in or a refusal; None until signed in
    auth.sidebar(identity, warehouse)    # who, role, sign-out; the demo banner in demo mode
    # a page outside the role is registered to say so (auth.page_refusal), never to run
    ingest_file(wh, path, user=identity.name, role=identity.role, demo=identity.demo)
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass

import streamlit as st

from pipelines import auth as core

SESSION_KEY = "rp_impact_identity"
_SET_COOKIE = "_rp_set_session_cookie"
_CLEAR_COOKIE = "_rp_clear_session_cookie"


@dataclass(frozen=True)
class Identity:
    name: str
    role: str
    mode: str  # oidc | local | demo
    token: str = ""  # local accounts: the signed session token kept in the cookie

    @property
    def demo(self) -> bool:
        return self.mode == "demo"

    def __repr__(self) -> str:  # never print the token
        return f"Identity(name={self.name!r}, role={self.role!r}, mode={self.mode!r})"


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


def page_refusal(title: str, page_key: str) -> str:
    return core.page_refusal(title, page_key)


def require_page(identity: Identity | None, page_key: str, title: str | None = None) -> None:
    """Stop the page unless the identity may open it (also when the URL was typed by hand)."""
    if can_open(identity, page_key):
        return
    st.error(page_refusal(title or page_key.replace("_", " ").capitalize(), page_key))
    st.stop()


# -- the session cookie ------------------------------------------------------------------------


def _cookie_token() -> str | None:
    """The session token the browser sent when this session's connection opened."""
    try:
        return st.context.cookies.get(core.SESSION_COOKIE)
    except Exception:  # no browser connection (a bare script run)
        return None


def _write_cookie() -> None:
    """Set or clear the session cookie in the browser: Streamlit can read cookies but not
    write them, so a line of JavaScript does it (the token is signed, not secret to the user)."""
    token = st.session_state.pop(_SET_COOKIE, None)
    clear = st.session_state.pop(_CLEAR_COOKIE, False)
    if token and core.session_user(token) is not None:
        cookie = f"{core.SESSION_COOKIE}={token}; Max-Age={core.SESSION_SECONDS}"
    elif clear:
        cookie = f"{core.SESSION_COOKIE}=; Max-Age=0"
    else:
        return
    st.html(
        "<script>document.cookie = "
        + json.dumps(cookie + "; Path=/; SameSite=Strict")
        + " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


# -- sign-in ---------------------------------------------------------------------------------


def _local_from_token(token: str | None) -> Identity | None:
    user = core.session_user(token) if token else None
    return Identity(user.name, user.role, "local", token) if user else None


def _local_sign_in() -> Identity | None:
    st.title("Sign in to rp-impact")
    with st.form("rp_impact_sign_in"):
        name = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return None
    result = core.sign_in_attempt(name, password)
    if result.user is None:
        st.error(result.message)
        return None
    token = core.issue_session_token(result.user)
    st.session_state[_SET_COOKIE] = token
    return Identity(result.user.name, result.user.role, "local", token)


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


def _still_valid(current: Identity, mode: str, warehouse) -> Identity | None:
    """The session's identity if it still holds (a token re-checked: sign-out elsewhere, a new
    password or a removed account end it, and a changed role applies at once)."""
    if current.mode != mode:
        return None
    if mode == "oidc":
        return current if getattr(st.user, "is_logged_in", False) else None
    if mode == "demo":
        return None if core.demo_refusal(warehouse) else current
    if mode == "local" and current.token:
        return _local_from_token(current.token)
    return current


def _identify(warehouse) -> Identity | None:
    mode = auth_mode()
    current = st.session_state.get(SESSION_KEY)
    if isinstance(current, Identity):
        kept = _still_valid(current, mode, warehouse)
        if kept is not None:
            st.session_state[SESSION_KEY] = kept
            return kept
        st.session_state.pop(SESSION_KEY, None)
        st.session_state[_CLEAR_COOKIE] = mode == "local"
    if mode == "local":
        refreshed = _local_from_token(_cookie_token())  # a browser refresh: the cookie holds
        if refreshed is not None:
            st.session_state[SESSION_KEY] = refreshed
            return refreshed
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
            st.rerun()  # the page the link asked for runs now, with its query parameters
    return identity


def sign_in(warehouse) -> Identity | None:
    """The signed-in identity, drawing the sign-in UI (or a refusal) when there is none.

    A damaged users file, sign-in record or session secret is one sentence, never a
    traceback, and nothing is served."""
    try:
        identity = _identify(warehouse)
        _write_cookie()
    except core.AuthError as exc:
        st.error(str(exc))
        return None
    return identity


def require_identity(warehouse) -> Identity:
    identity = sign_in(warehouse)
    if identity is None:
        st.stop()
    return identity


def sign_out(identity: Identity) -> None:
    st.session_state.pop(SESSION_KEY, None)
    if identity.mode == "local":
        # If the sign-in record cannot be written, the cookie is still cleared below and the
        # token still expires on its own.
        with contextlib.suppress(core.AuthError):
            core.end_session(identity.token)
        st.session_state[_CLEAR_COOKIE] = True
    if identity.mode == "oidc":
        st.logout()


# -- banners and the sidebar -------------------------------------------------------------------

DEMO_BANNER = "**Demo mode:** synthetic data, not real."
PUBLIC_BANNER = "**Public data only:** DfE's published statistics, no council's own records."
DEMO_DETAIL = (
    "Demo mode serves a fictional partnership's synthetic sample without sign-in. Only the "
    "sample's own files can be uploaded."
)
PUBLIC_DETAIL = (
    "This warehouse holds DfE's published statistics (years ending 31 March) and the rollout "
    "dates given to `rp-impact build-public`. The verdicts compare each council with its "
    "statistical neighbours year by year."
)


def demo_banner(public_data: bool) -> None:
    """One short line, so that it does not fill a phone's screen; the detail is in the sidebar."""
    if public_data:
        st.info(PUBLIC_BANNER, icon=":material/public:")
    else:
        st.warning(DEMO_BANNER, icon=":material/science:")


def sidebar(identity: Identity, warehouse=None) -> None:
    """Who is signed in, their role, and a sign-out button; the demo banner in demo mode."""
    public_data = identity.demo and core.public_data_only(warehouse)
    if identity.demo:
        demo_banner(public_data)
    with st.sidebar:
        st.caption(f"Signed in as **{identity.name}** ({identity.role})")
        if identity.demo:
            st.caption(PUBLIC_DETAIL if public_data else DEMO_DETAIL)
        else:
            st.button("Sign out", on_click=sign_out, args=(identity,), key="rp_sign_out")
