"""Codes and links are not readable in the outbox table (ASVS 14.2.4), read back with raw SQL."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from types import SimpleNamespace

from quart import Quart
from tortoise.connection import get_connection

from server.config import Settings
from server.lib.clock import FrozenClock
from server.mail.catcher import MailCatcher, free_port
from server.mail.compose import enqueue_mail
from server.outbox.models import OutboxMessage, OutboxStatus
from server.outbox.queue import enqueue
from tests.factories import PASSWORD, make_account
from tests.helpers import page, post_form
from tests.smtp import CODE_RE, deliver, mails_to, outbox_sender, reset_link

ADDRESS = "hanako@example.jp"


async def raw_rows() -> str:
    """Every outbox row as the database holds it (what a dump or a backup would show).

    Read with SQL, not the model. The two random fields (the ciphertext and
    the Message-ID) are blanked, so that a six-digit code cannot turn up in
    them by chance; the payload is shown as text on both databases.
    """
    rows = await get_connection("default").execute_query_dict(
        "SELECT * FROM outbox_message ORDER BY id"
    )
    shown = []
    for row in rows:
        payload = row["payload"]
        payload = json.loads(payload) if isinstance(payload, str) else dict(payload)
        if "sealed_body" in payload:
            payload["sealed_body"] = {**payload["sealed_body"], "data": "<ciphertext>"}
        payload["message_id"] = "<message id>"
        shown.append({**row, "payload": payload})
    return json.dumps(shown, ensure_ascii=False, default=str)


async def password_step(client):
    return await post_form(client, "/login", {"email": ADDRESS, "password": PASSWORD})


async def test_a_sign_in_code_waits_sealed_and_the_member_gets_the_right_one(
    client, mailbox: MailCatcher
) -> None:
    """ASVS 14.2.4: the queued code mail is sealed; the real SMTP server gets the working code."""
    await make_account(email=ADDRESS)
    response = await password_step(client)
    assert response.headers["Location"] == "/login/code"
    stored = await raw_rows()
    row = await OutboxMessage.get(channel="mail")
    assert row.payload["template"] == "login_code" and "body" not in row.payload
    assert row.payload["sealed_body"]["alg"] == "A256GCM"
    assert await deliver(client.app) == 1
    [mail] = mails_to(ADDRESS)
    match = CODE_RE.search(mail.body)
    assert match is not None
    code = match.group(1)
    assert code not in stored and "認証コード：" not in stored
    # The code that arrived is the one the app accepts.
    response = await post_form(client, "/login/code", {"code": code, "next": "/"})
    assert response.status_code == 303 and not response.headers["Location"].startswith("/login")
    # Delivered: neither the body nor its seal is kept.
    stored = await raw_rows()
    assert "sealed_body" not in stored and code not in stored
    assert (await OutboxMessage.get(channel="mail")).status == OutboxStatus.SENT


async def test_a_reset_link_waits_sealed(client, mailbox: MailCatcher) -> None:
    """ASVS 14.2.4: the reset link's token is not in the outbox row, sent or not."""
    await make_account(email=ADDRESS)
    await post_form(client, "/password/forgot", {"email": ADDRESS})
    waiting = await raw_rows()
    await deliver(client.app)
    link = reset_link(mails_to(ADDRESS)[-1])
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43
    assert token not in waiting and "/password/reset/" not in waiting
    assert token not in await raw_rows()
    status, _ = await page(client, link)
    assert status == 200  # the mailed link is the live one


