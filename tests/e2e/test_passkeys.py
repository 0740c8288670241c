"""Passkeys in real Chromium with a CDP virtual authenticator (no typing at sign-in)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Locator, Page, Route, expect

from tests.e2e.test_signin import sign_in


def virtual_authenticator(
    context: BrowserContext, page: Page, *, user_verified: bool = True
) -> tuple[CDPSession, str]:
    """A platform authenticator with resident keys and user verification, via CDP."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    result: dict[str, Any] = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": user_verified,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, result["authenticatorId"]


def credentials(cdp: CDPSession, authenticator_id: str) -> list[dict[str, Any]]:
    """The credentials the virtual authenticator holds."""
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def sign_out(page: Page) -> None:
    """The ログアウト button every member page has."""
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url("/login?done=logout")


def add_passkey_in_settings(page: Page) -> None:
    """In /settings, press パスキーを追加 and wait for the list."""
    page.goto("/settings")
    page.get_by_role("button", name="パスキーを追加").click()
    expect(page.get_by_text("パスキーを追加しました。")).to_be_visible()


@pytest.fixture
def authenticator(context: BrowserContext, page: Page) -> Iterator[tuple[CDPSession, str]]:
    """A verified virtual authenticator attached to this tab."""
    cdp, authenticator_id = virtual_authenticator(context, page)
    yield cdp, authenticator_id
    cdp.detach()


# The virtual authenticator answers a conditional (autofill) request at once, which would
# sign in as soon as /login loads; tests of the button switch conditional UI off.
NO_CONDITIONAL_UI = "delete PublicKeyCredential.isConditionalMediationAvailable;"


def test_add_passkey_sign_in_without_typing_then_remove(
    page: Page, authenticator: tuple[CDPSession, str]
) -> None:
    cdp, authenticator_id = authenticator
    page.add_init_script(NO_CONDITIONAL_UI)
    sign_in(page)
    expect(page).to_have_url("/")
    add_passkey_in_settings(page)
    passkey = page.locator("li.passkey").last
    expect(passkey.locator(".passkey-last-used")).to_have_text("まだ使われていません")
    assert len(credentials(cdp, authenticator_id)) >= 1
    count_before = page.locator("li.passkey").count()

    sign_out(page)
    page.get_by_role("button", name="パスキーでログイン").click()
    expect(page).to_have_url("/")
    expect(page.locator(".member-name")).to_have_text("山田 花子 様")

    page.goto("/settings")
    passkey = page.locator("li.passkey").last
    expect(passkey.locator(".passkey-last-used")).not_to_have_text("まだ使われていません")
    expect(page.locator("#sessions")).to_contain_text("パスキー")
    expect(page.locator("#security-history")).to_contain_text("ログイン（パスキー）")

    new_name = "テスト用パスキー"
    passkey.locator("summary", has_text="名前を変更").click()  # behind a small control
    passkey.get_by_label("新しい名前").fill(new_name)
    passkey.get_by_role("button", name="名前を変更").click()
    expect(page.get_by_text("パスキーの名前を変更しました。")).to_be_visible()
    passkey = page.locator("li.passkey", has_text=new_name)
    remove_passkey(page, passkey)
    expect(page.locator("li.passkey")).to_have_count(count_before - 1)

    sign_out(page)
    page.get_by_role("button", name="パスキーでログイン").click()
    expect(page.locator("#passkey-login-status")).to_contain_text("削除されています")
    expect(page).to_have_url("/login?done=logout")


def test_autofill_signs_in_with_no_click(page: Page, authenticator: tuple[CDPSession, str]) -> None:
    sign_in(page)
    add_passkey_in_settings(page)
    # Conditional UI starts on /login; the virtual authenticator picks the passkey.
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url("/")
    page.goto("/settings")
    expect(page.locator("#sessions li", has_text="この端末")).to_contain_text("パスキー")
    passkey = page.locator("li.passkey").last
    remove_passkey(page, passkey)


def remove_passkey(page: Page, passkey: Locator) -> None:
    """削除 in the list, then 削除 again on its confirmation page."""
    passkey.get_by_role("button", name="削除").click()
    expect(page.locator("h1")).to_have_text("パスキーの削除")
    page.get_by_role("button", name="削除").click()
    expect(page.get_by_text("パスキーを削除しました。")).to_be_visible()


