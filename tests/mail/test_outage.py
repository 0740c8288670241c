"""The outbox after outages: the database or SMTP goes away and comes back."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import timedelta

import pytest
from quart import Quart
from tortoise import Tortoise

from server.config import Settings
from server.db import is_postgres
from server.lib.clock import FrozenClock, system_clock
from server.mail.catcher import MailCatcher, free_port
from server.mail.compose import enqueue_mail
from server.outbox.models import OutboxMessage, OutboxStatus
from tests.factories import PASSWORD, make_account
from tests.helpers import page, post_form
from tests.smtp import mails_to, outbox_sender


async def eventually(check, seconds: float = 30) -> None:
    """Wait for an async condition (the sender runs on its own)."""
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


def arrived(address: str):
    async def check() -> bool:
        return bool(mails_to(address))

    return check


def postgres_cluster() -> tuple[str, str]:
    """The local cluster's version and name (pg_ctlcluster's arguments)."""
    versions = sorted(os.listdir("/etc/postgresql"))
    return versions[-1], "main"


@pytest.mark.skipif(
    not is_postgres(os.environ.get("MYPAGE_TEST_DATABASE_URL", "")),
    reason="restarts the PostgreSQL server the suite runs on",
)
async def test_the_sender_delivers_again_after_postgresql_restarts(
    app: Quart, settings: Settings, mailbox: MailCatcher
) -> None:
    sender = outbox_sender(settings.replace(outbox_poll_seconds=0), system_clock)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await enqueue_mail(
            "before@example.jp", "password_changed", settings, system_clock(), name="前"
        )
        await eventually(arrived("before@example.jp"))
        version, cluster = postgres_cluster()
        # Passes keep failing while the server is down and just after; the
        # one that meets the dead pooled connection used to wedge the sender.
        await asyncio.to_thread(
            subprocess.run,
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
            check=True,
        )

        async def queued() -> bool:
            try:
                await enqueue_mail(
                    "after@example.jp", "password_changed", settings, system_clock(), name="後"
                )
            except Exception:  # the app's connections are still finding their feet
                return False
            return True

        await eventually(queued)
        await eventually(arrived("after@example.jp"), seconds=60)
        assert not running.done()
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)


async def test_the_sender_delivers_again_after_the_sqlite_connection_broke(
    app: Quart, settings: Settings, mailbox: MailCatcher, caplog
) -> None:
    if is_postgres(settings.database_url):
        pytest.skip("SQLite's connection")
    sender = outbox_sender(settings.replace(outbox_poll_seconds=0), system_clock)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await enqueue_mail(
            "before@example.jp", "password_changed", settings, system_clock(), name="前"
        )
        await eventually(arrived("before@example.jp"))
        caplog.clear()
        # The connection is closed under the sender, and for a while its
        # passes fail (the outbox table is not there).
        conn = Tortoise.get_connection("default")
        await conn.close()
        await conn.execute_script("ALTER TABLE outbox_message RENAME TO outbox_away")
        await eventually(lambda: _async("pass failed" in caplog.text))
        await conn.close()
        await conn.execute_script("ALTER TABLE outbox_away RENAME TO outbox_message")
        await enqueue_mail(
            "after@example.jp", "password_changed", settings, system_clock(), name="後"
        )
        await eventually(arrived("after@example.jp"))
        assert not running.done()
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)


async def _async(value: bool) -> bool:
    return value


async def test_one_delivery_after_an_smtp_outage_pulls_the_waiting_mail_forward(
    app: Quart, settings: Settings, clock: FrozenClock
) -> None:
    port = free_port()
    sender = outbox_sender(settings.replace(smtp_port=port), clock)
    for n in range(3):
        await enqueue_mail(f"m{n}@example.jp", "password_changed", settings, clock(), name="組合員")
    for attempt in range(4):  # SMTP is down: the backoff grows to 4 minutes
        if attempt:
            clock.advance(minutes=5)
        await sender.run_once()
    rows = await OutboxMessage.all()
    assert {r.attempts for r in rows} == {4} and all(r.next_attempt_at > clock() for r in rows)
    server = MailCatcher(port).start()
    try:
        # A new mail goes out at once, and takes the others with it.
        await enqueue_mail("new@example.jp", "password_changed", settings, clock(), name="新")
        assert await sender.run_once() == 4
        assert sorted(m.rcpt_to[0] for m in server.messages) == [
            "m0@example.jp",
            "m1@example.jp",
            "m2@example.jp",
            "new@example.jp",
        ]
    finally:
        server.stop()
    assert {r.status for r in await OutboxMessage.all()} == {OutboxStatus.SENT}


async def test_a_code_that_died_in_the_outbox_is_not_sent_and_the_page_says_so(
    app: Quart, client, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    account = await make_account(email="hanako@example.jp")
    port = free_port()
    sender = outbox_sender(settings.replace(smtp_port=port), clock)
    answer = await post_form(client, "/login", {"email": account.email, "password": PASSWORD})
    assert answer.headers["Location"].startswith("/login/code")
    await sender.run_once()  # SMTP down
    row = await OutboxMessage.get(ref__startswith="code:")
    assert row.payload["template"] == "login_code"
    assert row.status == OutboxStatus.PENDING and row.expires_at == clock() + timedelta(minutes=10)
    status, html = await page(client, "/login/code")
    assert "認証コードの有効期限が切れました" not in html
    clock.advance(minutes=11)  # the code dies while SMTP is still down
    server = MailCatcher(port).start()
    try:
        await sender.run_once()
        assert server.messages == []  # never sent late
    finally:
        server.stop()
    row = await OutboxMessage.get(id=row.id)
    assert row.status == OutboxStatus.EXPIRED and "body" not in row.payload
    status, html = await page(client, "/login/code")
    assert status == 200
    assert "認証コードの有効期限が切れました。もう一度送信してください。" in html
    assert 'href="/login"' in html


class BreakingProxy:
    """A TCP proxy to PostgreSQL that, while broken, drops a connection as a transaction begins.

    The race of a server restart under traffic, made certain: the pooled
    connection looked alive when taken and dies at BEGIN, so Tortoise's
    begin() fails after marking the task as inside a transaction.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.broken = False
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, client: bool) -> None:
            try:
                while data := await src.read(65536):
                    if client and self.broken and b"BEGIN" in data:
                        break
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                writer.close()
                up_writer.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.mark.skipif(
    not is_postgres(os.environ.get("MYPAGE_TEST_DATABASE_URL", "")),
    reason="PostgreSQL's pooled connections",
)
async def test_a_failed_transaction_begin_does_not_wedge_the_sender(
    db_url: str, tmp_path, mailbox: MailCatcher, caplog
) -> None:
    from urllib.parse import urlsplit, urlunsplit

    from server import db
    from tests.conftest import make_settings

    parts = urlsplit(db_url)
    proxy = BreakingProxy(parts.port or 5432)
    await proxy.start()
    url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    settings = make_settings(url, tmp_path, smtp_host=mailbox.host, smtp_port=mailbox.port)
    await db.init_db(url)
    sender = outbox_sender(settings.replace(outbox_poll_seconds=0), system_clock)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await enqueue_mail(
            "before@example.jp", "password_changed", settings, system_clock(), name="前"
        )
        await eventually(arrived("before@example.jp"))
        caplog.clear()
        proxy.broken = True
        await eventually(lambda: _async(caplog.text.count("pass failed") >= 3))
        proxy.broken = False

        async def queued() -> bool:
            try:
                await enqueue_mail(
                    "after@example.jp", "password_changed", settings, system_clock(), name="後"
                )
            except Exception:  # this task's own pooled connections are dead too
                return False
            return True

        await eventually(queued)
        await eventually(arrived("after@example.jp"), seconds=20)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await db.close_db()
        await proxy.stop()


