"""New-device mail and the security timeline in real Chromium (cookies as a browser keeps them)."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Browser, expect

from server.mail.catcher import MailCatcher
from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import DEMO_EMAIL, sign_in
from tests.e2e.test_passkeys import (
    NO_CONDITIONAL_UI,
    add_passkey_in_settings,
    credentials,
    sign_out,
    virtual_authenticator,
)
from tests.smtp import messages_to

SUBJECT = "新しい端末からログインがありました"


def new_device_mails(catcher: MailCatcher) -> list[Any]:
    return [m for m in messages_to(catcher, DEMO_EMAIL) if SUBJECT in str(m["Subject"])]


def test_a_passkey_on_a_new_browser_is_mailed_once_and_shown_without_script(
    browser: Browser, live_server: LiveServer, mail_catcher: MailCatcher
) -> None:
    laptop = browser.new_context(base_url=live_server.url, locale="ja-JP")
    phone = browser.new_context(base_url=live_server.url, locale="ja-JP")
    no_script = browser.new_context(
        base_url=live_server.url, locale="ja-JP", java_script_enabled=False
    )
    try:
        page = laptop.new_page()
        cdp, laptop_authenticator = virtual_authenticator(laptop, page)
        sign_in(page)  # the mailed code: this sign-in is told by the code mail alone
        add_passkey_in_settings(page)
        [credential, *_] = credentials(cdp, laptop_authenticator)[-1:]
        before = len(new_device_mails(mail_catcher))

        # The same passkey (synced, as passkey managers do) on a browser never used here.
        phone_page = phone.new_page()
        phone_page.add_init_script(NO_CONDITIONAL_UI)
        phone_cdp, phone_authenticator = virtual_authenticator(phone, phone_page)
        phone_cdp.send(
            "WebAuthn.addCredential",
            {"authenticatorId": phone_authenticator, "credential": credential},
        )
        phone_page.goto("/login")
        phone_page.get_by_role("button", name="パスキーでログイン").click()
        expect(phone_page).to_have_url("/")
        deadline = time.monotonic() + 15
        while len(new_device_mails(mail_catcher)) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        mails = new_device_mails(mail_catcher)
        assert len(mails) == before + 1
        body = mails[-1].get_body(preferencelist=("plain",)).get_content()
        assert "ブラウザー：Chrome" in body and "OS：Linux" in body
        assert "ログインの方法：パスキー" in body and "/settings/lost-device" in body

        # Again from the same browser: its device cookie is known, nothing is mailed.
        sign_out(phone_page)
        phone_page.get_by_role("button", name="パスキーでログイン").click()
        expect(phone_page).to_have_url("/")
        time.sleep(4)  # longer than the outbox sender's poll
        assert len(new_device_mails(mail_catcher)) == before + 1

        # The timeline is plain HTML: a browser without JavaScript reads it.
        plain = no_script.new_page()
        sign_in(plain)
        plain.goto("/settings")
        history = plain.locator("#security-history")
        expect(history).to_contain_text("ログイン（パスキー）")
        expect(history).to_contain_text("新しい端末（お知らせメールを送信しました）")
        expect(history).to_contain_text("認証コードの確認（ログイン）")
    finally:
        for context in (laptop, phone, no_script):
            context.close()
