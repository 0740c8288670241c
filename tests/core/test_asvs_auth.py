"""ASVS 5.0 V6 and V7: password fields, no forced rotation, sign-out everywhere, session tokens."""

from __future__ import annotations

import re

from server.lib.clock import FrozenClock
from tests.factories import make_account
from tests.helpers import cookie, login, page

ADDRESS = "hanako@example.jp"
MEMBER_PAGES = ["/", "/card", "/profile", "/statements", "/capital", "/settings", "/help"]
INPUT_RE = re.compile(r"<input[^>]*>")


async def test_password_fields_are_masked_and_let_managers_and_paste_work(client) -> None:
    """ASVS 6.2.6, 6.2.7: type=password with autocomplete hints; no paste blocking anywhere."""
    await make_account(email=ADDRESS)
    seen = 0
    for path in ["/login", "/register"]:
        status, html = await page(client, path)
        assert status == 200
        for field in INPUT_RE.findall(html):
            if 'name="password' in field or 'name="initial_password"' in field:
                seen += 1
                assert 'type="password"' in field, field
                assert "autocomplete=" in field, field
        for blocker in ("onpaste", "oncopy", "oncut", "ondrop", "readonly onfocus"):
            assert blocker not in html.lower(), (path, blocker)
    assert seen >= 2
    for script in ["/static/js/app.js"]:
        response = await client.get(script)
        text = await response.get_data(as_text=True)
        assert '"paste"' not in text and "'paste'" not in text


async def test_a_password_stays_valid_for_years(client, clock: FrozenClock) -> None:
    """ASVS 6.2.10: no periodic rotation: a password set three years ago still signs in."""
    await make_account(email=ADDRESS)
    clock.advance(days=3 * 365)
    response = await login(client, ADDRESS)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    status, html = await page(client, "/")
    assert status == 200 and "パスワードの有効期限" not in html


async def test_every_member_page_offers_sign_out(client) -> None:
    """ASVS 7.4.4: each page a signed-in member sees has the ログアウト button in its header."""
    await make_account(email=ADDRESS)
    await login(client, ADDRESS)
    for path in MEMBER_PAGES:
        status, html = await page(client, path)
        assert status == 200, path
        assert 'action="/logout"' in html and ">ログアウト</button>" in html, path


async def test_session_tokens_are_256_bit_random_and_unique(client) -> None:
    """ASVS 7.2.2, 7.2.3, 11.5.1: a fresh 43-character base64url token (256 bits) per sign-in."""
    await make_account(email=ADDRESS)
    tokens = set()
    for _ in range(3):
        other = client.app.test_client()
        await login(other, ADDRESS)
        token = cookie(other, "mypage_session")
        assert token is not None and re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        tokens.add(token)
    assert len(tokens) == 3


async def test_a_session_ends_at_twelve_hours_even_when_busy(client, clock: FrozenClock) -> None:
    """ASVS 7.3.1, 7.3.2: used every 20 minutes, the session still ends 12 hours after sign-in."""
    await make_account(email=ADDRESS)
    await login(client, ADDRESS)
    for _ in range(35):
        clock.advance(minutes=20)
        status, _ = await page(client, "/profile")
        assert status == 200
    clock.advance(minutes=20)
    response = await client.get("/profile")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith("/login")
