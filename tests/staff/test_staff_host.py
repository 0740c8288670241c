"""MYPAGE_STAFF_BASE_URL: the staff console on its own origin, with its own passkey RP ID."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from quart import Quart

from server.app import create_app
from server.config import ConfigError, Settings
from server.lib.clock import FrozenClock
from server.mail.catcher import MailCatcher
from tests.conftest import make_settings
from tests.factories import make_account
from tests.helpers import login, page
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import deliver, mails_to
from tests.staff.helpers import new_staff, set_up_passkey, staff_sign_in

MEMBER_URL = "http://mypage.example.jp"
STAFF_URL = "http://staff.mypage.example.jp"
STAFF_HOST = "staff.mypage.example.jp"
MEMBER_HOST = "mypage.example.jp"


class OnHost:
    """A test client whose every request names `host` (as a browser on that origin does)."""

    def __init__(self, client: Any, host: str, scheme: str = "http") -> None:
        self.client = client
        self.host = host
        self.scheme = scheme
        self.app = client.app
        self.cookie_jar = client.cookie_jar

    async def open(self, path: str, *, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        """The request, with this client's Host header."""
        headers = {**(headers or {}), "Host": self.host}
        return await self.client.open(path, headers=headers, scheme=self.scheme, **kw)

    async def get(self, path: str, **kw: Any) -> Any:
        """GET on this host."""
        return await self.open(path, method="GET", **kw)

    async def post(self, path: str, **kw: Any) -> Any:
        """POST on this host."""
        return await self.open(path, method="POST", **kw)


@pytest.fixture
async def split_app(
    db_url: str, tmp_path: Path, mailbox: MailCatcher, clock: FrozenClock
) -> AsyncIterator[Quart]:
    """The app with the member site and the staff console on two hosts."""
    async with _split(db_url, tmp_path, mailbox, clock, MEMBER_URL, STAFF_URL) as application:
        yield application


@asynccontextmanager
async def _split(
    db_url: str, tmp_path: Path, mailbox: MailCatcher, clock: FrozenClock, member: str, staff: str
) -> AsyncIterator[Quart]:
    settings = make_settings(
        db_url,
        tmp_path,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        base_url=member,
        staff_base_url=staff,
    )
    application = create_app(settings, clock=clock)
    async with application.test_app():
        yield application


def on(app: Quart, host: str) -> Any:
    """A fresh browser on `host`."""
    return OnHost(app.test_client(), host)


async def test_staff_console_answers_only_on_the_staff_host(split_app: Quart) -> None:
    """ASVS 3.5.4: /staff is 404 on the member host, and a page answers on the staff host."""
    status, _ = await page(on(split_app, MEMBER_HOST), "/staff/login")
    assert status == 404
    response = await on(split_app, STAFF_HOST).get("/staff/login")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and "パスキーでログイン" in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    # Its styles and scripts come from its own origin (CSP 'self').
    response = await on(split_app, STAFF_HOST).get("/static/js/staff.js")
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    # A port-qualified Host with the default port is the same host.
    status, _ = await page(on(split_app, STAFF_HOST + ":80"), "/staff/login")
    assert status == 200


async def test_member_pages_and_api_are_404_on_the_staff_host(split_app: Quart) -> None:
    """ASVS 3.5.4: My Page, its /api and root-scoped PWA files are not on the staff host."""
    staff_side = on(split_app, STAFF_HOST)
    response = await staff_side.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    for path in ("/login", "/register", "/profile", "/service-worker.js", "/manifest.json"):
        status, html = await page(staff_side, path)
        assert status == 404, path
        assert "ページが見つかりません" in html
    response = await staff_side.post("/api/card/verify", json={"code": "x"})
    assert response.status_code == 404
    # ... and all of them still answer on the member host.
    member_side = on(split_app, MEMBER_HOST)
    for path in ("/login", "/service-worker.js", "/manifest.json"):
        status, _ = await page(member_side, path)
        assert status == 200, path


