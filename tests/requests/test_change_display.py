"""Issue 19 item 5: change requests list only real changes, keep the pending values in the
form, name the card only for a new name, and mark the fields in error (no JavaScript)."""

from __future__ import annotations

import re

from quart import Quart

from server.requests.models import ChangeRequest, ChangeState
from tests.factories import make_account, make_member
from tests.helpers import login, page, post_form
from tests.requests.test_changes import FORM
from tests.smtp import deliver, mails_to
from tests.staff.helpers import signed_in_staff

CARD_SENTENCE = "デジタル組合員証のお名前も"


async def _member(app: Quart, **fields: str):
    values = {
        "name": "山田 花子",
        "name_kana": "ヤマダ ハナコ",
        "postal_code": "371-0026",
        "address": "群馬県前橋市大手町1-1-1",
        "phone": "027-000-0000",
        **fields,
    }
    member = await make_member(**values)
    await make_account(member, email="hanako@example.jp")
    client = app.test_client()
    assert (await login(client, "hanako@example.jp")).status_code == 303
    await deliver(app)
    return member, client


async def _send(client, **changes: str):
    return await post_form(client, "/profile/change", {**FORM, **changes})


async def test_an_unchanged_postcode_is_not_listed_as_a_change(app: Quart) -> None:
    _, client = await _member(app)
    before = len(mails_to("hanako@example.jp"))
    response = await _send(client, address="群馬県前橋市本町2-2-2")
    assert response.status_code == 303
    _, html = await page(client, response.headers["Location"])
    section = html[html.index('id="change-requests-title"') :]
    assert "本町2-2-2" in section
    assert "郵便番号" not in section  # only the address changed
    await deliver(app)
    [mail] = mails_to("hanako@example.jp")[before:]
    assert "住所：群馬県前橋市大手町1-1-1 → 群馬県前橋市本町2-2-2" in mail.body
    assert "371-0026 → 371-0026" not in mail.body and "郵便番号" not in mail.body


async def test_the_same_value_written_differently_is_no_change(app: Quart) -> None:
    # Registered without hyphens by the core system; typed with them (and full width).
    member, client = await _member(app, postal_code="3710026", phone="0270000000")
    response = await _send(client, postal_code="３７１－００２６", phone="027-000-0000")
    assert response.status_code == 400
    assert "変更された項目がありません" in await response.get_data(as_text=True)
    assert await ChangeRequest.filter(member_id=member.id).count() == 0


async def test_after_sending_the_form_shows_the_pending_values(app: Quart) -> None:
    member, client = await _member(app)
    response = await _send(client, phone="090-1111-2222")
    location = response.headers["Location"]
    assert location == "/profile/change?sent=phone"
    _, html = await page(client, location)
    assert 'name="phone" type="tel" value="090-1111-2222"' in html
    assert "申請中の内容を表示しています" in html
    assert "変更の申請を受け付けました" in html
    assert CARD_SENTENCE not in html  # the name did not change
    # Sending the shown form again is no new request (nothing changed from the pending one).
    again = await _send(client, phone="090-1111-2222")
    assert again.status_code == 400
    assert await ChangeRequest.filter(member_id=member.id).count() == 1


async def test_the_card_is_mentioned_when_the_name_changes(app: Quart) -> None:
    _, client = await _member(app)
    response = await _send(client, surname="佐藤", surname_kana="サトウ")
    assert response.headers["Location"] == "/profile/change?sent=name"
    _, html = await page(client, response.headers["Location"])
    assert CARD_SENTENCE in html
    assert 'name="surname" type="text" value="佐藤"' in html


async def test_errors_mark_the_fields_and_the_summary_comes_first(app: Quart) -> None:
    _, client = await _member(app)
    response = await _send(client, postal_code="12", phone="abc")
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    summary = html.index('class="alert alert-error error-summary"')
    assert summary < html.index('action="/profile/change"')
    assert '<a href="#f-postal_code">郵便番号は7桁の数字で入力してください' in html
    assert '<a href="#f-phone">電話番号は0から始まる10桁または11桁' in html
    postal = re.search(r'<input id="f-postal_code"[^>]*>', html)
    phone = re.search(r'<input id="f-phone"[^>]*>', html)
    address = re.search(r'<input id="f-address"[^>]*>', html)
    assert postal and phone and address
    assert 'aria-invalid="true"' in postal.group(0) and 'aria-invalid="true"' in phone.group(0)
    assert 'aria-describedby="h-postal_code e-postal_code"' in postal.group(0)
    assert 'aria-describedby="e-phone"' in phone.group(0)
    assert '<p class="field-error" id="e-postal_code">郵便番号は7桁' in html
    assert "aria-invalid" not in address.group(0)
    # Focus goes to the first field in error, without JavaScript.
    assert html.count(" autofocus") == 1 and " autofocus" in postal.group(0)


async def test_staff_see_the_real_before_and_after(app: Quart) -> None:
    staff, _, _ = await signed_in_staff(app)
    member, client = await _member(app)
    await _send(client, address="群馬県高崎市高松町35-1")
    request = await ChangeRequest.get(member_id=member.id)
    path = f"/staff/changes/{request.id}"
    response = await post_form(staff, f"{path}/approve", {}, token_from=path)
    assert response.status_code == 303
    await request.refresh_from_db()
    assert request.state == ChangeState.APPLIED
    _, html = await page(staff, path)
    table = html[html.index('<table class="table change-values">') : html.index("</table>")]
    rows = dict(re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table, re.S))
    # Applied: before is what was registered, after is the new address (not new → new).
    assert "群馬県前橋市大手町1-1-1" in rows["住所"]
    assert "<strong>群馬県高崎市高松町35-1</strong>" in rows["住所"]
    assert "371-0026" in rows["郵便番号"] and "変更なし" in rows["郵便番号"]
    assert "変更なし" not in rows["住所"]


async def test_the_applied_mail_names_the_card_only_for_a_new_name(app: Quart, settings) -> None:
    from server.requests.changes import set_change_state

    member, client = await _member(app)
    await _send(client, phone="090-1111-2222")
    await _send(client, surname="佐藤", surname_kana="サトウ")
    await deliver(app)
    before = len(mails_to("hanako@example.jp"))
    for request in await ChangeRequest.filter(member_id=member.id).order_by("id"):
        await set_change_state(request.id, ChangeState.APPLIED, settings, request.submitted_at)
    await deliver(app)
    phone_mail, name_mail = mails_to("hanako@example.jp")[before:]
    assert "電話番号" in phone_mail.body and "デジタル組合員証" not in phone_mail.body
    assert "お名前" in name_mail.body and "デジタル組合員証の表示も新しい内容" in name_mail.body
