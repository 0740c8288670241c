"""Fixtures for the requests, inquiries and help tests: the queued mail and a signed-in member."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.requests import notify
from server.requests.notify import QueuedMail


@pytest.fixture(autouse=True)
def mails() -> Iterator[list[QueuedMail]]:
    """The mail queued during the test (the outbox stand-in until the mail feature is merged)."""
    notify.QUEUED.clear()

    class View(list):
        def to(self, address: str) -> list[QueuedMail]:
            return [mail for mail in notify.QUEUED if mail.to == address]

        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(list(notify.QUEUED))

        def __len__(self) -> int:
            return len(notify.QUEUED)

    yield View()
    notify.QUEUED.clear()
