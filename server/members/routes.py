"""The member's own registered details (C1) and the helper that scopes member data."""

from __future__ import annotations

from quart import Blueprint, g, render_template

from server.audit.events import MemberPageEvent
from server.audit.service import record
from server.auth.web import member_required, now, request_actor
from server.members.access import Viewer
from server.members.service import get_member
from server.requests.changes import member_change_requests

bp = Blueprint("members", __name__)


def current_viewer() -> Viewer:
    """The signed-in member (the only one whose data a member page may read).

    Whether their access has ended was settled when the session was loaded
    (server.auth.sessions.load_session), for every page alike.
    """
    member = g.member
    return Viewer(
        member_id=member.id,
        registered_at=g.account.registered_at,
        status=member.status,
        capital_refund_on=member.capital_refund_on,
    )


@bp.get("/profile")
@member_required
async def profile() -> str:
    """Name with kana, address, phone, workplace and category, as the co-op has them."""
    viewer = current_viewer()
    member = await get_member(viewer.member_id)
    changes = await member_change_requests(member.id)
    # Address, phone and birth date were shown: a data view, recorded like a statement's (A10).
    await record(MemberPageEvent.PROFILE_VIEWED, request_actor("member"), now())
    return await render_template(
        "members/profile.html", member=member, account=g.account, change_requests=changes
    )
