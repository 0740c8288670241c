"""Sign-in, sign-out and asking for the password again before a sensitive change."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, g, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.account.web import complete_sign_in, hold_for_code, needs_code
from server.audit.events import AuthEvent
from server.audit.service import record
from server.auth.failures import SIGN_IN_FAILURES, limit_failures
from server.auth.reauth import REAUTH_WINDOW, ReauthFailed, reauthenticate_with_password
from server.auth.service import (
    AccessEnded,
    BlockPolicy,
    LoginFailed,
    LoginInputError,
    authenticate,
)
from server.auth.sessions import end_session, renew_session_token
from server.auth.web import (
    clear_session_cookie,
    member_required,
    now,
    public,
    request_actor,
    safe_next,
    set_session_cookie,
    settings,
)
from server.lib.render import render_page
from server.push.service import forget_device_at_logout

bp = Blueprint("auth", __name__)


def block_policy() -> BlockPolicy:
    """Blocking rules from settings."""
    s = settings()
    return BlockPolicy(
        max_failures=s.login_max_failures,
        first_block=timedelta(minutes=s.login_block_minutes),
        longest_block=timedelta(minutes=s.login_block_max_minutes),
    )


@bp.get("/login")
@public
async def login() -> ResponseReturnValue:
    """The sign-in form; a signed-in member goes straight home."""
    if g.member is not None:
        return redirect(safe_next(request.args.get("next")), 303)
    done = request.args.get("done") == "logout"
    return await render_page(
        "auth/login.html", email="", error=None, next=request.args.get("next", ""), done=done
    )


@bp.post("/login")
@public
# Per address: a ceiling against floods, and ten failures a minute (a school
# signs in from one address; each account has its own block after five).
@rate_limit(300, timedelta(minutes=1))
@rate_limit(3000, timedelta(hours=1))
@limit_failures(*SIGN_IN_FAILURES)
async def login_post() -> ResponseReturnValue:
    """Check the email and password, start a session, and go where the member was heading."""
    form = await request.form
    email = form.get("email", "")
    password = form.get("password", "")
    target = safe_next(form.get("next"))
    try:
        account = await authenticate(
            email, password, now(), block_policy(), request_actor(), settings()
        )
    except (LoginFailed, LoginInputError, AccessEnded) as error:
        body = await render_page(
            "auth/login.html", email=email[:254], error=error.message, next=target, done=False
        )
        return body, error.status
    # A browser not seen before must first type the code mailed to the member.
    if await needs_code(account):
        return await hold_for_code(account, target)
    # Without a code only a remembered browser, which passed a code before: no mail.
    return await complete_sign_in(account, method="password", target=target)


@bp.post("/logout")
@public
@rate_limit(30, timedelta(minutes=1))
async def logout() -> ResponseReturnValue:
    """End the session everywhere it could be reused and wipe the browser's copies."""
    if g.session is not None:
        # The page script sends this browser's push endpoint: its notices stop too, as
        # nothing of the member may reach this device after sign-out.
        endpoint = (await request.form).get("push_endpoint")
        pushed_off = await forget_device_at_logout(g.member.id, endpoint)
        await record(
            AuthEvent.LOGOUT, request_actor("member"), now(), push_device_removed=pushed_off
        )
        await end_session(g.session_token)
    response = redirect("/login?done=logout", 303)
    clear_session_cookie(response)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.get("/reauth")
@member_required
async def reauth() -> str:
    """Ask for the password again before a sensitive change."""
    return await _reauth_page(safe_next(request.args.get("next")), error=None)


async def _reauth_page(target: str, error: str | None) -> str:
    return await render_page(
        "auth/reauth.html",
        next=target,
        error=error,
        minutes=int(REAUTH_WINDOW.total_seconds() // 60),
        has_password=g.account.password_hash is not None,
    )


@bp.post("/reauth")
@member_required
@rate_limit(5, timedelta(minutes=1))
@rate_limit(30, timedelta(hours=1))
async def reauth_post() -> ResponseReturnValue:
    """Check the password; open the five-minute window and go back."""
    form = await request.form
    target = safe_next(form.get("next"))
    try:
        await reauthenticate_with_password(
            g.account, g.session.id, form.get("password", ""), now(), request_actor("member")
        )
    except ReauthFailed as error:
        return await _reauth_page(target, error.message), error.status
    # A new session token once identity is proved again (ASVS 7.2.4).
    response = redirect(target, 303)
    set_session_cookie(response, await renew_session_token(g.session.id))
    return response
