"""Password sign-in over HTTP: success, failures, blocking, sessions, logout."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.auth.models import Account, Session
from server.auth.service import BlockPolicy, LoginFailed, authenticate
from server.lib.clock import FrozenClock
from tests.factories import make_account, make_member
from tests.helpers import cookie, login, page, post_form

GENERIC = "メールアドレスまたはパスワードが正しくありません。"


async def test_login_page_has_the_contract_words(client) -> None:
    status, html = await page(client, "/login")
    assert status == 200
    assert '<label for="f-email">メールアドレス</label>' in html
    assert '<label for="f-password">パスワード</label>' in html
    assert '<button type="submit" class="button-primary">ログイン</button>' in html


async def test_sign_in_shows_home_with_name_and_number(client) -> None:
    member = await make_member(name="山田 花子", member_no="00012345")
    await make_account(member, email="hanako@example.jp")
    response = await login(client, "hanako@example.jp")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    status, html = await page(client, "/")
    assert status == 200
    assert "山田 花子 様" in html
    assert "00012345" in html
    assert ">ログアウト</button>" in html
    assert await AuditEvent.filter(event="auth:login:success", member_id=member.id).count() == 1


async def test_full_width_and_upper_case_email_is_accepted(client) -> None:
    await make_account(email="hanako@example.jp")
    response = await login(client, "ＨＡＮＡＫＯ＠ｅｘａｍｐｌｅ．ｊｐ")
    assert response.status_code == 303


async def test_wrong_password_and_unknown_email_read_the_same(client) -> None:
    await make_account(email="hanako@example.jp")
    wrong = await login(client, "hanako@example.jp", "not-the-password")
    unknown = await login(client, "nobody@example.jp", "not-the-password")
    assert wrong.status_code == unknown.status_code == 400
    wrong_html = await wrong.get_data(as_text=True)
    unknown_html = await unknown.get_data(as_text=True)
    assert GENERIC in wrong_html and GENERIC in unknown_html
    assert 'value="hanako@example.jp"' in wrong_html  # the form is refilled
    assert await Session.all().count() == 0


async def test_empty_and_overlong_fields_are_refused_politely(client) -> None:
    await make_account(email="hanako@example.jp")
    empty = await login(client, "", "")
    assert empty.status_code == 400
    assert "メールアドレスとパスワードを入力してください。" in await empty.get_data(as_text=True)
    long = await login(client, "hanako@example.jp", "x" * 10_000)
    assert long.status_code == 400
    assert "入力が長すぎます" in await long.get_data(as_text=True)
    account = await Account.get(email="hanako@example.jp")
    assert account.failed_count == 0


async def test_five_failures_block_then_the_block_expires(client, clock: FrozenClock) -> None:
    account = await make_account(email="hanako@example.jp")
    for _ in range(5):
        assert (await login(client, "hanako@example.jp", "wrong-password")).status_code == 400
    await account.refresh_from_db()
    assert account.blocked_until == clock.now + timedelta(minutes=15)
    # Even the right password is refused during the block, with the same message.
    blocked = await login(client, "hanako@example.jp")
    assert blocked.status_code == 400
    assert GENERIC in await blocked.get_data(as_text=True)
    assert await AuditEvent.filter(event="auth:account:block").count() == 1
    assert await AuditEvent.filter(event="auth:login:blocked").count() == 1
    clock.advance(minutes=15)
    assert (await login(client, "hanako@example.jp")).status_code == 303
    await account.refresh_from_db()
    assert account.failed_count == 0 and account.blocked_until is None


async def test_blocks_double_up_to_an_hour(app, clock: FrozenClock) -> None:
    app_settings = app.config["MYPAGE_SETTINGS"]
    # Service-level: over HTTP the per-IP rate limit would step in first.
    account = await make_account(email="hanako@example.jp")
    policy = BlockPolicy()
    lengths = []
    for _ in range(4):
        for _ in range(5):
            with pytest.raises(LoginFailed):
                await authenticate(
                    "hanako@example.jp", "wrong-password", clock(), policy, Actor(), app_settings
                )
        await account.refresh_from_db()
        assert account.blocked_until is not None
        lengths.append(account.blocked_until - clock.now)
        clock.now = account.blocked_until
    assert lengths == [timedelta(minutes=m) for m in (15, 30, 60, 60)]


async def test_sign_in_is_rate_limited_per_address(client) -> None:
    for _ in range(10):
        await login(client, "nobody@example.jp", "wrong-password")
    limited = await login(client, "nobody@example.jp", "wrong-password")
    assert limited.status_code == 429
    assert "しばらく時間をおいてください" in await limited.get_data(as_text=True)
    assert limited.headers.get("Retry-After")


async def test_success_resets_the_failure_count(client) -> None:
    account = await make_account(email="hanako@example.jp")
    for _ in range(4):
        await login(client, "hanako@example.jp", "wrong-password")
    assert (await login(client, "hanako@example.jp")).status_code == 303
    await account.refresh_from_db()
    assert account.failed_count == 0


async def test_signed_out_visitor_is_sent_to_login(client) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")


async def test_next_takes_the_member_back_but_never_off_site(client) -> None:
    await make_account(email="hanako@example.jp")
    # Through the authentication code step too (a browser not seen before).
    evil = await login(client, "hanako@example.jp", next="//evil.example/")
    assert evil.headers["Location"] == "/"


async def test_idle_session_expires(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    clock.advance(minutes=29)
    assert (await client.get("/")).status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = await client.get("/")
    assert response.status_code == 303
    assert await Session.all().count() == 0
    assert await AuditEvent.filter(event="auth:session:expired").count() == 1


async def test_absolute_session_limit(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    for _ in range(24):  # active every 29 minutes: 11 h 36 min
        clock.advance(minutes=29)
        assert (await client.get("/")).status_code == 200
    clock.advance(minutes=25)  # 12 h 1 min after sign-in
    assert (await client.get("/")).status_code == 303


async def test_logout_kills_the_session_even_for_a_copied_cookie(app, client) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    token = cookie(client, "mypage_session")
    assert token
    response = await post_form(client, "/logout", {}, token_from="/")
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert await Session.all().count() == 0
    thief = app.test_client()
    thief.set_cookie("localhost", "mypage_session", token)
    assert (await thief.get("/")).status_code == 303


async def test_signing_in_again_replaces_the_session_token(client) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    first = cookie(client, "mypage_session")
    again = await post_form(
        client,
        "/login",
        {"email": "hanako@example.jp", "password": "correct-horse-2026"},
        token_from="/",
    )
    assert again.status_code == 303
    second = cookie(client, "mypage_session")
    assert first and second and first != second
    assert await Session.all().count() == 1
