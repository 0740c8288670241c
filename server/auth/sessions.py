"""Server-side sessions: opaque cookie token, idle and absolute expiry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from tortoise import connections, fields
from tortoise.models import Model

from server.audit.service import Actor, Event, record
from server.auth import sqlite_reader
from server.auth.models import Account, AccountState, Session
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


@dataclass(frozen=True)
class LiveSession:
    """A valid session with its account and member, loaded in one query."""

    session: Session
    account: Account
    member: Member


_MODELS: tuple[type[Model], ...] = (Session, Account, Member)
# SQLite hands timestamps back as ISO text; the C parser is ~50x faster than the
# pure-Python one Tortoise would use, and Tortoise then only checks the zone.
_ISO_PARSERS: dict[type[fields.Field], Callable[[str], object]] = {
    fields.DatetimeField: datetime.fromisoformat,
    fields.DateField: date.fromisoformat,
}


@lru_cache(maxsize=2)
def _session_query(dialect: str) -> str:
    # One hand-written join: select_related builds three models through the
    # query builder and costs several times more on every signed-in request.
    columns = ", ".join(
        f'{alias}."{column}"'
        for alias, model in zip("sam", _MODELS, strict=True)
        for column in model._meta.db_fields
    )
    placeholder = "$1" if dialect == "postgres" else "?"
    return (
        f'SELECT {columns} FROM "session" s '  # noqa: S608 - columns from model metadata
        'JOIN "account" a ON a."id" = s."account_id" '
        'JOIN "member" m ON m."id" = a."member_id" '
        f'WHERE s."token_hash" = {placeholder}'
    )


def _columns(model: type[Model]) -> list[tuple[str, Callable[[str], object] | None]]:
    meta = model._meta
    return [
        (column, _ISO_PARSERS.get(type(meta.fields_map[meta.fields_db_projection_reverse[column]])))
        for column in meta.db_fields
    ]


@lru_cache(maxsize=1)
def _decoders() -> list[tuple[type[Model], list[tuple[str, Callable[[str], object] | None]]]]:
    # Built on first use: the models' field maps are complete once Tortoise is set up.
    return [(model, _columns(model)) for model in _MODELS]


def _decode(row: Sequence[object]) -> tuple[Session, Account, Member]:
    """The three model instances from one row of the session query."""
    built: list[Model] = []
    position = 0
    for model, columns in _decoders():
        values: dict[str, object] = {}
        for column, parse in columns:
            value = row[position]
            position += 1
            values[column] = parse(value) if parse is not None and type(value) is str else value
        built.append(model._init_from_db(**values))
    session, account, member = built
    return session, account, member  # type: ignore[return-value]


async def _find_row(token_digest: str) -> Sequence[object] | None:
    conn = connections.get("default")
    reader = sqlite_reader.for_client(conn)
    rows = reader.fetch(_session_query("sqlite"), token_digest) if reader is not None else None
    if rows is None:
        _, rows = await conn.execute_query(
            _session_query(conn.capabilities.dialect), [token_digest]
        )
    return rows[0] if rows else None


async def load_session(token: str, policy: SessionPolicy, now: datetime) -> LiveSession | None:
    """The live session for a cookie token, with its account and member; expired ones die."""
    if not token or len(token) > 100:
        return None
    row = await _find_row(token_hash(token))
    if row is None:
        return None
    session, account, member = _decode(row)
    expired = now >= session.expires_at or now - session.last_seen_at >= policy.idle
    if expired or account.state != AccountState.ACTIVE:
        await Session.filter(id=session.id).delete()
        await record(
            Event.SESSION_EXPIRED,
            Actor(kind="system", member_id=member.id, account_id=account.id),
            now,
        )
        return None
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
