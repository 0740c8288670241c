"""What the access log says about a sign-in: success only once the session starts (16.3.1)."""

from __future__ import annotations

from server.audit.events import STAFF_LABELS
from server.audit.models import AuditEvent
from server.auth.models import Account, Session
from server.lib.clock import FrozenClock
from server.members.models import Member
from tests.account.flows import issue, register
from tests.factories import PASSWORD, make_account, make_member
from tests.helpers import login, post_form
from tests.members.test_access_ended import withdraw_by_import
from tests.passkeys.helpers import member_with_passkey, passkey_sign_in
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import mailed_code

EMAIL = "hanako@example.jp"


async def names(member_id: int) -> list[str]:
    """The member's sign-in events, oldest first."""
    rows = await AuditEvent.filter(member_id=member_id, event__startswith="auth:login:").order_by(
        "id"
    )
    return [row.event for row in rows]


async def passkey_successes() -> list[AuditEvent]:
    """Sign-ins recorded as successful with a passkey."""
    rows = await AuditEvent.filter(event="auth:login:success").order_by("id")
    return [row for row in rows if (row.data or {}).get("method") == "passkey"]


async def test_password_and_code_leave_one_success_after_the_code(client) -> None:
    """ASVS 16.3.1: the password alone is 'password accepted, code sent', not a success."""
    account = await make_account(email=EMAIL)
    member_id = account.member_id  # type: ignore[attr-defined]
    held = await post_form(client, "/login", {"email": EMAIL, "password": PASSWORD})
    assert held.headers["Location"] == "/login/code"
    assert await names(member_id) == ["auth:login:password_ok"]
    code = await mailed_code(client.app, EMAIL)
    done = await post_form(client, "/login/code", {"code": code}, token_from="/login/code")
    assert done.status_code == 303 and await Session.all().count() == 1
    assert await names(member_id) == ["auth:login:password_ok", "auth:login:success"]
    success = await AuditEvent.get(event="auth:login:success")
    checked = await AuditEvent.get(event="account:login_code:success")
    assert success.id > checked.id
    assert success.data == {"method": "password", "via": "code"}
    assert success.account_id == account.id and success.actor == "member"
    assert STAFF_LABELS["auth:login:password_ok"]


async def test_a_wrong_code_leaves_no_success(client) -> None:
    """ASVS 16.3.1: a sign-in refused at the second factor is never logged as a success."""
    account = await make_account(email=EMAIL)
    await post_form(client, "/login", {"email": EMAIL, "password": PASSWORD})
    code = await mailed_code(client.app, EMAIL)
    wrong = "123456" if code != "123456" else "654321"
    response = await post_form(client, "/login/code", {"code": wrong}, token_from="/login/code")
    assert response.status_code == 400
    assert await names(account.member_id) == ["auth:login:password_ok"]  # type: ignore[attr-defined]
    assert await AuditEvent.filter(event="account:code:failure").count() == 1


async def test_a_code_after_access_ended_leaves_no_success(client, clock: FrozenClock) -> None:
    """ASVS 16.3.1: the right code for a withdrawn member starts nothing and logs no success."""
    account = await make_account(email=EMAIL)
    await post_form(client, "/login", {"email": EMAIL, "password": PASSWORD})
    code = await mailed_code(client.app, EMAIL)
    await withdraw_by_import(await Member.get(id=account.member_id), clock)  # type: ignore[attr-defined]
    response = await post_form(client, "/login/code", {"code": code}, token_from="/login/code")
    assert response.status_code == 403
    assert await names(account.member_id) == [  # type: ignore[attr-defined]
        "auth:login:password_ok",
        "auth:login:failure",
    ]


async def test_a_remembered_browser_logs_its_success_with_the_session(client, clock) -> None:
    """ASVS 16.3.1: without a code, the success is still the session's start, once."""
    account = await make_account(email=EMAIL)
    assert (await login(client, EMAIL)).status_code == 303  # remembers this browser
    await post_form(client, "/logout", {}, token_from="/")
    again = await post_form(client, "/login", {"email": EMAIL, "password": PASSWORD})
    assert again.headers["Location"] == "/"
    assert (await names(account.member_id))[-2:] == [  # type: ignore[attr-defined]
        "auth:login:password_ok",
        "auth:login:success",
    ]
    assert await AuditEvent.filter(event="auth:login:success").count() == 2
    refreshed = await Account.get(id=account.id)
    assert refreshed.last_login_at == clock()


async def test_a_passkey_for_a_withdrawn_member_leaves_no_success(client, clock) -> None:
    """ASVS 16.3.1: the passkey's own check passing is not a success when no session starts."""
    account = await make_account(email=EMAIL)
    soft = SoftAuthenticator()
    await member_with_passkey(client, EMAIL, soft)
    clock.advance(minutes=1)
    assert (await passkey_sign_in(client, soft))[0] == 200
    before = await passkey_successes()
    assert len(before) == 1 and before[0].data["multi_factor"] is True
    assert before[0].data["passkey_id"]
    await post_form(client, "/logout", {}, token_from="/")
    await withdraw_by_import(await Member.get(id=account.member_id), clock)  # type: ignore[attr-defined]
    clock.advance(minutes=1)
    status, _ = await passkey_sign_in(client, soft)
    assert status == 403
    after = await passkey_successes()
    assert len(after) == 1
    last = await AuditEvent.filter(member_id=account.member_id).order_by("-id").first()  # type: ignore[attr-defined]
    assert last is not None and last.event == "auth:login:failure"
    assert last.data["reason"] == "access_ended"


async def test_registration_logs_one_success_when_its_session_starts(app, client, clock) -> None:
    """ASVS 16.3.1: registering signs the member in: one success, with the session."""
    member = await make_member()
    initial = await issue(member, clock())
    assert (await register(client, member, initial, EMAIL)).status_code == 303
    [success] = await AuditEvent.filter(event="auth:login:success", member_id=member.id)
    complete = await AuditEvent.get(event="account:registration:complete")
    assert success.id > complete.id and success.data == {
        "method": "password",
        "via": "registration",
    }
    assert await Session.filter(account__member_id=member.id).count() == 1
