"""The member's own registered details (C1) and the helper that scopes member data."""

from __future__ import annotations

from quart import Blueprint, g, render_template

from server.auth.web import member_required, now
from server.lib.clock import to_jst
from server.members.access import Viewer, check_access, withdrawal_deadline
from server.members.service import get_member

bp = Blueprint("members", __name__)


def current_viewer() -> Viewer:
    """The signed-in member (the only one whose data a member page may read)."""
    member = g.member
    viewer = Viewer(
        member_id=member.id,
        registered_at=g.account.registered_at,
        status=member.status,
        capital_refund_on=member.capital_refund_on,
    )
    check_access(viewer, now())
    return viewer


@bp.before_app_request
async def note_withdrawal() -> None:
    """Every member page (home included) warns a withdrawing member (B7)."""
    member = g.get("member")
    deadline = withdrawal_deadline(member.status, member.capital_refund_on) if member else None
    # Once it has passed, the page says access has ended instead (check_access).
    g.withdrawal_deadline = deadline if deadline and to_jst(now()).date() <= deadline else None


@bp.get("/profile")
@member_required
async def profile() -> str:
    """Name with kana, address, phone, workplace and category, as the co-op has them."""
    viewer = current_viewer()
    member = await get_member(viewer.member_id)
    return await render_template("members/profile.html", member=member, account=g.account)
