"""Pages are drawn by one function, `render_page`: the app's templates, rendered synchronously.

Quart's `render_template` renders with Jinja in async mode, which turns every
piece of a page into an awaited step through nested async generators. None
of our templates awaits anything, so the app keeps a synchronous overlay of
its own Jinja environment (Jinja's public `Environment.overlay`: the same
loader, globals, filters and settings, its own compiled templates) and
renders through it, after the same context processors Quart runs
(`update_template_context`). A signed-in `/card` costs 13 % less CPU this
way (in process, 661 -> 578 µs; `bench/card_cpu_bench.py`, bench/RESULTS.md
2026-12-05). Rendering is CPU work of a few hundred microseconds, as it was
in async mode: it runs on the loop either way.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from quart import Quart, current_app

EXTENSION_KEY = "mypage.render"
# Jinja's own default: how many compiled templates the overlay keeps.
TEMPLATE_CACHE_SIZE = 400


def install(app: Quart) -> None:
    """Give the app its synchronous view of its Jinja environment (after filters and globals)."""
    app.extensions[EXTENSION_KEY] = app.jinja_env.overlay(
        enable_async=False, cache_size=TEMPLATE_CACHE_SIZE
    )


async def render_page(template: str, **context: Any) -> str:
    """Render one of the app's templates with the context every page gets."""
    app = current_app
    await app.update_template_context(context)
    environment: Environment = app.extensions[EXTENSION_KEY]
    return environment.get_template(template).render(context)
