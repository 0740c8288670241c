"""Writing to the outbox; call these inside the transaction of the change they report."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from server.config import Settings
from server.imports.bulk import insert_rows
from server.mail.models import OutboxMessage, OutboxStatus

MAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"
MAIL = "mail"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Plain text: no HTML escaping, and a missing variable is a bug, not a blank.
    return Environment(
        loader=FileSystemLoader(str(MAIL_TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - text/plain mail, never HTML
    )


def render_mail(template: str, settings: Settings, /, **context: Any) -> tuple[str, str]:
    """Subject and body of the mail template folder `mail/<template>/`."""
    env = _environment()
    values = {"settings": settings, **context}
    subject = env.get_template(f"{template}/subject.txt").render(values)
    body = env.get_template(f"{template}/body.txt").render(values)
    return " ".join(subject.split()), body


async def enqueue(
    channel: str, payload: dict[str, Any], now: datetime, *, dedupe_key: str | None = None
) -> OutboxMessage:
    """Queue one message on a channel; with a dedupe key, a second request is the first row."""
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
    )


INSERT_COLUMNS = (
    "channel",
    "payload",
    "dedupe_key",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
)


async def enqueue_many(channel: str, items: list[tuple[dict[str, Any], str]], now: datetime) -> int:
    """Queue many (payload, dedupe key) messages at once, skipping keys already queued.

    Bulk reads and inserts: an import that notifies 30,000 members must not
    make 60,000 round trips inside its transaction. Returns how many were queued.
    """
    fresh: dict[str, dict[str, Any]] = {}
    keys = [key for _, key in items]
    for start in range(0, len(keys), 900):
        part = keys[start : start + 900]
        known = set(
            await OutboxMessage.filter(dedupe_key__in=part).values_list("dedupe_key", flat=True)
        )
        for payload, key in items[start : start + 900]:
            if key not in known and key not in fresh:
                fresh[key] = payload
    # Plain rows to the driver (executemany / COPY), not one ORM object each.
    rows = [
        (channel, json.dumps(payload, ensure_ascii=False), key, "pending", 0, now, "", now)
        for key, payload in fresh.items()
    ]
    await insert_rows(
        OutboxMessage._meta.db,
        "outbox_message",
        INSERT_COLUMNS,
        rows,
        dates=("next_attempt_at", "created_at"),
    )
    return len(fresh)


async def enqueue_mail(
    to: str,
    template: str,
    settings: Settings,
    now: datetime,
    /,
    *,
    dedupe_key: str | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render a mail template and queue it for `to`."""
    subject, body = render_mail(template, settings, **context)
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    payload = {
        "template": template,
        "to": to,
        "subject": subject,
        "body": body,
        # Fixed now, so that a retry after an unclear failure is the same message.
        "message_id": make_msgid(domain=domain),
        "date": format_datetime(now),
    }
    return await enqueue(MAIL, payload, now, dedupe_key=dedupe_key)
