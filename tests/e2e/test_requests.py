"""Browser tests of the inquiry confirmation step (hidden fields keep line breaks)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_signin import sign_in


def test_inquiry_goes_through_the_confirmation_page(page: Page) -> None:
    sign_in(page)
    page.goto("/profile/change")
    page.get_by_role("link", name="連絡・お問い合わせ（勤務先の変更）").click()
    expect(page.get_by_label("お問い合わせの種類")).to_have_value("workplace")
    page.get_by_label("お問い合わせ内容").fill(
        "4月に異動しました。\n新しい勤務先：高崎市立テスト中学校"
    )
    page.get_by_role("button", name="確認画面へ進む").click()
    expect(page.get_by_role("heading", name="お問い合わせの確認")).to_be_visible()
    page.get_by_role("button", name="内容を修正する").click()
    expect(page.get_by_label("お問い合わせ内容")).to_have_value(
        "4月に異動しました。\n新しい勤務先：高崎市立テスト中学校"
    )
    page.get_by_role("button", name="確認画面へ進む").click()
    page.get_by_role("button", name="送信する").click()
    expect(page).to_have_url(re.compile(r"/inquiries/\d+\?sent=1$"))
    expect(page.get_by_role("status")).to_contain_text("お問い合わせを受け付けました")
    expect(page.locator("p.message")).to_contain_text("4月に異動しました。")
    expect(page.locator("p.message")).to_contain_text("新しい勤務先：高崎市立テスト中学校")
