"""Writing to the outbox; call these inside the transaction of the change they report."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server import db
from server.db import speaks_postgres
from server.outbox.models import OutboxMessage, OutboxStatus


async def enqueue(
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    dedupe_key: str | None = None,
    expires_at: datetime | None = None,
    ref: str | None = None,
) -> OutboxMessage:
    """Queue one message on a channel; with a dedupe key, a second request is the first row.

    `expires_at`: when the content dies (a code, a link), after which it is
    never sent; `ref`: what it is about, for `expired_unsent`.
    """
    if dedupe_key is not None:
        existing = await OutboxMessage.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    return await OutboxMessage.create(
        channel=channel,
        payload=payload,
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
        expires_at=expires_at,
        ref=ref,
    )


async def expired_unsent(ref: str, now: datetime) -> bool:
    """Whether the newest message about `ref` died unsent (it waited out an outage)."""
    latest = await OutboxMessage.filter(ref=ref).order_by("-id").first()
    if latest is None:
        return False
    if latest.status == OutboxStatus.EXPIRED:
        return True
    # Still queued past its life (no sender has looked at it yet): as good as expired.
    waiting = latest.status == OutboxStatus.PENDING
    return waiting and latest.expires_at is not None and latest.expires_at <= now


# One statement queues a payload for many members: the database fills in each
# member's id and dedupe key, so nothing is built per row in Python and keys
# already queued are skipped by the unique index, not by a read beforehand.
_PER_MEMBER_SQLITE = """
INSERT INTO outbox_message (channel, payload, dedupe_key, status, attempts,
                            next_attempt_at, last_error, created_at)
SELECT ?, json_set(?, '$.member_id', m.value), ? || m.value || ?, 'pending', 0, ?, '', ?
FROM json_each(?) AS m WHERE true
ON CONFLICT (dedupe_key) DO NOTHING
"""
_PER_MEMBER_POSTGRES = """
WITH queued AS (
    INSERT INTO outbox_message (channel, payload, dedupe_key, status, attempts,
                                next_attempt_at, last_error, created_at)
    SELECT $1, jsonb_set($2::text::jsonb, '{member_id}', to_jsonb(m.id)), $3 || m.id || $4,
           'pending', 0, $5, '', $5
    FROM unnest($6::bigint[]) WITH ORDINALITY AS m(id, n) ORDER BY m.n
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM queued
"""


async def enqueue_per_member(
    channel: str,
    payload: dict[str, Any],
    member_ids: list[int],
    now: datetime,
    *,
    key_prefix: str,
    key_suffix: str,
) -> int:
    """Queue `payload` once per member, its "member_id" set to each id in turn.

    The dedupe key is key_prefix + id + key_suffix; members whose key is
    already queued are skipped. Returns how many messages were queued.
    """
    if not member_ids:
        return 0
    template = json.dumps({**payload, "member_id": 0}, ensure_ascii=False)
    conn = db.connection()
    if speaks_postgres(conn):
        _, rows = await conn.execute_query(
            _PER_MEMBER_POSTGRES, [channel, template, key_prefix, key_suffix, now, member_ids]
        )
        return int(rows[0][0])
    stamp = now.isoformat(" ")
    ids = json.dumps(member_ids)
    values = [channel, template, key_prefix, key_suffix, stamp, stamp, ids]
    queued, _ = await conn.execute_query(_PER_MEMBER_SQLITE, values)
    return queued
