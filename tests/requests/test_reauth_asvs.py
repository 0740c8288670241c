"""Re-authentication: one password check everywhere, and a new session token after it."""

from __future__ import annotations

from quart import Quart

from server.auth.models import Session
from server.requests.models import Reauthentication
from tests.factories import make_account
from tests.helpers import cookie, login, page, post_form
from tests.passkeys.helpers import api, member_with_passkey
from tests.passkeys.softauthn import SoftAuthenticator

FULL_WIDTH = "ｃｏｒｒｅｃｔ－ｈｏｒｓｅ－２０２６"  # correct-horse-2026, typed in full width
SESSION = "mypage_session"


async def _signed_in(client, clock, email: str = "hanako@example.jp") -> None:
    await make_account(email=email)
    assert (await login(client, email, FULL_WIDTH)).status_code == 303
    clock.advance(minutes=6)  # the sign-in itself no longer counts as recent


async def test_a_full_width_password_that_signs_in_passes_reauth(client, clock) -> None:
    """ASVS 6.2.8: /reauth checks the password as sign-in does (NFKC), not more strictly."""
    await _signed_in(client, clock)
    response = await post_form(
        client, "/reauth", {"password": FULL_WIDTH, "next": "/service/stop"}, token_from="/reauth"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/service/stop"
    assert (await client.get("/service/stop")).status_code == 200


async def test_a_full_width_password_passes_the_passkey_re_entry(client, clock) -> None:
    """ASVS 6.2.8: the JSON re-entry before adding a passkey accepts the full-width password."""
    await _signed_in(client, clock)
    status, body = await api(
        client, "/api/passkeys/reauth", {"password": FULL_WIDTH}, page_="/settings"
    )
    assert status == 200, body
    status, _ = await api(client, "/api/passkeys/registration/options", page_="/settings")
    assert status == 200


async def test_an_overlong_password_is_refused_without_error(client, clock) -> None:
    """ASVS 6.2.8: the shared check refuses an overlong entry politely (400, Japanese)."""
    await _signed_in(client, clock)
    status, body = await api(
        client, "/api/passkeys/reauth", {"password": "x" * 5000}, page_="/settings"
    )
    assert status == 400 and "パスワード" in body["error"]


async def test_reauth_issues_a_new_session_token(client, clock) -> None:
    """ASVS 7.2.4: /reauth gives a new session token; the old one stops working."""
    await _signed_in(client, clock)
    old = cookie(client, SESSION)
    session = await Session.get()
    response = await post_form(
        client, "/reauth", {"password": FULL_WIDTH, "next": "/service/stop"}, token_from="/reauth"
    )
    assert response.status_code == 303
    new = cookie(client, SESSION)
    assert new and new != old
    # The same session row: its sign-in time and the re-authentication carry over.
    renewed = await Session.get()
    assert renewed.id == session.id and renewed.created_at == session.created_at
    assert await Reauthentication.filter(session_id=session.id).exists()
    assert (await client.get("/service/stop")).status_code == 200
    # A copy of the old cookie is worth nothing.
    stale = client.app.test_client()  # type: ignore[attr-defined]
    stale.set_cookie("localhost", SESSION, old)
    response = await stale.get("/settings")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")


async def test_passkey_re_confirmation_issues_a_new_session_token(client, clock) -> None:
    """ASVS 7.2.4: the JSON re-confirmations (password and passkey) renew the token too."""
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    await login(client, "hanako@example.jp")
    clock.advance(minutes=6)
    before = cookie(client, SESSION)
    status, body = await api(
        client, "/api/passkeys/reauth", {"password": FULL_WIDTH}, page_="/settings"
    )
    assert status == 200
    after_password = cookie(client, SESSION)
    assert after_password and after_password != before
    # The script is given the CSRF token of the new session for its next posts.
    response = await client.post(
        "/api/passkeys/registration/options", json={}, headers={"X-CSRF-Token": body["csrfToken"]}
    )
    assert response.status_code == 200
    status, options = await api(client, "/api/passkeys/reauth/options", page_="/settings")
    status, _ = await api(
        client,
        "/api/passkeys/reauth/verify",
        {"credential": soft.get(options["publicKey"])},
        page_="/settings",
    )
    assert status == 200
    assert cookie(client, SESSION) not in (before, after_password, None)
    assert await Session.filter().count() == 1


async def test_a_wrong_password_keeps_the_token(app: Quart, client, clock) -> None:
    """ASVS 7.2.4: only a successful re-authentication renews the token."""
    await _signed_in(client, clock)
    old = cookie(client, SESSION)
    response = await post_form(
        client, "/reauth", {"password": "wrong-password", "next": "/"}, token_from="/reauth"
    )
    assert response.status_code == 400
    assert cookie(client, SESSION) == old
    status, _ = await page(client, "/settings")
    assert status == 200
