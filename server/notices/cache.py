"""The home page's copy of today's notices, kept a few seconds per worker process.

Every signed-in home page shows the current notices; reading them from the
database on each view cost a third of the page's throughput. Notices change a
few times a month, so each worker keeps what it read for CACHE_SECONDS; the
worker that creates or withdraws a notice forgets its copy at once, every
other worker and machine within CACHE_SECONDS. Several machines share nothing
but the database, so the bound is time: a short expiry costs one small query
per worker every few seconds, where PostgreSQL LISTEN/NOTIFY would need a
dedicated connection per worker, a reconnect loop, and still nothing on
SQLite. The copy lives on the app (one per app instance, so tests never share
one).
"""

from __future__ import annotations

from datetime import datetime

from quart import Quart

from server.lib.ttl_cache import TtlCache
from server.notices.models import CoopNotice
from server.notices.service import current_notices, today_in_japan

# The documented delay (README, operations) before a notice shows on every machine.
CACHE_SECONDS = 5.0
KEY = "mypage_notices"


class NoticeCache:
    """Today's notices, kept CACHE_SECONDS under the Japan date (one read for many pages)."""

    def __init__(self) -> None:
        """An empty copy."""
        self.copies = TtlCache(CACHE_SECONDS)

    async def current(self, now: datetime) -> list[CoopNotice]:
        """Today's notices, from the copy while it is fresh and of the same Japan day."""
        notices: list[CoopNotice] = await self.copies.get_or_load(
            today_in_japan(now), lambda: current_notices(now)
        )
        return notices

    def forget(self) -> None:
        """Read again on the next view (after a notice was created or withdrawn here)."""
        self.copies.clear()


def notice_cache(app: Quart) -> NoticeCache:
    """This app's copy (made on first use)."""
    cache: NoticeCache | None = app.extensions.get(KEY)
    if cache is None:
        cache = app.extensions[KEY] = NoticeCache()
    return cache
