"""What a member does in the browser, shared by the browser tests."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from tests.e2e import mailcatcher

DEMO_EMAIL = "demo@example.jp"
DEMO_PASSWORD = "gunma-demo-2026"
CODE_RE = re.compile(r"認証コード：(\d{6})")


def sign_in(
    page: Page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD, *, remember: bool = True
) -> None:
    """Sign in through the real form; answer the mailed code when the browser is new."""
    catcher = mailcatcher.current()
    seen = len(catcher.messages_to(email))
    page.goto("/login")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_load_state()
    if not page.url.split("?")[0].endswith("/login/code"):
        return
    message = catcher.wait_for(email, count=seen + 1)
    body = message.get_body(preferencelist=("plain",))
    match = CODE_RE.search(body.get_content() if body else "")
    assert match, "no authentication code in the mail"
    page.get_by_label("認証コード", exact=True).fill(match.group(1))
    if not remember:
        page.get_by_label(re.compile("この端末を記憶する")).uncheck()
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_load_state()
