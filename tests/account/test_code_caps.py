"""Per-account caps on mailed codes: five an hour, ten wrong an hour (ASVS 6.6.3, 2.4.1)."""

from __future__ import annotations

import asyncio

from quart import Quart

from server.account.codes import TooManyCodes
from server.account.models import AuthCode, CodePurpose
from server.account.signin import start_login_code
from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.auth.models import Account, Session
from server.lib.clock import FrozenClock
from tests.account.flows import give_email, identify, issue
from tests.factories import PASSWORD, make_account, make_member
from tests.helpers import csrf_of, page, post_form
from tests.smtp import deliver, mailed_code, mails_to

EMAIL = "hanako@example.jp"
CAPPED_SUBJECT = "【群馬県学校生協】ログインの認証コードの送信を一時的に止めています"


async def password_step(app: Quart):  # type: ignore[no-untyped-def]
    """The right password from a browser never seen before (so a code is asked)."""
    client = app.test_client()
    response = await post_form(client, "/login", {"email": EMAIL, "password": PASSWORD})
    return client, response


def wrong(right: str) -> str:
    return "123456" if right != "123456" else "654321"


async def type_code(client, code: str, address: str):  # type: ignore[no-untyped-def]
    """Post a code from `address`: the per-address failure budget is not what is tested here."""
    _, html = await page(client, "/login/code")
    form = {"csrf_token": csrf_of(html), "code": code}
    return await client.post("/login/code", form=form, scope_base={"client": (address, 40000)})


async def test_the_sixth_correct_password_within_the_hour_mails_no_code(
    app: Quart, clock: FrozenClock
) -> None:
    """ASVS 6.6.3, 2.4.1: five codes an hour per account, then a 429 and one mail to the owner."""
    await make_account(email=EMAIL)
    for _ in range(5):
        _, held = await password_step(app)
        assert held.status_code == 303 and held.headers["Location"] == "/login/code"
        clock.advance(minutes=1)
    await deliver(app)
    assert len(mails_to(EMAIL)) == 5
    _, refused = await password_step(app)
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "認証コードの送信が続いたため" in html and "しばらくしてから（55分後に）" in html
    assert await AuthCode.all().count() == 5
    await deliver(app)
    [*codes, told] = mails_to(EMAIL)
    assert len(codes) == 5 and told.subject == CAPPED_SUBJECT
    assert "認証コード：" not in told.body
    assert f"フリーダイヤル {app.config['MYPAGE_SETTINGS'].coop_free_dial} までお電話" in told.body
    assert "http://localhost/settings/lost-device" in told.body
    assert "http://localhost/password/forgot" in told.body
    # Further tries are refused too, and the owner is not mailed again.
    clock.advance(minutes=10)
    _, again = await password_step(app)
    assert again.status_code == 429 and "45分後に" in await again.get_data(as_text=True)
    await deliver(app)
    assert len(mails_to(EMAIL)) == 6
    events = await AuditEvent.filter(event="account:login_code:capped").order_by("id")
    assert [e.data["mailed"] for e in events] == [True, False]
    # Once the first code is an hour old, one more may go.
    clock.advance(minutes=45)
    client, held = await password_step(app)
    assert held.headers["Location"] == "/login/code"
    code = await mailed_code(app, EMAIL)
    done = await post_form(client, "/login/code", {"code": code}, token_from="/login/code")
    assert done.status_code == 303 and await Session.all().count() == 1


async def test_racing_sign_ins_mail_at_most_five_codes(app: Quart, clock: FrozenClock) -> None:
    """ASVS 6.6.3: eight correct passwords at the same moment mail five codes and one warning."""
    account = await Account.get(id=(await make_account(email=EMAIL)).id).select_related("member")
    settings = app.config["MYPAGE_SETTINGS"]

    async def attempt() -> str:
        try:
            await start_login_code(account, clock(), settings, Actor(kind="anonymous"))
        except TooManyCodes:
            return "capped"
        return "mailed"

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sorted(outcomes) == ["capped"] * 3 + ["mailed"] * 5
    assert await AuthCode.filter(account_id=account.id).count() == 5
    await deliver(app)
    assert [m.subject for m in mails_to(EMAIL)].count(CAPPED_SUBJECT) == 1


async def test_ten_wrong_codes_an_hour_across_codes_stop_the_checks(
    app: Quart, clock: FrozenClock
) -> None:
    """ASVS 6.6.3, 2.4.1: wrong codes count per account across codes, not five per code."""
    account = await make_account(email=EMAIL)
    codes: list[str] = []
    for _ in range(2):  # two codes, five wrong tries each: ten wrong in all
        client, _ = await password_step(app)
        code = await mailed_code(app, EMAIL)
        codes.append(code)
        for n in range(5):
            response = await type_code(client, wrong(code), f"192.0.2.{len(codes) * 5 + n + 1}")
            assert response.status_code == 400
        clock.advance(minutes=5)
    # The third code is right, but no code is checked for this account for a while.
    client, _ = await password_step(app)
    code = await mailed_code(app, EMAIL)
    refused = await type_code(client, code, "192.0.2.100")
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "認証コードの誤りが続いたため" in html and "50分後に" in html
    assert await Session.all().count() == 0
    [stopped] = await AuditEvent.filter(event="account:code:checks_stopped")
    assert stopped.account_id == account.id
    third = await AuthCode.filter(account_id=account.id).order_by("-id").first()
    assert third is not None and third.attempts == 0 and third.used_at is None
    # Another account is not affected.
    await make_account(email="taro@example.jp")
    other = app.test_client()
    await post_form(other, "/login", {"email": "taro@example.jp", "password": PASSWORD})
    taro_code = await mailed_code(app, "taro@example.jp")
    ok = await post_form(other, "/login/code", {"code": taro_code}, token_from="/login/code")
    assert ok.status_code == 303
    # An hour after the first wrong code, the member signs in again.
    clock.advance(minutes=51)
    client, _ = await password_step(app)
    code = await mailed_code(app, EMAIL)
    done = await post_form(client, "/login/code", {"code": code}, token_from="/login/code")
    assert done.status_code == 303


async def test_registration_codes_are_capped_per_member_across_registrations(
    app: Quart, clock: FrozenClock
) -> None:
    """ASVS 6.6.3: starting the registration again does not buy more codes within the hour."""
    member = await make_member()
    initial = await issue(member, clock())
    first = app.test_client()
    assert (await identify(first, member, initial)).status_code == 303
    for n in range(5):
        assert (await give_email(first, f"hanako{n}@example.jp")).status_code == 303
    second = app.test_client()
    assert (await identify(second, member, initial)).status_code == 303
    refused = await give_email(second, "hanako@example.jp")
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 429 and "しばらくしてから（60分後に）" in html
    count = await AuthCode.filter(purpose=CodePurpose.REGISTER, member_id=member.id).count()
    assert count == 5
    assert await AuditEvent.filter(event="account:registration:code_capped").count() == 1
    clock.advance(hours=1)  # the registrations have expired too: the member starts again
    third = app.test_client()
    assert (await identify(third, member, initial)).status_code == 303
    assert (await give_email(third, "hanako@example.jp")).status_code == 303
