"""Refused requests in the access log (ASVS 16.3.2, 16.3.3), a few per address and minute.

Whoever refuses a request marks it with `refuse(kind)` (the CSRF check, the
admin-only guard, the error handler for a member's NotFound); a 429 marks
itself. One hook, after the refusal's response is made, writes the event:
who (member, clerk or nobody) from which address, the method, the path with
tokens redacted, and the view that refused.

A flood of refusals must not become a flood of rows, so `RefusalCap`
lets through at most PER_ADDRESS events of one kind per address and minute,
and at most PER_KIND of one kind per minute from all addresses together
(many addresses at once). It counts in process, on the app's clock, not in
the rate limiter's store: a refusal then costs no extra round trip to Redis
in the middle of a flood, and that store keeps one arrival time per key
with no atomic counter. With several workers each keeps its own count, so
the log takes at most workers x the cap: still bounded, which is the point.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from quart import Quart, Response, current_app, g, request

from server.accesslog import redact
from server.audit.events import RefusalEvent
from server.audit.service import Actor, record
from server.lib.clock import Clock

log = logging.getLogger(__name__)

EXTENSION = "mypage_refusals"
PER_ADDRESS = 10
PER_KIND = 200
FLAG = "refusal"


def refuse(kind: RefusalEvent) -> None:
    """Mark this request as refused; the event is written once its response is made."""
    setattr(g, FLAG, kind)


@dataclass
class RefusalCap:
    """Fixed one-minute windows of recorded refusals, per (kind, address) and per kind.

    Only the current minute is kept, and a key is added only when an event
    is recorded, so the counts never hold more than 4 x PER_KIND keys.
    """

    per_address: int = PER_ADDRESS
    per_kind: int = PER_KIND
    minute: datetime | None = None
    # (kind, address), and (kind, None) for all addresses together.
    counts: dict[tuple[str, str | None], int] = field(default_factory=dict)

    def allow(self, kind: str, address: str, now: datetime) -> bool:
        """Count one more event of `kind` from `address` if still under both caps."""
        minute = now.replace(second=0, microsecond=0)
        if minute != self.minute:
            self.minute = minute
            self.counts.clear()
        total: tuple[str, str | None] = (kind, None)
        one: tuple[str, str | None] = (kind, address)
        if self.counts.get(total, 0) >= self.per_kind:
            return False
        if self.counts.get(one, 0) >= self.per_address:
            return False
        self.counts[total] = self.counts.get(total, 0) + 1
        self.counts[one] = self.counts.get(one, 0) + 1
        return True


def _kind(status: int) -> RefusalEvent | None:
    kind: RefusalEvent | None = g.get(FLAG)
    if kind is None and status == 429:
        return RefusalEvent.RATE
    return kind


def _actor() -> Actor:
    """The refused visitor: the clerk or member the request was signed in as, else nobody.

    Built here from what the loaders put on `g`, not by `auth.web.request_actor`:
    the CSRF check and the error handlers that mark refusals sit below that module.
    """
    ip = (request.remote_addr or "")[:45]
    ua = request.headers.get("User-Agent", "")[:300]
    actor = Actor(kind="anonymous", ip=ip, user_agent=ua)
    staff = g.get("staff")
    if staff is not None:
        return actor.as_staff(staff)
    account = g.get("account")
    if account is not None:
        return actor.as_member(account)
    return actor


def install(app: Quart) -> None:
    """Record marked refusals and every 429, within the cap."""
    app.extensions[EXTENSION] = RefusalCap()

    @app.after_request
    async def record_refusal(response: Response) -> Response:
        kind = _kind(response.status_code)
        if kind is None:
            return response
        clock: Clock = current_app.config["MYPAGE_CLOCK"]
        now = clock()
        cap: RefusalCap = current_app.extensions[EXTENSION]
        if not cap.allow(kind, request.remote_addr or "", now):
            return response
        try:
            await record(
                kind,
                _actor(),
                now,
                method=request.method,
                path=redact(request.path),
                status=response.status_code,
                view=request.endpoint or "",
            )
        except Exception:
            # The refusal still goes out: an audit write that fails (the database
            # being away) must not turn a 403 into a 500.
            log.exception("could not record %s on %s", kind, redact(request.path))
        return response
