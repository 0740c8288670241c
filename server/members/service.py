"""Reading member data, always scoped to one member."""

from __future__ import annotations

from server.errors import NotFound
from server.members.models import Member


async def get_member(member_id: int) -> Member:
    """The member's own record, or 404."""
    member = await Member.filter(id=member_id).first()
    if member is None:
        raise NotFound("組合員情報が見つかりません。")
    return member
