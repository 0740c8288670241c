"""Stopping the service: the account stops, paper statements (for a fee) follow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tortoise.transactions import in_transaction

from server.audit.events import RequestEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState
from server.auth.sessions import end_all_sessions
from server.card.revocation import revoke_member_certificates
from server.config import Settings
from server.errors import DomainError
from server.members.models import Member
from server.passkeys.manage import remove_all_passkeys
from server.push.service import remove_all_for_account
from server.requests import notify
from server.requests.models import ServiceStop

TAX_RATE_PERCENT = 10

# What else a stop removes, each a coroutine taking the account id: the
# member's passkeys and push subscriptions.
STOP_HOOKS: list[Callable[[int], Awaitable[object]]] = [remove_all_passkeys, remove_all_for_account]


class StopError(DomainError):
    """The stop was not confirmed."""


def fee_with_tax(fee_yen: int) -> int:
    """The fee with 10% consumption tax (whole yen, rounded down)."""
    return fee_yen * (100 + TAX_RATE_PERCENT) // 100


async def stop_service(
    account: Account, confirmed: bool, settings: Settings, now: datetime, actor: Actor
) -> ServiceStop:
    """Stop My Page for this member: sessions end everywhere, the paper list gets them."""
    if not confirmed:
        raise StopError(
            "サービスを停止するには、内容を確認したうえで確認欄にチェックを入れてください。"
        )
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    async with in_transaction():
        await Account.filter(id=account.id).update(state=AccountState.STOPPED)
        stop = await ServiceStop.create(
            member_id=member.id, account_id=account.id, email=account.email, stopped_at=now
        )
        ended = await end_all_sessions(account.id)
        for hook in STOP_HOOKS:
            await hook(account.id)
        cards = await revoke_member_certificates(member.id, now, "service_stop")
        await notify.service_stopped(
            account.email,
            settings,
            now,
            name=member.name,
            fee=settings.paper_fee_yen,
            fee_with_tax=fee_with_tax(settings.paper_fee_yen),
        )
        await record(RequestEvent.SERVICE_STOP, actor, now, sessions=ended, cards=cards)
    account.state = AccountState.STOPPED
    return stop
