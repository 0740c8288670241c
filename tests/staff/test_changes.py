"""Staff review of profile change requests (E2) over HTTP, with members using the real forms."""

from __future__ import annotations

from datetime import timedelta

from quart import Quart

from server.audit.models import AuditEvent
from server.members.models import Member
from server.requests.models import ChangeGroup, ChangeRequest, ChangeState
from tests.factories import make_account, make_member
from tests.helpers import login, page, post_form, queued
from tests.imports.test_kept_facts import members_file, run
from tests.requests.test_changes import FORM  # the change form as the member fills it
from tests.smtp import deliver, mails_to
from tests.staff.helpers import signed_in_staff


async def _member(app: Quart, email: str = "hanako@example.jp", **fields: str):
    """A member with an account, signed in through /login (the sign-in mail is read and dropped)."""
    member = await make_member(
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        postal_code="371-0026",
        address="群馬県前橋市大手町1-1-1",
        phone="027-000-0000",
        **fields,
    )
    await make_account(member, email=email)
    client = app.test_client()
    assert (await login(client, email)).status_code == 303
    await deliver(app)
    return member, client


async def _send(client, **changes: str) -> None:
    """The member sends the profile-change form."""
    response = await post_form(client, "/profile/change", {**FORM, **changes})
    assert response.status_code == 303, await response.get_data(as_text=True)


async def test_queue_lists_open_requests_oldest_first_with_old_and_new_values(
    app: Quart, clock
) -> None:
    staff, _, _ = await signed_in_staff(app)
    member, client = await _member(app)
    await _send(client, address="群馬県高崎市高松町35-1", postal_code="370-0829")
    clock.advance(minutes=5)
    _, other_client = await _member(app, email="taro@example.jp", member_no="00054321")
    await _send(other_client, phone="090-1111-2222")

    status, html = await page(staff, "/staff/changes")
    assert status == 200
    assert "未処理（受付済・処理中）：2件" in html
    assert html.index(member.member_no) < html.index("00054321")  # oldest first
    assert "ご住所" in html and "電話番号" in html and "受付済" in html
    assert "2026年12月2日" in html and "予定日を過ぎています" not in html
    clock.advance(days=5)  # Thursday 3 December: past the expected date
    later, _, _ = await signed_in_staff(app)  # the first session timed out meanwhile
    _, html = await page(later, "/staff/changes")
    assert html.count("予定日を過ぎています") == 2

    request = await ChangeRequest.get(member_id=member.id)
    status, html = await page(later, f"/staff/changes/{request.id}")
    assert status == 200
    assert "変更前（申請時の登録内容）" in html and "変更後（申請された内容）" in html
    assert "郵便番号" in html and "住所" in html
    assert "群馬県前橋市大手町1-1-1" in html and "群馬県高崎市高松町35-1" in html
    assert "370-0829" in html and "371-0026" in html
    assert f"{member.member_no} 山田 花子" in html
    assert "hanako@example.jp" in html  # where the notice will go
    # A link to the member's page in the console, for the phone call that follows.
    assert f'<a href="/staff/members/{member.id}">' in html


async def test_approving_a_change_request_changes_the_card(app: Quart) -> None:
    staff, staff_user, _ = await signed_in_staff(app)
    member, client = await _member(app)
    await _send(client, surname="佐藤", surname_kana="サトウ")
    request = await ChangeRequest.get(member_id=member.id)
    assert request.group == ChangeGroup.NAME
    await deliver(app)
    before = len(mails_to("hanako@example.jp"))
    _, card = await page(client, "/card")
    assert "山田 花子" in card

    path = f"/staff/changes/{request.id}"
    response = await post_form(staff, f"{path}/approve", {}, token_from=path)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}?done=applied"
    status, html = await page(staff, response.headers["Location"])
    assert status == 200 and "登録内容に反映しました" in html and "反映済" in html
    assert "これ以上の操作はありません" in html and "/approve" not in html

    member = await Member.get(id=member.id)
    assert member.name == "佐藤 花子" and member.name_kana == "サトウ ハナコ"
    request = await ChangeRequest.get(id=request.id)
    assert request.state == ChangeState.APPLIED and request.staff_id == staff_user.id
    # The member's card (a fresh sign-in, like another visit) shows the new name.
    again = app.test_client()
    await login(again, "hanako@example.jp")
    status, card = await page(again, "/card")
    assert status == 200 and "佐藤 花子" in card and "サトウ ハナコ" in card
    assert "山田 花子" not in card
    _, profile = await page(client, "/profile/change")
    assert "反映済" in profile
    # The member is told by mail.
    await deliver(app)
    notices = mails_to("hanako@example.jp")[before:]
    assert [m.subject for m in notices if "反映済" in m.subject]
    [notice] = [m for m in notices if "反映済" in m.subject]
    assert "山田 花子 → 佐藤 花子" in notice.body
    # Audited as the staff member, from their browser.
    event = await AuditEvent.get(event="staff:change_request:approve")
    assert event.staff_id == staff_user.id and event.member_id == member.id
    assert event.actor == "staff" and event.data["request"] == request.id
    apply = await AuditEvent.get(event="requests:change:apply")
    assert apply.staff_id == staff_user.id and apply.ip == event.ip


