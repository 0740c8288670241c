"""Issue 19 item 4: safer defaults in sign-in and /settings (no JavaScript needed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from quart import Quart

from server.audit.models import AuditEvent
from server.auth.models import Session
from server.passkeys.models import Passkey
from tests.factories import PASSWORD, make_account
from tests.helpers import login, page, post_form


async def _passkey(account, name: str = "iPhone") -> Passkey:
    return await Passkey.create(
        account=account,
        credential_id=f"cred-{account.id}-{name}",
        public_key=b"not-a-key",
        aaguid="fbfc3007-154e-4ecc-8c0b-6e020557d7bd",
        name=name,
        backup_eligible=True,
        backed_up=True,
        created_at=datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
    )


async def test_remember_this_browser_is_unticked_by_default(client) -> None:
    account = await make_account()
    response = await post_form(client, "/login", {"email": account.email, "password": PASSWORD})
    assert response.headers["Location"].startswith("/login/code")
    status, html = await page(client, response.headers["Location"])
    assert status == 200
    checkbox = re.search(r'<input id="f-remember"[^>]*>', html)
    assert checkbox is not None
    assert "checked" not in checkbox.group(0)
    assert "この端末を記憶する" in html


async def test_passkey_removal_asks_on_a_page_of_its_own(client) -> None:
    account = await make_account(email="hanako@example.jp")
    passkey = await _passkey(account)
    await login(client, "hanako@example.jp")
    _, html = await page(client, "/settings")
    # One line per key; renaming behind a small control; 削除 leads to the confirmation.
    assert html.count('class="passkey-line"') == 1
    assert '<details class="passkey-rename">' in html and "<summary>名前を変更" in html
    assert f'action="/settings/passkeys/{passkey.id}/remove"' in html
    assert f'action="/settings/passkeys/{passkey.id}/delete"' not in html
    path = f"/settings/passkeys/{passkey.id}/remove"
    status, html = await page(client, path)
    assert status == 200
    assert "<h1>パスキーの削除</h1>" in html and "iPhone" in html
    assert "このパスキーでは、マイページにログインできなくなります。" in html
    assert f'<form method="post" action="/settings/passkeys/{passkey.id}/delete"' in html
    assert await Passkey.exists(id=passkey.id)  # a GET removes nothing
    response = await post_form(
        client, f"/settings/passkeys/{passkey.id}/delete", {}, token_from=path
    )
    assert response.headers["Location"] == "/settings?done=passkey-removed#passkeys"
    assert not await Passkey.exists(id=passkey.id)


async def test_confirmation_page_asks_to_reconfirm_after_five_minutes(client, clock) -> None:
    account = await make_account(email="hanako@example.jp")
    passkey = await _passkey(account)
    await login(client, "hanako@example.jp")
    clock.advance(minutes=6)
    path = f"/settings/passkeys/{passkey.id}/remove"
    _, html = await page(client, path)
    assert "/delete" not in html
    assert 'href="/reauth?next=%2Fsettings%2Fpasskeys%2F' in html and "本人確認へ進む" in html


async def test_another_members_passkey_confirmation_is_not_found(client) -> None:
    theirs = await _passkey(await make_account(email="taro@example.jp"), "太郎のスマホ")
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    status, html = await page(client, f"/settings/passkeys/{theirs.id}/remove")
    assert status == 404 and "太郎のスマホ" not in html


async def test_reconfirmation_sentence_appears_once(client) -> None:
    account = await make_account(email="hanako@example.jp")
    await _passkey(account)
    await login(client, "hanako@example.jp")
    _, html = await page(client, "/settings")
    assert html.count("本人確認のため") == 1
    # After /reauth the member is back on the passkey's own confirmation page, which
    # says it once too; /settings no longer repeats it in a banner.
    _, html = await page(client, "/settings?done=reconfirmed")
    assert "本人確認ができました" not in html


async def test_one_other_session_can_be_ended_from_the_list(app: Quart) -> None:
    account = await make_account()
    phone, pc = app.test_client(), app.test_client()
    await login(phone, account.email)
    await login(pc, account.email)
    phone_session, pc_session = await Session.filter(account_id=account.id).order_by("id")
    _, html = await page(pc, "/settings")
    assert f'action="/settings/sessions/{phone_session.id}/end"' in html
    # This device is ended by ログアウト, not from the list.
    assert f'action="/settings/sessions/{pc_session.id}/end"' not in html
    response = await post_form(
        pc, f"/settings/sessions/{phone_session.id}/end", {}, token_from="/settings"
    )
    assert response.status_code == 303
    _, html = await page(pc, response.headers["Location"].split("#")[0])
    assert "その端末のログインを終了しました。" in html
    assert not await Session.exists(id=phone_session.id)
    assert await Session.exists(id=pc_session.id)
    assert (await phone.get("/settings")).status_code == 303  # signed out
    assert await AuditEvent.filter(event="auth:session:end_others").exists()


async def test_another_members_session_cannot_be_ended(app: Quart) -> None:
    owner, other = await make_account(), await make_account()
    owner_client, client = app.test_client(), app.test_client()
    await login(owner_client, owner.email)
    await login(client, other.email)
    [theirs] = await Session.filter(account_id=owner.id)
    [mine] = await Session.filter(account_id=other.id)
    for target in (theirs.id, mine.id):  # another's, and this very session
        response = await post_form(
            client, f"/settings/sessions/{target}/end", {}, token_from="/settings"
        )
        assert response.status_code == 404
    assert await Session.exists(id=theirs.id)
    assert await Session.exists(id=mine.id)
    assert (await owner_client.get("/settings")).status_code == 200
