"""Staff sign-in (passkey only), set-up links, sign-out and the console's front page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, g, jsonify, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.audit.events import StaffEvent
from server.audit.service import record
from server.auth.web import now, request_actor, settings
from server.errors import DomainError
from server.lib.render import render_page
from server.staff import signin
from server.staff.dashboard import waiting_counts
from server.staff.models import StaffUser
from server.staff.sessions import end_staff_session, start_staff_session
from server.staff.web import (
    PREFIX,
    clear_staff_cookie,
    current_staff,
    set_staff_cookie,
    staff_policy,
    staff_public,
    staff_request_actor,
    staff_required,
)

bp = Blueprint("staff", __name__, url_prefix=PREFIX)


def safe_staff_next(target: str | None) -> str:
    """Only a staff console path may follow a staff sign-in."""
    if not target or not target.startswith(PREFIX + "/") or target.startswith("//"):
        return PREFIX + "/"
    if "\\" in target or "//" in target or target.startswith(PREFIX + "/api/"):
        return PREFIX + "/"
    return target


async def _json_body() -> dict[str, Any]:
    data = await request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("送信内容を読み取れませんでした。ページを読み込み直してください。")
    return data


async def _signed_in(staff: StaffUser, next_path: str) -> ResponseReturnValue:
    # The session this browser had (whoever's it was) ends with the new one
    # (ASVS 7.2.4): a copy of the old cookie must not outlive the sign-in.
    replaced = request.cookies.get(settings().staff_cookie_name, "")
    if replaced:
        await end_staff_session(replaced)
    token = await start_staff_session(staff, staff_policy(), now(), request_actor("staff"))
    response = jsonify({"redirect": safe_staff_next(next_path)})
    set_staff_cookie(response, token)
    return response


# Sign-in -------------------------------------------------------------------


@bp.get("/login")
@staff_public
async def login() -> ResponseReturnValue:
    """The staff sign-in page: one button, パスキーでログイン (also to confirm it is still you)."""
    reauth = request.args.get("reauth") == "1"
    if g.get("staff") is not None and not reauth:
        return redirect(safe_staff_next(request.args.get("next")), 303)
    return await render_page(
        "staff/login.html",
        next=safe_staff_next(request.args.get("next")),
        done=request.args.get("done", ""),
        reauth=reauth,
    )


@bp.post("/api/login/options")
@staff_public
@rate_limit(20, timedelta(minutes=1))
async def login_options() -> ResponseReturnValue:
    """Options for navigator.credentials.get() with any staff passkey."""
    rp = signin.relying_party(settings())
    return jsonify({"publicKey": await signin.sign_in_options(rp, g.csrf_binding, now())})


@bp.post("/api/login/verify")
@staff_public
@rate_limit(10, timedelta(minutes=1))
@rate_limit(100, timedelta(hours=1))
async def login_verify() -> ResponseReturnValue:
    """Verify the assertion, start a staff session, and say where to go."""
    body = await _json_body()
    staff = await signin.sign_in(
        body.get("credential"),
        signin.relying_party(settings()),
        g.csrf_binding,
        now(),
        request_actor("staff"),
    )
    return await _signed_in(staff, str(body.get("next") or ""))


@bp.post("/logout")
@staff_required
@rate_limit(30, timedelta(minutes=1))
async def logout() -> ResponseReturnValue:
    """End this staff session; the cookie is dead even if copied."""
    await end_staff_session(g.staff_token)
    await record(StaffEvent.LOGOUT, staff_request_actor(), now())
    response = redirect(f"{PREFIX}/login?done=logout", 303)
    clear_staff_cookie(response)
    return response


# Set-up link: register the first passkey -----------------------------------


@bp.get("/setup/<token>")
@staff_public
@rate_limit(30, timedelta(minutes=1))
async def setup(token: str) -> ResponseReturnValue:
    """The page a mailed set-up link opens: register this computer's passkey."""
    link = await signin.live_setup_link(token, now())
    return await render_page("staff/setup.html", staff=link.staff, token=token)


@bp.post("/api/setup/<token>/options")
@staff_public
@rate_limit(10, timedelta(minutes=1))
async def setup_options(token: str) -> ResponseReturnValue:
    """Options for navigator.credentials.create() through a set-up link."""
    rp = signin.relying_party(settings())
    options = await signin.setup_options(token, rp, g.csrf_binding, now())
    return jsonify({"publicKey": options})


@bp.post("/api/setup/<token>/verify")
@staff_public
@rate_limit(10, timedelta(minutes=1))
async def setup_verify(token: str) -> ResponseReturnValue:
    """Store the first passkey, use up the link and sign the staff member in."""
    body = await _json_body()
    staff = await signin.complete_setup(
        token,
        body.get("credential"),
        signin.relying_party(settings()),
        g.csrf_binding,
        now(),
        request_actor("staff"),
    )
    return await _signed_in(staff, PREFIX + "/account?done=setup")


# The console's front page and the staff member's own passkeys -------------


@bp.get("/")
@staff_required
async def index() -> ResponseReturnValue:
    """The staff console's front page: the screens and what waits for staff."""
    return await render_page("staff/index.html", counts=await waiting_counts())


@bp.get("/account")
@staff_required
async def account() -> ResponseReturnValue:
    """The signed-in staff member's own passkeys."""
    staff = current_staff()
    return await render_page(
        "staff/account.html",
        passkeys=await signin.own_passkeys(staff.id),
        done=request.args.get("done", ""),
    )


@bp.post("/api/account/passkeys/options")
@staff_required
@rate_limit(10, timedelta(minutes=1))
async def add_passkey_options() -> ResponseReturnValue:
    """Options for adding another passkey (within 5 minutes of signing in)."""
    rp = signin.relying_party(settings())
    options = await signin.add_options(current_staff(), g.staff_session, rp, g.csrf_binding, now())
    return jsonify({"publicKey": options})


@bp.post("/api/account/passkeys/verify")
@staff_required
@rate_limit(10, timedelta(minutes=1))
async def add_passkey_verify() -> ResponseReturnValue:
    """Store another passkey of the signed-in staff member."""
    body = await _json_body()
    await signin.add_passkey(
        current_staff(),
        g.staff_session,
        body.get("credential"),
        signin.relying_party(settings()),
        g.csrf_binding,
        now(),
        staff_request_actor(),
    )
    return jsonify({"redirect": PREFIX + "/account?done=added"})


@bp.post("/account/passkeys/<int:passkey_id>/delete")
@staff_required
@rate_limit(10, timedelta(minutes=1))
async def remove_passkey(passkey_id: int) -> ResponseReturnValue:
    """Remove one of the staff member's own passkeys (never the last; soon after signing in)."""
    try:
        await signin.remove_passkey(
            current_staff(), g.staff_session, passkey_id, now(), staff_request_actor()
        )
    except signin.RecentSignInRequired:
        # Sign in again (a new session), then back to the list to remove it.
        query = urlencode({"next": PREFIX + "/account", "reauth": "1"})
        return redirect(f"{PREFIX}/login?{query}", 303)
    return redirect(PREFIX + "/account?done=removed", 303)
