"""/settings: remembered browsers can be revoked, other devices signed out (own rows only)."""

from __future__ import annotations

from quart import Quart

from server.account.models import RememberedBrowser
from server.audit.models import AuditEvent
from server.auth.models import Session
from tests.factories import make_account
from tests.helpers import login, page, post_form
from tests.smtp import mailed_code


async def test_a_forgotten_browser_asks_for_the_code_again(app: Quart) -> None:
    account = await make_account()
    client = app.test_client()
    assert (await login(client, account.email)).status_code == 303  # remembers this browser
    [browser] = await RememberedBrowser.filter(account_id=account.id)
    _, html = await page(client, "/settings")
    assert "認証コードを省略する端末" in html and "記憶を解除" in html
    response = await post_form(
        client, f"/settings/browsers/{browser.id}/forget", {}, token_from="/settings"
    )
    assert response.status_code == 303
    _, html = await page(client, response.headers["Location"].split("#")[0])
    assert "この端末の記憶を解除しました" in html
    assert not await RememberedBrowser.filter(account_id=account.id).exists()
    assert await AuditEvent.filter(event="account:browser:forget").exists()
    # Signing in again needs the mailed code.
    await post_form(client, "/logout", {}, token_from="/settings")
    response = await post_form(
        client, "/login", {"email": account.email, "password": "correct-horse-2026"}
    )
    assert response.headers["Location"].startswith("/login/code")
    assert await mailed_code(app, account.email)


async def test_another_members_browser_cannot_be_forgotten(app: Quart) -> None:
    owner = await make_account()
    other = await make_account()
    await login(app.test_client(), owner.email)
    [browser] = await RememberedBrowser.filter(account_id=owner.id)
    client = app.test_client()
    await login(client, other.email)
    response = await post_form(
        client, f"/settings/browsers/{browser.id}/forget", {}, token_from="/settings"
    )
    assert response.status_code == 404
    assert await RememberedBrowser.filter(id=browser.id).exists()


async def test_other_devices_are_signed_out_and_this_one_stays(app: Quart) -> None:
    account = await make_account()
    phone, pc = app.test_client(), app.test_client()
    await login(phone, account.email)
    await login(pc, account.email)
    assert await Session.filter(account_id=account.id).count() == 2
    _, html = await page(pc, "/settings")
    assert "ほかの端末のログインをすべて終了" in html
    response = await post_form(pc, "/settings/sessions/end-others", {}, token_from="/settings")
    assert response.status_code == 303
    assert await Session.filter(account_id=account.id).count() == 1
    assert (await pc.get("/settings")).status_code == 200
    assert (await phone.get("/settings")).status_code == 303
