"""The member's own registered details (登録情報)."""

from __future__ import annotations

from quart import Blueprint, g

from server.audit.events import MemberPageEvent
from server.audit.service import record
from server.auth.web import member_required, now, request_actor
from server.lib.render import render_page
from server.members.access import current_viewer
from server.members.service import get_member
from server.requests.service import member_change_requests

bp = Blueprint("members", __name__)


@bp.get("/profile")
@member_required
async def profile() -> str:
    """Name with kana, address, phone, workplace and category, as the co-op has them."""
    viewer = current_viewer()
    member = await get_member(viewer.member_id)
    changes = await member_change_requests(member.id)
    # Address, phone and birth date were shown: a data view, in the access log like a
    # statement's.
    await record(MemberPageEvent.PROFILE_VIEWED, request_actor("member"), now())
    return await render_page(
        "members/profile.html", member=member, account=g.account, change_requests=changes
    )
