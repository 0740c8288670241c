"""Issue 15, defect 1: once access has ended, no way in and no session left (B7, B8).

The member is withdrawn by a real members import (the core system's file),
or their service is stopped; then every sign-in path refuses them and a
session opened before answers the access-ended page on every member page,
/card and the member API, and is deleted.
"""

from __future__ import annotations

from quart import Quart

from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.auth.models import Account, AccountState, Session
from server.auth.sessions import start_session
from server.auth.web import session_policy
from server.imports.plan import Kind
from server.imports.service import import_file
from server.lib.clock import FrozenClock
from server.members.models import Member
from tests.account.flows import give_code, give_email, give_password, identify, issue
from tests.factories import make_account, make_member
from tests.helpers import login, page, post_form
from tests.passkeys.helpers import csrf_header, member_with_passkey, passkey_sign_in
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import mailed_code

EMAIL = "hanako@example.jp"
WITHDRAWN = "脱退のお手続きが完了しているため、マイページはご利用いただけません。"
STOPPED = "マイページのサービスを停止されているため、ご利用いただけません。"
HEADER = (
    "member_no,name,name_kana,birth_date,email,phone,postal_code,address,"
    "workplace,category,joined_on,status,capital_refund_on\n"
)
MEMBER_PAGES = ("/", "/profile", "/settings", "/inquiries/new", "/card")


async def withdraw_by_import(member: Member, clock: FrozenClock) -> None:
    """The core system's members file now says this member has withdrawn."""
    row = (
        f"{member.member_no},{member.name},{member.name_kana},{member.birth_date.isoformat()},,"
        f"{member.phone},{member.postal_code},{member.address},{member.workplace},現職,"
        f"{member.joined_on.isoformat()},withdrawn,\n"
    )
    result = await import_file(
        Kind.MEMBERS,
        (HEADER + row).encode(),
        source="members.csv",
        actor=Actor(kind="operator"),
        now=clock(),
    )
    assert result.counts.updated == 1


async def stop(account: Account) -> None:
    """The account is stopped while a session of it is still open (stop and sign-in racing)."""
    await Account.filter(id=account.id).update(state=AccountState.STOPPED)


async def signed_in_browsers(app: Quart, account: Account, count: int) -> list:
    """`count` browsers, each with its own open session of the member."""
    browsers = []
    async with app.test_request_context("/"):
        policy = session_policy()
    for _ in range(count):
        token = await start_session(
            account, policy, app.config["MYPAGE_CLOCK"](), method="password", actor=Actor()
        )
        browser = app.test_client()
        browser.set_cookie("localhost", "mypage_session", token)
        browsers.append(browser)
    return browsers