async def test_a_mail_waiting_out_an_outage_keeps_no_readable_code(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    """ASVS 14.2.4: a temporary failure leaves the body sealed, and it still goes out later."""
    await enqueue_mail(
        ADDRESS, "login_code", settings, clock(), **_code_context("402715"), name="山田 花子"
    )
    down = outbox_sender(settings.replace(smtp_port=free_port()), clock)
    assert await down.run_once() == 1
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "402715" not in await raw_rows()
    clock.advance(seconds=30)
    assert await outbox_sender(settings, clock).run_once() == 1
    [mail] = mails_to(ADDRESS)
    assert "認証コード：402715" in mail.body
    assert "402715" not in await raw_rows()


async def test_a_mail_that_failed_for_good_keeps_no_body(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    """ASVS 14.2.4: a given-up mail's row holds neither the code nor its sealed body."""
    await enqueue_mail(
        ADDRESS, "login_code", settings, clock(), **_code_context("918273"), name="山田 花子"
    )
    down = outbox_sender(settings.replace(smtp_port=free_port()), clock)
    await down.run_once()
    clock.advance(hours=settings.outbox_give_up_hours)
    await down.run_once()
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.FAILED
    stored = await raw_rows()
    assert "918273" not in stored and "sealed_body" not in stored
    assert row.payload["to"] == ADDRESS  # what an operator needs to follow up stays


async def test_a_body_sealed_under_an_old_secret_key_fails_at_once(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    """ASVS 14.2.4: after MYPAGE_SECRET_KEY changes, the key id refuses old seals, no retry."""
    await enqueue_mail(
        ADDRESS, "login_code", settings, clock(), **_code_context("555123"), name="山田 花子"
    )
    rotated = settings.replace(secret_key="another-secret-key-of-forty-characters-x")
    assert await outbox_sender(rotated, clock).run_once() == 1
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.FAILED and row.last_error.startswith("body not readable")
    assert mails_to(ADDRESS) == []
    assert "sealed_body" not in await raw_rows()


async def test_a_seal_moved_to_another_recipient_does_not_open(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    """ASVS 14.2.4: the seal is bound to its address: rewriting `to` in the table sends nothing."""
    await enqueue_mail(
        ADDRESS, "login_code", settings, clock(), **_code_context("777001"), name="山田 花子"
    )
    row = await OutboxMessage.get()
    await OutboxMessage.filter(id=row.id).update(
        payload={**row.payload, "to": "attacker@example.jp"}
    )
    await outbox_sender(settings, clock).run_once()
    assert mailbox.messages == []
    assert (await OutboxMessage.get()).status == OutboxStatus.FAILED


def _code_context(code: str) -> dict:
    device = ("Chrome", "Windows")
    return {"code": code, "minutes": 10, "at": "2026年12月4日 10:00", "device": device}


async def test_delivered_and_expired_rows_hold_no_body(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    """ASVS 14.2.4: once sent or expired, a row keeps only its envelope."""
    await enqueue_mail(ADDRESS, "password_changed", settings, clock(), name="山田 花子")
    await enqueue_mail(
        "taro@example.jp",
        "login_code",
        settings,
        clock(),
        expires_at=clock() + timedelta(minutes=10),
        **_code_context("246810"),
        name="山田 太郎",
    )
    down = outbox_sender(settings.replace(smtp_port=free_port()), clock)
    await down.run_once()
    clock.advance(minutes=10)
    await outbox_sender(settings, clock).run_once()
    rows = await OutboxMessage.all().order_by("id")
    assert [r.status for r in rows] == [OutboxStatus.SENT, OutboxStatus.EXPIRED]
    for row in rows:
        assert set(row.payload) == {"template", "to", "subject", "message_id", "date"}
    assert "246810" not in await raw_rows()


async def test_the_migration_purges_bodies_that_finished_mail_kept(
    app: Quart, clock: FrozenClock
) -> None:
    """ASVS 14.2.4: rows from before sealing lose their plain bodies once finished, not before."""
    migration = importlib.import_module("server.migrations.mail.0003_purge_finished_bodies")
    plain = {"template": "login_code", "to": ADDRESS, "subject": "s", "body": "認証コード：135790"}
    for status in (OutboxStatus.FAILED, OutboxStatus.SENT, OutboxStatus.EXPIRED):
        row = await enqueue("mail", plain, clock())
        await OutboxMessage.filter(id=row.id).update(status=status)
    waiting = await enqueue("mail", plain, clock())
    push = await enqueue("push", {"member_id": 1, "body": "お知らせ"}, clock())
    await OutboxMessage.filter(id=push.id).update(status=OutboxStatus.SENT)
    await migration.purge(None, SimpleNamespace(client=get_connection("default")))
    rows = {row.id: row for row in await OutboxMessage.all()}
    finished = [row for row in rows.values() if row.id not in (waiting.id, push.id)]
    assert len(finished) == 3
    assert all(row.payload == {k: v for k, v in plain.items() if k != "body"} for row in finished)
    assert rows[waiting.id].payload == plain  # still to be sent: it needs its body
    assert rows[push.id].payload["body"] == "お知らせ"  # only mail is purged