def relax_user_verification(page: Page, path: str) -> None:
    """Rewrite the server's options to "discouraged", as a lenient or tampered client would."""

    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        public_key = body["publicKey"]
        if "authenticatorSelection" in public_key:
            public_key["authenticatorSelection"] = {"userVerification": "discouraged"}
        else:
            public_key["userVerification"] = "discouraged"
        route.fulfill(response=response, json=body)

    page.route(path, handle)


def test_unverified_user_is_refused(context: BrowserContext, page: Page) -> None:
    cdp, authenticator_id = virtual_authenticator(context, page, user_verified=False)
    page.add_init_script(NO_CONDITIONAL_UI)
    sign_in(page)
    expect(page).to_have_url("/")
    page.goto("/settings")
    count_before = page.locator("li.passkey").count()
    # Asked for user verification that fails, the browser refuses to create a passkey.
    page.get_by_role("button", name="パスキーを追加").click()
    expect(page.locator("#passkey-add-status")).to_have_text(
        "操作が取り消されたか、時間切れになりました。もう一度お試しください。"
    )
    expect(page.locator("li.passkey")).to_have_count(count_before)

    # A passkey made while verified, then used without verification, is refused too.
    verified = {"authenticatorId": authenticator_id, "isUserVerified": True}
    cdp.send("WebAuthn.setUserVerified", verified)
    add_passkey_in_settings(page)
    cdp.send("WebAuthn.setUserVerified", {**verified, "isUserVerified": False})
    sign_out(page)
    page.get_by_role("button", name="パスキーでログイン").click()
    expect(page.locator("#passkey-login-status")).to_have_class("passkey-status passkey-error")
    # Told verification is not needed, the browser sends an unverified assertion:
    # the server refuses it (require_user_verification=True).
    relax_user_verification(page, "**/api/passkeys/authentication/options")
    page.get_by_role("button", name="パスキーでログイン").click()
    expect(page.locator("#passkey-login-status")).to_have_text(
        "パスキーでログインできませんでした。もう一度お試しいただくか、"
        "メールアドレスとパスワードでログインしてください。"
    )
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
    cdp.detach()
    # Leave the shared demo account as it was for the other browser tests.
    sign_in(page)
    page.goto("/settings")
    remove_passkey(page, page.locator("li.passkey").last)


def test_server_refuses_a_passkey_made_without_verification(
    context: BrowserContext, page: Page
) -> None:
    # An authenticator that cannot verify users at all, and options relaxed in flight.
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": False,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    page.add_init_script(NO_CONDITIONAL_UI)
    sign_in(page)
    expect(page).to_have_url("/")
    page.goto("/settings")
    count_before = page.locator("li.passkey").count()
    relax_user_verification(page, "**/api/passkeys/registration/options")
    page.get_by_role("button", name="パスキーを追加").click()
    expect(page.locator("#passkey-add-status")).to_contain_text("パスキーを登録できませんでした。")
    expect(page.locator("li.passkey")).to_have_count(count_before)
    cdp.detach()


def test_without_webauthn_the_passkey_parts_stay_hidden(page: Page) -> None:
    page.add_init_script("delete window.PublicKeyCredential;")
    page.goto("/login")
    expect(page.get_by_role("button", name="ログイン", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="パスキーでログイン")).to_be_hidden()
    sign_in(page)
    expect(page).to_have_url("/")
    expect(page.locator("#passkey-offer")).to_be_hidden()
    page.goto("/settings")
    expect(page.get_by_role("button", name="パスキーを追加")).to_be_hidden()
    expect(page.get_by_text("お使いのブラウザーはパスキーに対応していないため")).to_be_visible()


