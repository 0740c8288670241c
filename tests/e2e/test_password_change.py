"""「パスワードを変更」 in real Chromium without JavaScript: this browser stays, the other ends."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import create_member, sign_in

EMAIL = "pw-change@example.jp"
OLD = "sora-to-umi-2026"
NEW = "ｋｕｍｏ－ｎｏ－ｕｅ－２０２７"  # full width: the same as kumo-no-ue-2027


def test_change_the_password_without_script(browser: Browser, live_server: LiveServer) -> None:
    """ASVS 6.2.2, 6.2.3: current + new twice; the other browser is signed out, this one stays."""
    create_member(
        live_server,
        email=EMAIL,
        password=OLD,
        name="高橋 一郎",
        name_kana="タカハシ イチロウ",
        member_no="00077771",
    )
    here = browser.new_context(base_url=live_server.url, locale="ja-JP", java_script_enabled=False)
    there = browser.new_context(base_url=live_server.url, locale="ja-JP")
    try:
        other = there.new_page()
        sign_in(other, EMAIL, OLD)
        page = here.new_page()
        sign_in(page, EMAIL, OLD)
        page.goto("/settings")
        page.get_by_role("link", name="パスワードを変更").click()
        expect(page).to_have_url("/settings/password")
        expect(page.get_by_label("この端末のログインも終了する")).not_to_be_checked()

        page.get_by_label("現在のパスワード").fill("wrong-password")
        page.get_by_label("新しいパスワード", exact=True).fill(NEW)
        page.get_by_label("新しいパスワード（確認のためもう一度）").fill(NEW)
        page.get_by_role("button", name="パスワードを変更する").click()
        expect(page.get_by_text("現在のパスワードが正しくありません")).to_be_visible()
        expect(page.get_by_label("現在のパスワード")).to_have_value("")

        page.get_by_label("現在のパスワード").fill(OLD)
        page.get_by_label("新しいパスワード", exact=True).fill(NEW)
        page.get_by_label("新しいパスワード（確認のためもう一度）").fill(NEW)
        page.get_by_role("button", name="パスワードを変更する").click()
        expect(page.get_by_text("パスワードを変更しました。")).to_be_visible()
        # This browser is still signed in; the other one is sent to /login.
        page.goto("/settings")
        expect(page).to_have_url("/settings")
        other.goto("/settings")
        expect(other).to_have_url(re.compile(r"/login"))
    finally:
        here.close()
        there.close()
