"""Headers, CSRF and bad input: a clear Japanese answer, a 4xx, nothing changed."""

from __future__ import annotations

from quart import Quart

from server.audit.models import AuditEvent
from server.auth.models import Session
from tests.factories import make_account
from tests.helpers import csrf_of, login, page


async def test_security_headers_on_every_page(client) -> None:
    response = await client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for part in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert part in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # only in production


async def test_hsts_and_secure_cookies_in_production(db_url, tmp_path, clock) -> None:
    from server.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        db_url, tmp_path, env="production", base_url="https://mypage.example.jp"
    )
    application = create_app(settings, clock=clock)
    async with application.test_app():
        await make_account(email="hanako@example.jp")
        client = application.test_client()
        response = await client.get("/login")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "__Host-mypage_csrf=" in response.headers["Set-Cookie"]
        assert "Secure" in response.headers["Set-Cookie"]


async def test_member_pages_are_not_stored(client) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    response = await client.get("/")
    assert response.headers["Cache-Control"] == "no-store"


async def test_post_without_csrf_token_changes_nothing(client) -> None:
    await make_account(email="hanako@example.jp")
    response = await client.post(
        "/login", form={"email": "hanako@example.jp", "password": "correct-horse-2026"}
    )
    assert response.status_code == 403
    assert "ページの有効期限が切れたか" in await response.get_data(as_text=True)
    assert await Session.all().count() == 0


async def test_token_of_another_visitor_is_refused(app: Quart, client) -> None:
    await make_account(email="hanako@example.jp")
    _, html = await page(app.test_client(), "/login")
    response = await client.post(
        "/login",
        form={
            "csrf_token": csrf_of(html),
            "email": "hanako@example.jp",
            "password": "correct-horse-2026",
        },
    )
    assert response.status_code == 403


async def test_unknown_page_is_a_japanese_404(client) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert "ページが見つかりません" in await response.get_data(as_text=True)


async def test_wrong_method_is_a_japanese_405(client) -> None:
    response = await client.get("/logout")
    assert response.status_code == 405
    assert "この操作はできません" in await response.get_data(as_text=True)


async def test_oversized_form_is_refused(client) -> None:
    _, html = await page(client, "/login")
    response = await client.post(
        "/login", form={"csrf_token": csrf_of(html), "email": "a" * 100_000, "password": "x"}
    )
    assert response.status_code == 413
    assert "送信内容が大きすぎます" in await response.get_data(as_text=True)


async def test_invalid_utf8_is_a_clear_4xx(client) -> None:
    await make_account(email="hanako@example.jp")
    _, html = await page(client, "/login")
    body = b"csrf_token=" + csrf_of(html).encode() + b"&email=\xff\xfe%FF&password=\xc3\x28"
    response = await client.post(
        "/login", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= response.status_code < 500
    text = await response.get_data(as_text=True)
    assert "Traceback" not in text
    assert await Session.all().count() == 0


async def test_unexpected_error_shows_no_stack_trace(app: Quart, client) -> None:
    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("secret internals")

    response = await client.get("/boom")
    assert response.status_code == 500
    text = await response.get_data(as_text=True)
    assert "エラーが発生しました" in text
    assert "secret internals" not in text and "Traceback" not in text


async def test_audit_never_holds_the_password(client) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp", "my-wrong-secret-99")
    await login(client, "hanako@example.jp")
    events = await AuditEvent.all()
    assert {e.event for e in events} >= {"auth:login:failure", "auth:login:success"}
    dumped = repr([(e.event, e.data) for e in events])
    assert "my-wrong-secret-99" not in dumped and "correct-horse-2026" not in dumped