def test_offer_after_password_sign_in_can_be_dismissed(
    page: Page, authenticator: tuple[CDPSession, str]
) -> None:
    page.add_init_script(NO_CONDITIONAL_UI)
    sign_in(page)
    offer = page.locator("#passkey-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("パスキーを作成しませんか？")
    offer.get_by_role("button", name="今はしない").click()
    expect(offer).to_be_hidden()
    page.reload()
    expect(page.locator("#passkey-offer")).to_have_count(0)
    # Not shown again on this device at the next sign-in either (sign-out clears storage,
    # not this cookie).
    sign_out(page)
    sign_in(page)
    expect(page).to_have_url("/")
    expect(page.locator("#passkey-offer")).to_have_count(0)


OLD_BROWSER = """
delete PublicKeyCredential.parseCreationOptionsFromJSON;
delete PublicKeyCredential.parseRequestOptionsFromJSON;
delete PublicKeyCredential.prototype.toJSON;
"""


def test_offer_creates_a_passkey_on_browsers_without_the_json_helpers(
    page: Page, authenticator: tuple[CDPSession, str]
) -> None:
    page.add_init_script(NO_CONDITIONAL_UI + OLD_BROWSER)
    sign_in(page)
    helpers = (
        "[typeof PublicKeyCredential.parseCreationOptionsFromJSON,"
        " typeof PublicKeyCredential.prototype.toJSON]"
    )
    assert page.evaluate(helpers) == ["undefined", "undefined"]
    page.locator("#passkey-offer").get_by_role("button", name="パスキーを作成").click()
    expect(page).to_have_url("/settings?done=passkey-added#passkeys")
    expect(page.get_by_text("パスキーを追加しました。")).to_be_visible()
    sign_out(page)
    page.get_by_role("button", name="パスキーでログイン").click()
    expect(page).to_have_url("/")
    page.goto("/settings")
    passkey = page.locator("li.passkey").last
    expect(passkey.locator(".passkey-last-used")).not_to_have_text("まだ使われていません")
    remove_passkey(page, passkey)


def age_sign_ins(live_server: Any, minutes: int) -> None:
    """Move every sign-in and re-authentication back in time (the server's clock is real)."""
    from datetime import timedelta

    from server import db
    from server.auth.models import Session
    from server.requests.models import Reauthentication
    from tests.e2e.conftest import run_async

    async def age() -> None:
        await db.init_db(live_server.env["MYPAGE_DATABASE_URL"])
        try:
            for session in await Session.all():
                session.created_at -= timedelta(minutes=minutes)
                await session.save(update_fields=["created_at"])
            for reauth in await Reauthentication.all():
                reauth.at -= timedelta(minutes=minutes)
                await reauth.save(update_fields=["at"])
        finally:
            await db.close_db()

    run_async(age())


def test_adding_later_asks_for_the_password_or_a_passkey(
    page: Page, authenticator: tuple[CDPSession, str], live_server: Any
) -> None:
    page.add_init_script(NO_CONDITIONAL_UI)
    sign_in(page)
    add_passkey_in_settings(page)
    status = page.locator("#passkey-add-status")
    already = "この端末（パスワード管理アプリ）のパスキーは、すでに登録されています。"

    age_sign_ins(live_server, 10)
    page.reload()
    page.get_by_role("button", name="パスキーを追加").click()
    expect(page.get_by_label("パスワード")).to_be_focused()
    page.get_by_label("パスワード").fill("gunma-demo-2026")
    page.get_by_role("button", name="確認して続ける").click()
    # Confirmed: the browser is asked to create one (this authenticator already has it).
    expect(status).to_have_text(already)

    age_sign_ins(live_server, 10)
    page.reload()
    page.get_by_role("button", name="パスキーを追加").click()
    page.get_by_role("button", name="パスキーで本人確認").click()
    expect(status).to_have_text(already)
    page.reload()
    history = page.locator("#security-history")
    expect(history).to_contain_text("本人確認（パスワード）")
    expect(history).to_contain_text("本人確認（パスキー）")
    remove_passkey(page, page.locator("li.passkey").last)


def test_removing_later_goes_through_reauth_and_back(
    page: Page, authenticator: tuple[CDPSession, str], live_server: Any
) -> None:
    """ASVS 7.5.1: 削除 long after signing in asks for the password, then works."""
    page.add_init_script(NO_CONDITIONAL_UI)
    sign_in(page)
    add_passkey_in_settings(page)
    count = page.locator("li.passkey").count()
    age_sign_ins(live_server, 10)
    page.reload()
    page.locator("li.passkey").last.get_by_role("button", name="削除").click()
    expect(page.locator("h1")).to_have_text("パスキーの削除")
    page.get_by_role("link", name="本人確認へ進む").click()
    expect(page).to_have_url(re.compile(r"/reauth\?next="))
    # Typed full width: accepted as at sign-in.
    page.get_by_label("パスワード").fill("ｇｕｎｍａ－ｄｅｍｏ－２０２６")
    page.get_by_role("button", name="確認する").click()
    # Back on the confirmation page, where 削除 now works.
    expect(page.locator("h1")).to_have_text("パスキーの削除")
    page.get_by_role("button", name="削除").click()
    expect(page.get_by_text("パスキーを削除しました。")).to_be_visible()
    expect(page.locator("li.passkey")).to_have_count(count - 1)
