"""Co-op notices: admins write them, members read them on the home page, some are pushed."""

from __future__ import annotations

from datetime import date
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol as HttpClient

from server.audit.models import AuditEvent
from server.config import Settings
from server.lib.clock import FrozenClock
from server.notices.models import CoopNotice
from server.outbox.models import OutboxMessage
from server.push.delivery import deliver_notice
from server.push.sender import PushClient
from server.push.vapid import load_vapid
from tests.factories import make_account
from tests.helpers import login, page, post_form, queued

# The push tests' fixtures: settings aimed at the local receiver, and the receiver.
from tests.push.conftest import receiver, settings  # noqa: F401
from tests.push.receiver import Device, PushReceiver
from tests.staff.helpers import signed_in_staff

NOTICES = "/staff/notices"
TODAY = "2026-11-28"  # the clock's day in Japan (14:00 JST)


def notice_form(**values: Any) -> dict[str, Any]:
    form = {
        "title": "年末年始の配達について",
        "body": "12月29日から1月3日まで\n配達をお休みします。",
    }
    form.update(starts_on=TODAY, ends_on="")
    form.update(values)
    return form


async def signed_in_member(app: Quart) -> tuple[HttpClient, int]:
    account = await make_account()
    client = app.test_client()
    assert (await login(client, account.email)).status_code == 303
    return client, account.member_id  # type: ignore[attr-defined]


async def home(client: HttpClient) -> str:
    status, html = await page(client, "/")
    assert status == 200
    return html


async def test_admin_writes_a_notice_and_a_member_sees_it_on_home(app: Quart) -> None:
    admin, staff, _ = await signed_in_staff(app, role="admin")
    member, _ = await signed_in_member(app)
    assert "生協からのお知らせ" not in await home(member)  # nothing shown when there is none

    body = "12月29日から1月3日まで\n<b>配達</b>をお休みします。\n\n\n\nよろしくお願いします。"
    response = await post_form(admin, NOTICES, notice_form(body=body, ends_on="2027-01-03"))
    assert response.status_code == 303
    assert response.headers["Location"] == f"{NOTICES}?done=created"
    status, html = await page(admin, response.headers["Location"])
    assert status == 200 and "お知らせを作成しました" in html and "掲載中" in html

    html = await home(member)
    assert "生協からのお知らせ" in html and "年末年始の配達について" in html
    assert "2026年11月28日" in html
    # Line breaks kept, markup escaped, runs of blank lines become one paragraph break.
    assert "12月29日から1月3日まで<br>&lt;b&gt;配達&lt;/b&gt;をお休みします。</p>" in html
    assert "<p>よろしくお願いします。</p>" in html

    [notice] = await CoopNotice.all()
    assert notice.created_by_id == staff.id  # type: ignore[attr-defined]
    assert (notice.starts_on, notice.ends_on, notice.pushed_at) == (
        date(2026, 11, 28),
        date(2027, 1, 3),
        None,
    )
    [event] = await AuditEvent.filter(event="staff:notice:create")
    assert event.staff_id == staff.id and event.data["notice_id"] == notice.id
    assert await OutboxMessage.filter(channel="push").count() == 0


async def test_ended_withdrawn_and_future_notices_are_not_shown(
    app: Quart, clock: FrozenClock
) -> None:
    admin, staff, _ = await signed_in_staff(app, role="admin")
    member, _ = await signed_in_member(app)
    await post_form(admin, NOTICES, notice_form(title="今日だけのお知らせ", ends_on=TODAY))
    await post_form(admin, NOTICES, notice_form(title="取り下げるお知らせ"))
    await post_form(admin, NOTICES, notice_form(title="明日からのお知らせ", starts_on="2026-11-29"))
    html = await home(member)
    assert "今日だけのお知らせ" in html and "取り下げるお知らせ" in html
    assert "明日からのお知らせ" not in html
    status, listing = await page(admin, NOTICES)
    assert status == 200 and listing.count("掲載中") >= 2 and "予定" in listing

    withdrawn = await CoopNotice.get(title="取り下げるお知らせ")
    response = await post_form(admin, f"{NOTICES}/{withdrawn.id}/withdraw", {}, token_from=NOTICES)
    assert response.status_code == 303
    assert "取り下げるお知らせ" not in await home(member)
    [event] = await AuditEvent.filter(event="staff:notice:withdraw")
    assert event.staff_id == staff.id and event.data["notice_id"] == withdrawn.id
    again = await post_form(admin, f"{NOTICES}/{withdrawn.id}/withdraw", {}, token_from=NOTICES)
    assert again.status_code == 409
    assert "すでに取り下げられています" in await again.get_data(as_text=True)
    missing = await post_form(admin, f"{NOTICES}/999999/withdraw", {}, token_from=NOTICES)
    assert missing.status_code == 404

    # The next day in Japan: the one-day notice has ended, tomorrow's has begun.
    clock.advance(hours=10)  # 00:00 on 29 November in Japan
    member, _ = await signed_in_member(app)
    html = await home(member)
    assert "今日だけのお知らせ" not in html and "明日からのお知らせ" in html


