"""Staff console: the paper-statement list and its CSV download."""

from __future__ import annotations

from quart import Blueprint, Response
from quart.typing import ResponseReturnValue

from server.auth.web import now, settings
from server.lib.render import render_page
from server.staff.paper import service
from server.staff.web import PREFIX, staff_request_actor, staff_required

bp = Blueprint("staff_paper", __name__, url_prefix=PREFIX + "/paper")


@bp.get("")
@staff_required
async def index() -> ResponseReturnValue:
    """Members on paper statements, the fee per issue for each and in total."""
    listing = await service.paper_list(settings(), staff_request_actor(), now())
    return await render_page("staff/paper/index.html", listing=listing)


@bp.get("/export.csv")
@staff_required
async def export() -> ResponseReturnValue:
    """The same list as a CSV file for Excel (formula-safe cells)."""
    moment = now()
    body = await service.export_csv(settings(), staff_request_actor(), moment)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    filename = service.export_filename(moment)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