async def test_signed_in_member_cannot_reach_member_pages_on_the_staff_host(
    split_app: Quart,
) -> None:
    """ASVS 3.5.4: a member session is worth nothing on the staff host."""
    await make_account(email="taro@example.jp")
    member_side = on(split_app, MEMBER_HOST)
    response = await login(member_side, "taro@example.jp")  # type: ignore[arg-type]
    assert response.status_code == 303
    status, _ = await page(member_side, "/")
    assert status == 200
    # The same cookies sent to the staff host (a test client sends every cookie).
    same_browser = OnHost(member_side.client, STAFF_HOST)
    status, _ = await page(same_browser, "/statements")
    assert status == 404


async def test_staff_passkey_uses_the_staff_rp_id_and_signs_in_on_the_staff_host(
    split_app: Quart,
) -> None:
    """ASVS 3.5.4: set-up link, RP ID, WebAuthn origin and host-only cookie: the staff host's."""
    _, token = await new_staff(split_app, role="admin", email="kanri@coop.example.jp")
    await deliver(split_app)
    [mail] = mails_to("kanri@coop.example.jp")
    assert f"{STAFF_URL}/staff/setup/{token}" in mail.body

    staff_side = on(split_app, STAFF_HOST)
    soft = SoftAuthenticator(origin=STAFF_URL)
    status, result = await set_up_passkey(staff_side, token, soft)  # type: ignore[arg-type]
    assert status == 200, result
    [credential] = soft.credentials
    assert credential.rp_id == STAFF_HOST

    fresh = on(split_app, STAFF_HOST)
    response_status, result = await staff_sign_in(fresh, soft)  # type: ignore[arg-type]
    assert response_status == 200 and result["redirect"] == "/staff/"
    status, html = await page(fresh, "/staff/")
    assert status == 200 and "職員用画面" in html
    # Links to My Page from the console go to the member host.
    status, html = await page(fresh, "/staff/documents")
    assert status == 200 and f'href="{MEMBER_URL}/help/forms"' in html

    # The staff cookie is host-only: no Domain attribute, so no other host gets it.
    fresh_again = on(split_app, STAFF_HOST)
    options_status, options = await _login_options(fresh_again)
    assert options_status == 200 and options["publicKey"]["rpId"] == STAFF_HOST
    response = await _verify(fresh_again, soft.get(options["publicKey"]))
    set_cookie = response.headers.get("Set-Cookie", "")
    assert set_cookie.startswith("mypage_staff=") and "; Path=/;" in set_cookie + ";"
    assert "domain=" not in set_cookie.lower()


async def test_a_passkey_made_for_the_member_origin_is_refused_on_the_staff_host(
    split_app: Quart,
) -> None:
    """ASVS 3.5.4: an assertion whose origin is My Page's does not sign staff in."""
    _, token = await new_staff(split_app)
    soft = SoftAuthenticator(origin=STAFF_URL)
    status, _ = await set_up_passkey(on(split_app, STAFF_HOST), token, soft)  # type: ignore[arg-type]
    assert status == 200
    status, _ = await staff_sign_in(on(split_app, STAFF_HOST), soft, origin=MEMBER_URL)  # type: ignore[arg-type]
    assert status == 400


async def _login_options(client: OnHost) -> tuple[int, dict[str, Any]]:
    from tests.passkeys.helpers import api

    return await api(client, "/staff/api/login/options", page_="/staff/login")  # type: ignore[arg-type]


async def _verify(client: OnHost, assertion: dict[str, Any]) -> Any:
    from tests.passkeys.helpers import csrf_header

    headers = await csrf_header(client, "/staff/login")  # type: ignore[arg-type]
    return await client.post(
        "/staff/api/login/verify", json={"credential": assertion}, headers=headers
    )