async def test_operator_may_read_the_list_but_not_write_or_withdraw(app: Quart) -> None:
    admin, _, _ = await signed_in_staff(app, role="admin")
    await post_form(admin, NOTICES, notice_form())
    notice = await CoopNotice.get()
    operator, _, _ = await signed_in_staff(app, role="operator")
    status, html = await page(operator, NOTICES)
    assert status == 200 and "年末年始の配達について" in html
    assert "お知らせを作成" not in html and "取り下げ</button>" not in html

    response = await post_form(operator, NOTICES, notice_form(title="担当者のお知らせ"))
    assert response.status_code == 403
    assert "この操作は管理者だけが行えます。" in await response.get_data(as_text=True)
    response = await post_form(operator, f"{NOTICES}/{notice.id}/withdraw", {}, token_from=NOTICES)
    assert response.status_code == 403
    assert await CoopNotice.filter(withdrawn_at=None).count() == 1
    assert not await CoopNotice.exists(title="担当者のお知らせ")


async def test_bad_input_is_refused_in_japanese_and_nothing_is_stored(app: Quart) -> None:
    admin, _, _ = await signed_in_staff(app, role="admin")
    cases = [
        (notice_form(title="  "), "タイトルを入力してください。"),
        (notice_form(title="あ" * 101), "タイトルは100文字以内で入力してください。"),
        (notice_form(body=""), "本文を入力してください。"),
        (notice_form(body="あ" * 2001), "本文は2000文字以内で入力してください"),
        (notice_form(starts_on=""), "掲載開始日を入力してください。"),
        (notice_form(starts_on="11月28日"), "掲載開始日は 2026-12-01 の形で入力してください。"),
        (notice_form(starts_on="2026-11-27"), "掲載開始日は今日以降の日付にしてください。"),
        (
            notice_form(starts_on="2026-12-10", ends_on="2026-12-01"),
            "掲載終了日は掲載開始日と同じ日か、それより後にしてください。",
        ),
        (
            notice_form(starts_on="2026-12-01", push="1"),
            "プッシュ通知は、掲載開始日が今日のお知らせだけ送れます。",
        ),
    ]
    for form, message in cases:
        response = await post_form(admin, NOTICES, form)
        html = await response.get_data(as_text=True)
        assert response.status_code == 400, form
        assert message in html, form
        # The form comes back filled in, so nothing typed is lost.
        assert f'value="{form["starts_on"]}"' in html, form
    assert await CoopNotice.all().count() == 0
    assert await OutboxMessage.filter(channel="push").count() == 0
    assert await AuditEvent.filter(event="staff:notice:create").count() == 0


async def subscribe(client: HttpClient, device: Device) -> None:
    """What the page script does: fetch the key and CSRF token, POST toJSON()."""
    key = await (await client.get("/api/push/key")).get_json()
    response = await client.post(
        "/api/push/subscriptions",
        json=device.to_json(),
        headers={"X-CSRF-Token": key["csrfToken"], "User-Agent": "Mozilla/5.0 Chrome/131.0"},
    )
    assert response.status_code == 201, await response.get_data(as_text=True)


async def test_push_reaches_only_members_who_chose_coop_notices(
    app: Quart,
    settings: Settings,  # noqa: F811
    clock: FrozenClock,
    receiver: PushReceiver,  # noqa: F811
) -> None:
    wants, wants_id = await signed_in_member(app)
    device = Device(receiver.endpoint())
    await subscribe(wants, device)
    saved = await post_form(
        wants, "/settings/notifications", {"coop_notices": "on", "new_statement": "on"}
    )
    assert saved.status_code == 303
    other, other_id = await signed_in_member(app)  # a device, but coop notices off (default)
    await subscribe(other, Device(receiver.endpoint()))
    await signed_in_member(app)  # chose nothing and has no device

    admin, _, _ = await signed_in_staff(app, role="admin")
    response = await post_form(admin, NOTICES, notice_form(push="1"))
    assert response.status_code == 303
    assert response.headers["Location"] == f"{NOTICES}?done=pushed&queued=1"
    status, html = await page(admin, response.headers["Location"])
    assert status == 200 and "プッシュ通知を1人分送信待ちにしました" in html

    notice = await CoopNotice.get()
    assert notice.pushed_at == clock()
    [message] = await queued("push")
    payload = message.payload
    assert payload["member_id"] == wants_id and payload["member_id"] != other_id
    assert (payload["topic"], payload["url"]) == ("coop_notices", "/")
    assert payload["notice_key"] == f"notice:{notice.id}"
    assert payload["mail_fallback"] is False

    # The real sender's delivery to the real (local) push service: the browser decrypts it.
    async with PushClient(settings, load_vapid(settings)) as push:
        report = await deliver_notice(payload, push, clock(), settings)
    assert report.delivered == 1
    [request] = receiver.to(device.endpoint)
    shown = device.decrypt(request.body)
    assert shown["title"] == "年末年始の配達について"
    assert shown["body"] == "12月29日から1月3日まで 配達をお休みします。"
    assert shown["url"] == "/"
    [event] = await AuditEvent.filter(event="staff:notice:create")
    assert event.data["pushed"] == 1
