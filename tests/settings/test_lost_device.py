"""「端末をなくしたとき」 in /settings, pressed from a borrowed PC (issue 15)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from quart import Quart
from quart.typing import TestClientProtocol as Browser

from server.account.models import KnownDevice, RememberedBrowser
from server.audit.models import AuditEvent
from server.auth.models import Account, Session
from server.members.models import Member
from server.passkeys.models import Passkey
from server.push.models import PushSubscription
from server.requests.models import EmailChange
from tests.account.devices import pending_email_change, subscribe_push
from tests.factories import make_account
from tests.helpers import cookie, csrf_of, login, page
from tests.passkeys.helpers import add_passkey, passkey_sign_in
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import deliver, mails_to

EMAIL = "hanako@example.jp"
CHECKED_RE = re.compile(r'name="passkey" value="(\d+)" checked')


@dataclass
class Household:
    """A member whose phone is lost (signed in, two passkeys, notices on) and another member."""

    account: Account
    phone: Browser
    phone_passkey: SoftAuthenticator
    laptop_passkey: SoftAuthenticator
    other: Account
    other_browser: Browser
    other_passkey: SoftAuthenticator


async def household(app: Quart, clock) -> Household:
    account = await make_account(email=EMAIL)
    phone = app.test_client()
    assert (await login(phone, EMAIL)).status_code == 303  # remembers the phone
    phone_passkey, laptop_passkey = SoftAuthenticator(), SoftAuthenticator()
    await add_passkey(phone, phone_passkey)
    await add_passkey(phone, laptop_passkey)
    await subscribe_push(phone)
    await pending_email_change(phone, account, "new-address@example.jp")
    other = await make_account(email="taro@example.jp")
    other_browser = app.test_client()
    assert (await login(other_browser, "taro@example.jp")).status_code == 303
    other_passkey = SoftAuthenticator()
    await add_passkey(other_browser, other_passkey)
    await subscribe_push(other_browser)
    clock.advance(minutes=5)  # the borrowed PC is used a little later
    assert (await phone.get("/")).status_code == 200
    return Household(
        account, phone, phone_passkey, laptop_passkey, other, other_browser, other_passkey
    )


async def borrowed_pc(app: Quart) -> Browser:
    """Someone else's PC: password and the mailed code, nothing remembered."""
    pc = app.test_client()
    assert (await login(pc, EMAIL, remember=False)).status_code == 303
    _, html = await page(pc, "/settings")
    assert "端末をなくしたとき" in html and 'href="/settings/lost-device"' in html
    return pc


