"""Recording audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from server import metrics
from server.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acted and from where; built by routes from the request."""

    kind: str = "system"
    member_id: int | None = None
    account_id: int | None = None
    staff_id: int | None = None
    ip: str = ""
    user_agent: str = ""


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
