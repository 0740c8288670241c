"""SIGTERM to `mypage serve`: the request in flight completes, the mail being sent goes out,
and nothing is left leased."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiosmtpd.controller import Controller

from server import db
from server.config import Settings
from server.lib.clock import system_clock
from server.mail.catcher import free_port
from server.mail.compose import enqueue_mail
from server.outbox.models import OutboxMessage, OutboxStatus
from tests.helpers import csrf_of

ROOT = Path(__file__).resolve().parents[2]


class SlowSMTP:
    """A real SMTP server that takes a second over each message."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.started = threading.Event()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.started.set()
        await asyncio.sleep(1.0)
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


def _environment(tmp_path: Path, database_url: str, port: int, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "MYPAGE_ENV": "test",
        "MYPAGE_DATABASE_URL": database_url,
        "MYPAGE_BASE_URL": f"http://localhost:{port}",
        "MYPAGE_SECRET_KEY": "graceful-secret-key-0123456789abcdef0123",
        "MYPAGE_SMTP_HOST": "127.0.0.1",
        "MYPAGE_SMTP_PORT": str(smtp_port),
        "MYPAGE_DATA_DIR": str(tmp_path / "data"),
        "MYPAGE_OUTBOX_POLL_SECONDS": "1",
    }


def _serve_and_stop(tmp_path: Path, env: dict[str, str], port: int, smtp: SlowSMTP) -> int:
    """Serve, start a slow request, SIGTERM while a mail is being sent; the exit status."""
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as response:
                    html = response.read().decode()
                    csrf_cookie = response.headers["Set-Cookie"].split(";")[0]
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text())
        # A slow request: the form's body arrives in two parts, SIGTERM in between.
        body = urlencode({"csrf_token": csrf_of(html), "email": "nobody@example.jp"}).encode()
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(
            b"POST /password/forgot HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Cookie: {csrf_cookie}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        # ... and while a mail is on its way to the (slow) SMTP server.
        assert smtp.started.wait(20)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with socket.socket() as late:  # no new connections are taken
            assert late.connect_ex(("127.0.0.1", port)) != 0
        slow.sendall(body[10:])
        slow.settimeout(20)
        answer = slow.recv(4096).decode("latin-1")
        slow.close()
        assert answer.startswith("HTTP/1.1 303"), answer
        return server.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
        smtp.controller.stop()


async def test_sigterm_finishes_the_request_and_the_mail_in_flight_and_leases_nothing(
    tmp_path: Path, db_url: str
) -> None:
    smtp = SlowSMTP()
    smtp.controller.start()
    port = free_port()
    env = _environment(tmp_path, db_url, port, smtp.port)
    # The server opens the sealed bodies with its own secret key: queue with the same one.
    settings = Settings(env="test", database_url=db_url, secret_key=env["MYPAGE_SECRET_KEY"])
    await db.init_db(db_url)
    try:
        for n in range(6):
            await enqueue_mail(
                f"m{n}@example.jp", "password_changed", settings, system_clock(), name="組合員"
            )
    finally:
        await db.close_db()
    returncode = await asyncio.to_thread(_serve_and_stop, tmp_path, env, port, smtp)
    assert returncode == 0
    await db.init_db(db_url)
    try:
        rows = await OutboxMessage.all()
    finally:
        await db.close_db()
    statuses = {row.status for row in rows}
    assert OutboxStatus.SENDING not in statuses
    assert all(row.locked_until is None for row in rows)
    sent = [row for row in rows if row.status == OutboxStatus.SENT]
    assert 1 <= len(sent) < 6  # the mail in flight went out; the rest wait for the next sender
    assert len(smtp.received) == len(sent)
    assert "handed back" in (tmp_path / "serve.log").read_text()
