"""The request side of signing in: who is visiting, CSRF, guards and cookies."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import lru_cache, wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from quart import Quart, Response, current_app, g, redirect, request, url_for
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge
from werkzeug.sansio.response import Response as BaseResponse

from server.audit.events import RefusalEvent
from server.audit.refusals import refuse
from server.audit.service import Actor
from server.auth.models import Account
from server.auth.session_store import SessionPolicy
from server.auth.sessions import load_session, reload_member_sessions
from server.config import Settings
from server.errors import error_response
from server.lib.clock import Clock
from server.lib.cookies import remove_cookie, write_cookie
from server.members.access import AccessEnded
from server.security import CSRF_FIELD, CSRF_HEADER, csrf_token, csrf_valid, new_token

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MEMBER_ATTR = "_mypage_requires_member"
PUBLIC_ATTR = "_mypage_public"
UPLOAD_ATTR = "_mypage_max_upload"
CSRF_FREE_ATTR = "_mypage_csrf_free"
# Forms are small; only views marked with `accepts_upload` take more (up to MAX_UPLOAD_BYTES).
MAX_FORM_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 60 * 1024 * 1024
# The slowest line an upload is waited for: 512 kbit/s (a poor mobile tether).
UPLOAD_MIN_BYTES_PER_SECOND = 64 * 1024


def settings() -> Settings:
    """The app's settings."""
    return current_app.config["MYPAGE_SETTINGS"]


def now() -> Any:
    """The app's clock reading (injected in tests)."""
    clock: Clock = current_app.config["MYPAGE_CLOCK"]
    return clock()


def session_policy() -> SessionPolicy:
    """Session lifetimes from settings."""
    s = settings()
    return _policy(s.session_idle_minutes, s.session_absolute_hours)


@lru_cache(maxsize=8)
def _policy(idle_minutes: int, absolute_hours: int) -> SessionPolicy:
    # Read on every request; the settings never change while the app runs.
    return SessionPolicy(
        idle=timedelta(minutes=idle_minutes), absolute=timedelta(hours=absolute_hours)
    )


def request_actor(kind: str = "anonymous") -> Actor:
    """Who is making this request, for the audit log."""
    account: Account | None = g.get("account")
    ip = (request.remote_addr or "")[:45]
    ua = request.headers.get("User-Agent", "")[:300]
    actor = Actor(kind=kind, ip=ip, user_agent=ua)
    if account is not None and kind in ("anonymous", "member"):
        return actor.as_member(account)
    return actor


def view_mark(name: str, default: Any) -> Any:
    """A mark our decorators (`public`, `accepts_upload`) left on this request's view."""
    return getattr(current_app.view_functions.get(request.endpoint or ""), name, default)


async def rate_limit_key() -> str:
    """Whose budget a request spends: the signed-in member's or clerk's, else the address.

    Teachers at one school, or clerks in one office, share an address; their
    signed-in actions are limited person by person. Whatever can be reached
    without signing in (sign-in itself included) is limited per address: the
    peer's, or with MYPAGE_TRUSTED_PROXIES the one our own proxy saw, never
    an X-Forwarded-For the browser made up.
    """
    if not view_mark(PUBLIC_ATTR, False):
        staff = g.get("staff")
        if staff is not None:
            return f"staff:{staff.id}"
        member = g.get("member")
        if member is not None:
            return f"member:{member.id}"
    return f"ip:{request.remote_addr or ''}"


def current_csrf_token() -> str:
    """The token that forms and scripts must send back on this visitor's POSTs."""
    binding = g.csrf_binding
    # A page asks for it more than once (meta tag, sign-out form, other forms):
    # one HMAC per request and binding.
    known: tuple[str, str] | None = g.get("csrf_token_for")
    if known is not None and known[0] == binding:
        return known[1]
    token = csrf_token(settings().secret_key, binding)
    g.csrf_token_for = (binding, token)
    return token


def allow_slow_upload() -> None:
    """Wait for a trusted uploader's file as long as the slowest line we serve needs.

    Quart gives every request body 60 s; a clerk's 20 MB statements file
    needs ~2.7 Mbit/s for that. Called once the uploader is known to be
    signed in, so nobody else can hold a connection open this long.
    """
    limit = view_mark(UPLOAD_ATTR, None)
    if limit:
        needed = math.ceil(limit / UPLOAD_MIN_BYTES_PER_SECOND)
        request.body_timeout = max(request.body_timeout or 0, needed)


def accepts_upload(max_bytes: int) -> Callable[[F], F]:
    """Let a view receive a request body of up to max_bytes (a file upload)."""

    def mark(view: F) -> F:
        setattr(view, UPLOAD_ATTR, min(max_bytes, MAX_UPLOAD_BYTES))
        return view

    return mark


