"""Housekeeping deletes what can no longer be used, and nothing that still can."""

from __future__ import annotations

from quart import Quart

from server.auth.models import Session
from server.maintenance import purge_expired
from server.outbox.models import OutboxMessage
from server.outbox.queue import enqueue
from server.staff.models import StaffSession, StaffSetupLink
from tests.factories import make_account
from tests.helpers import login
from tests.smtp import deliver
from tests.staff.helpers import new_staff, signed_in_staff


async def test_expired_rows_go_and_live_ones_stay(app: Quart, clock) -> None:
    settings = app.config["MYPAGE_SETTINGS"]
    account = await make_account()
    member = app.test_client()
    assert (await login(member, account.email)).status_code == 303
    await signed_in_staff(app)
    await new_staff(app)  # an unused set-up link
    await enqueue("mail", {"to": "x@example.jp", "subject": "s", "body": "b"}, clock())
    await deliver(app)
    sent = await OutboxMessage.filter(status="sent").count()
    assert sent >= 1

    counts = await purge_expired(clock(), settings)
    assert await Session.all().count() == 1 and await StaffSession.all().count() == 1
    assert not any(counts.get(t) for t in ("session", "staff_session", "outbox_message"))

    clock.advance(minutes=settings.staff_idle_minutes + 1)
    await purge_expired(clock(), settings)
    assert await StaffSession.all().count() == 0  # staff idle out first
    assert await Session.all().count() == 1

    clock.advance(days=31)
    counts = await purge_expired(clock(), settings)
    assert await Session.all().count() == 0
    assert await StaffSetupLink.filter(used_at=None).count() == 0
    assert await OutboxMessage.filter(status="sent").count() == 0
    assert counts["outbox_message"] == sent
