"""Push fixtures: a real local push service and settings that allow it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.config import Settings
from server.mail.catcher import MailCatcher
from server.push.vapid import new_key_pair
from tests.conftest import make_settings
from tests.push.receiver import PushReceiver

VAPID_PRIVATE, VAPID_PUBLIC = new_key_pair()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, mailbox: MailCatcher) -> Settings:
    """Test settings whose push hosts are the local receiver, with a known VAPID key."""
    return make_settings(
        db_url,
        tmp_path,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        push_allowed_hosts=("127.0.0.1", "localhost"),
        vapid_private_key=VAPID_PRIVATE,
        push_timeout_seconds=2,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[PushReceiver]:
    """A push service on 127.0.0.1 that records what it gets."""
    server = PushReceiver()
    await server.start()
    yield server
    await server.stop()
