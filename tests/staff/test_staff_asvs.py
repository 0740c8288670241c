"""Staff sessions after a new sign-in, and the re-confirmation before removing a passkey."""

from __future__ import annotations

from quart import Quart

from server.staff.models import StaffPasskey, StaffSession
from tests.helpers import cookie, page, post_form
from tests.passkeys.helpers import api
from tests.passkeys.softauthn import SoftAuthenticator
from tests.staff.helpers import signed_in_staff

STAFF_COOKIE = "mypage_staff"


async def _sign_in_again(client, soft: SoftAuthenticator, page_: str = "/staff/") -> None:
    status, options = await api(client, "/staff/api/login/options", page_=page_)
    assert status == 200, options
    status, result = await api(
        client,
        "/staff/api/login/verify",
        {"credential": soft.get(options["publicKey"]), "next": "/staff/account"},
        page_=page_,
    )
    assert status == 200, result


async def test_a_staff_sign_in_ends_the_session_it_replaces(app: Quart) -> None:
    """ASVS 7.2.4: signing in again in a browser ends that browser's previous staff session."""
    client, staff, soft = await signed_in_staff(app)
    old = cookie(client, STAFF_COOKIE)
    await _sign_in_again(client, soft)
    new = cookie(client, STAFF_COOKIE)
    assert new and new != old
    assert await StaffSession.filter(staff_id=staff.id).count() == 1
    stale = app.test_client()
    stale.set_cookie("localhost", STAFF_COOKIE, old or "", path="/staff")
    response = await stale.get("/staff/")
    assert response.status_code == 303 and "/staff/login" in response.headers["Location"]
    assert (await client.get("/staff/")).status_code == 200


async def test_removing_a_staff_passkey_needs_a_recent_sign_in(app: Quart, clock) -> None:
    """ASVS 7.5.1: a staff passkey is removed only within five minutes of a (new) sign-in."""
    client, staff, soft = await signed_in_staff(app)
    second = SoftAuthenticator()
    status, options = await api(
        client, "/staff/api/account/passkeys/options", page_="/staff/account"
    )
    status, _ = await api(
        client,
        "/staff/api/account/passkeys/verify",
        {"credential": second.create(options["publicKey"])},
        page_="/staff/account",
    )
    assert status == 200
    extra = await StaffPasskey.filter(staff_id=staff.id).order_by("-id").first()
    assert extra is not None
    clock.advance(minutes=6)
    path = f"/staff/account/passkeys/{extra.id}/delete"
    response = await post_form(client, path, {}, token_from="/staff/account")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/staff/login?") and "reauth=1" in location
    assert await StaffPasskey.filter(staff_id=staff.id).count() == 2
    # The sign-in page is shown (not skipped) to confirm it is still them, then back.
    status, html = await page(client, location)
    assert status == 200 and "もう一度パスキーでログイン" in html
    await _sign_in_again(client, soft, page_=location)
    response = await post_form(client, path, {}, token_from="/staff/account")
    assert response.status_code == 303 and response.headers["Location"].endswith("done=removed")
    assert await StaffPasskey.filter(staff_id=staff.id).count() == 1
