"""Fixtures: a fresh real database per test, the app, a clock and a client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from server import db
from server.app import create_app
from server.config import Settings
from server.lib.clock import FrozenClock
from server.mail.catcher import MailCatcher
from tests import smtp as test_smtp
from tests.dbutil import TemplateDatabase

# A Saturday afternoon in Japan; tests move it as they need.
START = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: once Playwright's sync API has started (a session-scoped
    browser), its event loop runs in the main thread and async tests cannot start
    theirs, so any tests/<feature>/ sorting after tests/e2e/ would fail."""
    items.sort(key=lambda item: "/e2e/" in item.nodeid.replace("\\", "/"))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    """Migrate one template database per test run (through the real migrations)."""
    template = TemplateDatabase(tmp_path_factory.mktemp("db"))

    async def build() -> None:
        await template.create()
        await db.migrate(template.template_url)

    asyncio.run(build())
    yield template
    asyncio.run(template.destroy())


@pytest.fixture
async def db_url(template_db: TemplateDatabase) -> AsyncIterator[str]:
    """A fresh database for this test, dropped afterwards."""
    url = await template_db.copy()
    yield url
    await template_db.drop(url)


@pytest.fixture
def clock() -> FrozenClock:
    """The injected clock; tests advance it instead of sleeping."""
    return FrozenClock(START)


def make_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    """Test settings: plain http origin, so cookies are not Secure (test only).

    No background outbox sender: tests deliver mail when they choose to
    (`tests.smtp.deliver`), so what a test sees does not depend on timing.
    """
    base = Settings(
        env="test",
        database_url=db_url,
        secret_key="test-secret-key-0123456789abcdef0123456789",
        base_url="http://localhost",
        data_dir=tmp_path / "data",
        outbox_sender=False,
        # Tests change members and sessions in the database and look at once;
        # tests/auth/test_session_cache.py turns the cache on.
        session_cache_seconds=0,
    )
    return base.replace(**overrides) if overrides else base


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) on a free local port for the whole run."""
    catcher = MailCatcher().start()
    test_smtp.SERVER = catcher
    yield catcher
    test_smtp.SERVER = None
    catcher.stop()


@pytest.fixture
def mailbox(smtp_server: MailCatcher) -> MailCatcher:
    """The SMTP server, emptied for this test."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture
def settings(db_url: str, tmp_path: Path, mailbox: MailCatcher) -> Settings:
    """Settings for this test's app; its mail goes to the test SMTP server."""
    return make_settings(db_url, tmp_path, smtp_host=mailbox.host, smtp_port=mailbox.port)


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[Quart]:
    """The real app on the test database, started as hypercorn would start it."""
    application = create_app(settings, clock=clock)
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> TestClientProtocol:
    """An HTTP client that keeps cookies, like a browser."""
    return app.test_client()
