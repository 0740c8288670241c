"""Every mail about inquiries, one function each, through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.config import Settings
from server.lib.formatting import jdatetime
from server.mail.compose import enqueue_mail


async def inquiry_to_coop(settings: Settings, now: datetime, **ctx: Any) -> None:
    """A new inquiry, to the co-op's address."""
    created_at = jdatetime(ctx["inquiry"].created_at)
    await enqueue_mail(
        settings.coop_inquiry_email, "inquiry_to_coop", settings, now, created_at=created_at, **ctx
    )


async def inquiry_copy(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """The member's copy of their inquiry, with its receipt number."""
    created_at = jdatetime(ctx["inquiry"].created_at)
    await enqueue_mail(to, "inquiry_copy", settings, now, created_at=created_at, **ctx)


async def inquiry_reply(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """A staff reply, to the member."""
    await enqueue_mail(to, "inquiry_reply", settings, now, **ctx)
