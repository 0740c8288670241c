"""ASVS 5.0 V3 and V14: browser-facing headers and cookies, on a production-configured app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart

from server.app import create_app
from server.lib.clock import FrozenClock
from server.mail.catcher import MailCatcher
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_account
from tests.helpers import csrf_of, page
from tests.smtp import mailed_code

ADDRESS = "hanako@example.jp"
# Every kind of response: a page, a member page's redirect, a 404, a static
# file, a root file, JSON for a script, the health probe.
PATHS = ["/login", "/", "/no-such-page", "/static/css/app.css", "/service-worker.js", "/healthz"]


@pytest.fixture
async def production(
    db_url: str, tmp_path: Path, clock: FrozenClock, mailbox: MailCatcher
) -> AsyncIterator[Quart]:
    settings = make_settings(
        db_url,
        tmp_path,
        env="production",
        base_url="https://mypage.example.jp",
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
    )
    application = create_app(settings, clock=clock)
    async with application.test_app():
        yield application


async def test_every_response_carries_hsts_csp_nosniff_and_referrer_policy(
    production: Quart,
) -> None:
    """ASVS 3.4.1, 3.4.3, 3.4.4, 3.4.5, 3.4.6: the headers are on every response, not just pages."""
    client = production.test_client()
    for path in PATHS:
        response = await client.get(path)
        headers = response.headers
        hsts = headers["Strict-Transport-Security"]
        max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))  # type: ignore[union-attr]
        assert max_age >= 365 * 24 * 3600 and "includeSubDomains" in hsts, path
        csp = headers["Content-Security-Policy"]
        for part in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert part in csp, (path, part)
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin"}, path


async def test_no_origin_is_granted_cross_origin_reads(production: Quart) -> None:
    """ASVS 3.4.2: no Access-Control-Allow-Origin is sent, whatever Origin asks."""
    client = production.test_client()
    for path in ["/login", "/api/push/key", "/manifest.json"]:
        response = await client.get(path, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers, path
        assert "Access-Control-Allow-Credentials" not in response.headers, path


async def test_the_policy_lets_no_third_party_receive_anything(production: Quart) -> None:
    """ASVS 14.2.3: the CSP names no other origin, so no tracker or CDN gets a request."""
    client = production.test_client()
    for path in ["/login", "/help", "/no-such-page"]:
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "http" not in csp and "*" not in csp, path
        html = await response.get_data(as_text=True)
        external = re.findall(r'(?:src|href|action)="(https?://[^"]+)"', html)
        assert [url for url in external if not url.startswith("https://mypage.example.jp")] == []


async def test_every_cookie_of_a_sign_in_is_secure_prefixed_httponly_and_samesite(
    production: Quart,
) -> None:
    """ASVS 3.3.1, 3.3.2, 3.3.3, 3.3.4: each cookie a member sign-in sets, on an https origin."""
    await make_account(email=ADDRESS)
    client = production.test_client()
    set_cookies: list[str] = []
    response = await client.get("/login")
    set_cookies += response.headers.getlist("Set-Cookie")
    form = {"csrf_token": csrf_of(await response.get_data(as_text=True))}
    response = await client.post("/login", form={**form, "email": ADDRESS, "password": PASSWORD})
    set_cookies += response.headers.getlist("Set-Cookie")
    assert response.headers["Location"] == "/login/code"
    code = await mailed_code(production, ADDRESS)
    _, html = await page(client, "/login/code")
    response = await client.post(
        "/login/code",
        form={"csrf_token": csrf_of(html), "code": code, "next": "/", "remember": "1"},
    )
    set_cookies += response.headers.getlist("Set-Cookie")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    names = {cookie.split("=", 1)[0] for cookie in set_cookies}
    assert "__Host-mypage_session" in names
    for cookie in set_cookies:
        lowered = cookie.lower()
        assert "; secure" in lowered and "; httponly" in lowered, cookie
        assert "samesite=lax" in lowered or "samesite=strict" in lowered, cookie
        # __Host- (no Domain, Path=/): only this host ever receives it.
        assert cookie.startswith("__Host-") and "domain=" not in lowered, cookie
        assert "; path=/" in lowered, cookie
    session = next(c for c in set_cookies if c.startswith("__Host-mypage_session="))
    token = session.split("=", 1)[1].split(";", 1)[0]
    assert token not in await response.get_data(as_text=True)  # only via Set-Cookie
    home = await client.get("/")
    assert token not in await home.get_data(as_text=True)


async def test_the_staff_cookie_is_secure_prefixed_and_strict(production: Quart) -> None:
    """ASVS 3.3.1, 3.3.2: the staff cookie (path /staff: __Secure-) is Secure, HttpOnly, Strict."""
    from quart import Response

    from server.staff.web import set_staff_cookie

    async with production.test_request_context("/staff/"):
        response = Response("")
        set_staff_cookie(response, "x" * 43)
        [cookie] = response.headers.getlist("Set-Cookie")
    lowered = cookie.lower()
    assert cookie.startswith("__Secure-mypage_staff=")
    assert "; secure" in lowered and "; httponly" in lowered and "samesite=strict" in lowered
    assert "path=/staff" in lowered and "domain=" not in lowered
