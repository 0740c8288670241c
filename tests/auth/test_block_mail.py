"""Blocking told to the owner: one mail per block, and nothing more on the sign-in page."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.auth.models import Account
from server.auth.service import BlockPolicy, LoginFailed, authenticate
from server.lib.clock import FrozenClock
from tests.factories import make_account, make_member
from tests.helpers import login
from tests.smtp import deliver, mails_to

EMAIL = "hanako@example.jp"
SUBJECT = "【群馬県学校生協】マイページのログインを一時的に停止しました"


async def test_the_owner_is_mailed_once_when_the_account_is_blocked(
    client, clock: FrozenClock
) -> None:
    await make_account(await make_member(name="山田 花子"), email=EMAIL)
    pages = []
    for _ in range(5):
        response = await login(client, EMAIL, "wrong-password")
        pages.append(await response.get_data(as_text=True))
    # Blocked now: more tries (even the right password) add no second mail.
    blocked = await login(client, EMAIL)
    assert blocked.status_code == 400
    await deliver(client.app)
    [mail] = mails_to(EMAIL)
    assert mail.subject == SUBJECT
    body = mail.body
    assert "山田 花子 様" in body
    assert "パスワードの誤りが5回続きました" in body
    # 2026-11-28 05:00 UTC is 14:00 in Japan; the first block lasts 15 minutes.
    assert "ログインできるようになる日時：2026年11月28日 14:15（日本時間）" in body
    assert "http://localhost/password/forgot" in body
    assert "フリーダイヤル 0120-39-5318" in body
    assert "wrong-password" not in body
    # The sign-in page reads the same before and during the block.
    blocked_page = await blocked.get_data(as_text=True)
    assert "停止" not in blocked_page and "停止" not in pages[-1]
    assert pages[0].count("正しくありません") == pages[-1].count("正しくありません")


async def test_each_new_block_is_mailed_again(app, clock: FrozenClock) -> None:
    await make_account(email=EMAIL)
    settings = app.config["MYPAGE_SETTINGS"]
    for _ in range(2):
        for _ in range(5):
            with pytest.raises(LoginFailed):
                await authenticate(
                    EMAIL, "wrong-password", clock(), BlockPolicy(), Actor(), settings
                )
        clock.advance(hours=1)
    await deliver(app)
    mails = mails_to(EMAIL)
    assert [m.subject for m in mails] == [SUBJECT, SUBJECT]
    # The second block starts at 15:00 in Japan and lasts twice as long.
    assert "ログインできるようになる日時：2026年11月28日 15:30（日本時間）" in mails[1].body


async def test_concurrent_wrong_passwords_start_one_block_and_one_mail(
    app, clock: FrozenClock
) -> None:
    account = await make_account(email=EMAIL)
    settings = app.config["MYPAGE_SETTINGS"]

    async def wrong() -> None:
        with pytest.raises(LoginFailed):
            await authenticate(EMAIL, "wrong-password", clock(), BlockPolicy(), Actor(), settings)

    await asyncio.gather(*(wrong() for _ in range(10)))
    await account.refresh_from_db()
    assert account.blocked_until == clock.now + timedelta(minutes=15)
    assert await AuditEvent.filter(event="auth:account:block").count() == 1
    await deliver(app)
    assert len(mails_to(EMAIL)) == 1
    assert (await Account.get(id=account.id)).block_count == 1
