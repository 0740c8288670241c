"""Pages are drawn one way: `render_page`, with async context processors only."""

from __future__ import annotations

import inspect
from pathlib import Path

from flask.templating import _default_template_ctx_processor as flask_default_processor
from quart import Quart, render_template

from server.lib.render import render_page

SERVER = Path(__file__).resolve().parents[2] / "server"


async def test_every_context_processor_is_async_and_from_quart_or_us(app: Quart) -> None:
    """No processor left that Quart would run in a thread on every render (Flask's default)."""
    for scope, processors in app.template_context_processors.items():
        for processor in processors:
            assert inspect.iscoroutinefunction(processor), (scope, processor)
            assert processor.__module__.split(".")[0] in {"quart", "server"}, (scope, processor)


async def test_the_dropped_flask_processor_gave_nothing_under_quart(app: Quart) -> None:
    """Flask's default reads Flask's context, which Quart never sets: dropping it loses nothing."""
    async with app.test_request_context("/login"):
        assert flask_default_processor() == {}


async def test_render_page_draws_what_quarts_render_template_draws(app: Quart) -> None:
    """The synchronous overlay gives the same page, byte for byte, as Quart's async render."""
    async with app.test_request_context("/login?next=/card"):
        await app.preprocess_request()
        context = {"email": "hanako@example.jp", "error": "<b>", "next": "/card", "done": False}
        ours = await render_page("auth/login.html", **context)
        quarts = await render_template("auth/login.html", **context)
    assert ours == quarts
    assert "&lt;b&gt;" in ours  # still autoescaped


def test_no_module_renders_through_quart_directly() -> None:
    """Every page goes through render_page (one way to draw a page)."""
    offenders = [
        str(path.relative_to(SERVER))
        for path in SERVER.rglob("*.py")
        if path != SERVER / "lib" / "render.py"
        and "render_template" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
