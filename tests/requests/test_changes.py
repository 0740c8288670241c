"""Profile change requests over HTTP, and the staff side as service calls."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from server.lib.business_days import BusinessCalendar
from server.members.models import Member
from server.requests.changes import ChangeStateError, expected_completion, set_change_state
from server.requests.models import ChangeGroup, ChangeRequest, ChangeState
from tests.factories import make_account, make_member
from tests.helpers import login, page, post_form

# Friday 20 November 2026, 10:00 in Japan; Monday 23rd is 勤労感謝の日.
FRIDAY_BEFORE_HOLIDAY = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

FORM = {
    "surname": "山田",
    "given_name": "花子",
    "surname_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "postal_code": "371-0026",
    "address": "群馬県前橋市大手町1-1-1",
    "phone": "027-000-0000",
}


async def _member_signed_in(client, **fields):
    member = await make_member(
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        postal_code="371-0026",
        address="群馬県前橋市大手町1-1-1",
        phone="027-000-0000",
        **fields,
    )
    account = await make_account(member, email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    return member, account


async def _send(client, **changes: str):
    return await post_form(client, "/profile/change", {**FORM, **changes})


async def test_form_is_filled_and_explains_workplace(client) -> None:
    await _member_signed_in(client)
    status, html = await page(client, "/profile/change")
    assert status == 200
    assert 'name="surname" type="text" value="山田"' in html
    assert 'name="given_name_kana" type="text" value="ハナコ"' in html
    assert "勤務先の変更は、この画面では受け付けできません" in html
    assert 'href="/inquiries/new?category=workplace"' in html
    assert "変更の申請はありません" in html


async def test_expected_date_skips_the_weekend_and_a_holiday(client, clock, mails) -> None:
    clock.now = FRIDAY_BEFORE_HOLIDAY
    member, account = await _member_signed_in(client)
    await mails.clear()  # the sign-in code is not what this test reads
    response = await _send(client, surname="佐藤", surname_kana="サトウ")
    assert response.status_code == 303
    request = await ChangeRequest.get(member_id=member.id)
    assert request.group == ChangeGroup.NAME
    assert request.state == ChangeState.RECEIVED
    # Sat 21, Sun 22 and the holiday Mon 23 do not count: Tue 24, Wed 25, Thu 26.
    assert request.expected_on == date(2026, 11, 26)
    assert request.current_values == {"name": "山田 花子", "name_kana": "ヤマダ ハナコ"}
    assert request.new_values == {"name": "佐藤 花子", "name_kana": "サトウ ハナコ"}
    _, html = await page(client, response.headers["Location"])
    assert "変更の申請を受け付けました" in html
    assert "受付済" in html and "2026年11月26日" in html
    assert "山田 花子" in html and "佐藤 花子" in html
    (mail,) = await mails.to(account.email)
    assert "2026年11月26日" in mail.body and "佐藤 花子" in mail.body
    await member.refresh_from_db()
    assert member.name == "山田 花子"  # nothing changes until staff apply it


def test_expected_date_uses_the_day_in_japan_and_closed_days(settings) -> None:
    # 16:00 UTC on Friday is already Saturday in Japan.
    late_friday = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert expected_completion(late_friday, settings) == date(2026, 11, 26)
    new_year = settings.replace(coop_closed_days=("12-29", "12-30", "12-31", "01-02", "01-03"))
    assert expected_completion(datetime(2026, 12, 28, 1, tzinfo=UTC), new_year) == date(
        2027, 1, 6
    )  # 1 Jan holiday, 2-3 closed/weekend, 4-5-6
    assert BusinessCalendar().is_business_day(date(2026, 11, 23)) is False


async def test_full_width_and_hiragana_are_normalised(client) -> None:
    member, _ = await _member_signed_in(client)
    response = await _send(
        client,
        postal_code="３７０－０８０１",
        address="群馬県高崎市上並榎町１２３",
        phone="０２７－１２３－４５６７",
        surname_kana="やまだ",
    )
    assert response.status_code == 303
    rows = {r.group: r for r in await ChangeRequest.filter(member_id=member.id)}
    assert rows[ChangeGroup.ADDRESS].new_values["postal_code"] == "370-0801"
    assert rows[ChangeGroup.PHONE].new_values["phone"] == "027-123-4567"
    assert ChangeGroup.NAME not in rows  # やまだ is ヤマダ: no change


async def test_bad_values_are_listed_and_the_form_refilled(client) -> None:
    await _member_signed_in(client)
    response = await _send(client, surname="", postal_code="12", phone="abc", surname_kana="Yamada")
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "姓を入力してください。" in html
    assert "郵便番号は7桁の数字で入力してください" in html
    assert "電話番号は0から始まる10桁または11桁" in html
    assert "セイはカタカナ" in html
    assert 'value="Yamada"' in html
    assert await ChangeRequest.all().count() == 0


async def test_nothing_changed_is_refused(client) -> None:
    await _member_signed_in(client)
    response = await _send(client)
    assert response.status_code == 400
    assert "変更された項目がありません" in await response.get_data(as_text=True)


async def test_a_new_request_replaces_the_open_one_with_a_note(client) -> None:
    member, _ = await _member_signed_in(client)
    await _send(client, address="群馬県前橋市本町2-2-2")
    await _send(client, address="群馬県前橋市本町3-3-3")
    rows = await ChangeRequest.filter(member_id=member.id).order_by("id")
    assert [r.state for r in rows] == [ChangeState.REPLACED, ChangeState.RECEIVED]
    assert "この申請に置き換えました" in rows[1].note
    _, html = await page(client, "/profile/change")
    assert "本町3-3-3" in html and "本町2-2-2" not in html
    assert "この申請に置き換えました" in html


async def test_staff_apply_changes_the_member_and_the_name_shown(
    client, settings, clock, mails
) -> None:
    member, account = await _member_signed_in(client)
    await _send(client, surname="佐藤", surname_kana="サトウ")
    request = await ChangeRequest.get(member_id=member.id)
    await mails.clear()
    await set_change_state(request.id, ChangeState.PROCESSING, settings, clock.now, staff_id=1)
    _, html = await page(client, "/profile/change")
    assert "処理中" in html
    await set_change_state(request.id, ChangeState.APPLIED, settings, clock.now, staff_id=1)
    member = await Member.get(id=member.id)
    assert member.name == "佐藤 花子" and member.name_kana == "サトウ ハナコ"
    _, home = await page(client, "/")
    assert "佐藤 花子 様" in home
    _, html = await page(client, "/profile/change")
    assert "反映済" in html
    states = [m.subject for m in await mails.to(account.email)]
    assert len(states) == 2 and "処理中" in states[0] and "反映済" in states[1]
    # The same updates are queued as push notices (topic: change-request updates).
    from tests.helpers import queued

    notices = [q.payload for q in await queued("push")]
    assert [(n["topic"], n["member_id"]) for n in notices] == [("change_requests", member.id)] * 2
    assert "反映済" in notices[1]["body"] and notices[1]["mail_fallback"] is False
    with pytest.raises(ChangeStateError):
        await set_change_state(request.id, ChangeState.RETURNED, settings, clock.now, comment="x")


async def test_staff_send_back_needs_a_comment_that_the_member_sees(
    client, settings, clock, mails
) -> None:
    member, account = await _member_signed_in(client)
    await _send(client, phone="090-1234-5678")
    request = await ChangeRequest.get(member_id=member.id)
    with pytest.raises(ChangeStateError, match="コメント"):
        await set_change_state(request.id, ChangeState.RETURNED, settings, clock.now)
    await set_change_state(
        request.id, ChangeState.RETURNED, settings, clock.now, comment="番号の桁をご確認ください。"
    )
    _, html = await page(client, "/profile/change")
    assert "差戻し" in html and "番号の桁をご確認ください。" in html
    assert "番号の桁をご確認ください。" in (await mails.to(account.email))[-1].body
    await member.refresh_from_db()
    assert member.phone == "027-000-0000"


async def test_another_members_requests_are_not_shown(app, client) -> None:
    await _member_signed_in(client)
    await _send(client, address="群馬県前橋市本町9-9-9")
    other = app.test_client()
    await make_account(email="taro@example.jp")
    await login(other, "taro@example.jp")
    _, html = await page(other, "/profile/change")
    assert "本町9-9-9" not in html and "変更の申請はありません" in html


async def test_profile_shows_the_pending_request_with_its_date(client, clock) -> None:
    clock.now = FRIDAY_BEFORE_HOLIDAY
    await _member_signed_in(client)
    assert (await _send(client, surname="佐藤", surname_kana="サトウ")).status_code == 303
    status, html = await page(client, "/profile")
    assert status == 200
    assert "登録内容の変更申請" in html and "受付済" in html
    assert "2026年11月26日" in html and "佐藤 花子" in html
