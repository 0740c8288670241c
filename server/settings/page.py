"""The /settings page: every feature's section, in the order they are shown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import request
from quart.typing import ResponseReturnValue

from server.lib.render import render_page
from server.passkeys.section import passkeys_section
from server.push.section import notifications_section
from server.settings.lost_device import lost_device_section
from server.settings.password import password_section
from server.settings.sections import (
    SettingsSection,
    history_section,
    sessions_section,
    views_section,
)

# Each feature's section of /settings, one line per feature.
SECTIONS: tuple[Callable[[], Awaitable[SettingsSection]], ...] = (
    password_section,
    passkeys_section,
    notifications_section,
    sessions_section,
    history_section,
    views_section,
    lost_device_section,
)

DONE_MESSAGES = {
    "browser-forgotten": "この端末の記憶を解除しました。次回のログインでは認証コードが必要です。",
    "browsers-forgotten": (
        "すべての端末の記憶を解除しました。次回のログインでは認証コードが必要です。"
    ),
    "others-ended": "ほかの端末のログインをすべて終了しました。",
    "session-ended": "その端末のログインを終了しました。",
    "passkey-added": "パスキーを追加しました。次回から、このパスキーでログインできます。",
    "passkey-renamed": "パスキーの名前を変更しました。",
    "passkey-removed": "パスキーを削除しました。",
    "password-changed": (
        "パスワードを変更しました。ほかの端末のログインは終了しました。"
        "変更のお知らせをメールでお送りしました。"
    ),
}


async def render_settings(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    """The page with every section; an error from a form is shown at the top."""
    sections = [await section() for section in SECTIONS]
    scripts = list(dict.fromkeys(src for section in sections for src in section.scripts))
    body = await render_page(
        "settings/index.html",
        sections=sections,
        scripts=scripts,
        error=error,
        done=None if error else DONE_MESSAGES.get(request.args.get("done", "")),
    )
    return body, status
