"""The home page's notices: read once per worker for a few seconds, forgotten on change."""

from __future__ import annotations

import time
from datetime import date

import pytest
from quart import Quart

from server.notices.cache import CACHE_SECONDS, notice_cache
from server.notices.models import CoopNotice
from tests.factories import make_account
from tests.helpers import login, page
from tests.staff.helpers import new_staff


async def test_a_notice_from_another_worker_shows_within_the_cache_time(
    app: Quart, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: ticks[0])
    account = await make_account()
    client = app.test_client()
    await login(client, account.email)
    _, html = await page(client, "/")
    assert "夏のセール" not in html
    staff, _ = await new_staff(app)
    # Written by another worker: this one's copy does not know yet.
    await CoopNotice.create(
        title="夏のセール",
        body="本文",
        starts_on=date(2026, 1, 1),
        created_by_id=staff.id,
        created_at=clock(),
    )
    _, html = await page(client, "/")
    assert "夏のセール" not in html
    ticks[0] += CACHE_SECONDS
    _, html = await page(client, "/")
    assert "夏のセール" in html
    # A change made in this worker is shown at once.
    notice_cache(app).forget()
    await CoopNotice.all().update(withdrawn_at=clock())
    _, html = await page(client, "/")
    assert "夏のセール" not in html