async def test_a_registration_code_that_died_unsent_asks_for_a_new_one(
    app: Quart, client, settings: Settings, clock: FrozenClock
) -> None:
    from tests.account.flows import give_email, identify, issue
    from tests.factories import make_member

    member = await make_member()
    await identify(client, member, await issue(member, clock()))
    await give_email(client, "hanako@example.jp")
    port = free_port()
    sender = outbox_sender(settings.replace(smtp_port=port), clock)
    await sender.run_once()  # SMTP down
    clock.advance(minutes=10)
    await sender.run_once()  # the code died on the way: not sent, marked expired
    row = await OutboxMessage.get(ref__startswith="code:")
    assert row.status == OutboxStatus.EXPIRED and row.attempts == 1
    status, html = await page(client, "/register/code")
    assert status == 200
    assert "認証コードの有効期限が切れました。もう一度送信してください。" in html
    assert 'href="/register/email"' in html and 'name="code"' not in html


async def test_a_reset_link_waiting_past_its_30_minutes_is_never_sent(
    app: Quart, client, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    await make_account(email="hanako@example.jp")
    await post_form(client, "/password/forgot", {"email": "hanako@example.jp"})
    row = await OutboxMessage.get()
    assert row.expires_at == clock() + timedelta(minutes=30)
    clock.advance(minutes=30)
    await outbox_sender(settings, clock).run_once()  # SMTP is up, but too late
    assert mails_to("hanako@example.jp") == []
    assert (await OutboxMessage.get()).status == OutboxStatus.EXPIRED
