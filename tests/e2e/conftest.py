"""Browser tests: the system Chromium, driven by Playwright, against a real hypercorn."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from server.mail.catcher import MailCatcher
from tests.dbutil import TemplateDatabase
from tests.e2e.helpers import start_catcher, stop_catcher

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to the end in its own thread (Playwright's sync API owns a loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """`mypage migrate`, `mypage demo` and `mypage serve` in a real process."""

    def __init__(self, workdir: Path, database_url: str, smtp_port: int) -> None:
        self.port = free_port()
        # WebAuthn refuses IP origins, so the browser uses localhost.
        self.url = f"http://localhost:{self.port}"
        self.env = {
            **os.environ,
            "MYPAGE_ENV": "test",
            "MYPAGE_DATABASE_URL": database_url,
            "MYPAGE_BASE_URL": self.url,
            "MYPAGE_SECRET_KEY": "e2e-secret-key-0123456789abcdef0123456789",
            "MYPAGE_SMTP_HOST": "127.0.0.1",
            "MYPAGE_SMTP_PORT": str(smtp_port),
            "MYPAGE_RATE_LIMITS": "false",
            "MYPAGE_CODES_PER_HOUR": "1000",
            "MYPAGE_DATA_DIR": str(workdir / "data"),
            "MYPAGE_PUSH_ALLOWED_HOSTS": "localhost,127.0.0.1",
            # The tests change members from another process (`mypage`, SQL) and
            # reload at once; with the session cache a change shows within its
            # TTL (tests/auth/test_session_cache.py, tests/core/test_two_instances.py).
            "MYPAGE_SESSION_CACHE_SECONDS": "0",
        }
        self.log = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def mypage(self, *args: str) -> None:
        """Run a `mypage` subcommand against the server's database."""
        subprocess.run([sys.executable, "-m", "server", *args], env=self.env, cwd=ROOT, check=True)

    def start(self) -> None:
        """Migrate, load the demo, serve, and wait until it answers."""
        self.mypage("migrate")
        self.mypage("demo")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server",
                    "serve",
                    "--host",
                    "localhost",
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        """Stop the server process."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) that keeps what the app sends."""
    catcher = start_catcher()
    yield catcher
    stop_catcher(catcher)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, mail_catcher: MailCatcher
) -> Iterator[LiveServer]:
    """One real server for the browser tests, on its own fresh database."""
    workdir = tmp_path_factory.mktemp("e2e")
    template = TemplateDatabase(workdir)
    if template.postgres:
        run_async(template.create())
        database_url = template.template_url
    else:
        database_url = f"sqlite://{workdir / 'e2e.sqlite3'}"
    server = LiveServer(workdir, database_url, mail_catcher.port)
    server.start()
    yield server
    server.stop()
    run_async(template.destroy())


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """The system Chromium (Playwright cannot download browsers here)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile per test (no cookies, no caches)."""
    ctx = browser.new_context(base_url=live_server.url, locale="ja-JP")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in the fresh profile."""
    return context.new_page()
