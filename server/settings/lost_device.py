"""「端末をなくしたとき」 in /settings: one switch that locks the account down."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, g, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.account.service import LostDeviceInputError, chosen_passkeys, lost_device
from server.auth.web import (
    clear_session_cookie,
    member_required,
    now,
    public,
    request_actor,
    settings,
)
from server.lib.render import render_page
from server.outbox.runtime import wake_sender
from server.passkeys.manage import passkeys_of
from server.settings.sections import SettingsSection

bp = Blueprint("lost_device", __name__)


async def lost_device_section() -> SettingsSection:
    """端末をなくしたとき: what the switch does, and the link to it."""
    return SettingsSection("settings/_lost_device.html")


async def _render(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    body = await render_page(
        "settings/lost_device.html",
        passkeys=await passkeys_of(g.account.id),
        has_password=g.account.password_hash is not None,
        error=error,
    )
    return body, status


@bp.get("/settings/lost-device")
@member_required
async def page() -> ResponseReturnValue:
    """What the switch will do, the passkeys to remove (all ticked) and the button."""
    return await _render()


@bp.post("/settings/lost-device")
@member_required
@rate_limit(5, timedelta(minutes=10))
@rate_limit(20, timedelta(days=1))
async def run() -> ResponseReturnValue:
    """Lock the account down, this browser included, mail the member and show it done."""
    form = await request.form
    try:
        passkey_ids = chosen_passkeys(form.getlist("passkey"))
    except LostDeviceInputError as error:
        return await _render(error.message, error.status)
    await lost_device(
        g.account, now(), settings(), request_actor("member"), passkey_ids=passkey_ids
    )
    wake_sender()
    # Every session ended, this one too: the browser is signed out, like a sign-out.
    response = redirect("/settings/lost-device/done", 303)
    clear_session_cookie(response)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.get("/settings/lost-device/done")
@public
async def done() -> ResponseReturnValue:
    """The switch was pressed: what happened and how to sign in again (no member data)."""
    return await render_page("settings/lost_device_done.html")
