"""Server-side sessions: opaque cookie token, idle and absolute expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.audit.service import Actor, Event, record
from server.auth.models import Account, AccountState, Session
from server.security import new_token, token_hash

# Writing last_seen_at on every request would turn each page view into a
# write; a minute of slack on a 30-minute idle timeout is harmless.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives."""

    idle: timedelta
    absolute: timedelta


async def start_session(
    account: Account, policy: SessionPolicy, now: datetime, *, method: str, actor: Actor
) -> str:
    """Create a session and return its cookie token (a fresh one at every sign-in)."""
    token = new_token()
    await Session.create(
        token_hash=token_hash(token),
        account=account,
        auth_method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        ip=actor.ip[:45],
        user_agent=actor.user_agent[:300],
    )
    return token


async def load_session(token: str, policy: SessionPolicy, now: datetime) -> Session | None:
    """The live session for a cookie token, with its account and member; expired ones die."""
    if not token or len(token) > 100:
        return None
    session = (
        await Session.filter(token_hash=token_hash(token)).select_related("account__member").first()
    )
    if session is None:
        return None
    expired = now >= session.expires_at or now - session.last_seen_at >= policy.idle
    if expired or session.account.state != AccountState.ACTIVE:
        await session.delete()
        account = session.account
        await record(
            Event.SESSION_EXPIRED,
            Actor(kind="system", member_id=account.member_id, account_id=account.id),  # type: ignore[attr-defined]
            now,
        )
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
        await Session.filter(id=session.id).update(last_seen_at=now)
    return session


async def end_session(token: str) -> None:
    """Delete a session row, so the cookie is worthless even if copied."""
    await Session.filter(token_hash=token_hash(token)).delete()


async def end_all_sessions(account_id: int) -> int:
    """Sign a member out everywhere; returns how many sessions ended."""
    return await Session.filter(account_id=account_id).delete()
