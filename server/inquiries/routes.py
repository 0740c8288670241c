"""The inquiry form with its confirmation step, and the member's history."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, g, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import member_required, now, request_actor, settings
from server.inquiries.service import (
    CATEGORY_LABELS,
    MAX_MESSAGE,
    STATE_LABELS,
    InquiryInputError,
    category_from,
    check_draft,
    member_inquiries,
    member_inquiry,
    send_inquiry,
)
from server.lib.render import render_page
from server.pages.news import INQUIRY, mark_seen

bp = Blueprint("inquiries", __name__)


async def _form(
    category: str, message: str, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    body = await render_page(
        "inquiries/new.html",
        categories=CATEGORY_LABELS,
        category=category,
        message=message,
        error=error,
        max_message=MAX_MESSAGE,
    )
    return body, status


@bp.get("/inquiries")
@member_required
async def index() -> str:
    """The member's inquiries and the staff replies."""
    return await render_page(
        "inquiries/index.html",
        inquiries=await member_inquiries(g.member.id),
        categories=CATEGORY_LABELS,
        states=STATE_LABELS,
    )


@bp.get("/inquiries/new")
@member_required
async def new() -> ResponseReturnValue:
    """The form; `?category=workplace` preselects 勤務先の変更: a workplace changes by inquiry."""
    chosen = category_from(request.args.get("category"))
    return await _form(chosen.value if chosen else "", "")


@bp.post("/inquiries/new")
@member_required
@rate_limit(20, timedelta(minutes=1))
async def confirm() -> ResponseReturnValue:
    """Check the form and show what will be sent (the confirmation step)."""
    form = await request.form
    category, message = form.get("category", ""), form.get("message", "")
    try:
        draft = check_draft(category, message)
    except InquiryInputError as error:
        return await _form(category, message[: MAX_MESSAGE * 2], error.message, error.status)
    return await render_page("inquiries/confirm.html", draft=draft)


@bp.post("/inquiries/send")
@member_required
@rate_limit(5, timedelta(minutes=1))
@rate_limit(30, timedelta(hours=1))
async def send() -> ResponseReturnValue:
    """Send the confirmed inquiry (or go back to edit it)."""
    form = await request.form
    category, message = form.get("category", ""), form.get("message", "")
    if form.get("action") == "edit":
        return await _form(category, message[: MAX_MESSAGE * 2])
    try:
        draft = check_draft(category, message)
    except InquiryInputError as error:
        return await _form(category, message[: MAX_MESSAGE * 2], error.message, error.status)
    inquiry = await send_inquiry(g.member, draft, settings(), now(), request_actor("member"))
    return redirect(f"/inquiries/{inquiry.id}?sent=1", 303)


@bp.get("/inquiries/<int:inquiry_id>")
@member_required
async def detail(inquiry_id: int) -> str:
    """One inquiry with its replies (only the member's own)."""
    inquiry, replies = await member_inquiry(g.member.id, inquiry_id)
    await mark_seen(g.member.id, INQUIRY, [str(inquiry.id)], now())
    return await render_page(
        "inquiries/detail.html",
        inquiry=inquiry,
        replies=replies,
        category_label=CATEGORY_LABELS[inquiry.category],
        state_label=STATE_LABELS[inquiry.state],
        sent=request.args.get("sent") == "1",
    )
