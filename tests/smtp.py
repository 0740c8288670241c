"""Reading what the app mailed: deliver the outbox to the test SMTP server and look."""

from __future__ import annotations

import re
from contextlib import nullcontext
from email.message import EmailMessage

from quart import Quart

from server.config import Settings
from server.lib.clock import Clock
from server.lib.text import normalize_email
from server.mail.catcher import CaughtMail, MailCatcher
from server.mail.smtp import mail_channel
from server.outbox.channels import Channel
from server.outbox.runtime import ChannelOpener
from server.outbox.sender import OutboxSender
from server.push.channel import push_channel
from server.staff.imports.job import imports_channel

# The session's SMTP server (set by the `smtp_server` fixture).
SERVER: MailCatcher | None = None
CODE_RE = re.compile(r"認証コード：(\d{6})")
URL_RE = re.compile(r"https?://\S+/password/reset/\S+")


def server() -> MailCatcher:
    """The running test SMTP server."""
    assert SERVER is not None, "the smtp_server fixture is not active"
    return SERVER


def channels(settings: Settings) -> list[Channel]:
    """The channels `create_app` and `mypage worker` deliver, built from these settings."""
    return [mail_channel(settings), push_channel(settings), imports_channel()]


def openers(settings: Settings) -> list[ChannelOpener]:
    """The same channels as `run_worker` takes them (nothing to open or close)."""
    return [lambda channel=channel: nullcontext(channel) for channel in channels(settings)]


def outbox_sender(settings: Settings, clock: Clock) -> OutboxSender:
    """The real outbox sender on every channel, with these settings."""
    return OutboxSender(settings, clock, channels(settings))


async def deliver(app: Quart) -> int:
    """One pass of the real outbox sender with the app's settings and clock."""
    sender = outbox_sender(app.config["MYPAGE_SETTINGS"], app.config["MYPAGE_CLOCK"])
    return await sender.run_once()


def messages_to(box: MailCatcher, address: str) -> list[EmailMessage]:
    """The parsed messages that arrived for an address, oldest first."""
    return [mail.message for mail in mails_to(address, box)]


def mails_to(address: str, box: MailCatcher | None = None) -> list[CaughtMail]:
    """Mail that arrived for an address, oldest first."""
    wanted = normalize_email(address)
    return [
        m for m in (box or server()).messages if wanted in {normalize_email(r) for r in m.rcpt_to}
    ]


async def mailed_code(app: Quart, address: str) -> str:
    """Deliver the outbox and return the code in the newest mail to `address`."""
    await deliver(app)
    mails = mails_to(address)
    assert mails, f"no mail arrived for {address}"
    match = CODE_RE.search(mails[-1].body)
    assert match, "the newest mail has no 認証コード"
    return match.group(1)


def reset_link(mail: CaughtMail) -> str:
    """The path of the reset link in a mail."""
    match = URL_RE.search(mail.body)
    assert match, "no reset link in the mail"
    return "/" + match.group(0).split("/", 3)[3]
