"""Home's 新着 kept a few seconds per process: fresh at once where it changed, else in the TTL."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from quart import Quart

from server.app import create_app
from server.audit.service import Actor
from server.auth.models import Account
from server.auth.sessions import cache_member_sessions
from server.config import Settings
from server.lib.clock import FrozenClock
from server.members.access import Viewer
from server.pages.models import HomeNews
from server.pages.news import cache_home_news, home_news
from server.requests.changes import set_change_state, submit_changes
from server.requests.models import ChangeState
from server.statements.models import StatementLine
from tests.factories import make_account, make_member
from tests.helpers import login, page
from tests.pages.test_home_news_rows import address_change, run_import, statements_file

CACHED_SECONDS = 5
STATEMENT_NEWS = "新しい明細があります"


@pytest.fixture
async def cached_app(settings: Settings, clock: FrozenClock) -> AsyncIterator[Quart]:
    """The app with the caches on, as in production."""
    application = create_app(settings.replace(session_cache_seconds=CACHED_SECONDS), clock=clock)
    async with application.test_app():
        yield application
    cache_home_news(0)
    cache_member_sessions(0)


@pytest.fixture
async def member_client(cached_app: Quart):
    """Hanako (40000001), signed in, home seen once (so her rows are now kept)."""
    member = await make_member(member_no="40000001", name="山田 花子", name_kana="ヤマダ ハナコ")
    await make_account(member, email="hanako@example.jp")
    client = cached_app.test_client()
    assert (await login(client, "hanako@example.jp")).status_code == 303
    status, html = await page(client, "/")
    assert status == 200 and STATEMENT_NEWS not in html
    return member, client


async def test_home_within_the_ttl_reads_no_news_row(member_client, caplog) -> None:
    _, client = member_client
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        status, _ = await page(client, "/")
    assert status == 200
    assert not [r for r in caplog.records if "home_news" in r.getMessage()]


async def test_a_row_written_by_another_process_shows_within_the_ttl(
    member_client, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    member, client = member_client
    # As the worker's import in another process writes it: not through this process's copy.
    await HomeNews.create(
        member_id=member.id,
        kind="statement",
        ref="2026-11",
        text=STATEMENT_NEWS,
        detail="2026年11月分　ご請求額 700円",
        href="/statements/2026-11",
        at=clock.now,
    )
    await make_statement_line(member.id)
    _, html = await page(client, "/")
    assert STATEMENT_NEWS not in html
    later = time.monotonic() + CACHED_SECONDS
    monkeypatch.setattr(time, "monotonic", lambda: later)
    _, html = await page(client, "/")
    assert STATEMENT_NEWS in html


async def make_statement_line(member_id: int) -> None:
    """A November line for the member, so the statement page and its news are real."""
    await StatementLine.create(
        member_id=member_id,
        billing_month="2026-11",
        billed_on="2026-11-16",
        line_no=1,
        used_on="2026-11-02",
        description="文具",
        quantity=1,
        amount_yen=700,
    )


async def test_an_import_here_shows_at_once_and_opening_it_settles_it_at_once(
    member_client, clock
) -> None:
    _, client = member_client
    await run_import(statements_file(("40000001", "2026-11", 1, 700)), clock)
    _, html = await page(client, "/")
    assert STATEMENT_NEWS in html
    assert (await client.get("/statements/2026-11")).status_code == 200
    _, html = await page(client, "/")
    assert STATEMENT_NEWS not in html


async def test_a_change_applied_here_shows_at_once(member_client, settings, clock) -> None:
    member, client = member_client
    actor = Actor(kind="member", member_id=member.id)
    (change,) = await submit_changes(member, address_change(member), settings, clock.now, actor)
    await set_change_state(change.id, ChangeState.APPLIED, settings, clock.now)
    _, html = await page(client, "/")
    assert "登録内容の変更を反映しました" in html


async def test_the_kept_rows_still_age_out_of_the_window(
    member_client, clock, settings, caplog
) -> None:
    """A kept row older than home_news_days is not shown, whatever the copy holds."""
    member, _ = member_client
    account = await Account.get(member_id=member.id)
    await run_import(statements_file(("40000001", "2026-11", 1, 700)), clock)
    viewer = Viewer(member.id, account.registered_at, member.status, None)
    days = settings.home_news_days
    assert [item.text for item in await home_news(viewer, clock.now, days)] == [STATEMENT_NEWS]
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        assert await home_news(viewer, clock.now + timedelta(days=days + 30), days) == []
    assert not [r for r in caplog.records if "home_news" in r.getMessage()]  # from the copy
