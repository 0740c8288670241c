"""The outbox's "mail" channel: one message per row over SMTP (aiosmtplib).

Mail goes to MYPAGE_SMTP_HOST when it is set (in every environment); in
development without one, to a catcher of our own (`MailOutlet`), whose mail
/dev/mail shows (or `mypage worker` prints).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

import aiosmtplib

from server.config import Settings
from server.lib.text import email_problem
from server.mail.catcher import CaughtMail, MailCatcher
from server.mail.compose import MAIL
from server.mail.sealing import SEALED, SealError, open_body
from server.outbox.channels import Channel, DeliveryError

log = logging.getLogger(__name__)


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


async def deliver_mail(payload: dict[str, Any], settings: Settings, smtp: SMTPTarget) -> None:
    """Send one mail over SMTP; 4xx and connection trouble are temporary, 5xx permanent."""
    recipient = str(payload.get("to", ""))
    # One row, one recipient: the envelope names it alone, never whatever the
    # To header would make of a list, so no field can turn co-op mail into a relay.
    if email_problem(recipient) is not None:
        raise DeliveryError("recipient is not exactly one address", temporary=False)
    try:
        message = build_email(payload, settings)
    except SealError as error:
        # Another secret key (or an altered row): no later attempt can open it.
        raise DeliveryError(f"body not readable: {error}", temporary=False) from error
    try:
        await aiosmtplib.send(
            message,
            sender=settings.mail_from,
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


def mail_channel(settings: Settings, smtp: SMTPTarget | None = None) -> Channel:
    """The "mail" channel, delivering to `smtp` (MYPAGE_SMTP_* when not given).

    Mail goes out in order, one SMTP conversation at a time; one success makes
    the mail waiting out a backoff due at once (the server is back); the body
    (a code, a link: sealed, but still) is dropped once the row is done with.
    "body" is a row queued before sealing.
    """
    target = smtp or SMTPTarget.from_settings(settings)

    async def deliver(payload: dict[str, Any]) -> None:
        await deliver_mail(payload, settings, target)

    return Channel(MAIL, deliver, sequential=True, pull_forward=True, forget=("body", SEALED))


# Where the app factory keeps its outlet (whose catcher /dev/mail reads).
OUTLET_KEY = "MYPAGE_MAIL_OUTLET"


class MailOutlet:
    """The mail channel while serving: to MYPAGE_SMTP_HOST, or development's own catcher."""

    def __init__(
        self, settings: Settings, *, on_mail: Callable[[CaughtMail], None] | None = None
    ) -> None:
        self.settings = settings
        self.on_mail = on_mail
        self.catcher: MailCatcher | None = None

    def catches(self) -> bool:
        """True when mail stays on this machine (development without MYPAGE_SMTP_HOST)."""
        return self.settings.is_development and not self.settings.smtp_host

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Channel]:
        """The channel, with development's catcher listening until the sender stops."""
        if not self.catches():
            yield mail_channel(self.settings)
            return
        catcher = MailCatcher(on_mail=self.on_mail)
        await asyncio.to_thread(catcher.start)
        self.catcher = catcher
        log.info("development mail catcher on port %s: read mail at /dev/mail", catcher.port)
        try:
            yield mail_channel(self.settings, SMTPTarget(host=catcher.host, port=catcher.port))
        finally:
            self.catcher = None
            await asyncio.to_thread(catcher.stop)
