"""Delivery to a real local push service: encryption, VAPID, headers, and every answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.config import Settings
from server.lib.clock import FrozenClock
from server.mail.sealing import open_body
from server.outbox.channels import DeliveryError, RetryAfter
from server.push.channel import push_channel
from server.push.delivery import deliver_notice
from server.push.models import PushDelivery, PushSubscription
from server.push.sender import PushClient, close_shared_clients
from server.push.service import queue_statement_notices
from server.push.vapid import load_vapid
from tests.factories import make_account
from tests.helpers import login, queued
from tests.push.conftest import VAPID_PUBLIC
from tests.push.receiver import Answer, Device, PushReceiver, verify_vapid
from tests.smtp import outbox_sender


async def subscribe(client, device: Device, email: str) -> None:
    """What the page script does: (sign in,) fetch the key and CSRF token, POST toJSON()."""
    if (await client.get("/api/push/key")).status_code == 401:
        await login(client, email)
    key = await (await client.get("/api/push/key")).get_json()
    assert key["publicKey"] == VAPID_PUBLIC
    response = await client.post(
        "/api/push/subscriptions",
        json=device.to_json(),
        headers={
            "X-CSRF-Token": key["csrfToken"],
            "User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131.0",
        },
    )
    assert response.status_code == 201, await response.get_data(as_text=True)


async def queued_payload(member_id: int, month: str = "2026-11") -> dict:
    items = [q for q in await queued("push") if q.payload["member_id"] == member_id]
    assert [q.payload["url"] for q in items] == [f"/statements/{month}"]
    return items[0].payload


async def deliver(payload: dict, settings: Settings, clock: FrozenClock):
    async with PushClient(settings, load_vapid(settings)) as push:
        return await deliver_notice(payload, push, clock(), settings)


async def test_a_new_statement_reaches_the_device_encrypted_and_signed(
    app, client, settings, clock, receiver: PushReceiver
) -> None:
    account = await make_account(email="hanako@example.jp")
    device = Device(receiver.endpoint())
    await subscribe(client, device, "hanako@example.jp")
    assert await queue_statement_notices([(account.member_id, "2026-11")], clock()) == 1

    report = await deliver(await queued_payload(account.member_id), settings, clock)

    assert report.delivered == 1 and not report.mailed
    [request] = receiver.to(device.endpoint)
    message = device.decrypt(request.body)
    assert message == {
        "title": "ご請求明細のお知らせ",
        "body": "2026年11月分のご請求明細をご覧いただけるようになりました。",
        "url": "/statements/2026-11",
        "tag": "statement-2026-11",
    }
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["ttl"] == str(7 * 24 * 3600)
    assert headers["urgency"] == "normal"
    assert headers["topic"] == "statement-202611"
    assert len(request.body) < 4096
    claims = verify_vapid(headers["authorization"], VAPID_PUBLIC)
    assert claims["aud"] == receiver.origin
    assert claims["sub"] == "mailto:info@Gmypage.jp"
    row = await PushSubscription.get(endpoint=device.endpoint)
    assert row.last_delivered_at == clock()
    assert row.browser == "Chrome" and row.os == "Android"


async def test_nothing_is_sent_twice_to_the_same_device_for_the_same_month(
    app, client, settings, clock, receiver
) -> None:
    account = await make_account(email="hanako@example.jp")
    device = Device(receiver.endpoint())
    await subscribe(client, device, "hanako@example.jp")
    await queue_statement_notices([(account.member_id, "2026-11")], clock())
    # The import runs again with the same month: nothing new is queued...
    await queue_statement_notices([(account.member_id, "2026-11")], clock())
    payload = await queued_payload(account.member_id)
    await deliver(payload, settings, clock)
    # ...and a second delivery of the same notice (a sender retry) skips the device.
    report = await deliver(payload, settings, clock)
    assert report.already == 1 and report.delivered == 0
    assert len(receiver.to(device.endpoint)) == 1
    assert await PushDelivery.filter(notice_key="statement:2026-11").count() == 1


async def test_410_gone_deletes_the_subscription(app, client, settings, clock, receiver) -> None:
    account = await make_account(email="hanako@example.jp")
    gone, alive = Device(receiver.endpoint()), Device(receiver.endpoint())
    await subscribe(client, gone, "hanako@example.jp")
    await subscribe(client, alive, "hanako@example.jp")
    receiver.script(gone.endpoint, Answer(410))
    await queue_statement_notices([(account.member_id, "2026-11")], clock())

    report = await deliver(await queued_payload(account.member_id), settings, clock)

    assert (report.delivered, report.gone) == (1, 1)
    assert not await PushSubscription.filter(endpoint=gone.endpoint).exists()
    assert await PushSubscription.filter(endpoint=alive.endpoint).exists()


async def test_429_honours_retry_after_then_201(app, client, settings, clock, receiver) -> None:
    account = await make_account(email="hanako@example.jp")
    device = Device(receiver.endpoint())
    await subscribe(client, device, "hanako@example.jp")
    receiver.script(device.endpoint, Answer(429, {"Retry-After": "120"}))
    await queue_statement_notices([(account.member_id, "2026-11")], clock())
    payload = await queued_payload(account.member_id)

    with pytest.raises(RetryAfter) as raised:
        await deliver(payload, settings, clock)
    assert raised.value.retry_after == 120 and raised.value.temporary
    assert not await PushDelivery.exists()

    clock.advance(seconds=120)
    report = await deliver(payload, settings, clock)
    assert report.delivered == 1
    assert [r.status for r in receiver.to(device.endpoint)] == [429, 201]
    # Both attempts carry the same message for the browser.
    assert device.decrypt(receiver.to(device.endpoint)[1].body)["url"] == "/statements/2026-11"


async def test_500_is_retried_with_backoff_then_201(app, client, settings, clock, receiver) -> None:
    account = await make_account(email="hanako@example.jp")
    device = Device(receiver.endpoint())
    await subscribe(client, device, "hanako@example.jp")
    receiver.script(device.endpoint, Answer(500))
    await queue_statement_notices([(account.member_id, "2026-11")], clock())
    payload = await queued_payload(account.member_id)

    with pytest.raises(DeliveryError) as raised:
        await deliver(payload, settings, clock)
    assert raised.value.temporary and not isinstance(raised.value, RetryAfter)
    row = await PushSubscription.get(endpoint=device.endpoint)
    assert row.failures == 1 and "500" in row.last_error

    report = await deliver(payload, settings, clock)
    assert report.delivered == 1
    assert (await PushSubscription.get(endpoint=device.endpoint)).failures == 0


async def test_a_timeout_is_temporary(app, client, settings, clock, receiver) -> None:
    account = await make_account(email="hanako@example.jp")
    device = Device(receiver.endpoint())
    await subscribe(client, device, "hanako@example.jp")
    receiver.script(device.endpoint, Answer(201, delay=3))  # the client gives up after 2 s
    await queue_statement_notices([(account.member_id, "2026-11")], clock())
    with pytest.raises(DeliveryError) as raised:
        await deliver(await queued_payload(account.member_id), settings, clock)
    assert raised.value.temporary
    assert not await PushDelivery.exists()


async def test_one_failing_device_does_not_resend_to_the_others(
    app, client, settings, clock, receiver
) -> None:
    account = await make_account(email="hanako@example.jp")
    flaky, fine = Device(receiver.endpoint()), Device(receiver.endpoint())
    await subscribe(client, flaky, "hanako@example.jp")
    await subscribe(client, fine, "hanako@example.jp")
    receiver.script(flaky.endpoint, Answer(503))
    await queue_statement_notices([(account.member_id, "2026-11")], clock())
    payload = await queued_payload(account.member_id)
    with pytest.raises(DeliveryError):
        await deliver(payload, settings, clock)
    await deliver(payload, settings, clock)
    assert len(receiver.to(fine.endpoint)) == 1
    assert [r.status for r in receiver.to(flaky.endpoint)] == [503, 201]


async def test_no_working_device_means_the_notice_comes_by_mail(
    app, client, settings, clock, receiver
) -> None:
    account = await make_account(email="hanako@example.jp")
    device = Device(receiver.endpoint())
    await subscribe(client, device, "hanako@example.jp")
    receiver.script(device.endpoint, Answer(404))
    await queue_statement_notices([(account.member_id, "2026-11")], clock())

    report = await deliver(await queued_payload(account.member_id), settings, clock)

    assert report.gone == 1 and report.mailed
    [mail] = [m for m in await queued("mail") if m.payload["template"] == "push_notice"]
    assert mail.payload["to"] == "hanako@example.jp"
    assert mail.payload["template"] == "push_notice"
    assert "http://localhost/statements/2026-11" in open_body(mail.payload, settings.secret_key)
    assert mail.dedupe_key == f"mail:push:{account.member_id}:statement:2026-11"


async def test_mail_fallback_and_topics_follow_the_members_choice(
    app, client, settings, clock
) -> None:
    from server.push.service import save_preference

    no_mail = await make_account(email="nomail@example.jp")
    no_topic = await make_account(email="notopic@example.jp")
    await save_preference(no_mail.member_id, {"new_statement"}, False, clock())
    await save_preference(no_topic.member_id, set(), True, clock())
    await queue_statement_notices(
        [(no_mail.member_id, "2026-11"), (no_topic.member_id, "2026-11")], clock()
    )
    for item in await queued("push"):
        report = await deliver(item.payload, settings, clock)
        assert not report.mailed
    assert [m for m in await queued("mail") if m.payload["template"] == "push_notice"] == []


async def test_the_outbox_handler_delivers_a_queued_notice(
    app, client, settings, clock, receiver
) -> None:
    account = await make_account(email="hanako@example.jp")
    device = Device(receiver.endpoint())
    await subscribe(client, device, "hanako@example.jp")
    await queue_statement_notices([(account.member_id, "2026-11")], clock())
    try:
        await push_channel(settings).deliver(await queued_payload(account.member_id))
    finally:
        await close_shared_clients()
    assert device.decrypt(receiver.to(device.endpoint)[0].body)["title"] == "ご請求明細のお知らせ"


async def test_retry_after_as_an_http_date(app, clock) -> None:
    from server.push.sender import parse_retry_after

    now = clock()
    later = now + timedelta(minutes=5)
    assert parse_retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), now) == 300
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after("soon", now) is None


async def test_a_device_turned_off_while_its_notice_is_on_the_wire(
    app, client, settings, clock, receiver
) -> None:
    import asyncio

    account = await make_account(email="hanako@example.jp")
    leaving, staying = Device(receiver.endpoint()), Device(receiver.endpoint())
    await subscribe(client, leaving, "hanako@example.jp")
    await subscribe(client, staying, "hanako@example.jp")
    receiver.script(leaving.endpoint, Answer(201, delay=0.5))
    await queue_statement_notices([(account.member_id, "2026-11")], clock())

    async def turn_off() -> None:
        await asyncio.sleep(0.2)
        await PushSubscription.filter(endpoint=leaving.endpoint).delete()

    report, _ = await asyncio.gather(
        deliver(await queued_payload(account.member_id), settings, clock), turn_off()
    )
    assert report.delivered == 2
    staying_row = await PushSubscription.get(endpoint=staying.endpoint)
    assert await PushDelivery.filter(subscription_id=staying_row.id).exists()
    assert staying_row.last_delivered_at == clock()


async def test_the_outbox_sender_delivers_push_rows_together_and_honours_retry_after(
    app, client, settings, clock, receiver
) -> None:
    from server.outbox.models import OutboxMessage, OutboxStatus

    hanako = await make_account(email="hanako@example.jp")
    taro = await make_account(email="taro@example.jp")
    first, second = Device(receiver.endpoint()), Device(receiver.endpoint())
    await subscribe(client, first, "hanako@example.jp")
    other = app.test_client()
    await subscribe(other, second, "taro@example.jp")
    receiver.script(second.endpoint, Answer(429, {"Retry-After": "120"}), Answer(201))
    await queue_statement_notices(
        [(hanako.member_id, "2026-11"), (taro.member_id, "2026-11")], clock()
    )
    sender = outbox_sender(settings, clock)
    try:
        await sender.run_once()
        rows = {r.payload["member_id"]: r for r in await OutboxMessage.filter(channel="push")}
        assert rows[hanako.member_id].status == OutboxStatus.SENT
        waiting = rows[taro.member_id]
        assert waiting.status == OutboxStatus.PENDING
        assert waiting.next_attempt_at == clock.now + timedelta(seconds=120)
        clock.advance(seconds=120)
        await sender.run_once()
    finally:
        await close_shared_clients()
    assert (await OutboxMessage.get(id=waiting.id)).status == OutboxStatus.SENT
    assert first.decrypt(receiver.to(first.endpoint)[0].body)["url"] == "/statements/2026-11"
    assert len(receiver.to(second.endpoint)) == 2  # the 429, then the delivery


async def test_the_app_closes_its_push_connections_when_it_stops(settings, clock) -> None:
    from server.app import create_app
    from server.push.sender import shared_client

    serving = create_app(settings.replace(outbox_sender=True), clock=clock)
    async with serving.test_app():
        client = await shared_client(settings, load_vapid(settings))
        assert not client.session.closed
    assert client.session.closed