async def test_approving_address_and_phone_writes_them_and_queues_push_notices(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    member, client = await _member(app)
    new_address = {"postal_code": "370-0829", "address": "群馬県高崎市高松町35-1"}
    await _send(client, phone="090-1234-5678", **new_address)
    requests = await ChangeRequest.filter(member_id=member.id).order_by("id")
    assert {r.group for r in requests} == {ChangeGroup.ADDRESS, ChangeGroup.PHONE}
    for request in requests:
        path = f"/staff/changes/{request.id}"
        assert (await post_form(staff, f"{path}/approve", {}, token_from=path)).status_code == 303
    member = await Member.get(id=member.id)
    assert (member.postal_code, member.address, member.phone) == (
        "370-0829",
        "群馬県高崎市高松町35-1",
        "090-1234-5678",
    )
    _, profile = await page(client, "/profile")
    assert "群馬県高崎市高松町35-1" in profile and "090-1234-5678" in profile
    # Members who chose change-request notices also get a push notice per request.
    notices = [q.payload for q in await queued("push")]
    assert [(n["topic"], n["member_id"]) for n in notices] == [("change_requests", member.id)] * 2
    assert all("反映済" in n["body"] for n in notices)


async def test_a_finished_request_cannot_be_approved_again(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    member, client = await _member(app)
    await _send(client, phone="090-1234-5678")
    request = await ChangeRequest.get(member_id=member.id)
    path = f"/staff/changes/{request.id}"
    assert (await post_form(staff, f"{path}/approve", {}, token_from=path)).status_code == 303
    # The member changes the phone again in the core system; a second approval must not run.
    await Member.filter(id=member.id).update(phone="027-999-9999")
    response = await post_form(staff, f"{path}/approve", {}, token_from=path)
    html = await response.get_data(as_text=True)
    assert response.status_code == 409
    assert "この申請は「反映済」のため、「反映済」にはできません。" in html
    assert (await Member.get(id=member.id)).phone == "027-999-9999"
    assert await AuditEvent.filter(event="staff:change_request:approve").count() == 1
    # Sending back a finished request is refused too.
    response = await post_form(staff, f"{path}/return", {"comment": "確認"}, token_from=path)
    assert response.status_code == 409
    assert (await ChangeRequest.get(id=request.id)).state == ChangeState.APPLIED


async def test_send_back_needs_a_comment_which_the_member_reads(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    member, client = await _member(app)
    await _send(client, address="群馬県前橋市本町2-2-2")
    request = await ChangeRequest.get(member_id=member.id)
    path = f"/staff/changes/{request.id}"
    await deliver(app)
    before = len(mails_to("hanako@example.jp"))

    response = await post_form(staff, f"{path}/return", {"comment": "  "}, token_from=path)
    html = await response.get_data(as_text=True)
    assert response.status_code == 409
    assert "差戻しの理由をコメントに書いてください。" in html
    assert (await ChangeRequest.get(id=request.id)).state == ChangeState.RECEIVED
    assert await AuditEvent.filter(event="staff:change_request:return").count() == 0
    await deliver(app)
    assert len(mails_to("hanako@example.jp")) == before

    comment = "番地が見つかりませんでした。\r\n建物名までご記入ください。"
    response = await post_form(staff, f"{path}/return", {"comment": comment}, token_from=path)
    assert response.status_code == 303
    _, html = await page(staff, response.headers["Location"])
    assert "差し戻しました" in html and "建物名までご記入ください。" in html
    assert (await Member.get(id=member.id)).address == "群馬県前橋市大手町1-1-1"
    _, profile = await page(client, "/profile/change")
    assert "差戻し" in profile and "番地が見つかりませんでした。" in profile
    await deliver(app)
    [notice] = mails_to("hanako@example.jp")[before:]
    assert "差戻し" in notice.subject and "建物名までご記入ください。" in notice.body
    assert await AuditEvent.filter(event="staff:change_request:return").count() == 1


async def test_processing_then_filters_by_state_and_pages(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    member, client = await _member(app)
    await _send(client, phone="090-1234-5678")
    request = await ChangeRequest.get(member_id=member.id)
    path = f"/staff/changes/{request.id}"
    response = await post_form(staff, f"{path}/processing", {}, token_from=path)
    assert response.status_code == 303
    _, html = await page(staff, response.headers["Location"])
    assert "「処理中」にしました" in html and "処理中にする" not in html
    _, profile = await page(client, "/profile/change")
    assert "処理中" in profile
    assert await AuditEvent.filter(event="staff:change_request:process").count() == 1

    _, html = await page(staff, "/staff/changes?state=processing")
    assert "処理中：1件" in html and member.member_no in html
    _, html = await page(staff, "/staff/changes?state=received")
    assert "受付済：0件" in html and member.member_no not in html
    await post_form(staff, f"{path}/approve", {}, token_from=path)
    _, html = await page(staff, "/staff/changes")
    assert "未処理（受付済・処理中）：0件" in html and "該当する変更届はありません" in html
    _, html = await page(staff, "/staff/changes?state=applied")
    assert "反映済：1件" in html and member.member_no in html

    # A long queue is paged, 50 to a page, the filter kept in the links.
    base = request.submitted_at
    for n in range(55):
        other = await make_member()
        await ChangeRequest.create(
            member=other,
            group=ChangeGroup.PHONE,
            state=ChangeState.RECEIVED,
            current_values={"phone": other.phone},
            new_values={"phone": f"090-0000-{n:04d}"},
            submitted_at=base + timedelta(minutes=n),
            expected_on=request.expected_on,
            updated_at=base + timedelta(minutes=n),
        )
    _, first = await page(staff, "/staff/changes?state=received")
    assert "受付済：55件" in first and first.count('class="change-request"') == 50
    assert 'href="?state=received&amp;page=2"' in first
    _, second = await page(staff, "/staff/changes?state=received&page=2")
    assert second.count('class="change-request"') == 5 and "2 / 2ページ" in second
    _, past = await page(staff, "/staff/changes?state=received&page=99")
    assert past.count('class="change-request"') == 5
    _, nonsense = await page(staff, "/staff/changes?state=bogus&page=x")
    assert "未処理（受付済・処理中）：55件" in nonsense


async def test_unknown_request_is_404_for_staff(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    status, html = await page(staff, "/staff/changes/999")
    assert status == 404 and "変更届が見つかりません" in html
    response = await post_form(staff, "/staff/changes/999/approve", {}, token_from="/staff/changes")
    assert response.status_code == 404


async def test_an_approved_change_waits_for_the_core_system_until_a_file_carries_it(
    app: Quart, clock
) -> None:
    staff, _, _ = await signed_in_staff(app)
    member, client = await _member(app, member_no="10000001")
    await _send(client, address="群馬県高崎市高松町35-1", postal_code="370-0829")
    request = await ChangeRequest.get(member_id=member.id)
    path = f"/staff/changes/{request.id}"
    assert (await post_form(staff, f"{path}/approve", {}, token_from=path)).status_code == 303
    _, html = await page(staff, path)
    assert '<dd class="change-state">基幹システム反映待ち</dd>' in html
    assert "古い内容のファイルを取り込んでも、承認した内容は残ります" in html

    row = {
        "member_no": "10000001",
        "name": "山田 花子",
        "name_kana": "ヤマダ ハナコ",
        "birth_date": "1980-05-05",
        "phone": "027-000-0000",
        "workplace": "前橋市立テスト小学校",
        "joined_on": "2015-04-01",
    }
    clock.advance(days=1)
    old = await run(clock, members_file(row))  # the core system has not caught up
    assert [k.kind for k in old.kept] == ["waiting", "waiting"]
    assert (await Member.get(id=member.id)).address == "群馬県高崎市高松町35-1"
    staff, _, _ = await signed_in_staff(app)  # the first session timed out meanwhile
    _, html = await page(staff, "/staff/changes?state=applied")
    assert "<td>基幹システム反映待ち</td>" in html

    clock.advance(days=1)
    new = members_file({**row, "postal_code": "370-0829", "address": "群馬県高崎市高松町35-1"})
    await run(clock, new, name="members-1130.csv")
    staff, _, _ = await signed_in_staff(app)
    _, html = await page(staff, path)
    assert '<dd class="change-state">反映済</dd>' in html
    assert "2026年11月30日 14:00に取り込んだ組合員ファイル「members-1130.csv」" in html
    _, html = await page(staff, "/staff/changes?state=applied")
    assert "<td>反映済</td>" in html and "基幹システム反映待ち" not in html
