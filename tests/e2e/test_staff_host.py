"""The staff console on its own host (MYPAGE_STAFF_BASE_URL) in real Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from server.mail.catcher import MailCatcher
from tests.e2e.conftest import LiveServer
from tests.e2e.test_passkeys import credentials, virtual_authenticator
from tests.e2e.test_staff import _setup_link


@pytest.fixture(scope="module")
def split_server(
    tmp_path_factory: pytest.TempPathFactory, mail_catcher: MailCatcher
) -> Iterator[LiveServer]:
    """A second real server: My Page on localhost, the staff console on staff.localhost."""
    workdir = tmp_path_factory.mktemp("e2e-split")
    server = LiveServer(workdir, f"sqlite://{workdir / 'split.sqlite3'}", mail_catcher.port)
    # *.localhost is loopback and a secure context in Chromium, like localhost itself.
    server.env["MYPAGE_STAFF_BASE_URL"] = f"http://staff.localhost:{server.port}"
    server.start()
    yield server
    server.stop()


def test_staff_passkey_on_the_staff_host(
    browser: Browser, split_server: LiveServer, mail_catcher: MailCatcher
) -> None:
    """ASVS 3.5.4: set up and sign in on the staff host; each host 404s the other's pages."""
    staff_url = split_server.env["MYPAGE_STAFF_BASE_URL"]
    email = "e2e-split-admin@coop.example.jp"
    split_server.mypage("staff", "create", email, "--name", "管理 二郎", "--role", "admin")
    link = _setup_link(mail_catcher, email)
    assert link.startswith(f"{staff_url}/staff/setup/")

    context = browser.new_context(locale="ja-JP")
    try:
        page = context.new_page()
        cdp, authenticator_id = virtual_authenticator(context, page)
        page.goto(link)
        page.get_by_role("button", name="パスキーを登録").click()
        expect(page).to_have_url(re.compile(r"/staff/account\?done=setup$"))
        [credential] = credentials(cdp, authenticator_id)
        assert credential["rpId"] == "staff.localhost"
        [cookie] = [c for c in context.cookies() if c["name"] == "mypage_staff"]
        assert cookie["domain"] == "staff.localhost" and cookie["path"] == "/"

        page.get_by_role("button", name="ログアウト").click()
        expect(page).to_have_url(re.compile(r"/staff/login\?done=logout$"))
        page.get_by_role("button", name="パスキーでログイン").click()
        expect(page).to_have_url(f"{staff_url}/staff/")
        expect(page.get_by_role("heading", name="職員用画面")).to_be_visible()

        # Neither host shows the other's pages, even to this signed-in browser.
        assert page.goto(f"{staff_url}/login").status == 404  # type: ignore[union-attr]
        assert page.goto(f"{split_server.url}/staff/").status == 404  # type: ignore[union-attr]
        assert page.goto(f"{split_server.url}/login").status == 200  # type: ignore[union-attr]
        cdp.detach()
    finally:
        context.close()
