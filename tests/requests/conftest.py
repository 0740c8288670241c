"""Fixtures for the requests, inquiries and help tests: what was mailed."""

from __future__ import annotations

import pytest
from quart import Quart

from server.mail.catcher import CaughtMail, MailCatcher
from tests.smtp import deliver, mails_to


class Mails:
    """Mail this test's app sent, delivered by the real outbox sender to the test SMTP server."""

    def __init__(self, app: Quart, box: MailCatcher) -> None:
        self.app = app
        self.box = box

    async def all(self) -> list[CaughtMail]:
        """Everything delivered so far."""
        await deliver(self.app)
        return list(self.box.messages)

    async def to(self, address: str) -> list[CaughtMail]:
        """Mail for one address, oldest first."""
        await deliver(self.app)
        return mails_to(address, self.box)

    async def clear(self) -> None:
        """Deliver what is queued, then forget it."""
        await deliver(self.app)
        self.box.clear()


@pytest.fixture
def mails(app: Quart, mailbox: MailCatcher) -> Mails:
    """The mail of this test (the SMTP server starts empty for each test)."""
    return Mails(app, mailbox)
