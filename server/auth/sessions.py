"""Server-side sessions: opaque cookie token, idle and absolute expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.account.models import RememberedBrowser
from server.audit.events import AuthEvent
from server.audit.service import Actor, record
from server.auth.models import Account, Session
from server.auth.session_store import SessionPolicy, SessionStore
from server.lib.clock import to_jst
from server.members.access import AccessEnded, access_ended_reason
from server.members.models import Member
from server.security import new_token, token_hash

# A minute of slack on a 30-minute idle timeout (also for remembered browsers and devices).
TOUCH_EVERY = timedelta(seconds=60)
MEMBER_SESSIONS = SessionStore(Session, "account", "account__member", TOUCH_EVERY)


def cache_member_sessions(seconds: float) -> None:
    """Keep members' loaded sessions this many seconds in this process (0: never)."""
    MEMBER_SESSIONS.cache.keep_for(seconds)


def reload_member_sessions(account_id: int | None = None) -> None:
    """Members' next requests in this process load their session afresh (one member's, or all).

    After a change to what a cached session carries (the account, the member),
    made in this process: the next page shows it at once, not after the cache's seconds.
    """
    if account_id is None:
        MEMBER_SESSIONS.cache.clear()
    else:
        MEMBER_SESSIONS.forget_owner(account_id)


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
    token = await MEMBER_SESSIONS.create(account, policy, now, actor, auth_method=method)
    account.last_login_at = now
    await record(AuthEvent.LOGIN_SUCCESS, who, now, method=method, **details)
    return token


@dataclass(frozen=True)
class LiveSession:
    """A valid session with its account and member, loaded in one query."""

    session: Session
    account: Account
    member: Member


async def load_session(
    token: str, policy: SessionPolicy, now: datetime, *, free_dial: str = ""
) -> LiveSession | None:
    """The live session for a cookie token, with its account and member; expired ones die.

    A member whose access has ended (withdrawn, refunded, stopped) loses the
    session here, on whatever page it is used: the row is deleted (audited)
    and AccessEnded says why.
    """
    session = await MEMBER_SESSIONS.find(token)
    if session is None:
        return None
    account: Account = session.account
    member: Member = account.member
    expired = policy.expired(session, now)
    who = Actor(kind="system").about(member, account)
    if expired:
        await MEMBER_SESSIONS.drop(session.id)
        await record(AuthEvent.SESSION_EXPIRED, who, now)
        return None
    reason = ended_reason(account, member, now, free_dial)
    if reason:
        await MEMBER_SESSIONS.drop(session.id)
        await record(AuthEvent.SESSION_ACCESS_ENDED, who, now, session_id=session.id)
        raise AccessEnded(reason)
    await MEMBER_SESSIONS.touch(session, now)
    return LiveSession(session, account, member)


async def end_session(token: str) -> None:
    """Delete a session row, so the cookie is worthless even if copied."""
    await MEMBER_SESSIONS.end(token)


async def end_all_sessions(account_id: int) -> int:
    """Sign a member out everywhere; returns how many sessions ended."""
    return await MEMBER_SESSIONS.end_all(account_id)


async def end_other_sessions(account_id: int, keep_session_id: int) -> int:
    """Sign a member out on every other device; returns how many sessions ended."""
    MEMBER_SESSIONS.forget_owner(account_id)
    return await Session.filter(account_id=account_id).exclude(id=keep_session_id).delete()


async def end_one_other_session(account_id: int, session_id: int, keep_session_id: int) -> bool:
    """End one of the member's own other sessions; False when it is not theirs (or this one)."""
    query = Session.filter(id=session_id, account_id=account_id).exclude(id=keep_session_id)
    MEMBER_SESSIONS.forget_owner(account_id)
    return await query.delete() > 0


async def renew_session_token(session_id: int) -> str:
    """A new cookie token for a live session (after re-authentication); the old one dies.

    The row stays, so its sign-in time and re-authentications carry over.
    """
    token = new_token()
    MEMBER_SESSIONS.forget_session(session_id)
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
    MEMBER_SESSIONS.forget_owner(account_id)
    sessions = Session.filter(account_id=account_id)
    if keep.session_id is not None:
        sessions = sessions.exclude(id=keep.session_id)
    browsers = RememberedBrowser.filter(account_id=account_id)
    if keep.browser_token and len(keep.browser_token) <= 100:
        browsers = browsers.exclude(token_hash=token_hash(keep.browser_token))
    return EndedSignIns(await sessions.delete(), await browsers.delete())
