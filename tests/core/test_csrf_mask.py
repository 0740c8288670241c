"""The CSRF token is masked afresh for every response (BREACH, issue 15 defect 6).

A token fixed per session and compressed next to reflected input can be
guessed byte by byte from response sizes; a new random pad per response
leaves nothing fixed to guess. Every masked form of the session's token is
accepted; another session's is not.
"""

from __future__ import annotations

import re

from quart import Quart

from server.security import csrf_secret, csrf_valid, mask_csrf_token
from tests.factories import make_account, make_member
from tests.helpers import csrf_of, login, page
from tests.staff.helpers import signed_in_staff

META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SECRET = "test-secret-key-0123456789abcdef0123456789"


async def test_two_renderings_carry_different_tokens_and_both_are_accepted(client) -> None:
    _, first = await page(client, "/login")
    _, third = await page(client, "/login")
    tokens = {csrf_of(first), csrf_of(third)}
    assert len(tokens) == 2
    # The meta tag of a page carries that page's token (for scripts' X-CSRF-Token).
    meta = META_RE.search(first)
    assert meta is not None and meta.group(1) == csrf_of(first)
    for token in tokens:
        response = await client.post(
            "/login", form={"csrf_token": token, "email": "nobody@example.jp", "password": "x"}
        )
        assert response.status_code == 400  # the form was taken: a wrong password, not 403
    header = await client.post(
        "/login",
        form={"email": "nobody@example.jp", "password": "x"},
        headers={"X-CSRF-Token": meta.group(1)},
    )
    assert header.status_code == 400


async def test_a_token_of_another_session_is_refused(app: Quart) -> None:
    await make_account(email="hanako@example.jp")
    await make_account(email="taro@example.jp")
    hanako, taro = app.test_client(), app.test_client()
    await login(hanako, "hanako@example.jp")
    await login(taro, "taro@example.jp")
    _, html = await page(taro, "/settings")
    stolen = csrf_of(html)
    response = await hanako.post("/logout", form={"csrf_token": stolen})
    assert response.status_code == 403
    assert "ページの有効期限が切れたか" in await response.get_data(as_text=True)
    assert (await hanako.get("/")).status_code == 200  # still signed in
    _, own = await page(hanako, "/settings")
    assert (await hanako.post("/logout", form={"csrf_token": csrf_of(own)})).status_code == 303


async def test_the_staff_console_masks_its_token_too(app: Quart) -> None:
    clerk, _, _ = await signed_in_staff(app)
    other, _, _ = await signed_in_staff(app)
    member = await make_member()
    await make_account(member)
    path = f"/staff/members/{member.id}"
    tokens = []
    for _ in range(2):
        status, html = await page(clerk, path)
        assert status == 200
        tokens.append(csrf_of(html))
    assert tokens[0] != tokens[1]
    for token in tokens:
        response = await clerk.post(f"{path}/sessions/end", form={"csrf_token": token})
        assert response.status_code == 303
    _, foreign = await page(other, path)
    response = await clerk.post(f"{path}/sessions/end", form={"csrf_token": csrf_of(foreign)})
    assert response.status_code == 403


def test_malformed_and_unmasked_tokens_are_refused() -> None:
    secret = csrf_secret(SECRET, "binding")
    good = mask_csrf_token(secret)
    assert csrf_valid(SECRET, "binding", good)
    assert not csrf_valid(SECRET, "other-binding", good)
    assert not csrf_valid(SECRET, "binding", secret.hex())  # the bare secret is never sent
    assert not csrf_valid(SECRET, "binding", good[:-2])
    assert not csrf_valid(SECRET, "binding", good + "AA")
    assert not csrf_valid(SECRET, "binding", "%%%not base64%%%")
    assert not csrf_valid(SECRET, "binding", "A" * 5000)
    assert not csrf_valid(SECRET, "", good)
