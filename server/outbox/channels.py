"""What a channel is to the outbox sender: how its rows are delivered, and how failure is told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q


class DeliveryError(Exception):
    """Not delivered; `temporary` says whether a later attempt may succeed."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.temporary = temporary


class RetryAfter(DeliveryError):
    """A temporary failure whose far end said when to try again (e.g. a 429 Retry-After)."""

    def __init__(self, reason: str, *, retry_after: float | None) -> None:
        super().__init__(reason, temporary=True)
        self.retry_after = retry_after


# One payload: returns when delivered, raises DeliveryError otherwise.
Deliver = Callable[[dict[str, Any]], Awaitable[None]]
# Many payloads in one call: one result per payload, None when delivered.
DeliverBatch = Callable[[list[dict[str, Any]]], Awaitable[list[DeliveryError | None]]]


@dataclass(frozen=True)
class Channel:
    """One kind of outbox row and how the sender delivers it.

    `sequential`: rows go out one at a time, in order (one SMTP conversation),
    rather than together with the rest of a claim. `pull_forward`: the channel
    has a single destination, so one success makes the rows waiting out their
    backoff due at once. `forget`: payload keys dropped once a row is done with
    (a mail body holding a code or a link). `apart`: a row is a long job (an
    import applying for a minute or more), so the sender claims and runs the
    channel's rows in a loop of their own: no other channel's row (a sign-in
    code) waits behind one.
    """

    name: str
    deliver: Deliver
    deliver_batch: DeliverBatch | None = None
    sequential: bool = False
    pull_forward: bool = False
    forget: tuple[str, ...] = ()
    apart: bool = False


@dataclass(frozen=True)
class Lane:
    """The rows one loop of the sender claims: of the channels named, or (`others`) of the rest.

    `Lane()` is every channel: one pass over the whole outbox.
    """

    names: frozenset[str] = frozenset()  # at least one when not `others`
    others: bool = True

    def holds(self, channel: str) -> bool:
        """Whether this lane claims the channel's rows."""
        return (channel in self.names) != self.others

    def narrow(self, rows: Q) -> Q:
        """`rows`, limited to this lane's channels."""
        if not self.names:  # every channel
            return rows
        names = sorted(self.names)
        return rows & (Q(channel__not_in=names) if self.others else Q(channel__in=names))


EVERY = Lane()


def lanes(channels: Iterable[Channel]) -> list[Lane]:
    """The quick channels together in the first lane, then each `apart` channel in its own."""
    apart = sorted(channel.name for channel in channels if channel.apart)
    return [Lane(frozenset(apart))] + [Lane(frozenset({name}), others=False) for name in apart]
