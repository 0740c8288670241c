"""Statement pages under data: members with 24 months of 8 lines each; p50/p99 per page.

    .venv/bin/python bench/statements_page_bench.py [--members 2000] [--requests 300]
    .venv/bin/python bench/statements_page_bench.py --postgres postgres://postgres@127.0.0.1:5432/postgres

Requests go through the whole app (session lookup, CSRF, templates) with
Quart's test client, so network and hypercorn are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from import_bench import drop_db, fresh_db  # type: ignore[import-not-found]

from server import db
from server.app import create_app
from server.auth.models import Account
from server.config import Settings
from server.imports.bulk import insert_rows
from server.imports.statement_plan import INSERT_COLUMNS, TABLE
from server.lib.clock import FrozenClock
from server.mail.catcher import MailCatcher
from server.members.models import Member
from server.security import hash_password
from tests import smtp as test_smtp
from tests.helpers import login

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
LINE_DATES = ("billed_on", "used_on")
MONTHS = [f"{2024 + (m + 11) // 12:04d}-{(m + 11) % 12 + 1:02d}" for m in range(24)]


async def fill(url: str, members: int) -> None:
    await db.init_db(url)
    conn = Member._meta.db
    stamp = NOW
    rows = [
        (
            f"{50000000 + n:08d}",
            f"組合員 {n}",
            f"クミアイイン {n}",
            date(1970, 1, 1),
            "現職",
            date(2010, 4, 1),
            "active",
            stamp,
            stamp,
        )
        for n in range(members)
    ]
    columns = (
        "member_no",
        "name",
        "name_kana",
        "birth_date",
        "category",
        "joined_on",
        "status",
        "created_at",
        "updated_at",
    )
    await insert_rows(
        conn, "member", columns, rows, dates=("birth_date", "joined_on", "created_at", "updated_at")
    )
    ids = [mid for (mid,) in await Member.all().order_by("id").values_list("id")]
    lines = []
    for mid in ids:
        for month in MONTHS:
            billed = date(int(month[:4]), int(month[5:]), 15)
            for i in range(1, 9):
                lines.append((mid, month, i, billed, billed, f"文具 {i}", 1, 100 * i))
        if len(lines) > 50_000:
            await insert_rows(conn, TABLE, INSERT_COLUMNS, lines, dates=LINE_DATES)
            lines = []
    await insert_rows(conn, TABLE, INSERT_COLUMNS, lines, dates=LINE_DATES)
    await Account.create(
        member_id=ids[len(ids) // 2],
        email="bench@example.jp",
        password_hash=await hash_password("bench-password-2026"),
        registered_at=datetime(2024, 10, 1, tzinfo=UTC),
    )
    await db.close_db()


async def measure(url: str, requests: int) -> dict[str, list[float]]:
    # Sign-in from a new browser asks for the mailed code: a real SMTP catcher.
    catcher = MailCatcher().start()
    test_smtp.SERVER = catcher
    settings = Settings(
        env="test",
        database_url=url,
        secret_key="x" * 40,
        smtp_host=catcher.host,
        smtp_port=catcher.port,
        outbox_sender=False,
    )
    app = create_app(settings, clock=FrozenClock(NOW))
    timings: dict[str, list[float]] = {}
    async with app.test_app():
        client = app.test_client()
        response = await login(client, "bench@example.jp", "bench-password-2026")
        assert response.status_code == 303
        for path in ("/statements", "/statements/2026-06", "/capital", "/profile"):
            for _ in range(20):  # warm up
                await client.get(path)
            samples = []
            for _ in range(requests):
                start = time.perf_counter()
                response = await client.get(path)
                await response.get_data()
                samples.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            timings[path] = samples
    catcher.stop()
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    url = await fresh_db(args.postgres)
    try:
        await fill(url, args.members)
        timings = await measure(url, args.requests)
    finally:
        await drop_db(url, args.postgres)
    engine = "PostgreSQL" if args.postgres else "SQLite"
    total = args.members * 24 * 8
    print(f"{engine}: {args.members:,} members x 24 months x 8 lines = {total:,} statement lines")
    print("| page | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    for path, samples in timings.items():
        q = statistics.quantiles(samples, n=100)
        print(f"| {path} | {statistics.median(samples):.1f} | {q[94]:.1f} | {q[98]:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
