"""The settings page (/settings): one section per feature."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from quart import Blueprint, render_template, request
from quart.typing import ResponseReturnValue

from server.auth.web import member_required
from server.settings.sections import SettingsSection

bp = Blueprint("settings", __name__)

# Each feature's section of /settings, as "module:async function"; one line per feature.
SECTIONS = [
    "server.passkeys.routes:settings_section",
    "server.push.routes:settings_section",
    "server.settings.sections:sessions_section",
    "server.settings.sections:history_section",
]

DONE_MESSAGES = {
    "passkey-added": "パスキーを追加しました。次回から、このパスキーでログインできます。",
    "passkey-renamed": "パスキーの名前を変更しました。",
    "passkey-removed": "パスキーを削除しました。",
}


def _loader(path: str) -> Callable[[], Awaitable[SettingsSection]]:
    module_name, attribute = path.split(":")
    loader: Callable[[], Awaitable[SettingsSection]] = getattr(
        importlib.import_module(module_name), attribute
    )
    return loader


async def render_settings(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    """The page with every section; an error from a form is shown at the top."""
    sections = [await _loader(path)() for path in SECTIONS]
    scripts = list(dict.fromkeys(src for section in sections for src in section.scripts))
    body = await render_template(
        "settings/index.html",
        sections=sections,
        scripts=scripts,
        error=error,
        done=None if error else DONE_MESSAGES.get(request.args.get("done", "")),
    )
    return body, status


@bp.get("/settings")
@member_required
async def index() -> ResponseReturnValue:
    """Passkeys, signed-in devices and the security history (more sections as features land)."""
    return await render_settings()
