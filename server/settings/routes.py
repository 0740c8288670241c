"""The settings page (/settings): one section per feature."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, g, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.account import service as account_service
from server.account.web import BROWSER_COOKIE, read_cookie
from server.audit.events import AccountEvent, AuthEvent
from server.audit.service import record
from server.auth import sessions
from server.auth.failures import limit_failures
from server.auth.passwords import PasswordRejected
from server.auth.web import (
    clear_session_cookie,
    member_required,
    now,
    request_actor,
    set_session_cookie,
    settings,
)
from server.errors import NotFound
from server.lib.ratelimit_store import FailureLimit
from server.lib.render import render_page
from server.settings.page import render_settings
from server.settings.password import PAGE, PasswordChangeError, change_password

bp = Blueprint("settings", __name__)


@bp.get("/settings")
@member_required
async def index() -> ResponseReturnValue:
    """Passkeys, signed-in devices and the security history (more sections as features land)."""
    return await render_settings()


def _back(done: str) -> ResponseReturnValue:
    return redirect(f"/settings?done={done}#sessions", 303)


@bp.post("/settings/browsers/<int:browser_id>/forget")
@member_required
@rate_limit(20, timedelta(minutes=10))
async def forget_browser(browser_id: int) -> ResponseReturnValue:
    """Stop one remembered browser from skipping the sign-in code."""
    if not await account_service.forget_browser(g.account.id, browser_id):
        raise NotFound("その端末は見つかりません。")
    await record(AccountEvent.BROWSER_FORGET, request_actor("member"), now(), browser_id=browser_id)
    return _back("browser-forgotten")


@bp.post("/settings/browsers/forget-all")
@member_required
@rate_limit(10, timedelta(minutes=10))
async def forget_all_browsers() -> ResponseReturnValue:
    """Every browser asks for the sign-in code again."""
    count = await account_service.forget_all_browsers(g.account.id)
    await record(AccountEvent.BROWSER_FORGET, request_actor("member"), now(), count=count)
    return _back("browsers-forgotten")


@bp.post("/settings/sessions/end-others")
@member_required
@rate_limit(10, timedelta(minutes=10))
async def end_other_sessions() -> ResponseReturnValue:
    """Sign out every other device; this one stays signed in."""
    count = await sessions.end_other_sessions(g.account.id, g.session.id)
    await record(AuthEvent.SESSIONS_END_OTHERS, request_actor("member"), now(), count=count)
    return _back("others-ended")


@bp.post("/settings/sessions/<int:session_id>/end")
@member_required
@rate_limit(20, timedelta(minutes=10))
async def end_session(session_id: int) -> ResponseReturnValue:
    """Sign out one other device from the list; another member's session is a 404."""
    if not await sessions.end_one_other_session(g.account.id, session_id, g.session.id):
        raise NotFound("その端末は見つかりません。")
    await record(
        AuthEvent.SESSIONS_END_OTHERS, request_actor("member"), now(), count=1, session=session_id
    )
    return _back("session-ended")


# A signed-in member guessing the current password spends this budget (per member).
PASSWORD_FAILURES = (FailureLimit(5, timedelta(minutes=1)), FailureLimit(20, timedelta(hours=1)))


async def _password_page(
    end_here: bool = False, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    body = await render_page(
        "settings/password.html",
        end_here=end_here,
        error=error,
        has_password=g.account.password_hash is not None,
    )
    return body, status


@bp.get(PAGE)
@member_required
async def password() -> ResponseReturnValue:
    """「パスワードを変更」: the current password, the new one twice, this device's choice."""
    return await _password_page()


@bp.post(PAGE)
@member_required
@rate_limit(10, timedelta(minutes=1))
@rate_limit(50, timedelta(hours=1))
@limit_failures(*PASSWORD_FAILURES)
async def password_post() -> ResponseReturnValue:
    """Change the password; other devices sign out, and this one too if the member chose."""
    form = await request.form
    end_here = form.get("end_here") == "1"
    keep = sessions.SignInKept(None, None)
    if not end_here:
        keep = sessions.SignInKept(g.session.id, read_cookie(BROWSER_COOKIE))
    try:
        await change_password(
            g.account,
            g.member,
            form.get("current_password", ""),
            form.get("password", ""),
            form.get("password_confirm", ""),
            keep,
            settings(),
            now(),
            request_actor("member"),
        )
    except (PasswordChangeError, PasswordRejected) as error:
        return await _password_page(end_here, error.message, error.status)
    if end_here:
        # Like a sign-out: the cookie goes and the browser's copies are wiped.
        response = redirect("/password/reset/done", 303)
        clear_session_cookie(response)
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response
    response = redirect("/settings?done=password-changed#password", 303)
    # The password changed under this session: a new token for it (ASVS 7.2.4).
    set_session_cookie(response, await sessions.renew_session_token(g.session.id))
    return response
