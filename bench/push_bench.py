"""Push fan-out benchmark: one statements import notifies N members, one device each.

Usage: .venv/bin/python bench/push_bench.py [--members 30000] [--concurrency 64]
       [--database-url sqlite://... | postgres://...]

A local push service (aiohttp, in its own process, answering 201) plays FCM.
The benchmark migrates a fresh database, creates N members with one
subscription each, queues one notice per member with queue_statement_notices
(as the import does), and delivers them all through the real delivery code
(deliver_notices: preference, device and delivery queries per batch,
aes128gcm encryption, VAPID header, HTTP POST, delivery records written per
batch) with `--concurrency` requests in flight. It prints notices/s and
total time beside the floor (the same encryption alone, on one thread, no
HTTP, no database), and the event loop's lag during the fan-out (what pages
served by the same process would wait).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server import db
from server.config import Settings
from server.lib.clock import system_clock
from server.members.models import Category, Member
from server.outbox.models import OutboxMessage
from server.outbox.sender import OutboxSender
from server.push.channel import push_channel
from server.push.delivery import deliver_notices
from server.push.models import PushDelivery, PushSubscription
from server.push.sender import PushClient, close_shared_clients, encrypt
from server.push.service import push_body, queue_statement_notices, statement_notice
from server.push.vapid import b64url, load_vapid, new_key_pair

MONTH = "2026-11"


def receiver_process(port_queue: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """The push service: counts and answers 201, in its own process and event loop."""
    from aiohttp import web

    async def main() -> None:
        async def handle(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(status=201)

        app = web.Application()
        app.router.add_post("/push/{name}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await runner.cleanup()

    asyncio.run(main())


def idle_lag_process(results: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """The same 10 ms ticker in an idle process: the lag the shared machine alone causes."""

    async def main() -> None:
        samples: list[float] = []
        done = asyncio.Event()
        ticker = asyncio.create_task(loop_lag(done, samples))
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        done.set()
        await ticker
        results.put(sorted(samples) or [0.0])

    asyncio.run(main())


def device_keys(n: int) -> list[tuple[str, str]]:
    """(p256dh, auth) for n browsers, each with its own key pair."""
    keys = []
    for _ in range(n):
        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        keys.append((b64url(point), b64url(os.urandom(16))))
    return keys


async def populate(n: int, origin: str, now: datetime) -> list[int]:
    """N members with one subscription each; returns the member ids."""
    members = [
        Member(
            member_no=f"{50000000 + i:08d}",
            name=f"ベンチ {i}",
            name_kana=f"ベンチ {i}",
            birth_date=date(1980, 1, 1),
            category=Category.SERVING,
            joined_on=date(2010, 4, 1),
        )
        for i in range(n)
    ]
    await Member.bulk_create(members, batch_size=2000)
    ids = [m.id for m in await Member.filter(member_no__startswith="5").order_by("id")]
    keys = device_keys(n)
    subs = [
        PushSubscription(
            member_id=member_id,
            endpoint=f"{origin}/push/{member_id}",
            p256dh=p256dh,
            auth=auth,
            browser="Chrome",
            os="Android",
            created_at=now,
            updated_at=now,
        )
        for member_id, (p256dh, auth) in zip(ids, keys, strict=True)
    ]
    await PushSubscription.bulk_create(subs, batch_size=2000)
    return ids


def floor(n: int) -> tuple[float, float]:
    """Wall and CPU seconds to encrypt n messages on one thread: no HTTP, no database."""
    body = push_body(statement_notice(1, MONTH))
    keys = device_keys(min(n, 2000))
    start, cpu = time.perf_counter(), time.thread_time()
    for i in range(n):
        p256dh, auth = keys[i % len(keys)]
        info = {
            "endpoint": "https://fcm.googleapis.com/x",
            "keys": {"p256dh": p256dh, "auth": auth},
        }
        encrypt(info, body)
    return time.perf_counter() - start, time.thread_time() - cpu


def cpu_seconds() -> float:
    """CPU time this process used (all its threads): robust to other people's load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def loop_lag(stop: asyncio.Event, samples: list[float]) -> None:
    """How late a 10 ms timer fires: the wait a page request would see on this loop."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append(time.perf_counter() - start - 0.01)


async def run(args: argparse.Namespace, origin: str, workdir: Path) -> dict[str, float]:
    url = args.database_url or f"sqlite://{workdir / 'bench.sqlite3'}"
    private, _ = new_key_pair()
    settings = Settings(
        env="test",
        database_url=url,
        data_dir=workdir,
        vapid_private_key=private,
        push_allowed_hosts=("127.0.0.1",),
        push_concurrency=args.concurrency,
    )
    await db.migrate(url)
    await db.init_db(url)
    try:
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        ids = await populate(args.members, origin, now)
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        await queue_statement_notices([(member_id, MONTH) for member_id in ids], now)
        queue_time = time.perf_counter() - t0
        payloads = [
            item.payload for item in await OutboxMessage.filter(channel="push").order_by("id")
        ]

        lag: list[float] = []
        stop = asyncio.Event()
        ticker = asyncio.create_task(loop_lag(stop, lag))
        idle_results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        idle_stop = multiprocessing.Event()
        idle = multiprocessing.Process(
            target=idle_lag_process, args=(idle_results, idle_stop), daemon=True
        )
        idle.start()
        errors = 0
        if args.through_outbox:
            # The real path: the outbox sender claims rows and runs the push handler.
            sender = OutboxSender(settings, system_clock, [push_channel(settings)])
            t0, cpu0 = time.perf_counter(), cpu_seconds()
            while await sender.run_once():
                pass
            total, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            await close_shared_clients()
        else:
            async with PushClient(settings, load_vapid(settings)) as client:
                batches = iter(
                    payloads[i : i + args.batch] for i in range(0, len(payloads), args.batch)
                )

                async def worker() -> None:
                    nonlocal errors
                    for batch in batches:
                        reports = await deliver_notices(batch, client, now, settings)
                        errors += sum(1 for r in reports if r.retry or r.failed)

                t0, cpu0 = time.perf_counter(), cpu_seconds()
                await asyncio.gather(*(worker() for _ in range(args.batches_in_flight)))
                total, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        stop.set()
        await ticker
        idle_stop.set()
        idle_lag = idle_results.get(timeout=30)
        idle.join(timeout=10)
        delivered = await PushDelivery.filter(notice_key=f"statement:{MONTH}").count()
    finally:
        await db.close_db()
    lag_sorted = sorted(lag) or [0.0]
    floor_wall, floor_cpu = floor(args.members)
    return {
        "setup": setup,
        "queue": queue_time,
        "total": total,
        "cpu": cpu,
        "delivered": delivered,
        "errors": errors,
        "rate": delivered / total,
        "lag_p50": statistics.median(lag_sorted) * 1000,
        "lag_p99": lag_sorted[int(len(lag_sorted) * 0.99) - 1] * 1000,
        "lag_max": lag_sorted[-1] * 1000,
        "idle_p50": statistics.median(idle_lag) * 1000,
        "idle_p99": idle_lag[int(len(idle_lag) * 0.99) - 1] * 1000,
        "idle_max": idle_lag[-1] * 1000,
        "floor": floor_wall,
        "floor_cpu": floor_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=30000)
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--batch", type=int, default=100, help="notices per delivery batch")
    parser.add_argument("--batches-in-flight", type=int, default=4)
    parser.add_argument(
        "--through-outbox", action="store_true", help="deliver with the real outbox sender"
    )
    parser.add_argument("--database-url", default=os.environ.get("MYPAGE_BENCH_DATABASE_URL", ""))
    args = parser.parse_args()

    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    receiver = multiprocessing.Process(target=receiver_process, args=(ports, stop), daemon=True)
    receiver.start()
    origin = f"http://127.0.0.1:{ports.get(timeout=30)}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(run(args, origin, Path(tmp)))
    finally:
        stop.set()
        receiver.join(timeout=10)
    n = args.members
    kind = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    print(f"## Push fan-out: {n:,} members, one device each ({kind})\n")
    print(
        f"- command: `.venv/bin/python bench/push_bench.py --members {n} "
        f"--concurrency {args.concurrency} --batch {args.batch} "
        f"--batches-in-flight {args.batches_in_flight}`"
    )
    print(
        f"- machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, receiver in its own process on the same machine"
    )
    print(
        f"- set-up (members and subscriptions): {result['setup']:.1f} s; "
        f"queueing {n:,} notices: {result['queue']:.2f} s\n"
    )
    print("| measure | result | target |")
    print("| --- | --- | --- |")
    delivered, errors = int(result["delivered"]), int(result["errors"])
    print(f"| delivered | {delivered:,} of {n:,} ({errors} errors) | all |")
    print(f"| total time | {result['total']:.1f} s | < 60 s |")
    print(f"| notices/s | {result['rate']:.0f} | > {n / 60:.0f} |")
    print(
        f"| CPU of the sending process (all threads) | {result['cpu']:.1f} s "
        f"({n / result['cpu']:.0f} notices per CPU-second) | |"
    )
    print(
        f"| floor: encryption alone, one thread | {result['floor']:.1f} s wall "
        f"({n / result['floor']:.0f}/s), {result['floor_cpu']:.1f} s CPU | |"
    )
    print(
        f"| event-loop lag during fan-out (p50 / p99 / max) | {result['lag_p50']:.1f} / "
        f"{result['lag_p99']:.1f} / {result['lag_max']:.1f} ms | p99 < 100 ms |"
    )
    print(
        f"| same ticker in an idle process meanwhile (the machine's own load) | "
        f"{result['idle_p50']:.1f} / {result['idle_p99']:.1f} / {result['idle_max']:.1f} ms | |"
    )


if __name__ == "__main__":
    main()
