"""Server-side sessions: opaque cookie token, idle and absolute expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tortoise.models import Model

from server.account.models import RememberedBrowser
from server.audit.events import AuthEvent
from server.audit.service import Actor, record
from server.auth import rows
from server.auth.models import Account, Session
from server.lib.clock import to_jst
from server.members.access import AccessEnded, access_ended_reason
from server.members.models import Member
from server.security import new_token, token_hash

# Writing last_seen_at on every request would turn each page view into a
# write; a minute of slack on a 30-minute idle timeout is harmless.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives."""

    idle: timedelta
    absolute: timedelta


def ended_reason(
    account: Account, member: Member, now: datetime, free_dial: str = ""
) -> str | None:
    """Why this member's access has ended (withdrawn, refunded, stopped), or None."""
    return access_ended_reason(
        member.status,
        member.capital_refund_on,
        to_jst(now).date(),
        account_state=account.state,
        free_dial=free_dial,
    )


async def start_session(
    account: Account,
    policy: SessionPolicy,
    now: datetime,
    *,
    method: str,
    actor: Actor,
    free_dial: str = "",
    **details: Any,
) -> str:
    """Create a session and return its cookie token (a fresh one at every sign-in).

    Every way of signing in ends here, so no session starts for a member whose
    access has ended, whatever was proved first (AccessEnded, audited). This is
    the one place `auth:login:success` is recorded (with `details`): after every
    factor, never for a refused sign-in (ASVS 16.3.1).
    """
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    reason = ended_reason(account, member, now, free_dial)
    who = actor.as_member(account)
    if reason:
        await record(AuthEvent.LOGIN_FAILURE, who, now, reason="access_ended", method=method)
        raise AccessEnded(reason)
    await Account.filter(id=account.id).update(last_login_at=now)  # registration too (最終ログイン)
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
    account.last_login_at = now
    await Account.filter(id=account.id).update(last_login_at=now)
    await record(AuthEvent.LOGIN_SUCCESS, who, now, method=method, **details)
    return token


@dataclass(frozen=True)
class LiveSession:
    """A valid session with its account and member, loaded in one query."""

    session: Session
    account: Account
    member: Member


_MODELS: tuple[type[Model], ...] = (Session, Account, Member)


@lru_cache(maxsize=2)
def _session_query(dialect: str) -> str:
    # One hand-written join: select_related builds three models through the
    # query builder and costs several times more on every signed-in request.
    columns = rows.select_list(*zip("sam", _MODELS, strict=True))
    return (
        f'SELECT {columns} FROM "session" s '  # noqa: S608 - columns from model metadata
        'JOIN "account" a ON a."id" = s."account_id" '
        'JOIN "member" m ON m."id" = a."member_id" '
        f'WHERE s."token_hash" = {rows.placeholder(dialect)}'
    )


async def load_session(
    token: str, policy: SessionPolicy, now: datetime, *, free_dial: str = ""
) -> LiveSession | None:
    """The live session for a cookie token, with its account and member; expired ones die.

    A member whose access has ended (withdrawn, refunded, stopped) loses the
    session here, on whatever page it is used: the row is deleted (audited)
    and AccessEnded says why.
    """
    if not token or len(token) > 100:
        return None
    row = await rows.fetch_row(_session_query, token_hash(token))
    if row is None:
        return None
    session, account, member = rows.decode(row, _MODELS)
    expired = now >= session.expires_at or now - session.last_seen_at >= policy.idle
    who = Actor(kind="system").about(member, account)
    if expired:
        await Session.filter(id=session.id).delete()
        await record(AuthEvent.SESSION_EXPIRED, who, now)
        return None
    reason = ended_reason(account, member, now, free_dial)
    if reason:
        await Session.filter(id=session.id).delete()
        await record(AuthEvent.SESSION_ACCESS_ENDED, who, now, session_id=session.id)
        raise AccessEnded(reason)
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
        await Session.filter(id=session.id).update(last_seen_at=now)
    return LiveSession(session, account, member)


async def end_session(token: str) -> None:
    """Delete a session row, so the cookie is worthless even if copied."""
    await Session.filter(token_hash=token_hash(token)).delete()


async def end_all_sessions(account_id: int) -> int:
    """Sign a member out everywhere; returns how many sessions ended."""
    return await Session.filter(account_id=account_id).delete()


async def end_other_sessions(account_id: int, keep_session_id: int) -> int:
    """Sign a member out on every other device; returns how many sessions ended."""
    return await Session.filter(account_id=account_id).exclude(id=keep_session_id).delete()


async def end_one_other_session(account_id: int, session_id: int, keep_session_id: int) -> bool:
    """End one of the member's own other sessions; False when it is not theirs (or this one)."""
    query = Session.filter(id=session_id, account_id=account_id).exclude(id=keep_session_id)
    return await query.delete() > 0


async def renew_session_token(session_id: int) -> str:
    """A new cookie token for a live session (after re-authentication); the old one dies.

    The row stays, so its sign-in time and re-authentications carry over.
    """
    token = new_token()
    await Session.filter(id=session_id).update(token_hash=token_hash(token))
    return token


@dataclass(frozen=True)
class EndedSignIns:
    """How many sessions ended and how many remembered browsers were forgotten."""

    sessions: int
    browsers: int


@dataclass(frozen=True)
class SignInKept:
    """This browser's session and remembered-browser token, kept when others end."""

    session_id: int | None
    browser_token: str | None


async def end_other_sign_ins(account_id: int, keep: SignInKept) -> EndedSignIns:
    """Other sessions end, other remembered browsers need the code again; this one's kept."""
    # After a password or address change (ASVS 7.4.3); None keeps none.
    sessions = Session.filter(account_id=account_id)
    if keep.session_id is not None:
        sessions = sessions.exclude(id=keep.session_id)
    browsers = RememberedBrowser.filter(account_id=account_id)
    if keep.browser_token and len(keep.browser_token) <= 100:
        browsers = browsers.exclude(token_hash=token_hash(keep.browser_token))
    return EndedSignIns(await sessions.delete(), await browsers.delete())
