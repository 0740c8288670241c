"""Push fixtures: a real local push service, settings that allow it, a clean stand-in outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.config import Settings
from server.push.outbox_bridge import clear_standin
from server.push.vapid import new_key_pair
from tests.conftest import make_settings
from tests.push.receiver import PushReceiver

VAPID_PRIVATE, VAPID_PUBLIC = new_key_pair()


@pytest.fixture(autouse=True)
def empty_outbox() -> Iterator[None]:
    """The stand-in outbox is in memory: each test starts with it empty."""
    clear_standin()
    yield
    clear_standin()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Test settings whose push hosts are the local receiver, with a known VAPID key."""
    return make_settings(
        db_url,
        tmp_path,
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
