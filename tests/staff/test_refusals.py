"""Refused requests in the access log: CSRF, admin-only, another's record, 429; capped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from quart import Quart

from server.app import create_app
from server.audit.events import RefusalEvent
from server.audit.models import AuditEvent
from server.audit.refusals import PER_ADDRESS, RefusalCap
from server.config import Settings
from server.inquiries.models import Inquiry
from server.lib.clock import FrozenClock
from server.staff.auditlog.labels import event_label
from tests.factories import make_account, make_member
from tests.helpers import login, page, post_form
from tests.passkeys.helpers import api
from tests.staff.helpers import new_staff, signed_in_staff
from tests.statements.factories import make_statement

ELSEWHERE = {"client": ("198.51.100.7", 40000)}


async def events(kind: RefusalEvent) -> list[AuditEvent]:
    """The recorded refusals of one kind, oldest first."""
    return await AuditEvent.filter(event=str(kind)).order_by("id")


async def test_csrf_refusal_is_recorded_with_method_path_and_address(app: Quart) -> None:
    """ASVS 16.3.3: a POST without a valid CSRF token leaves an event naming it."""
    client = app.test_client()
    response = await client.post("/login", form={"email": "a@example.jp", "password": "x"})
    assert response.status_code == 403
    [event] = await events(RefusalEvent.CSRF)
    assert event.actor == "anonymous" and event.ip == "<local>"  # the test client's address
    assert event.data == {
        "method": "POST",
        "path": "/login",
        "status": 403,
        "view": "auth.login_post",
    }


async def test_csrf_refusal_of_a_member_and_of_a_clerk_names_them(app: Quart) -> None:
    """ASVS 16.3.3: the refused member or clerk is on the event; tokens in the path are not."""
    account = await make_account(email="taro@example.jp")
    member_client = app.test_client()
    await login(member_client, "taro@example.jp")
    response = await member_client.post("/logout", form={"csrf_token": "forged"})
    assert response.status_code == 403
    staff_client, staff, _ = await signed_in_staff(app)
    response = await staff_client.post("/staff/logout", form={})
    assert response.status_code == 403
    # A set-up token in the path is redacted, as in the request log.
    token = "A" * 43
    response = await app.test_client().post(f"/staff/api/setup/{token}/options", json={})
    assert response.status_code == 403

    member_event, staff_event, setup_event = await events(RefusalEvent.CSRF)
    assert member_event.member_id == account.member_id and member_event.actor == "member"
    assert staff_event.staff_id == staff.id and staff_event.actor == "staff"
    assert staff_event.data["path"] == "/staff/logout"
    assert setup_event.data["path"] == "/staff/api/setup/***/options"
    assert token not in str(setup_event.data)


async def test_a_flood_of_csrf_failures_records_at_most_the_cap(
    settings: Settings, clock: FrozenClock
) -> None:
    """ASVS 16.3.3: 500 refused posts from one address write PER_ADDRESS events a minute."""
    # Rate limits off, so that all 500 reach the CSRF check (with them on, the
    # limiter answers 429 first, and those are capped the same way).
    app = create_app(settings.replace(rate_limits=False), clock=clock)
    async with app.test_app():
        await _flood(app)


async def _flood(app: Quart) -> None:
    client = app.test_client()
    for _ in range(500):
        response = await client.post("/login", form={"email": "a@example.jp"})
        assert response.status_code == 403
    assert len(await events(RefusalEvent.CSRF)) == PER_ADDRESS
    # Another address has its own allowance, and the next minute a new one.
    response = await client.post("/login", form={}, scope_base=ELSEWHERE)
    assert response.status_code == 403
    clock = app.config["MYPAGE_CLOCK"]
    clock.advance(minutes=1)
    await client.post("/login", form={})
    recorded = await events(RefusalEvent.CSRF)
    assert len(recorded) == PER_ADDRESS + 2
    assert recorded[-2].ip == "198.51.100.7"


def test_the_cap_also_bounds_all_addresses_together() -> None:
    """ASVS 16.3.3: many addresses at once cannot fill the log either."""
    cap = RefusalCap(per_address=2, per_kind=5)
    now = datetime(2026, 11, 28, 5, 0, 30, tzinfo=UTC)
    allowed = [cap.allow("security:csrf:refused", f"10.0.0.{i % 4}", now) for i in range(40)]
    assert allowed.count(True) == 5
    assert cap.allow("security:rate:limited", "10.0.0.1", now)  # kinds counted apart
    assert cap.allow("security:csrf:refused", "10.0.0.1", now.replace(minute=1))
    assert len(cap.counts) <= 2


async def test_admin_only_refusal_is_recorded(app: Quart) -> None:
    """ASVS 16.3.2: an operator's 403 on an admin-only page is on the log with the clerk."""
    client, operator, _ = await signed_in_staff(app, role="operator")
    response = await client.get("/staff/accounts")
    assert response.status_code == 403
    assert "管理者だけ" in await response.get_data(as_text=True)
    [event] = await events(RefusalEvent.AUTHZ)
    assert event.staff_id == operator.id
    assert event.data["path"] == "/staff/accounts" and event.data["status"] == 403