def public(view: F) -> F:
    """Mark a view as reachable without signing in (checked by the url_map test)."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def csrf_free(view: F) -> F:
    """Mark a public JSON API that changes nothing and reads no cookie: no CSRF token asked.

    Shops' own systems call it without a browser; tests/core/test_invariants.py
    lists every such view with the reason it may be one.
    """
    setattr(view, CSRF_FREE_ATTR, True)
    return view


def member_required(view: F) -> F:
    """Pages for signed-in members; others go to /login (or get 401 under /api)."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("member") is None:
            if request.path.startswith("/api/"):
                return await error_response(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), 303)
        return await view(*args, **kwargs)

    setattr(wrapper, MEMBER_ATTR, True)
    return wrapper  # type: ignore[return-value]


def safe_next(target: str | None) -> str:
    """Only same-site paths may follow a sign-in (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target


def set_session_cookie(response: BaseResponse, token: str) -> None:
    """Attach the session cookie (HttpOnly, Lax, Secure and __Host- where https)."""
    s = settings()
    write_cookie(
        response,
        s.session_cookie_name,
        token,
        secure=s.cookie_secure,
        max_age=s.session_absolute_hours * 3600,
    )


def clear_session_cookie(response: BaseResponse) -> None:
    """Remove the session cookie from the browser."""
    s = settings()
    remove_cookie(response, s.session_cookie_name, secure=s.cookie_secure)


def install_visitor(app: Quart) -> None:
    """Load the signed-in member (or bind a CSRF cookie) before every request."""

    @app.before_request
    async def limit_body() -> None:
        # The app-wide MAX_CONTENT_LENGTH is the largest upload, held as the
        # body streams in; every other view gets the form limit. A declared
        # length over the view's limit is refused before anything is read, the
        # multipart parser holds a streamed upload to it, and a small body sent
        # without a length (forms, JSON) is read here and measured.
        limit = view_mark(UPLOAD_ATTR, MAX_FORM_BYTES)
        if (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()
        request.max_content_length = limit
        if request.content_length is None and request.method not in SAFE_METHODS:
            if limit == MAX_FORM_BYTES and len(await request.get_data()) > limit:
                raise RequestEntityTooLarge()

    @app.before_request
    async def load_visitor() -> None:
        s = settings()
        g.session = None
        g.member = None
        g.account = None
        g.new_csrf_cookie = None
        token = request.cookies.get(s.session_cookie_name, "")
        ended: AccessEnded | None = None
        if token and not _is_static():
            try:
                live = await load_session(
                    token, session_policy(), now(), free_dial=s.coop_free_dial
                )
            except AccessEnded as error:
                live, ended = None, error
            if live is not None:
                g.session = live.session
                g.account = live.account
                g.member = live.member
                g.session_token = token
        if g.session is not None:
            g.csrf_binding = g.session_token
        else:
            binding = request.cookies.get(s.csrf_cookie_name, "")
            if not binding or len(binding) > 100:
                binding = new_token()
                g.new_csrf_cookie = binding
            g.csrf_binding = binding
        if ended is not None:
            # Whatever the page (a member page, /card, an API, even a public
            # one), the first request after access ended says why; the row is
            # already gone, so the next one is simply signed out.
            g.access_ended = True
            raise ended

    @app.after_request
    async def reload_after_change(response: Response) -> Response:
        # A form sent by a member may change their own account or member row
        # (address, settings); one sent by staff may change any member's. The
        # next page in this process reads them afresh, not from the session cache.
        if request.method not in SAFE_METHODS:
            account = g.get("account")
            if account is not None:
                reload_member_sessions(account.id)
            elif g.get("staff") is not None:
                reload_member_sessions()
        return response

    @app.after_request
    async def forget_ended_session(response: Response) -> Response:
        if g.get("access_ended"):
            # Like a sign-out: the cookie goes, and the offline card and cached
            # pages this browser kept for the member are wiped.
            clear_session_cookie(response)
            response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response


def install_csrf(app: Quart) -> None:
    """Refuse non-GET requests without a token bound to this visitor (after all loaders)."""

    @app.before_request
    async def check_csrf() -> None:
        if request.method in SAFE_METHODS or view_mark(CSRF_FREE_ATTR, False):
            return
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.form
            presented = form.get(CSRF_FIELD, "")
        if not csrf_valid(settings().secret_key, g.csrf_binding, presented):
            refuse(RefusalEvent.CSRF)  # recorded, a few a minute (ASVS 16.3.3)
            raise Forbidden()

    @app.after_request
    async def set_csrf_cookie(response: Response) -> Response:
        binding = g.get("new_csrf_cookie")
        if binding:
            s = settings()
            write_cookie(response, s.csrf_cookie_name, binding, secure=s.cookie_secure)
        return response

    # Globals, not a context processor, so that imported macros see them too.
    app.jinja_env.globals["csrf_token"] = current_csrf_token

    @app.context_processor
    async def visitor_context() -> dict[str, Any]:
        return {"current_member": g.get("member")}


def _is_static() -> bool:
    return request.path.startswith("/static/") or request.path in (
        "/service-worker.js",
        "/manifest.json",
        "/favicon.ico",
    )
