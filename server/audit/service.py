"""Recording audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from server import metrics
from server.audit.models import AuditEvent


class Event(StrEnum):
    """Every kind of event, named area:subject:action."""

    LOGIN_SUCCESS = "auth:login:success"
    # The password was right and a code was (or may be) asked next: not yet a sign-in (16.3.1).
    LOGIN_PASSWORD_OK = "auth:login:password_ok"  # noqa: S105 - an event name
    LOGIN_FAILURE = "auth:login:failure"
    LOGIN_BLOCKED = "auth:login:blocked"
    ACCOUNT_BLOCK = "auth:account:block"
    LOGOUT = "auth:session:logout"
    SESSION_EXPIRED = "auth:session:expired"
    SESSION_ACCESS_ENDED = "auth:session:access_ended"
    SESSIONS_END_OTHERS = "auth:session:end_others"
    SESSIONS_END_EVERYONE = "auth:session:end_everyone"


@dataclass(frozen=True)
class Actor:
    """Who acted and from where; built by routes from the request."""

    kind: str = "system"
    member_id: int | None = None
    account_id: int | None = None
    staff_id: int | None = None
    ip: str = ""
    user_agent: str = ""


async def record(event: Event | str, actor: Actor, at: datetime, **data: Any) -> AuditEvent:
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
