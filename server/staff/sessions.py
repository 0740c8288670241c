"""Staff sessions: opaque cookie token, 15-minute idle and absolute expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.audit.events import StaffEvent
from server.audit.service import Actor, record
from server.security import new_token, token_hash
from server.staff.models import StaffSession, StaffUser

TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class StaffSessionPolicy:
    """How long a staff session lives."""

    idle: timedelta
    absolute: timedelta


async def start_staff_session(
    staff: StaffUser, policy: StaffSessionPolicy, now: datetime, actor: Actor
) -> str:
    """Create a staff session and return its cookie token."""
    token = new_token()
    await StaffSession.create(
        token_hash=token_hash(token),
        staff=staff,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        ip=actor.ip[:45],
        user_agent=actor.user_agent[:300],
    )
    return token


async def load_staff_session(
    token: str, policy: StaffSessionPolicy, now: datetime
) -> tuple[StaffSession, StaffUser] | None:
    """The live staff session for a cookie token; expired ones and inactive staff end here."""
    if not token or len(token) > 100:
        return None
    session = (
        await StaffSession.filter(token_hash=token_hash(token)).select_related("staff").first()
    )
    if session is None:
        return None
    staff: StaffUser = session.staff
    expired = now >= session.expires_at or now - session.last_seen_at >= policy.idle
    if expired or not staff.active:
        await StaffSession.filter(id=session.id).delete()
        await record(StaffEvent.SESSION_EXPIRED, Actor(kind="system", staff_id=staff.id), now)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
        await StaffSession.filter(id=session.id).update(last_seen_at=now)
    return session, staff


async def end_staff_session(token: str) -> None:
    """Delete a staff session row, so a copied cookie is worthless."""
    await StaffSession.filter(token_hash=token_hash(token)).delete()


async def end_all_staff_sessions(staff_id: int) -> int:
    """Sign a staff member out everywhere (deactivation, lost device)."""
    return await StaffSession.filter(staff_id=staff_id).delete()
