"""The notifications section of /settings (also shown on a page of its own)."""

from __future__ import annotations

from quart import g, request

from server.push import service
from server.settings.sections import SettingsSection


async def notifications_section() -> SettingsSection:
    """The notifications section of /settings: this member's devices and topic choices."""
    return SettingsSection(
        "settings/_notifications.html",
        {
            "devices": await service.devices_of(g.member.id),
            "preference": await service.preference_of(g.member.id),
            "saved": request.args.get("saved", ""),
        },
        ("js/push.js",),
    )
