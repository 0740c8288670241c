"""Staff console in real Chromium: the mailed set-up link, a passkey, sign-in, sign-out."""

from __future__ import annotations

import re
import time

from playwright.sync_api import BrowserContext, Page, expect

from server.mail.catcher import MailCatcher
from tests.e2e.conftest import LiveServer
from tests.e2e.test_passkeys import credentials, virtual_authenticator
from tests.smtp import messages_to

LINK_RE = re.compile(r"https?://\S+/staff/setup/[\w-]+")


def _setup_link(catcher: MailCatcher, email: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in messages_to(catcher, email):
            body = message.get_body(preferencelist=("plain",))
            match = LINK_RE.search(body.get_content() if body else "")
            if match:
                return match.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no set-up link mailed to {email}")


def test_staff_set_up_sign_in_and_out_with_a_passkey(
    context: BrowserContext, page: Page, live_server: LiveServer, mail_catcher: MailCatcher
) -> None:
    email = "e2e-admin@coop.example.jp"
    live_server.mypage("staff", "create", email, "--name", "管理 一郎", "--role", "admin")
    link = _setup_link(mail_catcher, email)
    cdp, authenticator_id = virtual_authenticator(context, page)

    page.goto(link)
    expect(page.get_by_text("管理 一郎 様")).to_be_visible()
    page.get_by_role("button", name="パスキーを登録").click()
    expect(page).to_have_url(re.compile(r"/staff/account\?done=setup$"))
    expect(page.get_by_text("パスキーを登録し、ログインしました")).to_be_visible()
    assert len(credentials(cdp, authenticator_id)) == 1
    staff_cookie = [c for c in context.cookies() if c["name"] == "mypage_staff"]
    assert staff_cookie and staff_cookie[0]["path"] == "/staff"
    assert staff_cookie[0]["httpOnly"] and staff_cookie[0]["sameSite"] == "Strict"

    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(re.compile(r"/staff/login\?done=logout$"))
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login"))

    page.get_by_role("button", name="パスキーでログイン").click()
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", name="職員用画面")).to_be_visible()
    expect(page.get_by_role("link", name="職員アカウント").first).to_be_visible()

    # The used link is dead.
    page.goto(link)
    expect(page.get_by_text("このリンクは使えません")).to_be_visible()
    cdp.detach()
    # The server's request log names the page without its one-time token.
    log = live_server.log.read_text(encoding="utf-8", errors="replace")
    assert '"GET /staff/setup/*** HTTP/1.1" 200' in log
    assert link.rsplit("/", 1)[1] not in log
