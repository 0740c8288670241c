"""The outbox and its sender against a real SMTP server (aiosmtpd), not a mock."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

from quart import Quart

from server.app import create_app
from server.audit.models import AuditEvent
from server.config import Settings
from server.lib.clock import FrozenClock
from server.mail.catcher import MailCatcher, free_port
from server.mail.compose import enqueue_mail
from server.mail.smtp import OUTLET_KEY
from server.outbox.models import OutboxMessage, OutboxStatus
from server.outbox.queue import enqueue
from tests.factories import make_account
from tests.helpers import page, post_form
from tests.smtp import deliver, mails_to, openers, outbox_sender


async def queue_mails(settings: Settings, clock: FrozenClock, count: int) -> None:
    for n in range(count):
        await enqueue_mail(
            f"member{n}@example.jp", "password_changed", settings, clock(), name=f"組合員{n}"
        )


async def test_a_queued_mail_arrives_as_proper_japanese_plain_text(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    await enqueue_mail("hanako@example.jp", "password_changed", settings, clock(), name="山田 花子")
    assert mailbox.messages == []  # nothing is sent until the sender runs
    assert await deliver(app) == 1
    [mail] = mails_to("hanako@example.jp")
    assert mail.rcpt_to == ("hanako@example.jp",)
    assert mail.mail_from == "no-reply@Gmypage.jp"
    assert mail.subject == "【群馬県学校生協】パスワード変更のお知らせ"
    assert str(mail.message["From"]) == "群馬県学校生協 <no-reply@Gmypage.jp>"
    assert parsedate_to_datetime(str(mail.message["Date"])) == clock.now
    assert str(mail.message["Date"]) == format_datetime(clock.now)
    assert str(mail.message["Message-ID"]).endswith("@Gmypage.jp>")
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content_charset() == "utf-8"
    assert "山田 花子 様" in mail.body
    assert "フリーダイヤル 0120-39-5318" in mail.body
    row = await OutboxMessage.get(channel="mail")
    assert row.status == OutboxStatus.SENT and row.sent_at == clock.now and row.attempts == 1
    assert "body" not in row.payload and row.payload["to"] == "hanako@example.jp"
    assert await deliver(app) == 0  # sent once


async def test_smtp_down_then_up_delivers_everything_exactly_once(
    app: Quart, settings: Settings, clock: FrozenClock
) -> None:
    port = free_port()
    down = settings.replace(smtp_port=port)
    await queue_mails(settings, clock, 3)
    sender = outbox_sender(down, clock)
    assert await sender.run_once() == 3  # three attempts, all refused
    rows = await OutboxMessage.all().order_by("id")
    assert all(r.status == OutboxStatus.PENDING and r.attempts == 1 for r in rows)
    retry_at = clock.now + timedelta(seconds=30)
    assert all(r.last_error and r.next_attempt_at == retry_at for r in rows)
    assert await sender.run_once() == 0  # backing off: nothing due yet
    clock.advance(seconds=30)
    assert await sender.run_once() == 3  # still down: second attempts
    assert {r.attempts for r in await OutboxMessage.all()} == {2}
    assert (await OutboxMessage.first()).next_attempt_at == clock.now + timedelta(seconds=60)
    server = MailCatcher(port).start()
    try:
        clock.advance(seconds=60)
        assert await sender.run_once() == 3
        assert await sender.run_once() == 0
        clock.advance(hours=2)
        assert await sender.run_once() == 0
        assert len(server.messages) == 3
        ids = {str(m.message["Message-ID"]) for m in server.messages}
        assert len(ids) == 3
        assert sorted(m.rcpt_to[0] for m in server.messages) == [
            f"member{n}@example.jp" for n in range(3)
        ]
    finally:
        server.stop()
    assert {r.status for r in await OutboxMessage.all()} == {OutboxStatus.SENT}


async def test_gives_up_after_the_configured_time_and_records_it(
    app: Quart, settings: Settings, clock: FrozenClock, caplog
) -> None:
    down = settings.replace(smtp_port=free_port(), outbox_give_up_hours=1)
    await queue_mails(settings, clock, 1)
    sender = outbox_sender(down, clock)
    await sender.run_once()
    clock.advance(minutes=61)
    with caplog.at_level(logging.ERROR, logger="server.outbox.sender"):
        assert await sender.run_once() == 1
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.FAILED and row.attempts == 2
    assert "given up" in caplog.text
    event = await AuditEvent.get(event="mail:outbox:give_up")
    assert event.data["message_id"] == row.id and event.data["template"] == "password_changed"
    clock.advance(hours=5)
    assert await sender.run_once() == 0  # never tried again


async def test_wrong_smtp_password_is_reported_without_blocking_the_request(
    app: Quart, client, settings: Settings, clock: FrozenClock, caplog
) -> None:
    await make_account(email="hanako@example.jp")
    server = MailCatcher(login=("mypage", "right-password")).start()
    try:
        answer = await post_form(client, "/password/forgot", {"email": "hanako@example.jp"})
        assert answer.status_code == 303  # the member's request is answered at once
        wrong = settings.replace(
            smtp_port=server.port, smtp_username="mypage", smtp_password="wrong-password"
        )
        with caplog.at_level(logging.WARNING):
            assert await outbox_sender(wrong, clock).run_once() == 1
        assert "SMTP authentication failed" in caplog.text
        assert "wrong-password" not in caplog.text
        row = await OutboxMessage.get()
        assert row.status == OutboxStatus.PENDING
        assert "authentication" in row.last_error
        assert server.messages == []
        # The operator fixes the password: the kept mail goes out.
        right = wrong.replace(smtp_password="right-password")
        clock.advance(seconds=30)
        assert await outbox_sender(right, clock).run_once() == 1
        assert [m.rcpt_to for m in server.messages] == [("hanako@example.jp",)]
    finally:
        server.stop()


async def test_two_senders_send_each_mail_once(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    # On PostgreSQL the senders claim with FOR UPDATE SKIP LOCKED, on SQLite
    # with conditional updates; either way no mail goes out twice.
    await queue_mails(settings, clock, 45)
    first, second = outbox_sender(settings, clock), outbox_sender(settings, clock)
    counts = await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
    assert sum(counts) == 45
    assert len(mailbox.messages) == 45
    assert len({str(m.message["Message-ID"]) for m in mailbox.messages}) == 45
    assert await OutboxMessage.filter(status=OutboxStatus.SENT, attempts=1).count() == 45


async def test_a_dedupe_key_queues_one_message(app: Quart, clock: FrozenClock) -> None:
    first = await enqueue("mail", {"to": "a@example.jp"}, clock(), dedupe_key="statement:1")
    again = await enqueue("mail", {"to": "a@example.jp"}, clock(), dedupe_key="statement:1")
    assert first.id == again.id
    assert await OutboxMessage.all().count() == 1


async def test_a_channel_without_handler_fails_for_good(
    app: Quart, settings: Settings, clock: FrozenClock
) -> None:
    await enqueue("carrier-pigeon", {"to": "x"}, clock())
    assert await outbox_sender(settings, clock).run_once() == 1
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.FAILED and "no handler" in row.last_error


async def wait_for(predicate, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_the_sender_runs_while_serving(
    settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    serving = create_app(settings.replace(outbox_sender=True), clock=clock)
    async with serving.test_app():
        await make_account(email="hanako@example.jp")
        client = serving.test_client()
        await post_form(client, "/password/forgot", {"email": "hanako@example.jp"})
        await wait_for(lambda: mails_to("hanako@example.jp"))
    assert len(mails_to("hanako@example.jp")) == 1


async def test_development_catches_mail_at_dev_mail(
    settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    dev = settings.replace(env="development", smtp_host="", outbox_sender=True)
    serving = create_app(dev, clock=clock)
    async with serving.test_app():
        await make_account(email="hanako@example.jp")
        client = serving.test_client()
        status, html = await page(client, "/dev/mail")
        assert status == 200 and "まだメールはありません" in html
        await post_form(client, "/password/forgot", {"email": "hanako@example.jp"})
        catcher = serving.config[OUTLET_KEY].catcher
        await wait_for(lambda: catcher.messages)
        status, html = await page(client, "/dev/mail")
        assert "パスワード再設定のご案内" in html
        assert 'href="http://localhost/password/reset/' in html
    assert mailbox.messages == []  # nothing went to the configured server


async def test_dev_mail_does_not_exist_outside_development(client) -> None:
    status, _ = await page(client, "/dev/mail")
    assert status == 404


async def test_smtp_host_wins_in_development(
    settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    dev = settings.replace(env="development", outbox_sender=True)
    serving = create_app(dev, clock=clock)
    async with serving.test_app():
        assert serving.config[OUTLET_KEY].catcher is None
        await enqueue_mail("hanako@example.jp", "password_changed", dev, clock(), name="山田")
        await wait_for(lambda: mails_to("hanako@example.jp"))


async def test_the_worker_delivers_until_stopped(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    from server.outbox.runtime import run_worker

    stop = asyncio.Event()
    quick = settings.replace(outbox_poll_seconds=0)
    worker = asyncio.create_task(run_worker(quick, clock, stop, openers(quick)))
    await enqueue_mail("hanako@example.jp", "password_changed", settings, clock(), name="山田")
    await wait_for(lambda: mails_to("hanako@example.jp"))
    stop.set()
    await asyncio.wait_for(worker, timeout=5)
    assert len(mailbox.messages) == 1
