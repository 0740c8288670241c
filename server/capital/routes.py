"""The capital contribution page: the figures published each July that the member may see."""

from __future__ import annotations

from quart import Blueprint

from server.audit.events import CapitalEvent
from server.audit.service import record
from server.auth.web import member_required, now, request_actor, settings
from server.capital.service import first_visible, visible_records
from server.lib.render import render_page
from server.members.access import current_viewer

bp = Blueprint("capital", __name__)


@bp.get("/capital")
@member_required
async def index() -> str:
    """Published capital figures the member may see, or why there are none yet."""
    viewer = current_viewer()
    month = settings().capital_publish_month
    records = await visible_records(viewer, now(), month)
    await record(CapitalEvent.VIEWED, request_actor("member"), now(), records=len(records))
    return await render_page(
        "capital/index.html",
        records=records,
        viewer=viewer,
        first_visible=first_visible(viewer, month),
    )
