"""The staff inquiry inbox (E3) over HTTP, with members sending through the real inquiry form."""

from __future__ import annotations

from quart import Quart

from server.audit.models import AuditEvent
from server.inquiries.models import Inquiry, InquiryNote, InquiryReply, InquiryState
from server.staff.models import StaffUser
from tests.factories import make_account, make_member
from tests.helpers import login, page, post_form
from tests.smtp import deliver, mails_to
from tests.staff.helpers import new_staff, signed_in_staff

WORKPLACE = "4月から高崎市立テスト中学校に異動しました。\n手続きをお願いします。"
BILLING = "11月分の請求に覚えのない品物があります。"


async def _member(app: Quart, email: str, name: str):
    """A member with an account, signed in through /login (the sign-in mail read and dropped)."""
    member = await make_member(name=name)
    await make_account(member, email=email)
    client = app.test_client()
    assert (await login(client, email)).status_code == 303
    await deliver(app)
    return member, client


async def _send(client, category: str, message: str) -> Inquiry:
    """The member's confirmed inquiry, through the form and its confirmation step."""
    response = await post_form(
        client,
        "/inquiries/send",
        {"category": category, "message": message, "action": "send"},
        token_from="/inquiries/new",
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    inquiry_id = int(response.headers["Location"].split("/")[2].split("?")[0])
    return await Inquiry.get(id=inquiry_id)


async def _post(staff, path: str, form: dict[str, str], inquiry: Inquiry):
    return await post_form(staff, path, form, token_from=f"/staff/inquiries/{inquiry.id}")


async def test_inbox_filters_by_category_and_state_with_counts(app: Quart, clock) -> None:
    staff, _, _ = await signed_in_staff(app)
    hanako, hanako_client = await _member(app, "hanako@example.jp", "山田 花子")
    taro, taro_client = await _member(app, "taro@example.jp", "鈴木 太郎")
    workplace = await _send(hanako_client, "workplace", WORKPLACE)
    clock.advance(minutes=3)
    billing = await _send(taro_client, "billing", BILLING)

    status, html = await page(staff, "/staff/inquiries")
    assert status == 200
    assert "<strong>未回答 2件</strong>" in html and "回答済 0件" in html and "すべて 2件" in html
    assert html.index(billing.receipt_no) < html.index(workplace.receipt_no)  # newest first
    assert "勤務先の変更" in html and "請求について" in html
    assert f"{hanako.member_no} 山田 花子" in html and "4月から高崎市立テスト中学校" in html

    _, html = await page(staff, "/staff/inquiries?category=billing")
    assert billing.receipt_no in html and workplace.receipt_no not in html
    assert "未回答・請求について：1件" in html

    response = await _post(
        staff, f"/staff/inquiries/{billing.id}/reply", {"body": "確認します。"}, billing
    )
    assert response.status_code == 303
    _, html = await page(staff, "/staff/inquiries")
    assert workplace.receipt_no in html and billing.receipt_no not in html
    assert "<strong>未回答 1件</strong>" in html and "回答済 1件" in html
    _, html = await page(staff, "/staff/inquiries?state=answered")
    assert billing.receipt_no in html and workplace.receipt_no not in html
    _, html = await page(staff, "/staff/inquiries?state=all&category=workplace")
    assert workplace.receipt_no in html and billing.receipt_no not in html
    assert "未回答 1件" in html and "回答済 0件" in html  # counts follow the category
    _, html = await page(staff, "/staff/inquiries?state=nonsense&category=nonsense")
    assert "<strong>未回答 1件</strong>" in html and workplace.receipt_no in html
    del taro


async def test_reply_is_mailed_and_shown_in_the_members_history(app: Quart) -> None:
    staff, staff_user, _ = await signed_in_staff(app, name="職員 一郎")
    _, client = await _member(app, "hanako@example.jp", "山田 花子")
    inquiry = await _send(client, "workplace", WORKPLACE)
    await deliver(app)
    before = len(mails_to("hanako@example.jp"))

    status, html = await page(staff, f"/staff/inquiries/{inquiry.id}")
    assert status == 200 and inquiry.receipt_no in html
    assert "高崎市立テスト中学校に異動しました。<br>手続きをお願いします。" in html
    assert "hanako@example.jp" in html and "まだ回答していません" in html

    body = "異動の手続きを承りました。\r\n来月の請求から新しい勤務先になります。"
    response = await _post(staff, f"/staff/inquiries/{inquiry.id}/reply", {"body": body}, inquiry)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/inquiries/{inquiry.id}?done=replied"
    _, html = await page(staff, response.headers["Location"])
    assert "回答を送りました" in html and "回答済" in html and "職員 一郎" in html
    assert "来月の請求から新しい勤務先になります。" in html

    inquiry = await Inquiry.get(id=inquiry.id)
    assert inquiry.state == InquiryState.ANSWERED and inquiry.answered_at is not None
    (reply,) = await InquiryReply.filter(inquiry_id=inquiry.id)
    assert reply.staff_id == staff_user.id
    await deliver(app)
    [mail] = mails_to("hanako@example.jp")[before:]
    assert inquiry.receipt_no in mail.subject and "回答" in mail.subject
    assert "来月の請求から新しい勤務先になります。" in mail.body
    _, history = await page(client, "/inquiries")
    assert inquiry.receipt_no in history and "回答済" in history
    _, detail = await page(client, f"/inquiries/{inquiry.id}")
    assert "来月の請求から新しい勤務先になります。" in detail

    event = await AuditEvent.get(event="staff:inquiry:reply")
    assert event.staff_id == staff_user.id and event.actor == "staff"
    assert event.member_id == inquiry.member_id  # type: ignore[attr-defined]
    assert event.data == {"inquiry": inquiry.id, "reply": reply.id}


async def test_empty_or_overlong_reply_is_refused_and_nothing_changes(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    _, client = await _member(app, "hanako@example.jp", "山田 花子")
    inquiry = await _send(client, "usage", "パスキーの登録方法を教えてください。")
    await deliver(app)
    before = len(mails_to("hanako@example.jp"))
    path = f"/staff/inquiries/{inquiry.id}/reply"

    response = await _post(staff, path, {"body": " \r\n "}, inquiry)
    assert response.status_code == 400
    assert "回答の内容を入力してください。" in await response.get_data(as_text=True)
    too_long = "あ" * 4001
    response = await _post(staff, path, {"body": too_long}, inquiry)
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "回答は4,000文字以内で入力してください。" in html
    assert too_long in html  # refilled, so the text is not lost

    assert await InquiryReply.all().count() == 0
    assert (await Inquiry.get(id=inquiry.id)).state == InquiryState.RECEIVED
    assert await AuditEvent.filter(event="staff:inquiry:reply").count() == 0
    await deliver(app)
    assert len(mails_to("hanako@example.jp")) == before
    _, html = await page(client, f"/inquiries/{inquiry.id}")
    assert "まだ回答はありません" in html


async def test_internal_notes_are_for_staff_only(app: Quart) -> None:
    staff, staff_user, _ = await signed_in_staff(app, name="職員 一郎")
    _, client = await _member(app, "hanako@example.jp", "山田 花子")
    inquiry = await _send(client, "billing", BILLING)
    note = "基幹システムで11月12日の注文を確認中。\n配送センターに問い合わせ済み。"
    path = f"/staff/inquiries/{inquiry.id}"

    response = await _post(staff, f"{path}/notes", {"body": "   "}, inquiry)
    assert response.status_code == 400
    assert "メモの内容を入力してください。" in await response.get_data(as_text=True)
    response = await _post(staff, f"{path}/notes", {"body": "あ" * 2001}, inquiry)
    assert response.status_code == 400
    assert "メモは2,000文字以内" in await response.get_data(as_text=True)
    assert await InquiryNote.all().count() == 0

    response = await _post(staff, f"{path}/notes", {"body": note}, inquiry)
    assert response.status_code == 303
    _, html = await page(staff, response.headers["Location"])
    assert "メモを追加しました" in html
    assert "配送センターに問い合わせ済み。" in html and "職員 一郎" in html
    assert (await Inquiry.get(id=inquiry.id)).state == InquiryState.RECEIVED  # not an answer

    await deliver(app)
    before = len(mails_to("hanako@example.jp"))
    await _post(staff, f"{path}/reply", {"body": "ただいま確認しております。"}, inquiry)
    await deliver(app)
    [mail] = mails_to("hanako@example.jp")[before:]
    assert "ただいま確認しております。" in mail.body and "配送センター" not in mail.body
    assert not [m for m in mails_to("info@Gmypage.jp") if "配送センター" in m.body]
    for member_page in ("/inquiries", f"/inquiries/{inquiry.id}"):
        status, html = await page(client, member_page)
        assert status == 200 and "配送センター" not in html and "メモ" not in html

    event = await AuditEvent.get(event="staff:inquiry:note")
    assert event.staff_id == staff_user.id
    assert "配送センター" not in str(event.data)  # the note's text stays out of the log


async def test_assignment_and_the_my_inquiries_filter(app: Quart) -> None:
    ichiro, ichiro_user, _ = await signed_in_staff(app, name="職員 一郎")
    jiro, jiro_user, _ = await signed_in_staff(app, name="職員 次郎")
    gone, _ = await new_staff(app, name="職員 退職")
    await StaffUser.filter(id=gone.id).update(active=False)
    _, hanako_client = await _member(app, "hanako@example.jp", "山田 花子")
    _, taro_client = await _member(app, "taro@example.jp", "鈴木 太郎")
    first = await _send(hanako_client, "capital", "出資金の残高を知りたいです。")
    second = await _send(taro_client, "other", "紙の明細に戻したいです。")

    _, html = await page(ichiro, f"/staff/inquiries/{first.id}")
    assert "自分の担当にする" in html and "職員 次郎" in html
    assert "職員 退職" not in html  # inactive staff are not offered
    response = await _post(
        ichiro, f"/staff/inquiries/{first.id}/assign", {"staff_id": str(ichiro_user.id)}, first
    )
    assert response.status_code == 303
    _, html = await page(ichiro, response.headers["Location"])
    assert "担当者を変更しました" in html
    assert '<dd class="inquiry-assigned">職員 一郎</dd>' in html and "自分の担当にする" not in html

    _, mine = await page(ichiro, "/staff/inquiries?assigned=me")
    assert first.receipt_no in mine and second.receipt_no not in mine
    _, theirs = await page(jiro, "/staff/inquiries?assigned=me")
    assert first.receipt_no not in theirs and "該当するお問い合わせはありません" in theirs
    _, nobody = await page(jiro, "/staff/inquiries?assigned=none")
    assert second.receipt_no in nobody and first.receipt_no not in nobody
    _, everyone = await page(jiro, "/staff/inquiries")
    assert first.receipt_no in everyone and "職員 一郎" in everyone

    # Handing it over to another active staff member.
    await _post(
        ichiro, f"/staff/inquiries/{first.id}/assign", {"staff_id": str(jiro_user.id)}, first
    )
    _, theirs = await page(jiro, "/staff/inquiries?assigned=me")
    assert first.receipt_no in theirs
    # Not to an inactive or unknown one: refused, nothing changed.
    for target in (str(gone.id), "99999", "abc"):
        response = await _post(
            jiro, f"/staff/inquiries/{first.id}/assign", {"staff_id": target}, first
        )
        assert response.status_code == 400
        assert "担当者を選び直してください" in await response.get_data(as_text=True)
    assert (await Inquiry.get(id=first.id)).assigned_staff_id == jiro_user.id
    # Unassigned again.
    await _post(jiro, f"/staff/inquiries/{first.id}/assign", {"staff_id": ""}, first)
    assert (await Inquiry.get(id=first.id)).assigned_staff_id is None
    _, nobody = await page(jiro, "/staff/inquiries?assigned=none")
    assert first.receipt_no in nobody

    events = await AuditEvent.filter(event__startswith="staff:inquiry:").order_by("id")
    assert [(e.event, e.staff_id, e.data.get("assigned_staff_id")) for e in events] == [
        ("staff:inquiry:assign", ichiro_user.id, ichiro_user.id),
        ("staff:inquiry:assign", ichiro_user.id, jiro_user.id),
        ("staff:inquiry:unassign", jiro_user.id, None),
    ]


async def test_unknown_inquiry_is_404_for_staff(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    status, html = await page(staff, "/staff/inquiries/999")
    assert status == 404 and "お問い合わせが見つかりません" in html
    response = await post_form(
        staff, "/staff/inquiries/999/notes", {"body": "x"}, token_from="/staff/inquiries"
    )
    assert response.status_code == 404
