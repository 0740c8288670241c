"""Delivery per channel: a small registry of handlers, and the SMTP one (aiosmtplib).

A handler returns on success and raises `DeliveryError` otherwise, saying
whether trying again later may help. Later features register their own
channel here (for example "push") and the same sender delivers them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

import aiosmtplib

from server.config import Settings
from server.lib.text import email_problem
from server.mail.sealing import SealError, open_body

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Not delivered; `temporary` says whether a later attempt may succeed."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.temporary = temporary


@dataclass(frozen=True)
class SMTPTarget:
    """Where mail goes: the configured server, or the development catcher."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPTarget:
        """The SMTP server named by MYPAGE_SMTP_*."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )


@dataclass(frozen=True)
class DeliveryContext:
    """What handlers may use: settings and the resolved mail server."""

    settings: Settings
    smtp: SMTPTarget


Handler = Callable[[dict[str, Any], DeliveryContext], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


# A channel that delivers many messages in one call (push fan-out) answers
# with one result per payload: None when delivered, else the DeliveryError.
BatchHandler = Callable[
    [list[dict[str, Any]], DeliveryContext], Awaitable[list["DeliveryError | None"]]
]
BATCH_HANDLERS: dict[str, BatchHandler] = {}


def register_channel(channel: str, handler: Handler) -> None:
    """Make the sender deliver `channel` messages with `handler`."""
    HANDLERS[channel] = handler


def register_batch_channel(channel: str, handler: BatchHandler) -> None:
    """Make the sender deliver claimed `channel` messages together with `handler`."""
    BATCH_HANDLERS[channel] = handler


def build_email(payload: dict[str, Any], settings: Settings) -> EmailMessage:
    """The MIME message: UTF-8 plain text first, with Date and Message-ID fixed at enqueue.

    The body is opened from its seal here, at send time (see `server.mail.sealing`).
    """
    message = EmailMessage()
    message["From"] = formataddr((settings.coop_name, settings.mail_from))
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = payload["date"]
    message["Message-ID"] = payload["message_id"]
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(open_body(payload, settings.secret_key), charset="utf-8")
    return message


def _classify(error: Exception) -> DeliveryError:
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        # A configuration problem, not the member's: keep the mail and keep trying
        # until an operator fixes the password (or the give-up time passes).
        log.error("SMTP authentication failed (%s): check MYPAGE_SMTP_USERNAME/_PASSWORD", error)
        return DeliveryError(f"SMTP authentication failed: {error.code}", temporary=True)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [item.code for item in error.recipients]
        temporary = any(400 <= code < 500 for code in codes)
        return DeliveryError(f"recipient refused: {codes}", temporary=temporary)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        temporary = not (500 <= error.code < 600)
        return DeliveryError(f"SMTP {error.code}: {error.message[:200]}", temporary=temporary)
    return DeliveryError(f"{type(error).__name__}: {error}", temporary=True)


async def deliver_mail(payload: dict[str, Any], context: DeliveryContext) -> None:
    """Send one mail over SMTP; 4xx and connection trouble are temporary, 5xx permanent."""
    smtp = context.smtp
    recipient = str(payload.get("to", ""))
    # One row, one recipient: the envelope names it alone, never whatever the
    # To header would make of a list, so no field can turn co-op mail into a relay.
    if email_problem(recipient) is not None:
        raise DeliveryError("recipient is not exactly one address", temporary=False)
    try:
        message = build_email(payload, context.settings)
    except SealError as error:
        # Another secret key (or an altered row): no later attempt can open it.
        raise DeliveryError(f"body not readable: {error}", temporary=False) from error
    try:
        await aiosmtplib.send(
            message,
            sender=context.settings.mail_from,
            recipients=[recipient],
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=smtp.password or None,
            start_tls=smtp.starttls,
            timeout=smtp.timeout,
        )
    except (aiosmtplib.SMTPException, OSError) as error:
        raise _classify(error) from error


register_channel("mail", deliver_mail)
