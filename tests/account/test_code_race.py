"""Racing guesses share the code's five tries (issue 15, defect 2).

The guesses are sent at the same moment (asyncio.gather) through the real
app or the real service, on the test database (SQLite or PostgreSQL): the
budget must not grow with how many requests arrive together.
"""

from __future__ import annotations

import asyncio
import re

from quart import Quart

from server.account.codes import MAX_ATTEMPTS, CodeDead, CodeError, check_code, issue_code
from server.account.models import AuthCode, CodePurpose
from server.auth.models import Session
from server.lib.clock import FrozenClock
from server.requests.models import EmailChange
from tests.factories import PASSWORD, make_account
from tests.helpers import csrf_of, login, page, post_form
from tests.smtp import deliver, mailed_code, mails_to

EMAIL = "hanako@example.jp"
SECRET = "test-secret-key-0123456789abcdef0123456789"
DEAD = "入力できる回数を超えました"


def wrong_codes(right: str, count: int) -> list[str]:
    """`count` six-digit codes, none of them the right one."""
    return [f"{n:06d}" for n in range(count + 1) if f"{n:06d}" != right][:count]


async def test_fifty_simultaneous_guesses_compare_at_most_five(app: Quart, clock) -> None:
    account = await make_account(email=EMAIL)
    right = await issue_code(
        CodePurpose.LOGIN,
        "flow",
        member_id=account.member_id,
        account_id=account.id,
        email=EMAIL,
        now=clock(),
        secret_key=SECRET,
    )
    guesses = [*wrong_codes(right, 49), right]  # the right one arrives last, with the rest

    async def guess(code: str) -> str:
        try:
            await check_code(CodePurpose.LOGIN, "flow", code, clock(), SECRET)
        except CodeError as error:  # CodeDead too: "dead" when refused before comparing
            return "dead" if DEAD in error.message else "wrong"
        return "accepted"

    outcomes = await asyncio.gather(*(guess(code) for code in guesses))
    compared = [o for o in outcomes if o != "dead"]
    assert len(compared) <= MAX_ATTEMPTS
    row = await AuthCode.get(flow_hash="flow")
    assert row.attempts == MAX_ATTEMPTS
    if "accepted" not in outcomes:
        # The budget is spent: the right code is refused from now on.
        try:
            await check_code(CodePurpose.LOGIN, "flow", right, clock(), SECRET)
        except CodeDead:
            pass
        else:
            raise AssertionError("the right code was accepted after five tries")


async def held_sign_in(client) -> str:
    """A password sign-in held for its mailed code; returns the code."""
    response = await post_form(client, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.headers["Location"] == "/login/code"
    return await mailed_code(client.app, EMAIL)


async def test_racing_wrong_codes_at_sign_in_do_not_get_more_tries(client) -> None:
    await make_account(email=EMAIL)
    right = await held_sign_in(client)
    _, html = await page(client, "/login/code")
    token = csrf_of(html)
    # As many as the per-address limit lets through at once.
    posts = [
        client.post("/login/code", form={"csrf_token": token, "code": code, "next": "/"})
        for code in wrong_codes(right, 9)
    ]
    responses = await asyncio.gather(*posts)
    texts = [await r.get_data(as_text=True) for r in responses]
    compared = [t for t in texts if DEAD not in t]
    assert len(compared) == MAX_ATTEMPTS
    assert (await AuthCode.get()).attempts == MAX_ATTEMPTS
    # The right code no longer signs in.
    late = await client.post("/login/code", form={"csrf_token": token, "code": right})
    assert late.status_code == 400
    assert await Session.all().count() == 0


async def test_racing_codes_for_a_new_address_share_five_tries(client, clock: FrozenClock) -> None:
    account = await make_account(email=EMAIL)
    await login(client, EMAIL)
    await post_form(client, "/reauth", {"password": PASSWORD, "next": "/"}, token_from="/reauth")
    await post_form(client, "/profile/change/email", {"email": "hana@new.jp"})
    await deliver(client.app)
    found = re.search(r"認証コード：(\d{6})", mails_to("hana@new.jp")[-1].body)
    assert found is not None
    right = found.group(1)
    _, html = await page(client, "/profile/change/email/verify")
    token = csrf_of(html)
    posts = [
        client.post("/profile/change/email/verify", form={"csrf_token": token, "code": code})
        for code in [*wrong_codes(right, 8), right]
    ]
    responses = await asyncio.gather(*posts)
    accepted = [r for r in responses if r.status_code == 303]
    change = await EmailChange.get()
    assert change.attempts <= MAX_ATTEMPTS
    await account.refresh_from_db()
    if not accepted:
        assert change.attempts == MAX_ATTEMPTS
        late = await client.post(
            "/profile/change/email/verify", form={"csrf_token": token, "code": right}
        )
        assert late.status_code == 400
        await account.refresh_from_db()
        assert account.email == EMAIL
    else:
        assert account.email == "hana@new.jp"
