"""The passkeys section of /settings."""

from __future__ import annotations

from quart import g

from server.passkeys import manage
from server.settings.sections import SettingsSection


async def passkeys_section() -> SettingsSection:
    """パスキー: the list with rename/remove, and the add button (shown by the script)."""
    return SettingsSection(
        "settings/_passkeys.html",
        {
            "passkeys": await manage.passkeys_of(g.account.id),
            "has_password": g.account.password_hash is not None,
        },
        scripts=("js/webauthn-json.js", "js/passkeys.js"),
    )
