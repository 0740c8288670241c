"""The first browser test: sign in through the real form, sign out, press back."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in


def test_demo_member_signs_in_and_sees_home(page: Page) -> None:
    sign_in(page)
    expect(page).to_have_url("/")
    expect(page.locator(".member-name")).to_have_text("山田 花子 様")
    expect(page.get_by_text("00012345")).to_be_visible()


def test_wrong_password_reads_in_japanese(page: Page) -> None:
    sign_in(page, password="wrong-password")
    expect(page.get_by_role("alert")).to_contain_text(
        "メールアドレスまたはパスワードが正しくありません"
    )


def test_after_sign_out_back_shows_no_member_data(page: Page) -> None:
    sign_in(page)
    expect(page.locator(".member-name")).to_have_text("山田 花子 様")
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url("/login?done=logout")
    expect(page.get_by_text("ログアウトしました。")).to_be_visible()
    page.go_back()
    page.wait_for_load_state()
    assert "山田" not in page.content()
    assert "00012345" not in page.content()
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
