"""/settings: the passkey list, rename and remove rules, other members' rows, history."""

from __future__ import annotations

from datetime import UTC, datetime

from quart import Quart

from server.audit.models import AuditEvent
from server.audit.service import Actor, record
from server.auth.models import Session
from server.members.models import Member
from server.passkeys import registration, service
from server.passkeys.models import Passkey
from tests.factories import make_account
from tests.helpers import login, page, post_form
from tests.passkeys.helpers import add_passkey, passkey_sign_in
from tests.passkeys.softauthn import SoftAuthenticator


async def _passkey_for(email: str, **fields: object) -> Passkey:
    account = await make_account(email=email, **fields)  # type: ignore[arg-type]
    return await Passkey.create(
        account=account,
        credential_id=f"cred-{account.id}",
        public_key=b"not-a-key",
        aaguid="fbfc3007-154e-4ecc-8c0b-6e020557d7bd",
        name="iPhone",
        backup_eligible=True,
        backed_up=True,
        created_at=datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
    )


async def test_settings_lists_passkeys_with_the_contract_words(client) -> None:
    await _passkey_for("hanako@example.jp")
    await login(client, "hanako@example.jp")
    status, html = await page(client, "/settings")
    assert status == 200
    assert '<h2 id="passkeys-title">パスキー</h2>' in html
    assert ">パスキーを追加</button>" in html
    assert ">名前を変更</button>" in html and ">削除</button>" in html
    assert "iCloud キーチェーン・同期あり" in html and "まだ使われていません" in html
    assert "ログイン中の端末" in html and "（この端末）" in html
    assert "セキュリティ履歴" in html
    # The WebAuthn parts are rendered hidden; the script reveals them.
    assert '<div class="passkey-add" data-passkey-ui hidden>' in html
    assert '<script src="/static/js/passkeys.js" defer></script>' in html


async def test_settings_needs_a_member(client) -> None:
    response = await client.get("/settings")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")


async def test_login_page_offers_passkeys_only_to_script(client) -> None:
    status, html = await page(client, "/login")
    assert status == 200
    assert 'autocomplete="username webauthn"' in html
    # In place but invisible until the script has seen WebAuthn; gone without script.
    assert 'class="passkey-login passkey-pending"' in html
    assert '<noscript><link rel="stylesheet" href="/static/css/noscript.css"></noscript>' in html
    assert ">パスキーでログイン</button>" in html
    assert '<meta name="csrf-token" content="' in html


