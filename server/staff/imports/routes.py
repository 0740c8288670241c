"""Staff console: upload a core-system CSV, see its dry run, queue its apply, the history."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import accepts_upload, now
from server.lib.render import render_page
from server.outbox.runtime import wake_sender
from server.staff.imports import display, service
from server.staff.imports.models import UploadState
from server.staff.web import PREFIX, current_staff, staff_request_actor, staff_required

bp = Blueprint("staff_imports", __name__, url_prefix=PREFIX + "/imports")


async def _index_page(
    *, error: service.UploadRefused | None = None, kind: str = "", status: int = 200
) -> ResponseReturnValue:
    await service.drop_expired(now())
    body = await render_page(
        "staff/imports/index.html",
        kinds=service.KIND_CHOICES,
        selected=kind,
        history=await display.history(),
        error=error,
        keep_days=service.KEEP_DAYS,
        max_mb=service.MAX_FILE_BYTES // 1024 // 1024,
        counts_text=display.counts_text,
    )
    return body, status


@bp.get("")
@staff_required
async def index() -> ResponseReturnValue:
    """The upload form and the history of uploads, newest first."""
    return await _index_page()


@bp.post("")
@staff_required
@rate_limit(10, timedelta(minutes=1))
@accepts_upload(service.MAX_UPLOAD_BYTES)
async def upload() -> ResponseReturnValue:
    """Store an uploaded CSV file and dry-run it at once; then show the result."""
    form = await request.form
    files = await request.files
    kind_value = form.get("kind", "")
    file = files.get("file")
    filename = (file.filename or "") if file is not None else ""
    data = file.read() if file is not None else b""
    try:
        upload = await service.upload_and_check(
            kind_value, filename, data, current_staff().id, staff_request_actor(), now()
        )
    except service.UploadRefused as refused:
        # The form again, with the reason and (for a wrong header) the problems.
        return await _index_page(error=refused, kind=kind_value, status=refused.status)
    return redirect(f"{PREFIX}/imports/{upload.id}", 303)


@bp.get("/<int:upload_id>")
@staff_required
async def result(upload_id: int) -> ResponseReturnValue:
    """One upload: the dry run's counts or its row errors, the apply button, progress, outcome."""
    await service.drop_expired(now())
    upload = await display.get_upload(upload_id)
    kept = await display.has_bytes(upload_id)
    return await render_page(
        "staff/imports/result.html",
        upload=upload,
        kind_label=display.kind_label(upload.kind),
        state_label=display.state_label(upload, kept),
        can_apply=upload.state in (UploadState.CHECKED, UploadState.FAILED) and kept,
        under_way=upload.state in display.UNDER_WAY,
        problems=display.problems_of(upload),
        conflicts=display.conflicts_of(upload),
        waiting=display.waiting_of(upload),
        counts_text=display.counts_text,
        uploaded_by=await display.staff_name(upload.uploaded_by_id),
        applied_by=await display.staff_name(upload.applied_by_id),
        keep_days=service.KEEP_DAYS,
        same_file=await display.same_file_applied(upload),
        done=request.args.get("done", ""),
    )


@bp.post("/<int:upload_id>/apply")
@staff_required
@rate_limit(5, timedelta(minutes=1))
async def apply(upload_id: int) -> ResponseReturnValue:
    """Queue a checked upload's import (all or nothing, once); ticked conflicts take the file."""
    form = await request.form
    await service.apply_upload(
        upload_id,
        current_staff().id,
        staff_request_actor(),
        now(),
        overwrite=form.getlist("overwrite")[:10_000],
    )
    wake_sender()  # the worker in this process starts now rather than at its next poll
    return redirect(f"{PREFIX}/imports/{upload_id}?done=queued", 303)
