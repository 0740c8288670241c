"""「端末をなくしたとき」 pressed by a clerk for a member on the phone."""

from __future__ import annotations

from datetime import datetime

from server.account.service import LockdownResult, lost_device
from server.audit.service import Actor
from server.config import Settings
from server.staff.members.service import MemberActionError, account_of, get_member


async def lost_device_for_member(
    member_id: int, confirmed: bool, now: datetime, settings: Settings, actor: Actor
) -> LockdownResult:
    """Lock the member's account down (every passkey) and mail them; audited with the clerk."""
    member = await get_member(member_id)
    account = await account_of(member)
    if not confirmed:
        raise MemberActionError(
            "ご本人からのお電話であることを確認して、チェックを入れてから実行してください。"
        )
    return await lost_device(account, now, settings, actor.about(member, account))
