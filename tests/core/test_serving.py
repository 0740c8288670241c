"""How the app is served: the request log, background threads, the start-up freeze."""

from __future__ import annotations

import gc
import logging
import os
import sys

import pytest

from server.accesslog import AccessLog, redact
from server.app import create_app
from server.lib.threads import idle_pool
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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling policy")
def test_background_threads_run_on_idle_cpu_time_only() -> None:
    pool = idle_pool("test-idle")
    try:
        policy = pool.submit(os.sched_getscheduler, 0).result()
        assert policy == os.SCHED_IDLE
        assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the caller is untouched
    finally:
        pool.shutdown()


async def test_serving_freezes_what_start_up_built(db_url: str, tmp_path) -> None:
    app = create_app(make_settings(db_url, tmp_path))
    freeze_after_startup(app)
    gc.unfreeze()
    try:
        async with app.test_app():
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_hooks_are_checked_for_coroutines_once(db_url: str, tmp_path) -> None:
    app = create_app(make_settings(db_url, tmp_path))

    def plain() -> str:
        return "sync"

    async def coroutine() -> str:
        return "async"

    wrapped = app.ensure_async(plain)
    assert wrapped is app.ensure_async(plain) and wrapped is not plain
    assert await wrapped() == "sync"
    assert app.ensure_async(coroutine) is coroutine
