"""The access log screen: filter the log, page through it, export it as CSV."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.audit.events import AccessLogEvent
from server.audit.service import record
from server.auth.web import now
from server.lib.render import render_page
from server.staff.auditlog import service
from server.staff.web import PREFIX, staff_request_actor, staff_required

bp = Blueprint("staff_auditlog", __name__, url_prefix=PREFIX + "/access-log")


def _args() -> dict[str, str]:
    return {key: request.args.get(key, "") for key in ("member_no", "staff", "event", "from", "to")}


async def _audit(event: AccessLogEvent, f: service.LogFilter) -> None:
    # The member whose log was read is on the event, so their own log shows who looked.
    actor = replace(staff_request_actor(), member_id=f.member_id)
    await record(event, actor, now(), **f.args())


async def _form_context(values: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "events": await service.event_choices(now(), values["event"]),
        "staff_list": await service.staff_choices(),
    }


@bp.get("")
@staff_required
@rate_limit(60, timedelta(minutes=1))
async def index() -> ResponseReturnValue:
    """The log, newest first, 100 a page; a member's log read here is itself recorded."""
    values = _args()
    try:
        f = await service.parse_filter(values)
    except service.LogFilterError as error:
        context = await _form_context(values)
        html = await render_page("staff/auditlog/index.html", error=error.message, **context)
        return html, 400
    page = await service.log_page(
        f,
        before=service.parse_cursor(request.args.get("before", "")),
        after=service.parse_cursor(request.args.get("after", "")),
    )
    if f.member_id is not None:
        await _audit(AccessLogEvent.VIEW, f)
    return await render_page(
        "staff/auditlog/index.html",
        error="",
        page=page,
        filter_args=f.args(),
        page_size=service.PAGE_SIZE,
        cap=service.EXPORT_CAP,
        **await _form_context(values),
    )


@bp.get("/export.csv")
@staff_required
@rate_limit(10, timedelta(minutes=1))
async def export() -> ResponseReturnValue:
    """The filtered log as a CSV file for a spreadsheet (recorded in the log)."""
    f = await service.parse_filter(_args())
    await _audit(AccessLogEvent.EXPORT, f)
    stamp = service.to_jst(now()).strftime("%Y%m%d-%H%M")
    response = Response(service.export_csv(f), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    # Quart cuts a body still streaming after RESPONSE_TIMEOUT (60 s) without a word;
    # 100,000 rows take about 15 s on a quiet two-core machine and more under load.
    response.timeout = service.EXPORT_TIMEOUT_SECONDS
    return response
