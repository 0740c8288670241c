"""Whose budget a request spends: the address when signed out, the person when signed in."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as HttpClient

from server.app import create_app
from server.audit.events import AuthEvent
from server.audit.models import AuditEvent
from server.config import Settings
from server.lib.clock import FrozenClock
from tests.factories import make_account
from tests.helpers import login, wrong_sign_in
from tests.staff.helpers import signed_in_staff

SIGN_IN_LIMIT = 10  # a minute, per address (server/auth/routes.py)


async def forwarded_sign_in(client: HttpClient, forwarded_for: str) -> int:
    """One failed sign-in, sent with this X-Forwarded-For header."""
    return await wrong_sign_in(client, headers={"X-Forwarded-For": forwarded_for})


async def test_a_made_up_forwarded_for_does_not_escape_the_sign_in_limit(client) -> None:
    statuses = [
        await forwarded_sign_in(client, f"198.51.100.{i}") for i in range(SIGN_IN_LIMIT + 1)
    ]
    assert statuses == [400] * SIGN_IN_LIMIT + [429]
    # Nor does it reach the access log: the connection's own address is recorded.
    event = await AuditEvent.filter(event=AuthEvent.LOGIN_FAILURE).first()
    assert event is not None and not event.ip.startswith("198.51.100.")


@pytest.fixture
async def proxied_app(settings: Settings, clock: FrozenClock) -> AsyncIterator[Quart]:
    """The app behind one TLS proxy that appends the client's address."""
    application = create_app(settings.replace(trusted_proxies=1), clock=clock)
    async with application.test_app():
        yield application


async def test_behind_a_trusted_proxy_the_address_it_saw_counts(proxied_app: Quart) -> None:
    client = proxied_app.test_client()
    # What the browser wrote before the proxy's own entry changes nothing.
    statuses = [
        await forwarded_sign_in(client, f"10.0.0.{i}, 203.0.113.5")
        for i in range(SIGN_IN_LIMIT + 1)
    ]
    assert statuses == [400] * SIGN_IN_LIMIT + [429]
    # Another member's browser behind the same proxy has its own budget.
    assert await forwarded_sign_in(client, "203.0.113.6") == 400
    ips = {e.ip for e in await AuditEvent.filter(event=AuthEvent.LOGIN_FAILURE)}
    assert ips == {"203.0.113.5", "203.0.113.6"}


async def test_members_sharing_an_address_each_have_their_own_budget(app: Quart) -> None:
    first, second = app.test_client(), app.test_client()
    await make_account(email="hanako@example.jp")
    await make_account(email="taro@example.jp")
    assert (await login(first, "hanako@example.jp")).status_code == 303
    assert (await login(second, "taro@example.jp")).status_code == 303
    # Without a CSRF token nothing is sent, but every try counts (5 a minute).
    statuses = [(await first.post("/inquiries/send")).status_code for _ in range(6)]
    assert statuses == [403] * 5 + [429]
    assert (await second.post("/inquiries/send")).status_code == 403


async def test_clerks_in_one_office_each_have_their_own_budget(app: Quart) -> None:
    first, _, _ = await signed_in_staff(app, role="admin")
    second, _, _ = await signed_in_staff(app, role="admin")
    statuses = [(await first.post("/staff/notices")).status_code for _ in range(11)]
    assert statuses == [403] * 10 + [429]
    assert (await second.post("/staff/notices")).status_code == 403


async def test_production_without_trusted_proxies_warns(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    production = settings.replace(
        env="production", secret_key="x" * 40, base_url="https://mypage.example.jp"
    )
    with caplog.at_level(logging.WARNING, logger="server"):
        create_app(production)
    assert "MYPAGE_TRUSTED_PROXIES" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="server"):
        create_app(production.replace(trusted_proxies=1))
    assert "MYPAGE_TRUSTED_PROXIES" not in caplog.text
