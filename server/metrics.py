"""Prometheus metrics: counted in the process, read at /metrics with MYPAGE_METRICS_TOKEN.

Off unless MYPAGE_METRICS_TOKEN is set: the endpoint then answers only a
request with `Authorization: Bearer <token>` (404 otherwise, as if absent).
Counters live in this process; with several hypercorn workers each scrape
reaches one of them (see the README: scrape each worker, or one process).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from quart import Quart, Response, g, request
from tortoise.functions import Count, Min

from server.config import Settings
from server.outbox.models import OutboxMessage, OutboxStatus

# Our own registry: tests build many apps in one process, and nothing of a
# library's default registry should be published by accident.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

REQUESTS = Counter(
    "mypage_http_requests",
    "Requests answered, by route group (blueprint), method and status class.",
    ["group", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "mypage_http_request_seconds",
    "Time from the request's arrival to its response, by route group.",
    ["group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "mypage_outbox_waiting",
    "Messages waiting in the outbox (pending or being sent), by channel.",
    ["channel"],
    registry=REGISTRY,
)
OUTBOX_AGE = Gauge(
    "mypage_outbox_oldest_waiting_seconds",
    "Age of the oldest waiting message, by channel (0 when none waits).",
    ["channel"],
    registry=REGISTRY,
)
OUTBOX_RESULTS = Counter(
    "mypage_outbox_deliveries",
    "Delivery attempts by channel and result (sent, retry, failed, expired).",
    ["channel", "result"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "mypage_events",
    "Access-log events recorded (sign-in failures auth:login:failure, blocks "
    "auth:account:block, ...).",
    ["event"],
    registry=REGISTRY,
)
PUSH_PRUNED = Counter(
    "mypage_push_subscriptions_pruned",
    "Push subscriptions removed because the push service said gone or kept failing.",
    registry=REGISTRY,
)
IMPORT_SECONDS = Histogram(
    "mypage_import_seconds",
    "Duration of core-system imports, by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)


def outbox_result(channel: str, result: str, count: int = 1) -> None:
    """Count delivery outcomes (called by the outbox sender)."""
    OUTBOX_RESULTS.labels(channel, result).inc(count)


def event(name: str) -> None:
    """Count one access-log event (called by `audit.service.record`)."""
    EVENTS.labels(name).inc()


def _group() -> str:
    # The blueprint keeps the label set small and stable: one per feature.
    if request.url_rule is None:
        return "unmatched"
    return request.blueprint or "app"


# Each label set's counter and histogram, found once: `labels()` validates and
# locks on every call (the hook 9.6 -> 7.0 µs of CPU per request, every route;
# bench/card_cpu_bench.py, bench/RESULTS.md 2026-12-04 `/card` hot path). The children are
# the registry's own objects, so the same label sets as before, no more: the
# cache grows exactly as the metric does.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series(group: str, method: str, status_class: int) -> tuple[Any, Any]:
    key = (group, method, status_class)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (
            LATENCY.labels(group),
            REQUESTS.labels(group, method, f"{status_class}xx"),
        )
    return found


def install(app: Quart, settings: Settings) -> None:
    """Time every request and count it by route group, when metrics can be read at all.

    Without MYPAGE_METRICS_TOKEN nobody can read /metrics, so nothing is counted.
    """
    if not settings.metrics_token:
        return

    @app.before_request
    async def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    async def count(response: Response) -> Response:
        started = g.get("metrics_started")
        latency, requests = _series(_group(), request.method, response.status_code // 100)
        if started is not None:
            latency.observe(time.perf_counter() - started)
        requests.inc()
        return response


# Channels the gauges have named: one found empty later is set back to zero.
_reported: set[str] = set()


async def refresh_outbox(now: datetime, channels: Iterable[str] = ()) -> None:
    """Read the outbox's depth and oldest waiting message per channel into the gauges.

    `channels`: those the running sender delivers, shown (as zero) even before
    their first message.
    """
    rows = (
        await OutboxMessage.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING])
        .group_by("channel")
        .annotate(waiting=Count("id"), oldest=Min("created_at"))
        .values("channel", "waiting", "oldest")
    )
    seen = set()
    for row in rows:
        channel = row["channel"]
        seen.add(channel)
        OUTBOX_DEPTH.labels(channel).set(row["waiting"])
        oldest = row["oldest"]
        if isinstance(oldest, str):  # SQLite's aggregate comes back as text
            oldest = datetime.fromisoformat(oldest)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_AGE.labels(channel).set(max(age, 0.0))
    _reported.update(channels, seen)
    for channel in _reported - seen:
        OUTBOX_DEPTH.labels(channel).set(0)
        OUTBOX_AGE.labels(channel).set(0)


def authorised(settings: Settings, authorization: str) -> bool:
    """Whether an Authorization header carries MYPAGE_METRICS_TOKEN (never when unset)."""
    expected = settings.metrics_token
    if not expected:
        return False
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


async def exposition(now: datetime, channels: Iterable[str] = ()) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, the outbox read fresh."""
    await refresh_outbox(now, channels)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