async def test_staff_cookie_on_an_https_staff_host_is_host_prefixed(
    db_url: str, tmp_path: Path, mailbox: MailCatcher, clock: FrozenClock
) -> None:
    """ASVS 3.5.4: over https the staff cookie is `__Host-`: Secure, Path=/, no Domain."""
    member_url, staff_url = "https://mypage.example.jp", "https://staff.mypage.example.jp"
    async with _split(db_url, tmp_path, mailbox, clock, member_url, staff_url) as app:
        _, token = await new_staff(app)
        staff_side = OnHost(app.test_client(), STAFF_HOST, scheme="https")
        soft = SoftAuthenticator(origin=staff_url)
        status, _ = await set_up_passkey(staff_side, token, soft)  # type: ignore[arg-type]
        assert status == 200
        fresh = OnHost(app.test_client(), STAFF_HOST, scheme="https")
        status, options = await _login_options(fresh)
        assert status == 200
        response = await _verify(fresh, soft.get(options["publicKey"]))
        assert response.status_code == 200
        set_cookie = response.headers["Set-Cookie"]
        assert set_cookie.startswith("__Host-mypage_staff=")
        assert "; Secure" in set_cookie and "; Path=/;" in set_cookie + ";"
        assert "domain=" not in set_cookie.lower()
        # The prefixed cookie signs the clerk in on the staff host.
        status, html = await page(fresh, "/staff/")  # type: ignore[arg-type]
        assert status == 200 and "職員用画面" in html


async def test_default_keeps_one_origin(app: Quart) -> None:
    """ASVS 3.5.4: unset, the staff console and My Page share the origin as before (`make run`)."""
    settings = app.config["MYPAGE_SETTINGS"]
    assert settings.staff_base_url == "" and settings.staff_url == "http://localhost"
    _, token = await new_staff(app)
    client = app.test_client()
    soft = SoftAuthenticator()
    status, _ = await set_up_passkey(client, token, soft)
    assert status == 200
    assert soft.credentials[0].rp_id == "localhost"
    assert (await client.get("/staff/")).status_code == 200
    assert (await client.get("/login")).status_code == 200
    assert (await client.get("/service-worker.js")).status_code == 200


def test_staff_base_url_is_checked() -> None:
    """ASVS 3.5.4: MYPAGE_STAFF_BASE_URL is an origin, on another host, https in production."""
    good = {
        "MYPAGE_ENV": "production",
        "MYPAGE_SECRET_KEY": "k" * 40,
        "MYPAGE_BASE_URL": "https://mypage.example.jp",
    }
    settings = Settings.from_env({**good, "MYPAGE_STAFF_BASE_URL": "https://staff.example.jp/"})
    assert settings.staff_url == "https://staff.example.jp"
    assert settings.staff_host == "staff.example.jp"
    assert settings.staff_cookie_name == "__Host-mypage_staff"
    assert settings.staff_cookie_path == "/"
    shared = Settings.from_env(good)
    assert shared.staff_cookie_name == "__Secure-mypage_staff"
    assert shared.staff_cookie_path == "/staff"
    for bad in (
        "http://staff.example.jp",
        "https://mypage.example.jp:8443",
        "https://staff.example.jp/staff",
        "staff.example.jp",
    ):
        with pytest.raises(ConfigError, match="MYPAGE_STAFF_BASE_URL"):
            Settings.from_env({**good, "MYPAGE_STAFF_BASE_URL": bad})
    dev = Settings.from_env({"MYPAGE_STAFF_BASE_URL": "http://staff.localhost:8001"})
    assert dev.staff_host == "staff.localhost:8001"
    assert Settings.from_env({}).staff_host == ""


def test_staff_link_gives_existing_staff_a_link_to_the_new_staff_host(tmp_path: Path) -> None:
    """ASVS 3.5.4: turning the staff host on, `mypage staff link` renews a clerk's set-up link."""
    from tests.core.test_cli import _env, _mypage

    env = _env(tmp_path)
    assert _mypage(env, "migrate").returncode == 0
    created = _mypage(env, "staff", "create", "kanri@coop.example.jp", "--name", "管理 花子")
    assert created.returncode == 0, created.stderr
    env["MYPAGE_STAFF_BASE_URL"] = "http://staff.localhost:8001"
    done = _mypage(env, "staff", "link", "KANRI@coop.example.jp", "--print-link")
    assert done.returncode == 0, done.stderr
    assert "kanri@coop.example.jp (operator) has a new set-up link" in done.stdout
    assert "http://staff.localhost:8001/staff/setup/" in done.stdout
    unknown = _mypage(env, "staff", "link", "nobody@coop.example.jp")
    assert unknown.returncode == 1
    assert "このメールアドレスの職員アカウントはありません" in unknown.stderr
