"""「端末をなくしたとき」 pressed by a clerk for a member on the phone (issue 15)."""

from __future__ import annotations

from quart import Quart

from server.account.models import RememberedBrowser
from server.audit.models import AuditEvent
from server.auth.models import Session
from server.passkeys.models import Passkey
from server.push.models import PushSubscription
from tests.account.devices import subscribe_push
from tests.factories import make_account
from tests.helpers import cookie, login, page, post_form
from tests.passkeys.helpers import add_passkey, passkey_sign_in
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import deliver, mails_to
from tests.staff.helpers import signed_in_staff


async def member_with_a_phone(app: Quart, email: str):
    """A member signed in on a phone with a passkey and notices on."""
    account = await make_account(email=email)
    phone = app.test_client()
    assert (await login(phone, email)).status_code == 303
    soft = SoftAuthenticator()
    await add_passkey(phone, soft)
    await subscribe_push(phone)
    return account, phone, soft


async def test_a_clerk_locks_the_lost_phone_out_for_the_member(app: Quart, clock) -> None:
    clerk, staff, _ = await signed_in_staff(app)
    account, phone, soft = await member_with_a_phone(app, "hanako@example.jp")
    other, other_phone, other_soft = await member_with_a_phone(app, "taro@example.jp")
    phone_token = cookie(phone, "mypage_session")
    path = f"/staff/members/{account.member_id}"  # type: ignore[attr-defined]
    _, html = await page(clerk, path)
    assert "端末をなくしたときの手続き" in html

    # Without the confirmation tick nothing happens.
    response = await post_form(clerk, f"{path}/lost-device", {}, token_from=path)
    assert response.status_code == 400
    assert "ご本人からのお電話であることを確認して" in await response.get_data(as_text=True)
    assert await Passkey.filter(account_id=account.id).count() == 1

    response = await post_form(clerk, f"{path}/lost-device", {"confirm": "1"}, token_from=path)
    assert response.status_code == 303
    _, html = await page(clerk, response.headers["Location"])
    assert "端末をなくしたときの手続きをしました。" in html
    assert "パスキーは登録されていません。" in html and "0台" in html

    assert await Session.filter(account_id=account.id).count() == 0
    thief = app.test_client()
    thief.set_cookie("localhost", "mypage_session", phone_token)
    assert (await thief.get("/settings")).status_code == 303
    assert not await Passkey.filter(account_id=account.id).exists()
    assert not await PushSubscription.filter(member_id=account.member_id).exists()  # type: ignore[attr-defined]
    assert not await RememberedBrowser.filter(account_id=account.id).exists()
    phone.cookie_jar.clear()  # type: ignore[attr-defined]
    clock.advance(minutes=1)
    status, body = await passkey_sign_in(phone, soft)
    assert status == 400 and body["unknownCredential"] is True

    (event,) = await AuditEvent.filter(event="account:lockdown:lost_device")
    assert event.actor == "staff" and event.staff_id == staff.id
    assert event.member_id == account.member_id and event.account_id == account.id  # type: ignore[attr-defined]
    _, html = await page(clerk, path)
    assert "端末をなくしたときの手続き" in html and "職員による操作" in html

    await deliver(app)
    (mail,) = [m for m in mails_to("hanako@example.jp") if "端末をなくしたとき" in m.subject]
    assert "お電話でのお申し出により、生協の職員が次の手続きを行いました" in mail.body
    assert "パスキーを削除しました（1件）" in mail.body
    assert not [m for m in mails_to("taro@example.jp") if "端末をなくしたとき" in m.subject]

    # The other member keeps everything.
    assert (await other_phone.get("/settings")).status_code == 200
    assert await PushSubscription.filter(member_id=other.member_id).count() == 1  # type: ignore[attr-defined]
    other_phone.cookie_jar.clear()  # type: ignore[attr-defined]
    status, _ = await passkey_sign_in(other_phone, other_soft)
    assert status == 200


async def test_the_clerks_button_needs_staff_and_the_staff_csrf_token(app: Quart) -> None:
    account, phone, _ = await member_with_a_phone(app, "hanako@example.jp")
    path = f"/staff/members/{account.member_id}/lost-device"  # type: ignore[attr-defined]
    # A member's own session is no staff session.
    response = await post_form(phone, path, {"confirm": "1"}, token_from="/settings")
    assert response.status_code in (401, 403, 404)
    clerk, _, _ = await signed_in_staff(app)
    response = await clerk.post(path, form={"confirm": "1"})
    assert response.status_code == 403
    assert await Passkey.filter(account_id=account.id).count() == 1
    assert await Session.filter(account_id=account.id).count() == 1
    assert not await AuditEvent.filter(event="account:lockdown:lost_device").exists()


async def test_a_member_without_an_account_is_told_so(app: Quart) -> None:
    from tests.factories import make_member

    clerk, _, _ = await signed_in_staff(app)
    member = await make_member()
    path = f"/staff/members/{member.id}"
    response = await post_form(clerk, f"{path}/lost-device", {"confirm": "1"}, token_from=path)
    assert response.status_code == 400
    assert "アカウントがありません" in await response.get_data(as_text=True)
