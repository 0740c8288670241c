"""Staff sign-in: set-up link, passkey-only sign-in, separate cookie, idle timeout, roles."""

from __future__ import annotations

from quart import Quart

from server.audit.models import AuditEvent
from server.staff.models import StaffPasskey, StaffSession, StaffUser
from tests.factories import make_account
from tests.helpers import login, page, post_form
from tests.passkeys.helpers import api
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import deliver, mails_to
from tests.staff.helpers import new_staff, set_up_passkey, signed_in_staff, staff_sign_in

ADD_OPTIONS = "/staff/api/account/passkeys/options"


async def test_setup_link_is_mailed_registers_a_passkey_and_signs_in(app: Quart) -> None:
    staff, token = await new_staff(app, role="admin", email="kanri@coop.example.jp")
    await deliver(app)
    [mail] = mails_to("kanri@coop.example.jp")
    assert "職員用画面のパスキー登録" in mail.subject
    assert f"/staff/setup/{token}" in mail.body

    client = app.test_client()
    status, html = await page(client, f"/staff/setup/{token}")
    assert status == 200 and "パスキーを登録" in html and staff.name in html
    status, result = await set_up_passkey(client, token, SoftAuthenticator())
    assert status == 200 and result["redirect"] == "/staff/account?done=setup"
    status, html = await page(client, result["redirect"])
    assert status == 200 and "パスキーを登録し、ログインしました" in html
    assert await StaffPasskey.filter(staff_id=staff.id).count() == 1
    # The link is used up.
    status, html = await page(app.test_client(), f"/staff/setup/{token}")
    assert status == 404 and "このリンクは使えません" in html


async def test_sign_in_with_the_passkey_sets_a_staff_cookie_on_staff_path(app: Quart) -> None:
    client, staff, soft = await signed_in_staff(app)
    await post_form(client, "/staff/logout", {}, token_from="/staff/")
    status, _ = await page(client, "/staff/")
    assert status == 200 or status == 303
    fresh = app.test_client()
    status, result = await staff_sign_in(fresh, soft)
    assert status == 200 and result["redirect"] == "/staff/"
    response = await fresh.get("/staff/")
    assert response.status_code == 200
    assert "職員用画面" in await response.get_data(as_text=True)
    cookies = {c.name: c for c in fresh.cookie_jar}  # type: ignore[attr-defined]
    assert cookies["mypage_staff"].path == "/staff"
    assert "mypage_session" not in cookies
    events = await AuditEvent.filter(staff_id=staff.id).values_list("event", flat=True)
    assert "staff:login:success" in events


async def test_logout_kills_the_staff_session(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    assert await StaffSession.all().count() == 1
    response = await post_form(client, "/staff/logout", {}, token_from="/staff/")
    assert (
        response.status_code == 303 and response.headers["Location"] == "/staff/login?done=logout"
    )
    assert await StaffSession.all().count() == 0
    response = await client.get("/staff/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/staff/login")


async def test_staff_session_ends_after_idle_minutes(app: Quart, clock) -> None:
    client, _, _ = await signed_in_staff(app)
    clock.advance(minutes=14)
    assert (await client.get("/staff/")).status_code == 200
    clock.advance(minutes=14)
    assert (await client.get("/staff/")).status_code == 200  # touched 14 minutes ago
    clock.advance(minutes=15)
    response = await client.get("/staff/members")
    assert response.status_code in (303, 404)
    assert await StaffSession.all().count() == 0


async def test_a_passkey_less_staff_member_cannot_sign_in(app: Quart) -> None:
    staff, token = await new_staff(app)
    client = app.test_client()
    soft = SoftAuthenticator()
    await set_up_passkey(client, token, soft)
    await StaffPasskey.filter(staff_id=staff.id).delete()  # lost every passkey
    status, result = await staff_sign_in(app.test_client(), soft)
    assert status == 400 and "パスキーでログインできませんでした" in result["error"]
    # The set-up link was used: it cannot register a new passkey either.
    status, result = await set_up_passkey(app.test_client(), token, SoftAuthenticator())
    assert status == 404 and "このリンクは使えません" in result["error"]


async def test_member_passkeys_and_deactivated_staff_cannot_sign_in(app: Quart) -> None:
    client, staff, soft = await signed_in_staff(app)
    await StaffUser.filter(id=staff.id).update(active=False)
    assert (await client.get("/staff/")).status_code == 303  # session ended
    status, result = await staff_sign_in(app.test_client(), soft)
    assert status == 400 and "パスキーでログインできませんでした" in result["error"]
    stranger = SoftAuthenticator()
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"})
    status, result = await staff_sign_in(app.test_client(), stranger)
    assert status == 400


async def test_a_member_session_gets_404_on_staff_pages(app: Quart) -> None:
    account = await make_account()
    client = app.test_client()
    assert (await login(client, account.email)).status_code == 303
    for path in ("/staff/", "/staff/login", "/staff/account", "/staff/accounts"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "ページが見つかりません" in await response.get_data(as_text=True)


async def test_anonymous_visitors_are_sent_to_staff_login(app: Quart) -> None:
    response = await app.test_client().get("/staff/account")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/login?next=/staff/account"
    status, html = await page(app.test_client(), "/staff/login")
    assert status == 200 and "パスキーでログイン" in html
    response = await app.test_client().post("/staff/api/login/options", json={})
    assert response.status_code == 403  # no CSRF header


async def test_adding_a_second_passkey_needs_a_recent_sign_in(app: Quart, clock) -> None:
    client, staff, _ = await signed_in_staff(app)
    second = SoftAuthenticator()
    status, options = await api(
        client, "/staff/api/account/passkeys/options", page_="/staff/account"
    )
    assert status == 200
    credential = second.create(options["publicKey"])
    status, result = await api(
        client,
        "/staff/api/account/passkeys/verify",
        {"credential": credential},
        page_="/staff/account",
    )
    assert status == 200, result
    assert await StaffPasskey.filter(staff_id=staff.id).count() == 2
    clock.advance(minutes=6)
    status, result = await api(
        client, "/staff/api/account/passkeys/options", page_="/staff/account"
    )
    assert status == 400 and "5分以内" in result["error"]


async def test_the_last_passkey_cannot_be_removed(app: Quart) -> None:
    client, staff, _ = await signed_in_staff(app)
    passkey = await StaffPasskey.get(staff_id=staff.id)
    response = await post_form(
        client, f"/staff/account/passkeys/{passkey.id}/delete", {}, token_from="/staff/account"
    )
    assert response.status_code == 400
    assert "最後のパスキーは削除できません" in await response.get_data(as_text=True)
    assert await StaffPasskey.filter(staff_id=staff.id).count() == 1
