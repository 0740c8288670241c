"""Health probes, the database-outage page, and the metrics endpoint."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from quart import Quart
from tortoise import Tortoise

from server.app import create_app
from server.config import Settings
from server.lib.clock import FrozenClock
from server.mail.catcher import MailCatcher, free_port
from server.mail.compose import enqueue_mail
from server.outbox.runtime import SENDER_KEY
from tests.conftest import make_settings
from tests.factories import make_account
from tests.helpers import login, wrong_sign_in

DEAD_DATABASE = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"


async def test_healthz_answers_ok_without_touching_anything(app: Quart) -> None:
    client = app.test_client()
    response = await client.get("/healthz", headers={"Cookie": "mypage_session=whatever"})
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "ok"
    assert "Set-Cookie" not in response.headers
    assert (await client.post("/healthz")).status_code == 405
    # A load balancer polling every second never meets a rate limit.
    answers = {(await client.get("/readyz")).status_code for _ in range(120)}
    assert answers == {200}


async def test_readyz_is_ok_on_a_migrated_database(app: Quart) -> None:
    response = await app.test_client().get("/readyz")
    assert response.status_code == 200
    assert await response.get_json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "outbox_sender": "off",
            "redis": "off",
        },
    }
    assert "Set-Cookie" not in response.headers


async def test_readyz_says_which_check_failed(app: Quart) -> None:
    conn = Tortoise.get_connection("default")
    await conn.execute_script(
        "DELETE FROM tortoise_migrations WHERE app = 'mail' AND name = '0002_expiry_and_ref'"
    )
    answer = await app.test_client().get("/readyz")
    assert answer.status_code == 503
    body = await answer.get_json()
    assert body["status"] == "unavailable" and body["checks"]["migrations"] == "failed"
    assert body["checks"]["database"] == "ok"


async def test_readyz_on_an_unreachable_database_and_redis(
    tmp_path: Path, clock: FrozenClock
) -> None:
    settings = make_settings(DEAD_DATABASE, tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}")
    dead = create_app(settings, clock=clock)
    async with dead.test_app():
        response = await dead.test_client().get("/readyz")
    assert response.status_code == 503
    checks = (await response.get_json())["checks"]
    assert checks["database"] == "failed" and checks["redis"] == "failed"
    assert "nowhere" not in await response.get_data(as_text=True)


async def test_a_database_outage_answers_503_with_retry_after_in_japanese(
    tmp_path: Path, clock: FrozenClock, caplog
) -> None:
    dead = create_app(make_settings(DEAD_DATABASE, tmp_path), clock=clock)
    async with dead.test_app():
        client = dead.test_client()
        page = await client.get("/login", headers={"Cookie": "mypage_session=" + "x" * 43})
        api = await client.get("/api/me", headers={"Cookie": "mypage_session=" + "x" * 43})
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "30"
    html = await page.get_data(as_text=True)
    assert (
        "ただいま混み合っているか、メンテナンス中です。しばらくしてからもう一度お試しください。"
        in html
    )
    assert "Traceback" not in html and "Connect call failed" not in html
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert "しばらくしてから" in (await api.get_json())["error"]
    assert "Traceback" not in caplog.text  # an outage is not logged as a crash


async def test_a_bug_is_still_a_500(app: Quart) -> None:
    from server.errors import is_database_outage

    assert not is_database_outage(ValueError("bug"))
    assert is_database_outage(ConnectionRefusedError(111, "refused"))


async def test_readyz_sees_a_sender_that_stopped_making_progress(
    settings: Settings, clock: FrozenClock
) -> None:
    changed = settings.replace(outbox_sender=True, outbox_stale_seconds=60, outbox_poll_seconds=30)
    serving = create_app(changed, clock=clock)
    async with serving.test_app():
        client = serving.test_client()
        sender = serving.config[SENDER_KEY]
        started = sender.heartbeat
        for _ in range(250):  # the first pass is done; the next is 30 s away
            if sender.heartbeat != started:
                break
            await asyncio.sleep(0.02)
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert (await ready.get_json())["checks"]["outbox_sender"] == "ok"
        sender.heartbeat = time.monotonic() - 61  # as if a pass hung for a minute
        wedged = await client.get("/readyz")
        assert wedged.status_code == 503
        assert (await wedged.get_json())["checks"]["outbox_sender"] == "failed"


async def test_metrics_need_the_token_and_count_what_happens(
    settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    off = create_app(settings, clock=clock)
    async with off.test_app():
        assert (await off.test_client().get("/metrics")).status_code == 404
    # Without the token nobody can read the counters, so no request is timed or counted.
    hooks = off.before_request_funcs[None] + off.after_request_funcs[None]
    assert [hook for hook in hooks if hook.__module__ == "server.metrics"] == []
    on = create_app(settings.replace(metrics_token="scrape-token-0123456789"), clock=clock)
    async with on.test_app():
        client = on.test_client()
        assert (await client.get("/metrics")).status_code == 404
        wrong = {"Authorization": "Bearer not-the-token"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 404
        await make_account(email="hanako@example.jp")
        await wrong_sign_in(client)
        await login(client, "hanako@example.jp")
        await enqueue_mail("a@example.jp", "password_changed", settings, clock(), name="花子")
        clock.advance(minutes=3)
        right = {"Authorization": "Bearer scrape-token-0123456789"}
        response = await client.get("/metrics", headers=right)
        assert response.status_code == 200
        text = await response.get_data(as_text=True)
    assert 'mypage_http_requests_total{group="auth",method="POST",status="4xx"}' in text
    assert 'mypage_http_request_seconds_bucket{group="auth"' in text
    assert 'mypage_events_total{event="auth:login:failure"}' in text
    assert 'mypage_outbox_waiting{channel="mail"} 1.0' in text
    assert 'mypage_outbox_oldest_waiting_seconds{channel="mail"} 180.0' in text
    assert 'mypage_outbox_deliveries_total{channel="mail",result="sent"}' in text
    assert "scrape-token" not in text
