"""The per-process session cache: a sign-out here counts at once, one elsewhere within its TTL."""

from __future__ import annotations

import time

import pytest
from quart import Quart

from server.app import create_app
from server.auth.models import Session
from server.auth.sessions import MEMBER_SESSIONS, end_all_sessions
from server.config import Settings
from server.lib.clock import FrozenClock
from server.members.models import Member
from tests.factories import make_account
from tests.helpers import cookie, login, post_form

CACHED_SECONDS = 5


@pytest.fixture
async def cached_app(settings: Settings, clock: FrozenClock):
    """The app with the cache on, as in production."""
    application = create_app(settings.replace(session_cache_seconds=CACHED_SECONDS), clock=clock)
    async with application.test_app():
        yield application
    MEMBER_SESSIONS.cache.seconds = 0
    MEMBER_SESSIONS.cache.rows.clear()


async def signed_in(app: Quart) -> tuple[object, str]:
    client = app.test_client()
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    token = cookie(client, "mypage_session")
    assert token
    assert (await client.get("/")).status_code == 200  # loaded once: now cached
    return client, token


async def replay(app: Quart, token: str) -> int:
    """A copy of the cookie, used by someone else."""
    copy = app.test_client()
    response = await copy.get("/", headers={"Cookie": f"mypage_session={token}"})
    return response.status_code


async def test_a_signed_in_page_reads_no_session_row_within_the_ttl(cached_app: Quart) -> None:
    client, _ = await signed_in(cached_app)
    assert len(MEMBER_SESSIONS.cache.rows) == 1
    cached = next(iter(MEMBER_SESSIONS.cache.rows.values()))[1]
    assert (await client.get("/card")).status_code == 200
    assert next(iter(MEMBER_SESSIONS.cache.rows.values()))[1] is cached


async def test_sign_out_in_this_process_counts_at_once(cached_app: Quart) -> None:
    client, token = await signed_in(cached_app)
    assert await replay(cached_app, token) == 200
    await post_form(client, "/logout", {}, token_from="/")
    assert await replay(cached_app, token) == 303


async def test_ending_every_session_counts_at_once(cached_app: Quart) -> None:
    _, token = await signed_in(cached_app)
    session = await Session.get()
    await end_all_sessions(session.account_id)  # type: ignore[attr-defined]
    assert await replay(cached_app, token) == 303


async def test_a_sign_out_elsewhere_counts_within_the_ttl(
    cached_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker deleted the row: this one serves the copy for at most the TTL."""
    _, token = await signed_in(cached_app)
    await Session.all().delete()  # as another process's sign-out does: not through this cache
    assert await replay(cached_app, token) == 200
    later = time.monotonic() + CACHED_SECONDS
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert await replay(cached_app, token) == 303


async def test_a_change_to_the_member_shows_within_the_ttl(
    cached_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = await signed_in(cached_app)
    await Member.all().update(name="山田 花代")  # as the staff console in another process
    later = time.monotonic() + CACHED_SECONDS
    monkeypatch.setattr(time, "monotonic", lambda: later)
    html = await (await client.get("/card")).get_data(as_text=True)
    assert "山田 花代" in html