async def post_choice(browser: Browser, html: str, passkeys: list[str]):
    """The form as a browser sends it: one `passkey` field per ticked box."""
    pairs = [("csrf_token", csrf_of(html)), *(("passkey", value) for value in passkeys)]
    return await browser.post(
        "/settings/lost-device",
        data=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_the_switch_from_a_borrowed_pc_locks_the_lost_phone_out(app, clock) -> None:
    home = await household(app, clock)
    pc = await borrowed_pc(app)
    pc_token = cookie(pc, "mypage_session")
    status, html = await page(pc, "/settings/lost-device")
    assert status == 200
    assert "いまお使いのこの端末もログアウトします。" in html
    ticked = CHECKED_RE.findall(html)
    assert len(ticked) == 2  # every passkey is ticked unless the member unticks one
    await deliver(app)
    mailbox_before = len(mails_to(EMAIL))

    response = await post_choice(pc, html, ticked)
    assert response.status_code == 303
    assert response.headers["Location"] == "/settings/lost-device/done"
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    status, done = await page(pc, "/settings/lost-device/done")
    assert status == 200 and "手続きが完了しました" in done
    assert 'href="/login"' in done and "ログアウト</button>" not in done  # signed out

    account = home.account
    assert await Session.filter(account_id=account.id).count() == 0
    # The other member is untouched: still signed in, passkey and notices kept.
    assert (await home.other_browser.get("/settings")).status_code == 200
    assert await PushSubscription.filter(member_id=home.other.member_id).count() == 1  # type: ignore[attr-defined]
    for browser in (home.phone, pc):
        response = await browser.get("/settings")
        assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    thief = app.test_client()
    thief.set_cookie("localhost", "mypage_session", pc_token)
    stolen = await thief.get("/card")
    assert stolen.status_code in (303, 200)  # the empty shell the device card fills, or login
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    assert member.member_no not in await stolen.get_data(as_text=True)
    assert not await Passkey.filter(account_id=account.id).exists()
    assert not await PushSubscription.filter(member_id=account.member_id).exists()  # type: ignore[attr-defined]
    assert not await RememberedBrowser.filter(account_id=account.id).exists()
    assert not await KnownDevice.filter(account_id=account.id).exists()
    assert not await EmailChange.filter(account_id=account.id).exists()
    home.phone.cookie_jar.clear()  # type: ignore[attr-defined]
    clock.advance(minutes=1)
    status, body = await passkey_sign_in(home.phone, home.phone_passkey)
    assert status == 400 and body["unknownCredential"] is True
    assert await Session.filter(account_id=account.id).count() == 0

    (event,) = await AuditEvent.filter(event="account:lockdown:lost_device")
    assert event.actor == "member" and event.member_id == account.member_id  # type: ignore[attr-defined]
    assert event.data["sessions"] == 2 and event.data["passkeys"] == 2
    assert event.data["push_subscriptions"] == 1 and event.data["browsers"] == 1
    assert event.data["devices"] >= 1  # the phone and the borrowed PC were known browsers

    await deliver(app)
    mails = mails_to(EMAIL)[mailbox_before:]
    (mail,) = [m for m in mails if "端末をなくしたとき" in m.subject]
    assert "マイページの「端末をなくしたとき」から、次の手続きを行いました" in mail.body
    assert "すべての端末でログアウトしました（2台）" in mail.body
    assert "パスキーを削除しました（2件）" in mail.body
    assert "通知を受け取る端末の設定を削除しました（1台）" in mail.body

    home.other_browser.cookie_jar.clear()  # type: ignore[attr-defined]
    status, _ = await passkey_sign_in(home.other_browser, home.other_passkey)
    assert status == 200

    # The password still signs in (with the code again, as nothing is remembered).
    again = app.test_client()
    assert (await login(again, EMAIL)).status_code == 303


async def test_an_unticked_passkey_stays_and_foreign_ids_do_nothing(app, clock) -> None:
    home = await household(app, clock)
    pc = await borrowed_pc(app)
    _, html = await page(pc, "/settings/lost-device")
    first, _second = CHECKED_RE.findall(html)
    foreign = await Passkey.get(account_id=home.other.id)
    response = await post_choice(pc, html, [first, str(foreign.id)])
    assert response.status_code == 303
    left = await Passkey.filter(account_id=home.account.id)
    assert [p.id for p in left] == [int(_second)]
    assert await Passkey.filter(id=foreign.id).exists()
    clock.advance(minutes=1)
    fresh = app.test_client()
    status, _ = await passkey_sign_in(fresh, home.laptop_passkey)  # the one kept
    assert status == 200
    await deliver(app)
    mail = [m for m in mails_to(EMAIL) if "端末をなくしたとき" in m.subject][-1]
    assert "パスキーを削除しました（1件。残したパスキー 1件）" in mail.body


async def test_bad_input_and_a_missing_csrf_token_change_nothing(app, clock) -> None:
    home = await household(app, clock)
    _, html = await page(home.phone, "/settings/lost-device")
    response = await home.phone.post(
        "/settings/lost-device", form={"csrf_token": csrf_of(html), "passkey": "1;DROP"}
    )
    assert response.status_code == 400
    assert "削除するパスキーの選択を読み取れませんでした。" in await response.get_data(as_text=True)
    response = await home.phone.post("/settings/lost-device", form={"passkey": "1"})
    assert response.status_code == 403
    assert await Passkey.filter(account_id=home.account.id).count() == 2
    assert await Session.filter(account_id=home.account.id).count() == 1
    assert (await home.phone.get("/settings")).status_code == 200
    assert not await AuditEvent.filter(event="account:lockdown:lost_device").exists()


async def test_the_switch_needs_a_member(client) -> None:
    response = await client.get("/settings/lost-device")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
