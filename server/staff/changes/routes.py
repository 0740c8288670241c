"""Staff console: the queue of profile change requests and the review page."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import now, settings
from server.errors import DomainError, NotFound
from server.lib.render import render_page
from server.requests.service import MAX_COMMENT
from server.staff.changes import service
from server.staff.paging import page_number
from server.staff.web import PREFIX, staff_request_actor, staff_required

bp = Blueprint("staff_changes", __name__, url_prefix=PREFIX + "/changes")

DONE_MESSAGES = {
    "processing": "「処理中」にしました。組合員にお知らせを送ります。",
    "applied": (
        "登録内容に反映しました。組合員証の表示も新しい内容になります。組合員にお知らせを送ります。"
        "基幹システムの組合員ファイルに新しい内容が入るまでは「基幹システム反映待ち」と表示し、"
        "古い内容のファイルを取り込んでも、承認した内容は残ります。"
    ),
    "returned": "差し戻しました。コメントを添えて組合員にお知らせを送ります。",
}


async def _detail_page(
    request_id: int, *, done: str = "", error: str = "", comment: str = "", status: int = 200
) -> tuple[str, int]:
    """The review page, with a done message or an error and the typed comment."""
    detail = await service.change_detail(request_id)
    body = await render_page(
        "staff/changes/detail.html",
        detail=detail,
        done=DONE_MESSAGES.get(done, ""),
        error=error,
        comment=comment,
        max_comment=MAX_COMMENT,
    )
    return body, status


@bp.get("")
@staff_required
async def index() -> ResponseReturnValue:
    """The queue: open requests oldest first, or any state chosen in the filter."""
    code = service.state_filter(request.args.get("state"))
    page = await service.change_queue(code, page_number(request.args.get("page")), now())
    return await render_page(
        "staff/changes/index.html",
        page=page,
        state=code,
        filters=service.STATE_FILTERS,
        counts=await service.filter_counts(),
        args={"state": code},
    )


@bp.get("/<int:request_id>")
@staff_required
async def detail(request_id: int) -> ResponseReturnValue:
    """One request: the member, and registered and new values side by side."""
    return await _detail_page(request_id, done=request.args.get("done", ""))


async def _run(request_id: int, action: str, comment: str = "") -> ResponseReturnValue:
    """Run one action; a broken rule shows the review page again, nothing changed."""
    actor = staff_request_actor()
    try:
        if action == "processing":
            await service.mark_processing(request_id, settings(), now(), actor)
        elif action == "applied":
            await service.approve(request_id, settings(), now(), actor)
        else:
            await service.send_back(request_id, comment, settings(), now(), actor)
    except NotFound:
        raise
    except DomainError as error:
        # Shown on the review page, the comment kept, so nothing typed is lost.
        return await _detail_page(
            request_id, error=error.message, comment=comment[: MAX_COMMENT * 2], status=error.status
        )
    return redirect(f"{PREFIX}/changes/{request_id}?done={action}", 303)


@bp.post("/<int:request_id>/processing")
@staff_required
@rate_limit(60, timedelta(minutes=1))
async def mark_processing(request_id: int) -> ResponseReturnValue:
    """処理中にする."""
    return await _run(request_id, "processing")


@bp.post("/<int:request_id>/approve")
@staff_required
@rate_limit(60, timedelta(minutes=1))
async def approve(request_id: int) -> ResponseReturnValue:
    """反映する: apply the new values to the member record."""
    return await _run(request_id, "applied")


@bp.post("/<int:request_id>/return")
@staff_required
@rate_limit(60, timedelta(minutes=1))
async def send_back(request_id: int) -> ResponseReturnValue:
    """差し戻す, with the comment the member will read."""
    form = await request.form
    return await _run(request_id, "returned", form.get("comment", ""))
