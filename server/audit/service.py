"""Recording audit events."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from server import metrics
from server.audit.models import AuditEvent
from server.auth.models import Account
from server.members.models import Member
from server.staff.models import StaffUser


@dataclass(frozen=True)
class Actor:
    """Who acted and from where: built from the request, then as whom and about whom."""

    kind: str = "system"
    member_id: int | None = None
    account_id: int | None = None
    staff_id: int | None = None
    ip: str = ""
    user_agent: str = ""

    def as_member(self, account: Account) -> Actor:
        """The same request (address, browser), as the member of this account."""
        return Actor(
            kind="member",
            member_id=account.member_id,  # type: ignore[attr-defined]
            account_id=account.id,
            ip=self.ip,
            user_agent=self.user_agent,
        )

    def as_staff(self, staff: StaffUser) -> Actor:
        """The same request (address, browser), as this staff member."""
        return Actor(kind="staff", staff_id=staff.id, ip=self.ip, user_agent=self.user_agent)

    def anonymous(self) -> Actor:
        """The same request (address, browser), as no one signed in."""
        return Actor(kind="anonymous", ip=self.ip, user_agent=self.user_agent)

    def about(self, member: Member, account: Account | None = None) -> Actor:
        """The same actor, with the member (and account) the event is about."""
        account_id = account.id if account is not None else None
        return replace(self, member_id=member.id, account_id=account_id)


async def record(event: StrEnum, actor: Actor, at: datetime, **data: Any) -> AuditEvent:
    """Append one event to the access log."""
    metrics.event(str(event))
    return await AuditEvent.create(
        at=at,
        event=str(event),
        actor=actor.kind,
        member_id=actor.member_id,
        account_id=actor.account_id,
        staff_id=actor.staff_id,
        ip=actor.ip[:45],
        user_agent=actor.user_agent[:300],
        data=data,
    )
