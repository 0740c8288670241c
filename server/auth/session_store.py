"""Server-side sessions, one implementation for members and for staff.

A session is a row holding the SHA-256 of an opaque cookie token, who it
belongs to, when it started, was last seen and ends at the latest. Members
(`auth/sessions.py`) and staff (`staff/sessions.py`) keep their own tables
and rules for who may go on; creating, loading, expiring, touching and ending
a row is done here, by a `SessionStore` told which model and owner it serves.

The session cache. Loading a member's session with its account and member
(one joined query through the ORM's query builder) was ~40 % of a signed-in
`/card`'s CPU; a store may keep the rows it loaded for `TtlCache.seconds`
(MYPAGE_SESSION_CACHE_SECONDS, member sessions only, 0 turns it off), so a
member's pages within those seconds read none. Why this is safe for sign-out:
- in this process, every way a session ends goes through the store (`end`,
  `drop`, `end_all`, `forget_owner` after the owner's other sessions end or
  a token is renewed), which drops the cached rows at once, before the
  response that says "signed out" is sent;
- in another process (another worker or machine) the cached row lives on
  for at most `seconds` (a TTL, not PostgreSQL LISTEN/NOTIFY: it works the
  same on SQLite and PostgreSQL and needs no connection held open). The
  browser that signed out has already dropped its cookie, so only a copy of
  the cookie could be used in those seconds, and only on another worker;
- what the cached account and member say (name on the card, status and
  account state, so a member whose access ended) is at most `seconds` old,
  and fresh at once in the process that changed it: a member's or a clerk's
  form and an applied import reload them (`auth.sessions.reload_member_sessions`);
  every request still checks expiry and idle time against the clock.

`python bench/card_cpu_bench.py` (CPU per signed-in /card, in process) measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from tortoise.models import Model

from server.audit.service import Actor
from server.lib.ttl_cache import TtlCache
from server.security import new_token, token_hash

# Cookie tokens are 43 characters; anything much longer is not one of ours.
MAX_TOKEN_CHARS = 100


class SessionRow(Protocol):
    """The columns both session tables have."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


S = TypeVar("S", bound=Model)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: since it was last used, and at most."""

    idle: timedelta
    absolute: timedelta

    def expired(self, session: SessionRow, now: datetime) -> bool:
        """True once the session is past its end or has been idle too long."""
        return now >= session.expires_at or now - session.last_seen_at >= self.idle


@dataclass(frozen=True)
class SessionStore(Generic[S]):
    """The rows of one session table: `owner` is its foreign key, `load_with` what comes along.

    `touch_every`: writing last_seen_at on every request would turn each page
    view into a write; a little slack on the idle timeout is harmless.
    """

    model: type[S]
    owner: str
    load_with: str
    touch_every: timedelta
    cache: TtlCache = field(default_factory=TtlCache)

    async def create(
        self, owner: Model, policy: SessionPolicy, now: datetime, actor: Actor, **fields: Any
    ) -> str:
        """A new session row for `owner`; returns its cookie token (kept only as a hash)."""
        token = new_token()
        row: dict[str, Any] = {
            self.owner: owner,
            "token_hash": token_hash(token),
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + policy.absolute,
            "ip": actor.ip[:45],
            "user_agent": actor.user_agent[:300],
        }
        await self.model.create(**row, **fields)
        return token

    async def find(self, token: str) -> S | None:
        """The row for a cookie token, with its owner (and what `load_with` names), in one query."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        key = token_hash(token)
        row: S | None = await self.cache.get_or_load(
            key, lambda: self.model.filter(token_hash=key).select_related(self.load_with).first()
        )
        return row

    async def touch(self, session: SessionRow, now: datetime) -> None:
        """Note that the session was used now (at most once per `touch_every`)."""
        if now - session.last_seen_at >= self.touch_every:
            session.last_seen_at = now
            await self.model.filter(id=session.id).update(last_seen_at=now)

    async def drop(self, session_id: int) -> None:
        """Delete one session row (expired, or its owner may no longer sign in)."""
        self.forget_session(session_id)
        await self.model.filter(id=session_id).delete()

    async def end(self, token: str) -> None:
        """Delete the row of a cookie token, so the cookie is worthless even if copied."""
        self.cache.pop(token_hash(token))
        await self.model.filter(token_hash=token_hash(token)).delete()

    async def end_all(self, owner_id: int) -> int:
        """End every session of one owner; returns how many ended."""
        self.forget_owner(owner_id)
        return await self.model.filter(**{f"{self.owner}_id": owner_id}).delete()

    def forget_session(self, session_id: int) -> None:
        """Load this session afresh on its next request (it ended, or its token changed)."""
        self.cache.forget(lambda row: row.id == session_id)

    def forget_owner(self, owner_id: int) -> None:
        """Load the owner's sessions afresh on their next request (some ended, or changed)."""
        column = f"{self.owner}_id"
        self.cache.forget(lambda row: getattr(row, column) == owner_id)
