"""The notices screen: the list for all staff; writing and withdrawing for admins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Blueprint, current_app, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import now
from server.lib.render import render_page
from server.notices import service
from server.notices.cache import notice_cache
from server.staff.web import (
    PREFIX,
    admin_required,
    current_staff,
    staff_request_actor,
    staff_required,
)

bp = Blueprint("staff_notices", __name__, url_prefix=PREFIX + "/notices")
HOME = PREFIX + "/notices"
EMPTY_FORM = {"title": "", "body": "", "starts_on": "", "ends_on": "", "push": ""}


async def _render(form: dict[str, str], error: str = "", done: str = "") -> str:
    today = service.today_in_japan(now())
    notices = await service.all_notices()
    return await render_page(
        "staff/notices/index.html",
        notices=[(n, service.status_of(n, today)) for n in notices],
        form=form,
        today=today,
        error=error,
        done=done,
        queued=request.args.get("queued", ""),
        max_title=service.MAX_TITLE,
        max_body=service.MAX_BODY,
    )


@bp.get("")
@staff_required
async def index() -> ResponseReturnValue:
    """Every notice with where it stands (掲載中/予定/終了/取り下げ), and the form for admins."""
    today = service.today_in_japan(now()).isoformat()
    return await _render({**EMPTY_FORM, "starts_on": today}, done=request.args.get("done", ""))


@bp.post("")
@admin_required
@rate_limit(10, timedelta(minutes=1))
async def create() -> ResponseReturnValue:
    """Write a notice (and queue its push notices when asked); refilled on a mistake."""
    form: dict[str, Any] = await request.form
    values = {key: str(form.get(key, "")) for key in EMPTY_FORM}
    try:
        data = service.check_notice(
            values["title"],
            values["body"],
            values["starts_on"],
            values["ends_on"],
            bool(values["push"]),
            service.today_in_japan(now()),
        )
    except service.NoticeError as error:
        return await _render(values, error=error.message), error.status
    _, queued = await service.create_notice(data, current_staff().id, now(), staff_request_actor())
    notice_cache(current_app).forget()
    if data.push:
        return redirect(f"{HOME}?done=pushed&queued={queued}", 303)
    return redirect(f"{HOME}?done=created", 303)


@bp.post("/<int:notice_id>/withdraw")
@admin_required
@rate_limit(10, timedelta(minutes=1))
async def withdraw(notice_id: int) -> ResponseReturnValue:
    """Take a notice off members' home pages."""
    await service.withdraw_notice(notice_id, now(), staff_request_actor())
    notice_cache(current_app).forget()
    return redirect(f"{HOME}?done=withdrawn", 303)
