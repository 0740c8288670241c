"""Staff accounts screen: admins add staff (a set-up link is mailed), change roles, turn off."""

from __future__ import annotations

from quart import Quart

from server.audit.models import AuditEvent
from server.staff.models import StaffSession, StaffUser
from tests.helpers import page, post_form
from tests.smtp import deliver, mails_to
from tests.staff.helpers import signed_in_staff


async def test_admin_adds_a_staff_member_who_gets_a_set_up_link(app: Quart) -> None:
    client, admin, _ = await signed_in_staff(app, role="admin")
    response = await post_form(
        client,
        "/staff/accounts",
        {"name": "窓口 次郎", "email": "ＭＡＤＯＧＵＣＨＩ@coop.example.jp", "role": "operator"},
    )
    assert response.status_code == 303
    _, html = await page(client, response.headers["Location"])
    assert "リンクをメールで送りました" in html and "窓口 次郎" in html
    new = await StaffUser.get(email="madoguchi@coop.example.jp")
    assert new.role == "operator" and new.active
    await deliver(app)
    [mail] = mails_to("madoguchi@coop.example.jp")
    assert "/staff/setup/" in mail.body
    events = await AuditEvent.filter(staff_id=admin.id).values_list("event", flat=True)
    assert "staff:account:create" in events


async def test_bad_input_changes_nothing(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, role="admin")
    before = await StaffUser.all().count()
    for form, message in (
        ({"name": "", "email": "a@coop.example.jp", "role": "operator"}, "氏名を入力"),
        ({"name": "x", "email": "not-an-address", "role": "operator"}, "メールアドレスの形式"),
        ({"name": "x", "email": "b@coop.example.jp", "role": "root"}, "権限は"),
    ):
        response = await post_form(client, "/staff/accounts", form)
        assert response.status_code == 400
        assert message in await response.get_data(as_text=True)
    assert await StaffUser.all().count() == before


async def test_turning_a_staff_member_off_ends_their_sessions(app: Quart) -> None:
    admin_client, _, _ = await signed_in_staff(app, role="admin")
    operator_client, operator, _ = await signed_in_staff(app, role="operator")
    assert (await operator_client.get("/staff/")).status_code == 200
    response = await post_form(
        admin_client,
        f"/staff/accounts/{operator.id}",
        {"role": "operator", "active": "0"},
        token_from="/staff/accounts",
    )
    assert response.status_code == 303
    assert await StaffSession.filter(staff_id=operator.id).count() == 0
    assert (await operator_client.get("/staff/")).status_code == 303


async def test_an_admin_cannot_demote_or_turn_off_themselves(app: Quart) -> None:
    client, admin, _ = await signed_in_staff(app, role="admin")
    response = await post_form(
        client,
        f"/staff/accounts/{admin.id}",
        {"role": "operator", "active": "1"},
        token_from="/staff/accounts",
    )
    assert response.status_code == 400
    assert "自分自身の権限" in await response.get_data(as_text=True)
    assert (await StaffUser.get(id=admin.id)).role == "admin"


async def test_operators_cannot_reach_staff_accounts(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, role="operator")
    status, html = await page(client, "/staff/accounts")
    assert status == 403 and "管理者だけが行えます" in html
    _, html = await page(client, "/staff/")
    assert "職員アカウント" not in html
    response = await post_form(
        client,
        "/staff/accounts",
        {"name": "x", "email": "c@coop.example.jp", "role": "admin"},
        token_from="/staff/",
    )
    assert response.status_code == 403
    assert not await StaffUser.filter(email="c@coop.example.jp").exists()
