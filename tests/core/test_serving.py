"""How the app is served: the request log, background threads, the start-up freeze."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
import time

import pytest

from server.accesslog import AccessLog, EscapeControls, redact, utc_formatter
from server.app import create_app
from server.lib.offload import LOW_NICE, cpu_threads, run_cpu, set_cpu_threads
from server.serve import freeze_after_startup, hypercorn_config
from tests.conftest import make_settings

TOKEN = "Zb3k9Qe0x1VvA2mN8pL4rT6yU7iO5wE3qS1dF0gH2jK"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _scope(path: str, query: bytes = b"") -> dict[str, object]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "query_string": query,
        "client": ("203.0.113.7", 51234),
        "headers": [(b"referer", f"https://mypage.example.jp/password/reset/{TOKEN}".encode())],
    }


async def test_the_request_log_keeps_tokens_query_strings_and_headers_out() -> None:
    config = hypercorn_config("127.0.0.1", 8000, 1)
    assert config.logger_class is AccessLog
    handler = Lines()
    logger = logging.getLogger("test-access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    config.accesslog = logger
    log = AccessLog(config)
    response = {"status": 200, "headers": [(b"content-length", b"1812")]}
    await log.access(_scope(f"/password/reset/{TOKEN}", b"next=/x"), response, 0.0042)
    await log.access(_scope("/statements/2026-06"), None, 0.5)
    assert handler.lines == [
        '203.0.113.7 "GET /password/reset/*** HTTP/1.1" 200 1812 4.2ms',
        '203.0.113.7 "GET /statements/2026-06 HTTP/1.1" - - 500.0ms',
    ]


def test_only_token_like_segments_are_redacted() -> None:
    assert redact(f"/staff/api/setup/{TOKEN}/verify") == "/staff/api/setup/***/verify"
    assert redact("/statements/2026-06.pdf") == "/statements/2026-06.pdf"
    assert redact("/static/icons/apple-touch-icon.png") == "/static/icons/apple-touch-icon.png"


async def test_a_newline_in_the_path_cannot_forge_a_request_log_line() -> None:
    """ASVS 16.4.1: control characters are escaped in every log field."""
    config = hypercorn_config("127.0.0.1", 8000, 1)
    handler = Lines()
    logger = logging.getLogger("test-access-forge")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    config.accesslog = logger
    forged = '/x\n203.0.113.9 "GET /staff/ HTTP/1.1" 200 1 1.0ms\u2028\x1b[2J'
    await AccessLog(config).access(_scope(forged), None, 0.001)
    assert len(handler.lines) == 1
    assert "\n" not in handler.lines[0] and "\u2028" not in handler.lines[0]
    assert "\x1b" not in handler.lines[0]
    assert '/x\\x0a203.0.113.9 "GET /staff/' in handler.lines[0]


async def test_the_unexpected_error_log_redacts_tokens_and_escapes_newlines(
    app, client, caplog: pytest.LogCaptureFixture
) -> None:
    """ASVS 16.2.5, 16.4.1: the error log writes neither a token nor a forged line."""

    async def boom(token: str, rest: str) -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/boom/<token>/<rest>", "boom", boom)
    with caplog.at_level(logging.ERROR, logger="server.errors"):
        response = await client.get(f"/boom/{TOKEN}/%0AINFO%20fake%20line")
    assert response.status_code == 500
    message = next(r.getMessage() for r in caplog.records if "unhandled" in r.getMessage())
    assert TOKEN not in message and "\n" not in message
    assert message == "unhandled error on GET /boom/***/\\x0aINFO fake line"


def test_app_log_lines_are_stamped_in_utc_with_z() -> None:
    """ASVS 16.2.2: every log line carries a UTC time with its zone."""
    record = logging.LogRecord("server.x", logging.INFO, __file__, 1, "hello", (), None)
    record.created = 1_764_900_000.25  # 2025-12-05 02:00:00.250 UTC
    record.msecs = 250
    line = utc_formatter().format(record)
    assert line == "2025-12-05T02:00:00.250Z INFO server.x: hello"


def test_the_app_log_handler_escapes_every_interpolated_string() -> None:
    record = logging.LogRecord(
        "server.x", logging.INFO, __file__, 1, "a %s b %d", ("x\ny", 3), None
    )
    assert EscapeControls().filter(record)
    assert record.getMessage() == "a x\\x0ay b 3"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux per-thread nice")
async def test_cpu_work_yields_the_cpu_to_the_event_loop() -> None:
    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert await run_cpu(nice) == LOW_NICE
    assert nice() != LOW_NICE


async def test_serving_freezes_what_start_up_built(db_url: str, tmp_path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    freeze_after_startup(app)
    gc.unfreeze()
    try:
        async with app.test_app():
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_cpu_threads_leave_the_event_loop_a_core(db_url: str, tmp_path) -> None:
    """The CPU pool has one thread fewer than the cores by default; MYPAGE_CPU_THREADS sets it."""
    before = cpu_threads()
    try:
        create_app(make_settings(db_url, tmp_path))
        assert cpu_threads() == max(1, (os.cpu_count() or 1) - 1)
        create_app(make_settings(db_url, tmp_path).replace(cpu_threads=3))
        assert cpu_threads() == 3
        names: set[str] = set()

        def hold() -> None:
            names.add(threading.current_thread().name)
            time.sleep(0.05)

        await asyncio.gather(*(run_cpu(hold) for _ in range(6)))
        assert len(names) == 3
    finally:
        set_cpu_threads(before)
