"""The per-process session cache: a sign-out here counts at once, one elsewhere within its TTL."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from quart import Quart

from server.app import create_app
from server.auth.models import Session
from server.auth.sessions import MEMBER_SESSIONS, end_all_sessions
from server.config import Settings
from server.lib.clock import FrozenClock
from server.members.models import Member
from server.requests.models import ChangeRequest
from tests.factories import make_account
from tests.helpers import cookie, login, post_form
from tests.smtp import deliver
from tests.staff.helpers import signed_in_staff
from tests.staff.test_imports import EXAMPLES, upload

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


async def test_a_clerks_approval_shows_on_the_members_card_at_once(cached_app: Quart) -> None:
    """A staff form (here: a name change approved) reloads members' sessions in this process."""
    client, _ = await signed_in(cached_app)
    form = {
        "surname": "佐藤",
        "given_name": "花子",
        "surname_kana": "サトウ",
        "given_name_kana": "ハナコ",
        "postal_code": "371-0026",
        "address": "群馬県前橋市大手町1-1-1",
        "phone": "027-000-0000",
    }
    changed = await post_form(client, "/profile/change", form, token_from="/profile/change")
    assert changed.status_code == 303
    request = await ChangeRequest.get()
    assert "佐藤" not in await (await client.get("/card")).get_data(as_text=True)
    staff, _, _ = await signed_in_staff(cached_app)
    path = f"/staff/changes/{request.id}"
    approved = await post_form(staff, f"{path}/approve", {}, token_from=path)
    assert approved.status_code == 303
    assert "佐藤" in await (await client.get("/card")).get_data(as_text=True)


async def test_a_members_own_form_reloads_their_session_at_once(cached_app: Quart) -> None:
    """What a member's form changed shows on their next page, not after the cache's seconds."""
    client, _ = await signed_in(cached_app)
    await Member.all().update(name="山田 花代")  # as the member's own form might
    assert "山田 花代" not in await (await client.get("/card")).get_data(as_text=True)
    await post_form(client, "/settings/notifications", {}, token_from="/settings")
    assert "山田 花代" in await (await client.get("/card")).get_data(as_text=True)


async def test_an_import_applied_by_the_worker_shows_at_once(cached_app: Quart) -> None:
    """The worker (in this process) reloads members' sessions after an import changes them."""
    client, _ = await signed_in(cached_app)
    member = await Member.get()
    staff, _, _ = await signed_in_staff(cached_app)
    header = (EXAMPLES / "members.csv").read_text(encoding="utf-8").splitlines()[0]
    place = "027-231-1111,371-0026,群馬県前橋市大手町1-1-1"
    row = f"{member.member_no},佐藤 花子,サトウ ハナコ,1975-06-01,,{place},,現職,2001-04-01,active,"
    response = await upload(staff, "members", f"{header}\n{row}\n".encode(), "members.csv")
    location = response.headers["Location"]
    await post_form(staff, f"{location}/apply", {}, token_from=location)
    assert "佐藤" not in await (await client.get("/card")).get_data(as_text=True)  # cached again
    await deliver(cached_app)
    assert (await Member.get()).name == "佐藤 花子"
    assert "佐藤 花子" in await (await client.get("/card")).get_data(as_text=True)


async def test_pages_in_flight_when_the_ttl_ends_read_the_session_once(
    cached_app: Quart, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One member's pages under load: one read of the row, not one per page in flight."""
    _, token = await signed_in(cached_app)
    later = time.monotonic() + CACHED_SECONDS
    monkeypatch.setattr(time, "monotonic", lambda: later)
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        statuses = await asyncio.gather(*(replay(cached_app, token) for _ in range(20)))
    assert statuses == [200] * 20
    reads = [r.getMessage() for r in caplog.records if 'FROM "session"' in r.getMessage()]
    assert len(reads) == 1, reads
