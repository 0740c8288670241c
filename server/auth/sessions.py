"""Server-side sessions: opaque cookie token, idle and absolute expiry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from tortoise import connections, fields
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.timezone import get_default_timezone, get_use_tz

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


@lru_cache(maxsize=2)
def _session_query(dialect: str) -> str:
    # One hand-written join: select_related builds three models through the
    # query builder and costs several times more on every signed-in request.
    columns = ", ".join(
        f'{alias}."{column}"'
        for alias, model in zip("sam", _MODELS, strict=True)
        for column in _decoder(model)[0]
    )
    placeholder = "$1" if dialect == "postgres" else "?"
    return (
        f'SELECT {columns} FROM "session" s '  # noqa: S608 - columns from model metadata
        'JOIN "account" a ON a."id" = s."account_id" '
        'JOIN "member" m ON m."id" = a."member_id" '
        f'WHERE s."token_hash" = {placeholder}'
    )


Convert = Callable[[Any], Any] | None


def _to_datetime(value: Any) -> datetime | None:
    # What DatetimeField.to_python_value gives with use_tz (zone: UTC), with
    # SQLite's text parsed by the C ISO parser instead of a pure-Python one.
    if value is None:
        return None
    if type(value) is str:
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=get_default_timezone())
    return value.astimezone(get_default_timezone())


def _to_date(value: Any) -> date | None:
    return date.fromisoformat(value) if type(value) is str else value


def _typed(field_type: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return None if value is None else field_type(value)

    return convert


def _converter(field: fields.Field) -> Convert:
    if type(field) is fields.DatetimeField and get_use_tz():
        return _to_datetime
    if type(field) is fields.DateField:
        return _to_date
    if isinstance(field, CharEnumFieldInstance):
        return _typed(field.enum_type)
    return field.to_python_value


@lru_cache(maxsize=len(_MODELS))
def _decoder(model: type[Model]) -> tuple[list[str], list[tuple[str, Convert]], dict[str, Any]]:
    """Columns to select, (attribute, conversion) for each, and the state ORM rows carry.

    Mirrors `Model._init_from_db` (native columns as they are, plain ones
    through their Python type, the rest converted), with cheaper conversions
    for timestamps, dates and enums; a test compares the result with the ORM's.
    """
    meta = model._meta
    columns: list[str] = []
    steps: list[tuple[str, Convert]] = []
    for column, attribute, _ in meta.db_native_fields:
        columns.append(column)
        steps.append((attribute, None))
    for column, attribute, field in meta.db_default_fields:
        columns.append(column)
        steps.append((attribute, _typed(field.field_type)))
    for column, attribute, field in meta.db_complex_fields:
        columns.append(column)
        steps.append((attribute, _converter(field)))
    state = {
        "_partial": False,
        "_saved_in_db": True,
        "_custom_generated_pk": meta.db_pk_column not in meta.generated_db_fields,
    }
    return columns, steps, state


def _build(model: type[Model], row: Sequence[Any], start: int) -> tuple[Any, int]:
    _, steps, state = _decoder(model)
    instance = model.__new__(model)
    values = instance.__dict__
    values.update(state, _await_when_save={})
    for offset, (attribute, convert) in enumerate(steps, start):
        value = row[offset]
        values[attribute] = value if convert is None else convert(value)
    return instance, start + len(steps)


def _decode(row: Sequence[Any]) -> tuple[Session, Account, Member]:
    """The three model instances from one row of the session query."""
    session, position = _build(Session, row, 0)
    account, position = _build(Account, row, position)
    member, _ = _build(Member, row, position)
    return session, account, member


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


async def end_other_sessions(account_id: int, keep_session_id: int) -> int:
    """Sign a member out on every other device; returns how many sessions ended."""
    return await Session.filter(account_id=account_id).exclude(id=keep_session_id).delete()
