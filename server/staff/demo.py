"""A demo admin for the staff console, so `make run` can show it on a developer's machine."""

from __future__ import annotations

from datetime import datetime

from server.audit.service import Actor
from server.config import Settings
from server.staff.accounts.service import create_staff, send_setup_link
from server.staff.models import StaffPasskey, StaffRole, StaffUser

DEMO_STAFF_EMAIL = "staff-admin@example.jp"
DEMO_STAFF_NAME = "職員 管理者"


async def demo_staff_link(settings: Settings, now: datetime) -> str | None:
    """Create the demo admin if missing; a fresh set-up link while it has no passkey yet."""
    actor = Actor(kind="system")
    staff = await StaffUser.filter(email=DEMO_STAFF_EMAIL).first()
    if staff is None:
        _, url = await create_staff(
            DEMO_STAFF_EMAIL, DEMO_STAFF_NAME, StaffRole.ADMIN, now, actor, settings
        )
        return url
    if await StaffPasskey.filter(staff_id=staff.id).exists():
        return None
    return await send_setup_link(staff, now, actor, settings)
