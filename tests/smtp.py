"""Reading what the app mailed: deliver the outbox to the test SMTP server and look."""

from __future__ import annotations

import re

from quart import Quart

from server.lib.text import normalize_email
from server.mail.catcher import CaughtMail, MailCatcher
from server.mail.sender import OutboxSender

# The session's SMTP server (set by the `smtp_server` fixture).
SERVER: MailCatcher | None = None
CODE_RE = re.compile(r"認証コード：(\d{6})")
URL_RE = re.compile(r"https?://\S+/password/reset/\S+")


def server() -> MailCatcher:
    """The running test SMTP server."""
    assert SERVER is not None, "the smtp_server fixture is not active"
    return SERVER


async def deliver(app: Quart) -> int:
    """One pass of the real outbox sender with the app's settings and clock."""
    sender = OutboxSender(app.config["MYPAGE_SETTINGS"], app.config["MYPAGE_CLOCK"])
    return await sender.run_once()


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
