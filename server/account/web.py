"""Request-side helpers: this feature's cookies and finishing a sign-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from quart import g, redirect, request
from quart.typing import ResponseReturnValue
from werkzeug.sansio.response import Response as BaseResponse
from werkzeug.wrappers.response import Response as WerkzeugResponse

from server.account.codes import TooManyCodes
from server.account.devices import DEVICE_LIFETIME, see_device
from server.account.signin import login_needs_code, start_login_code
from server.auth.models import Account
from server.auth.sessions import end_session, start_session
from server.auth.web import (
    now,
    request_actor,
    safe_next,
    session_policy,
    set_session_cookie,
    settings,
)
from server.lib.cookies import remove_cookie, write_cookie
from server.lib.render import render_page
from server.outbox.runtime import wake_sender

REGISTRATION_COOKIE = "mypage_registration"
LOGIN_CODE_COOKIE = "mypage_login_code"
BROWSER_COOKIE = "mypage_browser"
DEVICE_COOKIE = "mypage_device"


def cookie_name(base: str) -> str:
    """`__Host-` prefixed whenever cookies are Secure, like the session cookie."""
    return f"__Host-{base}" if settings().cookie_secure else base


def read_cookie(base: str) -> str | None:
    """This feature's cookie from the request."""
    return request.cookies.get(cookie_name(base))


def set_cookie(response: BaseResponse, base: str, value: str, lifetime: timedelta) -> None:
    """HttpOnly, SameSite=Lax, whole site, Secure where https."""
    write_cookie(
        response,
        cookie_name(base),
        value,
        secure=settings().cookie_secure,
        max_age=int(lifetime.total_seconds()),
    )


def clear_cookie(response: BaseResponse, base: str) -> None:
    """Remove one of this feature's cookies."""
    remove_cookie(response, cookie_name(base), secure=settings().cookie_secure)


async def needs_code(account: Account) -> bool:
    """Whether this password sign-in must wait for the mailed code (a browser not seen before)."""
    return await login_needs_code(account, read_cookie(BROWSER_COOKIE), now())


async def hold_for_code(account: Account, target: str) -> ResponseReturnValue:
    """Mail the sign-in code and send the browser to the page that asks for it.

    When the hour's codes are spent, the sign-in page says when to try again (429).
    """
    try:
        flow = await start_login_code(account, now(), settings(), request_actor())
    except TooManyCodes as capped:
        wake_sender()  # the owner's mail saying codes were asked for repeatedly
        body = await render_page(
            "auth/login.html", email=account.email, error=capped.message, next=target, done=False
        )
        return body, capped.status
    wake_sender()
    query = urlencode({"next": target}) if target != "/" else ""
    response = redirect("/login/code" + (f"?{query}" if query else ""), 303)
    set_cookie(response, LOGIN_CODE_COOKIE, flow, timedelta(minutes=15))
    return response


async def begin_session(account: Account, *, method: str, **details: Any) -> str:
    """Start a fresh session (ending the one this browser had); returns its cookie token.

    Every proven sign-in comes here (password, mailed code, registration,
    passkey); `start_session` refuses a member whose access has ended, and
    records the sign-in's success (with `details`) once the session exists.
    """
    token = await start_session(
        account,
        session_policy(),
        now(),
        method=method,
        actor=request_actor(),
        free_dial=settings().coop_free_dial,
        **details,
    )
    if g.get("session") is not None:
        await end_session(g.session_token)
    return token


async def note_device(
    response: BaseResponse, account: Account, *, method: str, mail_if_new: bool
) -> bool:
    """Know this browser as the account's from now on (new-device mail if asked); True if new."""
    seen = await see_device(
        account,
        read_cookie(DEVICE_COOKIE),
        now(),
        settings(),
        request_actor(),
        method=method,
        mail_if_new=mail_if_new,
    )
    set_cookie(response, DEVICE_COOKIE, seen.token, DEVICE_LIFETIME)
    if seen.new and mail_if_new:
        wake_sender()
    return seen.new


async def complete_sign_in(
    account: Account, *, method: str, target: str, **details: Any
) -> WerkzeugResponse:
    """Start a fresh session and go to `target`.

    For every way of signing in once it is proved: after the mailed code,
    after registration, and for passkeys (which never need the code).
    """
    token = await begin_session(account, method=method, **details)
    response = redirect(safe_next(target), 303)
    set_session_cookie(response, token)
    # Both callers mailed the member for this sign-in (the code, registration): told once.
    await note_device(response, account, method=method, mail_if_new=False)
    return response
