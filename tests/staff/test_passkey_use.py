"""One use of a staff passkey, checked as a member's is: replays, counters, concurrent uses."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

from quart import Quart

from server.audit.events import StaffEvent
from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.passkeys.assertion import verified_use
from server.staff import signin
from server.staff.models import StaffPasskey, StaffSession, StaffUser
from tests.passkeys.helpers import api
from tests.passkeys.softauthn import SoftAuthenticator
from tests.staff.helpers import signed_in_staff, staff_sign_in

VERIFY = "/staff/api/login/verify"


async def events(name: str) -> list[AuditEvent]:
    return await AuditEvent.filter(event=name).order_by("id")


async def test_a_replayed_staff_assertion_is_refused_and_recorded(app: Quart) -> None:
    _, _, soft = await signed_in_staff(app)
    client = app.test_client()
    _, options = await api(client, "/staff/api/login/options", page_="/staff/login")
    assertion = soft.get(options["publicKey"])
    first, _ = await api(client, VERIFY, {"credential": assertion}, page_="/staff/login")
    assert first == 200
    client.cookie_jar.clear()  # type: ignore[attr-defined]
    again, body = await api(client, VERIFY, {"credential": assertion}, page_="/staff/login")
    assert again == 400
    assert body["error"] == "操作の有効期限が切れました。もう一度お試しください。"
    failures = await events(StaffEvent.LOGIN_FAILURE)
    assert [f.data["reason"] for f in failures] == ["challenge_replayed"]
    assert len(await events(StaffEvent.LOGIN_SUCCESS)) == 1


async def test_a_regressed_staff_counter_is_refused_and_recorded(app: Quart) -> None:
    """A passkey whose counter went backwards (a possible clone) signs no one in."""
    _, staff, soft = await signed_in_staff(app)
    status, _ = await staff_sign_in(app.test_client(), soft, sign_count=5)
    assert status == 200
    sessions = await StaffSession.filter(staff_id=staff.id).count()
    status, body = await staff_sign_in(app.test_client(), soft, sign_count=3)
    assert status == 400
    assert body["error"].startswith("このパスキーは安全のため使用できません。")
    assert "管理者に登録用リンクの再送を依頼してください。" in body["error"]
    [regression] = await events(StaffEvent.PASSKEY_COUNTER_REGRESSION)
    assert regression.staff_id == staff.id and regression.actor == "staff"
    assert regression.data["stored"] == 5 and regression.data["presented"] == 3
    passkey = await StaffPasskey.get(staff_id=staff.id)
    assert regression.data["passkey_id"] == passkey.id and passkey.sign_count == 5
    assert await StaffSession.filter(staff_id=staff.id).count() == sessions
    assert await events(StaffEvent.LOGIN_FAILURE) == []


async def test_two_concurrent_uses_of_one_staff_assertion_one_wins(app: Quart) -> None:
    _, _, soft = await signed_in_staff(app)
    client = app.test_client()
    _, options = await api(client, "/staff/api/login/options", page_="/staff/login")
    assertion = soft.get(options["publicKey"])
    results = await asyncio.gather(
        api(client, VERIFY, {"credential": assertion}, page_="/staff/login"),
        api(client, VERIFY, {"credential": assertion}, page_="/staff/login"),
    )
    assert sorted(status for status, _ in results) == [200, 400]
    assert len(await events(StaffEvent.LOGIN_SUCCESS)) == 1
    [failure] = await events(StaffEvent.LOGIN_FAILURE)
    assert failure.data["reason"] == "challenge_replayed"


async def _assertions(
    app: Quart, soft: SoftAuthenticator, bindings: list[str], sign_count: int
) -> list[dict[str, object]]:
    """One assertion per browser, each on its own challenge, all with the same counter."""
    rp = signin.relying_party(app.config["MYPAGE_SETTINGS"])
    now: datetime = app.config["MYPAGE_CLOCK"]()
    made = []
    for binding in bindings:
        options = await signin.sign_in_options(rp, binding, now)
        made.append(soft.get(options, sign_count=sign_count))
    return made


async def test_two_concurrent_uses_of_one_staff_counter_one_wins(app: Quart) -> None:
    """Both uses read the stored counter before either writes: the compare-and-set decides."""
    _, staff, soft = await signed_in_staff(app)
    bindings = ["browser-1", "browser-2"]
    assertions = await _assertions(app, soft, bindings, sign_count=7)
    both_read = asyncio.Barrier(2)
    handle = signin.STAFF.user_handle

    async def after_both_read(owner: StaffUser, now: datetime) -> bytes:
        await both_read.wait()
        return await handle(owner, now)

    signer = replace(signin.STAFF, user_handle=after_both_read)
    rp = signin.relying_party(app.config["MYPAGE_SETTINGS"])
    now = app.config["MYPAGE_CLOCK"]()
    uses = [
        verified_use(
            signer,
            assertion,
            rp,
            binding,
            now,
            Actor(kind="anonymous"),
            ceremony=signin.SIGN_IN,
            failure=StaffEvent.LOGIN_FAILURE,
        )
        for assertion, binding in zip(assertions, bindings, strict=True)
    ]
    results = await asyncio.gather(*uses, return_exceptions=True)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], signin.StaffSignInFailed)
    [failure] = await events(StaffEvent.LOGIN_FAILURE)
    assert failure.data["reason"] == "concurrent_use" and failure.staff_id == staff.id
    assert (await StaffPasskey.get(staff_id=staff.id)).sign_count == 7


async def test_a_second_use_with_the_same_counter_is_a_regression(app: Quart) -> None:
    """The same counter used again, one after the other, is refused as a possible clone."""
    _, _, soft = await signed_in_staff(app)
    status, _ = await staff_sign_in(app.test_client(), soft, sign_count=7)
    assert status == 200
    status, body = await staff_sign_in(app.test_client(), soft, sign_count=7)
    assert status == 400 and "安全のため使用できません" in body["error"]
    [regression] = await events(StaffEvent.PASSKEY_COUNTER_REGRESSION)
    assert regression.data["stored"] == 7 and regression.data["presented"] == 7
