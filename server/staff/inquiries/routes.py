"""Staff console: the inquiry inbox and one inquiry with replies, notes and assignment."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from quart import Blueprint, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import now, settings
from server.errors import DomainError, NotFound
from server.inquiries.service import CATEGORY_LABELS, MAX_REPLY
from server.lib.render import render_page
from server.staff.inquiries import service
from server.staff.paging import page_number
from server.staff.web import PREFIX, current_staff, staff_request_actor, staff_required

bp = Blueprint("staff_inquiries", __name__, url_prefix=PREFIX + "/inquiries")

DONE_MESSAGES = {
    "replied": (
        "回答を送りました。組合員にメールで届き、マイページのお問い合わせ履歴にも表示されます。"
    ),
    "noted": "メモを追加しました。メモは職員だけが見られます。",
    "assigned": "担当者を変更しました。",
}


async def _detail_page(
    inquiry_id: int,
    *,
    done: str = "",
    error: str = "",
    error_in: str = "",
    reply_body: str = "",
    note_body: str = "",
    status: int = 200,
) -> tuple[str, int]:
    """The inquiry page, with a done message or an error next to the form it is about."""
    detail = await service.inquiry_detail(inquiry_id)
    body = await render_page(
        "staff/inquiries/detail.html",
        detail=detail,
        done=DONE_MESSAGES.get(done, ""),
        error=error,
        error_in=error_in,
        reply_body=reply_body,
        note_body=note_body,
        max_reply=MAX_REPLY,
        max_note=service.MAX_NOTE,
        me=current_staff().id,
    )
    return body, status


@bp.get("")
@staff_required
async def index() -> ResponseReturnValue:
    """The inbox: newest first, by category, state (未回答/回答済) and assignment."""
    args = request.args
    filters = service.inbox_filters(args.get("category"), args.get("state"), args.get("assigned"))
    me = current_staff().id
    return await render_page(
        "staff/inquiries/index.html",
        page=await service.inbox(filters, me, page_number(args.get("page"))),
        filters=filters,
        args=filters.args(),
        counts=await service.state_counts(filters, me),
        categories=CATEGORY_LABELS,
        states=service.STATE_FILTERS,
        assignments=service.ASSIGNMENT_FILTERS,
    )


@bp.get("/<int:inquiry_id>")
@staff_required
async def detail(inquiry_id: int) -> ResponseReturnValue:
    """One inquiry: the message, the member, replies, internal notes, the assignment."""
    return await _detail_page(inquiry_id, done=request.args.get("done", ""))


async def _act(
    inquiry_id: int,
    action: Awaitable[object],
    done: str,
    error_in: str,
    kept: dict[str, str],
) -> ResponseReturnValue:
    """Run a POST's service call: 303 back with a done message, or the page with the error.

    An unknown inquiry stays a 404; a refused action shows the inquiry again with
    the message next to the form it came from, and what was typed kept.
    """
    try:
        await action
    except NotFound:
        raise
    except DomainError as error:
        return await _detail_page(
            inquiry_id, error=error.message, error_in=error_in, status=error.status, **kept
        )
    return redirect(f"{PREFIX}/inquiries/{inquiry_id}?done={done}", 303)


@bp.post("/<int:inquiry_id>/reply")
@staff_required
@rate_limit(30, timedelta(minutes=1))
async def reply(inquiry_id: int) -> ResponseReturnValue:
    """Send a reply: mailed to the member and shown in their history."""
    body = (await request.form).get("body", "")
    action = service.reply(inquiry_id, body, settings(), now(), staff_request_actor())
    kept = {"reply_body": body[: MAX_REPLY * 2]}
    return await _act(inquiry_id, action, "replied", "reply", kept)


@bp.post("/<int:inquiry_id>/notes")
@staff_required
@rate_limit(60, timedelta(minutes=1))
async def add_note(inquiry_id: int) -> ResponseReturnValue:
    """Add an internal note (staff only; never shown or mailed to the member)."""
    body = (await request.form).get("body", "")
    action = service.add_note(inquiry_id, body, now(), staff_request_actor())
    kept = {"note_body": body[: service.MAX_NOTE * 2]}
    return await _act(inquiry_id, action, "noted", "note", kept)


@bp.post("/<int:inquiry_id>/assign")
@staff_required
@rate_limit(60, timedelta(minutes=1))
async def assign(inquiry_id: int) -> ResponseReturnValue:
    """Assign to me, to another active staff member, or to nobody (staff_id empty)."""
    target = (await request.form).get("staff_id", "")
    action = service.assign(inquiry_id, target, now(), staff_request_actor())
    return await _act(inquiry_id, action, "assigned", "assign", {})