async def test_rename_cleans_the_name_and_is_audited(client) -> None:
    passkey = await _passkey_for("hanako@example.jp")
    await login(client, "hanako@example.jp")
    response = await post_form(
        client,
        f"/settings/passkeys/{passkey.id}/rename",
        {"name": "  ｉＰｈｏｎｅ　１５  "},
        token_from="/settings",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/settings?done=passkey-renamed#passkeys"
    await passkey.refresh_from_db()
    assert passkey.name == "iPhone 15"
    event = await AuditEvent.get(event="passkey:credential:rename")
    assert event.data == {"passkey_id": passkey.id, "old": "iPhone", "new": "iPhone 15"}
    _, html = await page(client, "/settings?done=passkey-renamed")
    assert "パスキーの名前を変更しました。" in html
    assert "パスキーの名前の変更" in html  # security history


async def test_bad_names_are_refused_in_japanese(client) -> None:
    passkey = await _passkey_for("hanako@example.jp")
    await login(client, "hanako@example.jp")
    for name, message in (
        ("   ", "パスキーの名前を入力してください。"),
        ("あ" * 41, "パスキーの名前は40文字以内で入力してください。"),
    ):
        response = await post_form(
            client,
            f"/settings/passkeys/{passkey.id}/rename",
            {"name": name},
            token_from="/settings",
        )
        assert response.status_code == 400
        assert message in await response.get_data(as_text=True)
    await passkey.refresh_from_db()
    assert passkey.name == "iPhone"


async def test_another_members_passkey_is_not_found(client) -> None:
    theirs = await _passkey_for("taro@example.jp")
    await Passkey.filter(id=theirs.id).update(name="太郎のスマホ")
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    _, html = await page(client, "/settings")
    assert "太郎のスマホ" not in html
    for action, form in (("rename", {"name": "盗んだ"}), ("delete", {})):
        response = await post_form(
            client, f"/settings/passkeys/{theirs.id}/{action}", form, token_from="/settings"
        )
        assert response.status_code == 404
        assert "ページが見つかりません" in await response.get_data(as_text=True)
    await theirs.refresh_from_db()
    assert theirs.name == "太郎のスマホ"


async def test_remove_is_audited(client) -> None:
    passkey = await _passkey_for("hanako@example.jp")
    await login(client, "hanako@example.jp")
    response = await post_form(
        client, f"/settings/passkeys/{passkey.id}/delete", {}, token_from="/settings"
    )
    assert response.status_code == 303
    assert not await Passkey.exists(id=passkey.id)
    event = await AuditEvent.get(event="passkey:credential:remove")
    assert event.data == {"passkey_id": passkey.id, "name": "iPhone"}


async def test_the_last_way_to_sign_in_cannot_be_removed(client, clock, settings) -> None:
    # A member without a password: the passkey is their only way in.
    account = await make_account(email="hanako@example.jp", password=None)
    soft = SoftAuthenticator()
    rp = service.relying_party("http://localhost", "生協")
    session = await Session.create(
        token_hash="0" * 64,
        account=account,
        created_at=clock.now,
        last_seen_at=clock.now,
        expires_at=clock.now,
    )
    options = await registration.registration_options(account, "山田", session, rp, "b", clock.now)
    await registration.register_passkey(
        account, session, soft.create(options), rp, "b", clock.now, Actor(), settings
    )
    status, _ = await passkey_sign_in(client, soft)
    assert status == 200
    passkey = await Passkey.get(account_id=account.id)
    response = await post_form(
        client, f"/settings/passkeys/{passkey.id}/delete", {}, token_from="/settings"
    )
    assert response.status_code == 400
    assert "最後のパスキーは削除できません" in await response.get_data(as_text=True)
    assert await Passkey.exists(id=passkey.id)
    # With a second passkey, one of them can go.
    await add_passkey(client, SoftAuthenticator())
    response = await post_form(
        client, f"/settings/passkeys/{passkey.id}/delete", {}, token_from="/settings"
    )
    assert response.status_code == 303


async def test_history_shows_only_the_members_own_events(client, clock) -> None:
    mine = await make_account(email="hanako@example.jp")
    theirs = await make_account(email="taro@example.jp")
    who = Actor(kind="member", member_id=theirs.member_id, account_id=theirs.id)  # type: ignore[attr-defined]
    await record("passkey:credential:remove", who, clock.now, name="他人のパスキー")
    await login(client, "hanako@example.jp")
    _, html = await page(client, "/settings")
    assert "ログイン（パスワード）" in html
    assert "パスキーの削除" not in html
    assert mine.id != theirs.id


async def test_offer_follows_a_fresh_password_sign_in_only(client, clock) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    _, home = await page(client, "/")
    assert 'id="passkey-offer" data-passkey-offer hidden' in home
    _, settings_page = await page(client, "/settings")
    assert "data-passkey-offer" not in settings_page
    client.set_cookie("localhost", "mypage_passkey_offer", "1")
    _, dismissed = await page(client, "/")
    assert "data-passkey-offer" not in dismissed
    client.delete_cookie("localhost", "mypage_passkey_offer")
    clock.advance(minutes=6)
    _, later = await page(client, "/")
    assert "data-passkey-offer" not in later


async def test_adding_a_passkey_mails_the_member(app: Quart, client) -> None:
    from tests.smtp import deliver, mails_to

    account = await make_account(email="hanako@example.jp")
    await Member.filter(id=account.member_id).update(name="山田 花子")
    await login(client, "hanako@example.jp")
    await add_passkey(client, SoftAuthenticator())
    await deliver(app)
    mails = [m for m in mails_to("hanako@example.jp") if "パスキー" in m.subject]
    assert len(mails) == 1
    assert mails[0].subject == "【群馬県学校生協】パスキーが追加されました"
    body = mails[0].body
    assert body.startswith("山田 花子 様")
    assert "2026年11月28日" in body and "0120-39-5318" in body
