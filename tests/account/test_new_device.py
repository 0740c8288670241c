"""New-device mail: a sign-in from a browser this account has not seen is told once."""

from __future__ import annotations

from typing import Any

from server.account.models import KnownDevice
from server.audit.models import AuditEvent
from server.lib.clock import FrozenClock
from tests.factories import make_account, make_member
from tests.helpers import cookie, login, post_form
from tests.passkeys.helpers import csrf_header, member_with_passkey
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import deliver, mails_to

EMAIL = "hanako@example.jp"
SUBJECT = "【群馬県学校生協】新しい端末からログインがありました"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


async def passkey_sign_in(
    client: Any, soft: SoftAuthenticator, agent: str = IPHONE
) -> tuple[int, Any]:
    """The passkey script's two posts from /login, from a browser with this User-Agent."""
    headers = {**await csrf_header(client, "/login"), "User-Agent": agent}
    options = await client.post("/api/passkeys/authentication/options", json={}, headers=headers)
    assertion = soft.get((await options.get_json())["publicKey"])
    response = await client.post(
        "/api/passkeys/authentication/verify", json={"credential": assertion}, headers=headers
    )
    return response.status_code, await response.get_json()


async def new_device_mails() -> list[Any]:
    return [m for m in mails_to(EMAIL) if m.subject == SUBJECT]


async def test_a_passkey_sign_in_from_a_new_browser_is_mailed_once(
    client, clock: FrozenClock
) -> None:
    await make_account(await make_member(name="山田 花子"), email=EMAIL)
    soft = SoftAuthenticator()
    await member_with_passkey(client, EMAIL, soft)
    await deliver(client.app)
    before = len(mails_to(EMAIL))
    phone = client.app.test_client()
    status, body = await passkey_sign_in(phone, soft)
    assert status == 200, body
    assert cookie(phone, "mypage_device")
    await deliver(client.app)
    [mail] = await new_device_mails()
    assert len(mails_to(EMAIL)) == before + 1
    text = mail.body
    assert "山田 花子 様" in text
    # 2026-11-28 05:00 UTC is 14:00 in Japan.
    assert "日時：2026年11月28日 14:00（日本時間）" in text
    assert "ブラウザー：Safari" in text and "OS：iOS" in text
    assert "ログインの方法：パスキー" in text
    assert "http://localhost/settings/lost-device" in text
    assert IPHONE not in text
    seen = await AuditEvent.filter(event="account:device:new").order_by("-id").first()
    assert seen is not None
    assert seen.data["method"] == "passkey" and seen.data["mailed"] is True

    # The same browser again, after signing out: known, no mail.
    await post_form(phone, "/logout", {}, token_from="/")
    clock.advance(days=30)
    status, _ = await passkey_sign_in(phone, soft)
    assert status == 200
    await deliver(client.app)
    assert len(await new_device_mails()) == 1
    assert await AuditEvent.filter(event="account:device:new").count() == 2  # 1st: password


async def test_a_sign_in_that_mailed_a_code_sends_no_second_mail(client) -> None:
    await make_account(email=EMAIL)
    assert (await login(client, EMAIL, remember=False)).status_code == 303
    await deliver(client.app)
    [code_mail] = mails_to(EMAIL)  # the code alone
    assert "認証コード：" in code_mail.body
    assert "日時：2026年11月28日 14:00（日本時間）" in code_mail.body
    [seen] = await AuditEvent.filter(event="account:device:new")
    assert seen.data == {
        "method": "password",
        "mailed": False,
        # The session started after the code: the device belongs to that success.
        "sign_in_event": (await AuditEvent.get(event="auth:login:success")).id,
    }
    assert await KnownDevice.all().count() == 1


async def test_a_remembered_browser_is_known_without_a_mail(client) -> None:
    account = await make_account(email=EMAIL)
    await login(client, EMAIL, remember=True)
    # As before this feature: remembered, but the account has no device row for it.
    await KnownDevice.filter(account_id=account.id).delete()
    await post_form(client, "/logout", {}, token_from="/")
    assert (await login(client, EMAIL)).headers["Location"] == "/"
    await deliver(client.app)
    assert len(mails_to(EMAIL)) == 1  # the first code only
    assert await KnownDevice.filter(account_id=account.id).count() == 1


async def test_a_browser_known_to_one_member_is_new_to_another(client) -> None:
    soft = SoftAuthenticator()
    await make_account(email=EMAIL)
    await member_with_passkey(client, EMAIL, soft)
    other = await make_account(email="taro@example.jp")
    await login(client, "taro@example.jp")
    token = cookie(client, "mypage_device")
    # One cookie per browser; each account keeps its own row for it.
    assert await KnownDevice.filter(account_id=other.id).count() == 1
    assert await KnownDevice.all().count() == 2
    assert token and cookie(client, "mypage_device") == token


async def test_a_planted_device_cookie_is_replaced_and_mailed(client) -> None:
    soft = SoftAuthenticator()
    await make_account(email=EMAIL)
    await member_with_passkey(client, EMAIL, soft)
    stranger = client.app.test_client()
    stranger.set_cookie("localhost", "mypage_device", "x" * 43)
    status, _ = await passkey_sign_in(stranger, soft)
    assert status == 200
    assert cookie(stranger, "mypage_device") != "x" * 43
    await deliver(client.app)
    assert len(await new_device_mails()) == 1
