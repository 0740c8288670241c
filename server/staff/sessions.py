"""Staff sessions: opaque cookie token, 15-minute idle and absolute expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.audit.events import StaffEvent
from server.audit.service import Actor, record
from server.auth.session_store import SessionPolicy, SessionStore
from server.staff.models import StaffSession, StaffUser

# Half a minute of slack on a 15-minute idle timeout.
STAFF_SESSIONS = SessionStore(StaffSession, "staff", "staff", timedelta(seconds=30))


async def start_staff_session(
    staff: StaffUser, policy: SessionPolicy, now: datetime, actor: Actor
) -> str:
    """Create a staff session and return its cookie token."""
    return await STAFF_SESSIONS.create(staff, policy, now, actor)


async def load_staff_session(
    token: str, policy: SessionPolicy, now: datetime
) -> tuple[StaffSession, StaffUser] | None:
    """The live staff session for a cookie token; expired ones and inactive staff end here."""
    session = await STAFF_SESSIONS.find(token)
    if session is None:
        return None
    staff: StaffUser = session.staff
    if policy.expired(session, now) or not staff.active:
        await STAFF_SESSIONS.drop(session.id)
        await record(StaffEvent.SESSION_EXPIRED, Actor(kind="system", staff_id=staff.id), now)
        return None
    await STAFF_SESSIONS.touch(session, now)
    return session, staff


async def end_staff_session(token: str) -> None:
    """Delete a staff session row, so a copied cookie is worthless."""
    await STAFF_SESSIONS.end(token)


async def end_all_staff_sessions(staff_id: int) -> int:
    """Sign a staff member out everywhere (deactivation, lost device)."""
    return await STAFF_SESSIONS.end_all(staff_id)
