"""Staff accounts (admin only): list, create with a mailed set-up link, role and on/off."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from quart import Blueprint, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import now, settings
from server.lib.render import render_page
from server.staff.accounts import service
from server.staff.models import StaffPasskey
from server.staff.web import PREFIX, admin_required, current_staff, staff_request_actor

bp = Blueprint("staff_accounts", __name__, url_prefix=PREFIX + "/accounts")

DONE = {
    "created": "職員アカウントを作成し、パスキー登録用のリンクをメールで送りました。",
    "updated": "職員アカウントを変更しました。",
    "link": "パスキー登録用のリンクをメールで送りました（以前のリンクは使えなくなりました）。",
}


async def _render(status: int = 200, **form: object) -> ResponseReturnValue:
    staff = await service.all_staff()
    counts = Counter(await StaffPasskey.all().values_list("staff_id", flat=True))
    body = await render_page(
        "staff/accounts/index.html",
        staff_list=staff,
        passkey_counts=counts,
        done=DONE.get(request.args.get("done", ""), ""),
        form=form,
    )
    return body, status


@bp.get("")
@admin_required
async def index() -> ResponseReturnValue:
    """Every staff account with its role, state and passkeys; the form to add one."""
    return await _render()


@bp.post("")
@admin_required
@rate_limit(20, timedelta(minutes=10))
async def create() -> ResponseReturnValue:
    """Create a staff account; its set-up link goes out by mail."""
    form = await request.form
    email, name, role = form.get("email", ""), form.get("name", ""), form.get("role", "")
    try:
        await service.create_staff(email, name, role, now(), staff_request_actor(), settings())
    except service.StaffError as error:
        return await _render(400, error=error.message, email=email, name=name, role=role)
    return redirect(f"{PREFIX}/accounts?done=created", 303)


@bp.post("/<int:staff_id>")
@admin_required
@rate_limit(30, timedelta(minutes=10))
async def update(staff_id: int) -> ResponseReturnValue:
    """Change a staff member's role, or turn the account off or on again."""
    form = await request.form
    await service.update_staff(
        staff_id,
        role=form.get("role", ""),
        active=form.get("active") == "1",
        by=current_staff(),
        now=now(),
        actor=staff_request_actor(),
    )
    return redirect(f"{PREFIX}/accounts?done=updated", 303)


@bp.post("/<int:staff_id>/setup-link")
@admin_required
@rate_limit(10, timedelta(minutes=10))
async def setup_link(staff_id: int) -> ResponseReturnValue:
    """Mail a new passkey set-up link (a lost device, a new computer)."""
    staff = await service.staff_by_id(staff_id)
    if not staff.active:
        raise service.StaffError(
            "利用停止中の職員にはリンクを送れません。先に利用を再開してください。"
        )
    await service.send_setup_link(staff, now(), staff_request_actor(), settings())
    return redirect(f"{PREFIX}/accounts?done=link", 303)
