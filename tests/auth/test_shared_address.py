"""A whole school signs in from one address; guessing from it is still stopped (issue 15, defect 7).

Sign-in (password, code, passkey) and registration count failed attempts
per address, not successes: each account keeps its own guard (blocking,
five tries per code), and a high ceiling per address stays against floods.
"""

from __future__ import annotations

import asyncio
import time

from quart import Quart

from server.auth.models import Account, Session
from server.members.models import Member
from tests.account.flows import issue, register
from tests.factories import PASSWORD, make_account, make_member
from tests.helpers import csrf_of, page, post_form, wrong_sign_in
from tests.passkeys.helpers import api
from tests.smtp import CODE_RE, deliver, mails_to

MEMBERS = 200
BUSY = "しばらく時間をおいてください"


async def sign_in_together(app: Quart, accounts: list[Account]) -> None:
    """Teachers in one staff room sign in at once, each in their own browser (one address)."""
    browsers = [app.test_client() for _ in accounts]
    held = await asyncio.gather(
        *(
            post_form(browser, "/login", {"email": account.email, "password": PASSWORD})
            for browser, account in zip(browsers, accounts, strict=True)
        )
    )
    assert {r.headers.get("Location") for r in held} == {"/login/code"}
    await deliver(app)
    codes = [CODE_RE.search(mails_to(a.email)[-1].body) for a in accounts]
    signed_in = await asyncio.gather(
        *(
            post_form(browser, "/login/code", {"code": code.group(1) if code else ""})
            for browser, code in zip(browsers, codes, strict=True)
        )
    )
    assert [r.status_code for r in signed_in] == [303] * len(accounts)
    assert {r.headers["Location"] for r in signed_in} == {"/"}
    for browser in browsers:
        assert (await browser.get("/")).status_code == 200


async def test_200_members_sign_in_from_one_address_and_200_wrong_passwords_do_not(
    app: Quart,
) -> None:
    accounts = [await make_account() for _ in range(MEMBERS)]
    started = time.monotonic()
    for first in range(0, MEMBERS, 25):
        await sign_in_together(app, accounts[first : first + 25])
    assert time.monotonic() - started < 60  # all of them within one minute
    assert await Session.all().count() == MEMBERS

    attacker = app.test_client()  # the same address
    statuses = [await wrong_sign_in(attacker) for _ in range(MEMBERS)]
    assert statuses[:10] == [400] * 10
    assert set(statuses[10:]) == {429}
    _, html = await page(attacker, "/login")
    form = {"csrf_token": csrf_of(html), "email": accounts[0].email, "password": "x"}
    refused = await attacker.post("/login", form=form)
    assert refused.status_code == 429
    assert BUSY in await refused.get_data(as_text=True)


async def test_wrong_codes_from_one_address_are_stopped(app: Quart) -> None:
    accounts = [await make_account() for _ in range(3)]
    statuses = []
    for account in accounts:
        browser = app.test_client()
        held = await post_form(browser, "/login", {"email": account.email, "password": PASSWORD})
        assert held.headers["Location"] == "/login/code"
        for _ in range(4):  # fewer than the code's own five tries
            response = await post_form(browser, "/login/code", {"code": "000000"})
            statuses.append(response.status_code)
    assert statuses[:10] == [400] * 10
    assert set(statuses[10:]) == {429}


async def test_a_school_registers_together_from_one_address(app: Quart, clock) -> None:
    teachers = 40
    members = [await make_member() for _ in range(teachers)]
    for member in members:
        browser = app.test_client()
        initial = await issue(member, clock())
        response = await register(browser, member, initial, f"teacher{member.id}@school.jp")
        assert response.status_code == 303, await response.get_data(as_text=True)
        assert response.headers["Location"] == "/register/done"
    assert await Member.filter(account__isnull=False).count() == teachers


async def test_wrong_registration_details_from_one_address_are_stopped(app: Quart) -> None:
    member = await make_member()
    browser = app.test_client()
    form = {"member_no": member.member_no, "initial_password": "WRONG-WRONG-WRON"}
    statuses = [
        (await post_form(browser, "/register", {**form, "birth_date": "1980-05-05"})).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]


async def test_failed_passkey_sign_ins_from_one_address_are_stopped(app: Quart) -> None:
    browser = app.test_client()
    statuses = []
    for _ in range(11):
        status, _ = await api(
            browser,
            "/api/passkeys/authentication/verify",
            {"credential": {"id": "bm9wZQ", "type": "public-key"}},
            page_="/login",
        )
        statuses.append(status)
    assert all(400 <= status < 500 and status != 429 for status in statuses[:10]), statuses
    assert statuses[10] == 429