async def assert_open_sessions_end(app: Quart, account: Account, end_access, reason: str) -> None:
    browsers = await signed_in_browsers(app, account, len(MEMBER_PAGES) + 1)
    api_browser = browsers[-1]
    header = await csrf_header(api_browser, "/settings")  # read while access lasts
    other = await make_account(email="taro@example.jp")
    [bystander] = await signed_in_browsers(app, other, 1)
    await end_access()
    for browser, path in zip(browsers, MEMBER_PAGES, strict=False):
        response = await browser.get(path)
        html = await response.get_data(as_text=True)
        assert response.status_code == 403, path
        assert reason in html, path
        assert "0120-39-5318" in html, path
        assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
        assert any(c.startswith("mypage_session=;") for c in response.headers.getlist("Set-Cookie"))
        # Nothing of the member is on the page (the card shows no number, no name).
        member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
        assert member.member_no not in html and member.name not in html, path
        # The session is gone: the same cookie is now simply signed out.
        again = await browser.get(path)
        assert again.status_code in (200, 303) and reason not in await again.get_data(as_text=True)
    response = await api_browser.post(
        "/api/push/subscriptions",
        json={"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {}},
        headers=header,
    )
    assert response.status_code == 403
    assert reason in (await response.get_json())["error"]
    assert await Session.filter(account_id=account.id).count() == 0
    ended = await AuditEvent.filter(event="auth:session:access_ended", account_id=account.id)
    assert len(ended) == len(browsers)
    # Another member's session is untouched.
    assert (await bystander.get("/profile")).status_code == 200
    assert await Session.filter(account_id=other.id).count() == 1


async def test_sessions_open_before_a_withdrawal_import_end_on_every_page(app, clock) -> None:
    account = await make_account(email=EMAIL)
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    await assert_open_sessions_end(
        app, account, lambda: withdraw_by_import(member, clock), WITHDRAWN
    )


async def test_sessions_of_a_stopped_service_end_on_every_page(app) -> None:
    account = await make_account(email=EMAIL)
    await assert_open_sessions_end(app, account, lambda: stop(account), STOPPED)


async def test_password_sign_in_is_refused_after_the_import(client, clock) -> None:
    account = await make_account(email=EMAIL)
    await withdraw_by_import(await Member.get(id=account.member_id), clock)  # type: ignore[attr-defined]
    response = await login(client, EMAIL)
    assert response.status_code == 403
    assert WITHDRAWN in await response.get_data(as_text=True)
    assert await Session.all().count() == 0


async def test_mailed_code_does_not_start_a_session_after_the_import(client, clock) -> None:
    account = await make_account(email=EMAIL)
    held = await post_form(client, "/login", {"email": EMAIL, "password": "correct-horse-2026"})
    assert held.headers["Location"].startswith("/login/code")
    code = await mailed_code(client.app, EMAIL)
    await withdraw_by_import(await Member.get(id=account.member_id), clock)  # type: ignore[attr-defined]
    response = await post_form(client, "/login/code", {"code": code}, token_from="/login/code")
    assert response.status_code == 403
    assert WITHDRAWN in await response.get_data(as_text=True)
    assert await Session.all().count() == 0
    refused = await AuditEvent.filter(event="auth:login:failure", account_id=account.id)
    assert [e.data["reason"] for e in refused] == ["access_ended"]


async def test_mailed_code_does_not_start_a_session_after_a_stop(client) -> None:
    account = await make_account(email=EMAIL)
    await post_form(client, "/login", {"email": EMAIL, "password": "correct-horse-2026"})
    code = await mailed_code(client.app, EMAIL)
    await stop(account)
    response = await post_form(client, "/login/code", {"code": code}, token_from="/login/code")
    assert response.status_code in (400, 403)
    assert await Session.all().count() == 0


async def test_passkey_sign_in_is_refused_after_the_import(client, clock) -> None:
    account = await make_account(email=EMAIL)
    soft = SoftAuthenticator()
    await member_with_passkey(client, EMAIL, soft)
    clock.advance(minutes=1)
    assert (await passkey_sign_in(client, soft))[0] == 200  # it works while access lasts
    await post_form(client, "/logout", {}, token_from="/")
    await withdraw_by_import(await Member.get(id=account.member_id), clock)  # type: ignore[attr-defined]
    clock.advance(minutes=1)
    status, body = await passkey_sign_in(client, soft)
    assert status == 403
    assert WITHDRAWN in body["error"]
    assert await Session.filter(account_id=account.id).count() == 0
    status, _ = await page(client, "/card")
    assert status in (200, 303)  # signed out: no card of the member
    assert account.email not in _


async def test_registration_is_refused_after_the_import(app, client, clock) -> None:
    member = await make_member()
    initial = await issue(member, clock())
    # Half-way through the steps when the import arrives.
    assert (await identify(client, member, initial)).status_code == 303
    assert (await give_email(client, EMAIL)).status_code == 303
    assert (await give_code(client, await mailed_code(app, EMAIL))).status_code == 303
    await withdraw_by_import(member, clock)
    response = await give_password(client)
    assert response.status_code == 400
    assert "入力された内容では登録できません。" in await response.get_data(as_text=True)
    assert not await Account.filter(member_id=member.id).exists()
    assert await Session.all().count() == 0
    # And from the start, afterwards.
    fresh = app.test_client()
    response = await identify(fresh, member, await issue(member, clock()))
    assert response.status_code == 400
    assert "入力された内容では登録できません。" in await response.get_data(as_text=True)
