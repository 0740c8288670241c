"""Every mail this feature sends, one function each: the one seam to the outbox.

Each function renders `templates/mail/<name>/` and hands it to `_enqueue`,
whose signature is the outbox's `enqueue_mail(to, template, settings, now,
**context)` from the mail feature. Until that feature is merged, `_enqueue`
renders the mail and keeps it in `QUEUED` (and the log) instead of writing
an outbox row: the merge replaces `_enqueue` with `server.mail.outbox.enqueue_mail`.
Push notices ("change-request updates") connect in `_push` the same way.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from server.config import Settings
from server.lib.formatting import jdate, jdatetime, yen

log = logging.getLogger(__name__)
MAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"


@dataclass(frozen=True)
class QueuedMail:
    """A rendered mail waiting for the outbox (stand-in until the mail feature is merged)."""

    to: str
    template: str
    subject: str
    body: str
    at: datetime


QUEUED: deque[QueuedMail] = deque(maxlen=200)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # The mail feature's environment: no extra filters, so values arrive formatted.
    return Environment(
        loader=FileSystemLoader(str(MAIL_TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - text/plain mail, never HTML
    )


def render_mail(template: str, settings: Settings, /, **context: Any) -> tuple[str, str]:
    """Subject and body of `mail/<template>/` (same shape as the mail feature's)."""
    env = _environment()
    values = {"settings": settings, **context}
    subject = env.get_template(f"{template}/subject.txt").render(values)
    body = env.get_template(f"{template}/body.txt").render(values)
    return " ".join(subject.split()), body


async def _enqueue(
    to: str, template: str, settings: Settings, now: datetime, /, **context: Any
) -> None:
    subject, body = render_mail(template, settings, **context)
    QUEUED.append(QueuedMail(to, template, subject, body, now))
    log.info("mail %s to %s queued (outbox not merged yet)", template, to)


async def _push(member_id: int, topic: str, title: str, url: str, now: datetime) -> None:
    """Push notice for members who turned it on (connected when the push feature is merged)."""


async def change_request_received(
    to: str, settings: Settings, now: datetime, *, expected_on: date, **ctx: Any
) -> None:
    """受付: the request, its values and the expected completion date."""
    await _enqueue(
        to, "change_request_received", settings, now, expected_on=jdate(expected_on), **ctx
    )


async def change_request_state(
    to: str, member_id: int, settings: Settings, now: datetime, **ctx: Any
) -> None:
    """A state change of a request (処理中, 反映済, 差戻し), by mail and push."""
    expected_on = jdate(ctx["change"].expected_on)
    await _enqueue(to, "change_request_state", settings, now, expected_on=expected_on, **ctx)
    await _push(member_id, "change-request", "登録内容変更のお知らせ", "/profile/change", now)


async def email_change_code(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """The six-digit code, to the new address."""
    await _enqueue(to, "email_change_code", settings, now, **ctx)


async def email_changed_notice(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """To the old address: the sign-in address was changed (at `now`)."""
    await _enqueue(to, "email_changed", settings, now, at=jdatetime(now), **ctx)


async def inquiry_to_coop(settings: Settings, now: datetime, **ctx: Any) -> None:
    """A new inquiry, to the co-op's address."""
    created_at = jdatetime(ctx["inquiry"].created_at)
    await _enqueue(
        settings.coop_inquiry_email, "inquiry_to_coop", settings, now, created_at=created_at, **ctx
    )


async def inquiry_copy(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """The member's copy of their inquiry, with its receipt number."""
    created_at = jdatetime(ctx["inquiry"].created_at)
    await _enqueue(to, "inquiry_copy", settings, now, created_at=created_at, **ctx)


async def inquiry_reply(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """A staff reply, to the member."""
    await _enqueue(to, "inquiry_reply", settings, now, **ctx)


async def service_stopped(
    to: str, settings: Settings, now: datetime, *, fee: int, fee_with_tax: int, **ctx: Any
) -> None:
    """Confirmation that My Page was stopped, with the paper-statement fee."""
    await _enqueue(
        to, "service_stopped", settings, now, fee=yen(fee), fee_with_tax=yen(fee_with_tax), **ctx
    )
