"""Passkeys over HTTP: adding, signing in, challenges, counters, re-authentication."""

from __future__ import annotations

from datetime import timedelta

from server.audit.models import AuditEvent
from server.auth.models import AccountState, Session
from server.lib.clock import FrozenClock
from server.passkeys.models import Passkey
from tests.factories import make_account
from tests.helpers import login, page
from tests.passkeys.helpers import add_passkey, api, member_with_passkey, passkey_sign_in
from tests.passkeys.softauthn import SoftAuthenticator


async def events(name: str) -> list[AuditEvent]:
    return await AuditEvent.filter(event=name).order_by("id")


async def test_add_a_passkey_then_sign_in_with_it_alone(client, clock: FrozenClock) -> None:
    account = await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await login(client, "hanako@example.jp")
    result = await add_passkey(client, soft)
    assert result["redirect"] == "/settings?done=passkey-added#passkeys"
    passkey = await Passkey.get(account_id=account.id)
    assert passkey.name == "Google パスワードマネージャー"
    assert passkey.backup_eligible and passkey.backed_up
    assert passkey.transports == ["internal", "hybrid"]
    added = await events("passkey:credential:add")
    assert len(added) == 1 and added[0].member_id == account.member_id  # type: ignore[attr-defined]
    status, html = await page(client, "/settings?done=passkey-added")
    assert "パスキーを追加しました。" in html and "まだ使われていません" in html

    client.cookie_jar.clear()  # type: ignore[attr-defined]
    clock.advance(minutes=1)
    status, body = await passkey_sign_in(client, soft)
    assert status == 200, body
    assert body["redirect"] == "/"
    assert await Session.filter(account_id=account.id, auth_method="passkey").count() == 1
    success = (await events("auth:login:success"))[-1]
    assert success.data["method"] == "passkey" and success.data["multi_factor"] is True
    status, html = await page(client, "/settings")
    assert status == 200
    await passkey.refresh_from_db()
    assert passkey.last_used_at == clock.now and passkey.sign_count == 1
    assert "まだ使われていません" not in html
    assert "ログイン（パスキー）" in html  # security history


async def test_next_is_kept_but_never_off_site(client) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    status, options = await api(client, "/api/passkeys/authentication/options", page_="/login")
    body = {"credential": soft.get(options["publicKey"]), "next": "//evil.example/"}
    status, result = await api(client, "/api/passkeys/authentication/verify", body, page_="/login")
    assert status == 200 and result["redirect"] == "/"


async def test_a_challenge_works_once(client) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    _status, options = await api(client, "/api/passkeys/authentication/options", page_="/login")
    assertion = soft.get(options["publicKey"])
    first, _ = await api(
        client, "/api/passkeys/authentication/verify", {"credential": assertion}, page_="/login"
    )
    assert first == 200
    client.cookie_jar.clear()  # type: ignore[attr-defined]
    again, body = await api(
        client, "/api/passkeys/authentication/verify", {"credential": assertion}, page_="/login"
    )
    assert again == 400
    assert body["error"] == "操作の有効期限が切れました。もう一度お試しください。"
    failures = await events("passkey:login:failure")
    assert failures[-1].data["reason"] == "challenge_replayed"


