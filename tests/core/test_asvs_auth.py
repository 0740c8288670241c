"""ASVS 5.0 V6 and V7: password fields, no forced rotation, sign-out everywhere, session tokens."""

from __future__ import annotations

import re
from pathlib import Path

from server.lib.clock import FrozenClock
from server.security import hash_password, verify_password
from tests.factories import PASSWORD, make_account
from tests.helpers import cookie, login, page, post_form
from tests.smtp import CODE_RE, deliver, mails_to

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


async def test_a_mailed_code_works_only_for_the_sign_in_it_was_sent_for(client) -> None:
    """ASVS 6.6.2: a code is bound to its own sign-in attempt, not to the account."""
    await make_account(email=ADDRESS)
    first, second = client, client.app.test_client()
    for browser in (first, second):
        response = await post_form(browser, "/login", {"email": ADDRESS, "password": PASSWORD})
        assert response.headers["Location"] == "/login/code"
    await deliver(client.app)
    first_mail, second_mail = mails_to(ADDRESS)
    first_code = CODE_RE.search(first_mail.body).group(1)  # type: ignore[union-attr]
    second_code = CODE_RE.search(second_mail.body).group(1)  # type: ignore[union-attr]
    if first_code == second_code:  # one chance in a million: nothing to tell apart
        return
    refused = await post_form(second, "/login/code", {"code": first_code, "next": "/"})
    assert refused.headers.get("Location") != "/"
    assert cookie(second, "mypage_session") is None
    accepted = await post_form(second, "/login/code", {"code": second_code, "next": "/"})
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/"


async def test_passwords_are_stored_with_argon2id_at_owasp_strength() -> None:
    """ASVS 11.4.2: argon2id, at least 19 MiB and 2 passes (OWASP's minimum), salted per hash."""
    hashes = [await hash_password(PASSWORD) for _ in range(2)]
    for stored in hashes:
        match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$(.+)", stored)
        assert match is not None, stored
        assert int(match.group(1)) >= 19456 and int(match.group(2)) >= 2
    assert hashes[0] != hashes[1]  # same password, own salt
    assert await verify_password(hashes[0], PASSWORD)
    assert not await verify_password(hashes[0], PASSWORD.upper())


def test_no_weak_hash_or_cipher_is_used_anywhere_in_the_server() -> None:
    """ASVS 11.3.1, 11.4.1, 11.4.3: no MD5, SHA-1, ECB, DES or PKCS#1 v1.5 in server code."""
    weak = re.compile(r"\b(md5|sha1|SHA1|MD5|ECB|TripleDES|DES|ARC4|PKCS1v15|random\.random)\b")
    found = []
    for path in Path("server").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if weak.search(line) and "noqa: asvs" not in line:
                found.append(f"{path}:{number}: {line.strip()}")
    assert found == []