async def test_member_on_the_staff_console_is_recorded(app: Quart) -> None:
    """ASVS 16.3.2: a signed-in member who opens /staff gets 404, and the log says so."""
    account = await make_account(email="taro@example.jp")
    client = app.test_client()
    await login(client, "taro@example.jp")
    assert (await client.get("/staff/members")).status_code == 404
    [event] = await events(RefusalEvent.AUTHZ)
    assert event.member_id == account.member_id and event.data["path"] == "/staff/members"


@pytest.mark.parametrize("path", ["/statements/2026-11", "/statements/2026-11.pdf"])
async def test_another_members_record_is_recorded(app: Quart, path: str) -> None:
    """ASVS 16.3.2: a member's 404 on another member's statement is on the log."""
    owner = await make_member()
    await make_account(owner, email="owner@example.jp")
    await make_statement(owner, "2026-11", [43210])
    other = await make_account(email="other@example.jp")
    client = app.test_client()
    await login(client, "other@example.jp")
    assert (await client.get(path)).status_code == 404
    [event] = await events(RefusalEvent.RECORD)
    assert event.member_id == other.member_id and event.data["path"] == path
    # A visitor's 404 on a page that does not exist is not a refusal.
    assert (await app.test_client().get("/no-such-page")).status_code == 404
    assert len(await events(RefusalEvent.RECORD)) == 1


async def test_another_members_inquiry_is_recorded(app: Quart) -> None:
    """ASVS 16.3.2: a member's 404 on another member's inquiry is on the log."""
    await make_account(email="hanako@example.jp")
    owner = app.test_client()
    await login(owner, "hanako@example.jp")
    form = {"category": "other", "message": "私の問い合わせ", "action": "send"}
    await post_form(owner, "/inquiries/send", form, token_from="/inquiries/new")
    inquiry = await Inquiry.get()
    other_account = await make_account(email="taro@example.jp")
    other = app.test_client()
    await login(other, "taro@example.jp")
    status, _ = await page(other, f"/inquiries/{inquiry.id}")
    assert status == 404
    [event] = await events(RefusalEvent.RECORD)
    assert event.member_id == other_account.member_id
    assert event.data["path"] == f"/inquiries/{inquiry.id}"


async def test_429_is_recorded(app: Quart) -> None:
    """ASVS 16.3.2: the rate limiter's 429 is on the log, capped like the others."""
    client = app.test_client()
    statuses = [
        (await api(client, "/staff/api/login/options", page_="/staff/login"))[0] for _ in range(25)
    ]
    assert statuses.count(429) == 5
    [event, *_] = await events(RefusalEvent.RATE)
    assert event.data["view"] == "staff.login_options" and event.data["status"] == 429
    assert len(await events(RefusalEvent.RATE)) == 5


async def test_refusals_are_labelled_and_filtered_in_the_access_log(app: Quart) -> None:
    """ASVS 16.3.2: refused access has Japanese names and its own choice in /staff/access-log."""
    client, _, _ = await signed_in_staff(app, role="admin")
    await app.test_client().post("/login", form={})
    await new_staff(app)  # a recorded event of another kind
    recorded = await AuditEvent.all().values_list("event", flat=True)
    assert "security:csrf:refused" in recorded
    assert all(event_label(str(name)) != name for name in recorded)

    status, html = await page(client, "/staff/access-log")
    assert status == 200
    assert '<option value="security:">拒否されたアクセス（すべて）</option>' in html
    status, html = await page(client, "/staff/access-log?event=security%3A")
    assert status == 200
    table = html.split("<tbody>", 1)[1]
    assert "<code>security:csrf:refused</code>" in table
    assert "<code>staff:login:success</code>" not in table
    status, html = await page(client, "/staff/access-log?event=security:csrf:refused")
    assert status == 200 and "拒否：不正な送信（CSRF）" in html
