"""Staff console: the joining and leaving forms shown on /help/forms."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import accepts_upload, now, settings
from server.help.documents import MAX_BYTES
from server.lib.render import render_page
from server.staff.documents import service
from server.staff.web import (
    PREFIX,
    admin_required,
    current_staff,
    staff_request_actor,
    staff_required,
)

bp = Blueprint("staff_documents", __name__, url_prefix=PREFIX + "/documents")
# The PDF limit plus room for the form around it; more is refused with 413.
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024


async def _page(
    *, error: str = "", kind: str = "", title: str = "", status: int = 200
) -> ResponseReturnValue:
    body = await render_page(
        "staff/documents/index.html",
        forms=await service.current_forms(),
        kinds=service.KIND_CHOICES,
        error=error,
        selected=kind,
        title_value=title,
        max_mb=MAX_BYTES // (1024 * 1024),
        done=request.args.get("done", ""),
    )
    return body, status


@bp.get("")
@staff_required
async def index() -> ResponseReturnValue:
    """The current forms (title, size, when, by whom) and, for admins, the upload form."""
    return await _page()


@bp.post("")
@admin_required
@rate_limit(10, timedelta(minutes=1))
@accepts_upload(UPLOAD_LIMIT)
async def upload() -> ResponseReturnValue:
    """Replace the join or leave form with an uploaded PDF (admins only)."""
    form = await request.form
    files = await request.files
    file = files.get("file")
    data = file.read() if file is not None else b""
    kind, title = form.get("kind", ""), form.get("title", "")
    try:
        await service.replace_form(
            kind, title, data, current_staff().id, staff_request_actor(), settings(), now()
        )
    except service.DocumentRefused as refused:
        return await _page(error=refused.message, kind=kind, title=title, status=refused.status)
    return redirect(f"{PREFIX}/documents?done=uploaded", 303)
