"""Fixtures for the requests, inquiries and help tests: the queued mail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.requests import notify
from server.requests.notify import QueuedMail


class Mails:
    """Mail queued by this feature (the outbox stand-in until the mail feature is merged)."""

    def all(self) -> list[QueuedMail]:
        """Everything queued so far."""
        return list(notify.QUEUED)

    def to(self, address: str) -> list[QueuedMail]:
        """Mail for one address."""
        return [mail for mail in notify.QUEUED if mail.to == address]

    def clear(self) -> None:
        """Forget what was queued."""
        notify.QUEUED.clear()


@pytest.fixture(autouse=True)
def mails() -> Iterator[Mails]:
    """Each test starts with no queued mail."""
    notify.QUEUED.clear()
    yield Mails()
    notify.QUEUED.clear()