async def test_a_challenge_expires_after_five_minutes(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    status, options = await api(client, "/api/passkeys/authentication/options", page_="/login")
    clock.advance(minutes=5, seconds=1)
    status, body = await api(
        client,
        "/api/passkeys/authentication/verify",
        {"credential": soft.get(options["publicKey"])},
        page_="/login",
    )
    assert status == 400 and "有効期限" in body["error"]
    assert (await events("passkey:login:failure"))[-1].data["reason"] == "challenge_expired"
    assert await Session.all().count() == 0


async def test_a_challenge_from_another_browser_is_refused(app, client) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    status, options = await api(client, "/api/passkeys/authentication/options", page_="/login")
    other = app.test_client()
    status, _ = await api(
        other,
        "/api/passkeys/authentication/verify",
        {"credential": soft.get(options["publicKey"])},
        page_="/login",
    )
    assert status == 400
    # The challenge is still unused: the right browser can finish.
    status, _ = await api(
        client,
        "/api/passkeys/authentication/verify",
        {"credential": soft.get(options["publicKey"])},
        page_="/login",
    )
    assert status == 200


async def test_a_registration_challenge_cannot_sign_in(client) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    await login(client, "hanako@example.jp")
    status, options = await api(client, "/api/passkeys/registration/options", page_="/settings")
    assertion = soft.get({"challenge": options["publicKey"]["challenge"]})
    status, _ = await api(
        client, "/api/passkeys/authentication/verify", {"credential": assertion}, page_="/settings"
    )
    assert status == 400
    assert (await events("passkey:login:failure"))[-1].data["reason"] == "challenge_mismatch"


async def test_counter_regression_is_refused_and_audited(client) -> None:
    account = await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    status, _ = await passkey_sign_in(client, soft, sign_count=5)
    assert status == 200
    client.cookie_jar.clear()  # type: ignore[attr-defined]
    status, body = await passkey_sign_in(client, soft, sign_count=3)
    assert status == 400
    assert "安全のため使用できません" in body["error"]
    regression = await events("passkey:credential:counter_regression")
    assert len(regression) == 1
    assert regression[0].data["stored"] == 5 and regression[0].data["presented"] == 3
    assert regression[0].account_id == account.id
    assert (await Passkey.get(account_id=account.id)).sign_count == 5


async def test_sign_in_without_user_verification_is_refused(client) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    soft.user_verified = False
    status, body = await passkey_sign_in(client, soft)
    assert status == 400
    assert body["error"].startswith("パスキーでログインできませんでした。")
    assert await Session.all().count() == 0
    assert "verif" in (await events("passkey:login:failure"))[-1].data["reason"].lower()


async def test_registration_without_user_verification_is_refused(client) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    status, options = await api(client, "/api/passkeys/registration/options", page_="/settings")
    credential = SoftAuthenticator(user_verified=False).create(options["publicKey"])
    status, body = await api(
        client,
        "/api/passkeys/registration/verify",
        {"credential": credential},
        page_="/settings",
    )
    assert status == 400 and "パスキーを登録できませんでした。" in body["error"]
    assert await Passkey.all().count() == 0
    assert len(await events("passkey:credential:add_failure")) == 1


async def test_rs256_passkeys_are_refused_and_only_strong_algorithms_offered(client) -> None:
    """ASVS 11.6.1: ES256, EdDSA and PS256 only; an RS256 (PKCS#1 v1.5) key is refused."""
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    status, options = await api(client, "/api/passkeys/registration/options", page_="/settings")
    offered = [p["alg"] for p in options["publicKey"]["pubKeyCredParams"]]
    assert sorted(offered) == [-37, -8, -7]
    credential = SoftAuthenticator(algorithm="RS256").create(options["publicKey"])
    status, body = await api(
        client,
        "/api/passkeys/registration/verify",
        {"credential": credential},
        page_="/settings",
    )
    assert status == 400 and "パスキーを登録できませんでした。" in body["error"]
    assert await Passkey.all().count() == 0


async def test_registration_challenge_is_bound_to_the_account(app, client) -> None:
    await make_account(email="hanako@example.jp")
    await make_account(email="taro@example.jp")
    await login(client, "hanako@example.jp")
    status, options = await api(client, "/api/passkeys/registration/options", page_="/settings")
    other = app.test_client()
    await login(other, "taro@example.jp")
    credential = SoftAuthenticator().create(options["publicKey"])
    status, _ = await api(
        other, "/api/passkeys/registration/verify", {"credential": credential}, page_="/settings"
    )
    assert status == 400
    assert await Passkey.all().count() == 0


async def test_a_removed_passkey_no_longer_signs_in(client) -> None:
    account = await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await login(client, "hanako@example.jp")
    await add_passkey(client, soft)
    passkey = await Passkey.get(account_id=account.id)
    from tests.helpers import post_form

    removed = await post_form(
        client, f"/settings/passkeys/{passkey.id}/delete", {}, token_from="/settings"
    )
    assert removed.status_code == 303
    client.cookie_jar.clear()  # type: ignore[attr-defined]
    status, body = await passkey_sign_in(client, soft)
    assert status == 400 and body["unknownCredential"] is True
    assert "削除されています" in body["error"]


async def test_adding_needs_a_recent_sign_in_or_the_password(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    clock.advance(minutes=5, seconds=1)
    status, body = await api(client, "/api/passkeys/registration/options", page_="/settings")
    assert status == 403 and body["reauth"] is True
    status, body = await api(
        client, "/api/passkeys/reauth", {"password": "wrong-password"}, page_="/settings"
    )
    assert status == 400 and body["error"].startswith("パスワードが正しくありません。")
    status, _ = await api(
        client, "/api/passkeys/reauth", {"password": "correct-horse-2026"}, page_="/settings"
    )
    assert status == 200
    await add_passkey(client, SoftAuthenticator())
    assert len(await events("passkey:reauth:failure")) == 1
    assert len(await events("passkey:reauth:success")) == 1
    clock.advance(minutes=6)
    status, _ = await api(client, "/api/passkeys/registration/options", page_="/settings")
    assert status == 403


async def test_a_passkey_sign_in_counts_as_recent(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    clock.advance(hours=1)
    assert (await passkey_sign_in(client, soft))[0] == 200
    await add_passkey(client, SoftAuthenticator(aaguid="fbfc3007-154e-4ecc-8c0b-6e020557d7bd"))
    names = await Passkey.all().order_by("id").values_list("name", flat=True)
    assert names == ["Google パスワードマネージャー", "iCloud キーチェーン"]


async def test_the_same_authenticator_is_not_added_twice(client) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await login(client, "hanako@example.jp")
    await add_passkey(client, soft)
    _status, options = await api(client, "/api/passkeys/registration/options", page_="/settings")
    excluded = [item["id"] for item in options["publicKey"]["excludeCredentials"]]
    assert excluded == [(await Passkey.first()).credential_id]  # type: ignore[union-attr]


async def test_json_endpoints_need_the_csrf_header(client) -> None:
    await make_account(email="hanako@example.jp")
    assert (await client.post("/api/passkeys/authentication/options", json={})).status_code == 403
    await login(client, "hanako@example.jp")
    response = await client.post("/api/passkeys/registration/options", json={})
    assert response.status_code == 403
    assert "error" in await response.get_json()


async def test_signed_out_script_gets_401_json(client) -> None:
    status, body = await api(client, "/api/passkeys/registration/options", page_="/login")
    assert status == 401 and "ログイン" in body["error"]


async def test_garbage_is_refused_in_japanese(client) -> None:
    status, body = await api(
        client, "/api/passkeys/authentication/verify", {"credential": "x"}, page_="/login"
    )
    assert status == 400 and body["error"].startswith("パスキーでログインできませんでした。")
    response = await client.post(
        "/api/passkeys/authentication/verify",
        data="not json",
        headers={"Content-Type": "application/json", **(await _header(client))},
    )
    assert response.status_code == 400
    assert "読み取れませんでした" in (await response.get_json())["error"]


async def _header(client) -> dict[str, str]:
    from tests.passkeys.helpers import csrf_header

    return await csrf_header(client, "/login")


async def test_a_password_block_does_not_lock_out_a_passkey(client, clock: FrozenClock) -> None:
    account = await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    account.blocked_until = clock.now + timedelta(minutes=15)
    await account.save(update_fields=["blocked_until"])
    status, _ = await passkey_sign_in(client, soft)
    assert status == 200


async def test_a_stopped_account_cannot_sign_in_with_a_passkey(client) -> None:
    account = await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    account.state = AccountState.STOPPED
    await account.save(update_fields=["state"])
    status, body = await passkey_sign_in(client, soft)
    assert status == 400 and body["error"].startswith("パスキーでログインできませんでした。")
    assert (await events("passkey:login:failure"))[-1].data["reason"] == "account_unusable"


async def test_a_passkey_use_can_replace_the_password_re_entry(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    await login(client, "hanako@example.jp")
    clock.advance(minutes=6)
    status, _ = await api(client, "/api/passkeys/registration/options", page_="/settings")
    assert status == 403
    status, options = await api(client, "/api/passkeys/reauth/options", page_="/settings")
    assert status == 200
    assert len(options["publicKey"]["allowCredentials"]) == 1
    status, _ = await api(
        client,
        "/api/passkeys/reauth/verify",
        {"credential": soft.get(options["publicKey"])},
        page_="/settings",
    )
    assert status == 200
    assert (await events("passkey:reauth:success"))[-1].data["method"] == "passkey"
    await add_passkey(client, SoftAuthenticator())
    assert (await Passkey.filter(last_used_at=clock.now).count()) == 1


async def test_another_members_passkey_cannot_confirm_me(app, client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    await make_account(email="taro@example.jp")
    mine, theirs = SoftAuthenticator(), SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", mine)
    await member_with_passkey(app.test_client(), "taro@example.jp", theirs)
    await login(client, "hanako@example.jp")
    clock.advance(minutes=6)
    status, options = await api(client, "/api/passkeys/reauth/options", page_="/settings")
    status, body = await api(
        client,
        "/api/passkeys/reauth/verify",
        {"credential": theirs.get(options["publicKey"])},
        page_="/settings",
    )
    assert status == 400 and body["error"].startswith("パスキーで本人確認できませんでした。")
    failure = (await events("passkey:reauth:failure"))[-1]
    assert failure.data["reason"] == "unknown_credential"
    status, _ = await api(client, "/api/passkeys/registration/options", page_="/settings")
    assert status == 403


async def test_a_sign_in_challenge_cannot_confirm_me(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    await member_with_passkey(client, "hanako@example.jp", soft)
    await login(client, "hanako@example.jp")
    clock.advance(minutes=6)
    status, options = await api(client, "/api/passkeys/authentication/options", page_="/settings")
    status, _ = await api(
        client,
        "/api/passkeys/reauth/verify",
        {"credential": soft.get(options["publicKey"])},
        page_="/settings",
    )
    assert status == 400
