"""Mail for the outbox: rendered from its template folder, body sealed, queued by the caller."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from server.config import Settings
from server.mail.sealing import SEALED, seal_body
from server.outbox.models import OutboxMessage
from server.outbox.queue import enqueue

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


def code_ref(flow_hash: str) -> str:
    """The `ref` of the mail that carries a flow's authentication code."""
    return f"code:{flow_hash}"


async def enqueue_mail(
    to: str,
    template: str,
    settings: Settings,
    now: datetime,
    /,
    *,
    dedupe_key: str | None = None,
    expires_at: datetime | None = None,
    ref: str | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render a mail template and queue it for `to`, body sealed (`enqueue`: expiry and ref)."""
    subject, body = render_mail(template, settings, **context)
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    payload: dict[str, Any] = {
        "template": template,
        "to": to,
        "subject": subject,
        # Fixed now, so that a retry after an unclear failure is the same message.
        "message_id": make_msgid(domain=domain),
        "date": format_datetime(now),
    }
    # The body holds codes and links (ASVS 14.2.4): only its AES-GCM seal is
    # stored, opened by the sender at send time. Subjects never carry secrets.
    payload[SEALED] = seal_body(payload, body, settings.secret_key)
    return await enqueue(MAIL, payload, now, dedupe_key=dedupe_key, expires_at=expires_at, ref=ref)
