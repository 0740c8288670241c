"""Recovery by phone is never silent: the current address hears of it (ASVS 6.4.4)."""

from __future__ import annotations

import re

from quart import Quart

from server.account.models import InitialPassword
from server.audit.models import AuditEvent
from server.auth.models import Account
from server.lib.clock import FrozenClock
from server.members.models import Member
from tests.account.flows import register
from tests.factories import make_account, make_member
from tests.helpers import page, post_form
from tests.smtp import deliver, mails_to
from tests.staff.helpers import signed_in_staff

PASSWORD_RE = re.compile(r"\b([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})\b")
ISSUED_SUBJECT = "【群馬県学校生協】新しい初期パスワードを発行しました"
MOVED_SUBJECT = "【群馬県学校生協】マイページのログイン用メールアドレスが変更されました"


async def issue_on_the_phone(client, member: Member) -> str:  # type: ignore[no-untyped-def]
    """A clerk presses 「初期パスワードを発行」 on the member page; returns what was shown."""
    path = f"/staff/members/{member.id}"
    response = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    told = "ログイン用メールアドレスに、初期パスワードを発行したことをお知らせしました" in html
    assert told == await Account.filter(member_id=member.id).exists()
    [password] = set(PASSWORD_RE.findall(html))
    return password


async def test_a_new_initial_password_is_mailed_to_the_current_address(
    app: Quart, clock: FrozenClock
) -> None:
    """ASVS 6.4.4: the sign-in address is told, by whom and what to do; the clerk is recorded."""
    account = await make_account(email="hanako@example.jp")
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    staff_client, clerk, _ = await signed_in_staff(app, name="受付 一郎")
    password = await issue_on_the_phone(staff_client, member)
    await deliver(app)
    [mail] = mails_to("hanako@example.jp")
    assert mail.subject == ISSUED_SUBJECT
    assert "お電話でのご依頼により" in mail.body
    assert "2026年11月28日 14:00（日本時間）" in mail.body
    free_dial = app.config["MYPAGE_SETTINGS"].coop_free_dial
    assert f"すぐにフリーダイヤル {free_dial} までお電話ください" in mail.body
    assert password not in mail.body and password.replace("-", "") not in mail.body
    row = await InitialPassword.get(member_id=member.id)
    assert row.issued_by_id == clerk.id  # type: ignore[attr-defined]
    [event] = await AuditEvent.filter(event="account:initial_password:issue")
    assert event.staff_id == clerk.id and event.member_id == member.id
    assert event.data["issued_by"] == clerk.id and event.data["owner_mailed"] is True


async def test_a_member_without_an_account_gets_no_mail(app: Quart) -> None:
    """ASVS 6.4.4: with no sign-in address there is nobody to tell (the letter goes by post)."""
    member = await make_member(email="home@example.jp")
    staff_client, clerk, _ = await signed_in_staff(app)
    await issue_on_the_phone(staff_client, member)
    await deliver(app)
    assert mails_to("home@example.jp") == []
    assert (await InitialPassword.get(member_id=member.id)).issued_by_id == clerk.id  # type: ignore[attr-defined]


async def test_registering_again_with_another_address_tells_the_old_one(
    app: Quart, clock: FrozenClock
) -> None:
    """ASVS 6.4.4: the address that loses the account is told, with the free dial."""
    account = await make_account(email="old@example.jp")
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    staff_client, _, _ = await signed_in_staff(app)
    initial = await issue_on_the_phone(staff_client, member)
    clock.advance(minutes=10)
    assert (await register(app.test_client(), member, initial, "new@example.jp")).status_code == 303
    await deliver(app)
    issued, moved = mails_to("old@example.jp")
    assert issued.subject == ISSUED_SUBJECT and moved.subject == MOVED_SUBJECT
    assert "2026年11月28日 14:10（日本時間）" in moved.body
    free_dial = app.config["MYPAGE_SETTINGS"].coop_free_dial
    assert f"すぐにフリーダイヤル {free_dial} までお電話ください" in moved.body
    assert "new@example.jp" not in moved.body  # the new address is not handed to the old one
    assert all(m.subject != MOVED_SUBJECT for m in mails_to("new@example.jp"))
    [done] = await AuditEvent.filter(event="account:registration:complete")
    assert done.data["old_address_told"] is True


async def test_registering_again_with_the_same_address_sends_no_move_mail(
    app: Quart, clock: FrozenClock
) -> None:
    """ASVS 6.4.4: the same address gets the registration mail, not a second warning."""
    account = await make_account(email="hanako@example.jp")
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    staff_client, _, _ = await signed_in_staff(app)
    initial = await issue_on_the_phone(staff_client, member)
    client = app.test_client()
    assert (await register(client, member, initial, "hanako@example.jp")).status_code == 303
    await deliver(app)
    subjects = [m.subject for m in mails_to("hanako@example.jp")]
    assert ISSUED_SUBJECT in subjects and MOVED_SUBJECT not in subjects


async def test_an_admin_sees_every_issued_initial_password_with_its_clerk(app: Quart) -> None:
    """ASVS 6.4.4: /staff/access-log lists each issue, filtered by its event, with the clerk."""
    clerk_client, _, _ = await signed_in_staff(app, name="受付 一郎")
    first = await make_account()
    second = await make_member()
    await issue_on_the_phone(clerk_client, await Member.get(id=first.member_id))  # type: ignore[attr-defined]
    await issue_on_the_phone(clerk_client, second)
    admin, _, _ = await signed_in_staff(app, role="admin", name="管理 花子")
    status, html = await page(admin, "/staff/access-log?event=account%3Ainitial_password%3Aissue")
    assert status == 200
    table = html.split('<table class="table access-log">', 1)[1].split("</table>", 1)[0]
    rows = table.split('class="log-row"')[1:]
    assert len(rows) == 2
    assert all("初期パスワードの発行" in row and "受付 一郎" in row for row in rows)
    assert second.member_no in table
