"""Import benchmark: 30,000 members and a month of statements for each (8 lines, 240,000 rows).

    .venv/bin/python bench/import_bench.py                      # SQLite
    .venv/bin/python bench/import_bench.py --postgres postgres://postgres@127.0.0.1:5432/postgres

Times `import_file` (read, validate, compare, write, audit: what `mypage import`
does) against the floor: the same rows inserted by the bare driver in one
transaction (sqlite3 `executemany`, asyncpg `COPY`), from rows already in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sqlite3
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import db
from server.audit.service import Actor
from server.imports.members import COLUMNS as MEMBER_COLUMNS
from server.imports.plan import Kind
from server.imports.service import import_file
from server.imports.statements import COLUMNS as STATEMENT_COLUMNS

OUT = Path(__file__).resolve().parent / "out"
NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
ITEMS = [
    ("ボールペン（黒・10本）", 550),
    ("ノート（A4・5冊組）", 680),
    ("教育書「授業づくりの基礎」", 2420),
    ("旅行積立金", 10000),
    ("団体生命共済 掛金", 1500),
    ("産直りんご（5kg）", 3200),
    ("付箋（業務用）", 330),
    ("返品（ボールペン）", -550),
]


def member_rows(count: int) -> list[list[str]]:
    return [
        [
            f"{40000000 + n:08d}",
            f"組合員 {n}",
            f"クミアイイン {n}",
            f"{1960 + n % 40}-{1 + n % 12:02d}-{1 + n % 28:02d}",
            f"m{n}@example.jp",
            f"027-{200 + n % 700}-{1000 + n % 9000}",
            "371-0026",
            "群馬県前橋市大手町1-1-1",
            "前橋市立桃井小学校",
            "現職" if n % 5 else "退職",
            "2010-04-01",
            "active",
            "",
        ]
        for n in range(count)
    ]


def statement_rows(count: int, lines: int) -> list[list[str]]:
    rows = []
    for n in range(count):
        for i in range(lines):
            name, amount = ITEMS[(n + i) % len(ITEMS)]
            rows.append(
                [
                    f"{40000000 + n:08d}",
                    "2026-11",
                    "2026-11-16",
                    str(i + 1),
                    f"2026-10-{1 + (n + i) % 28:02d}",
                    name,
                    "1",
                    str(amount),
                ]
            )
    return rows


# The core system's CSV columns (README), as the importers read them.
MEMBER_HEADER = list(MEMBER_COLUMNS)
STATEMENT_HEADER = list(STATEMENT_COLUMNS)


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def fresh_db(postgres: str | None) -> str:
    name = f"mypage_bench_{uuid.uuid4().hex[:8]}"
    if postgres:
        conn = await asyncpg.connect(postgres.replace("postgres://", "postgresql://", 1))
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = postgres.rsplit("/", 1)[0] + "/" + name
    else:
        OUT.mkdir(exist_ok=True)
        url = f"sqlite://{OUT / name}.sqlite3"
    await db.migrate(url)
    return url


async def drop_db(url: str, postgres: str | None) -> None:
    if postgres:
        conn = await asyncpg.connect(postgres.replace("postgres://", "postgresql://", 1))
        name = url.rsplit("/", 1)[1]
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    else:
        path = url[len("sqlite://") :]
        for extra in ("", "-wal", "-shm"):
            Path(path + extra).unlink(missing_ok=True)  # noqa: ASYNC240 - bench set-up


async def run_import(url: str, members: bytes, statements: bytes) -> dict[str, float]:
    await db.init_db(url)
    actor = Actor(kind="operator", user_agent="bench")
    times = {}
    try:
        for key, kind, data in (
            ("members", Kind.MEMBERS, members),
            ("statements", Kind.STATEMENTS, statements),
            ("statements again (no change)", Kind.STATEMENTS, statements),
        ):
            start, cpu = time.perf_counter(), time.process_time()
            await import_file(kind, data, source=f"{key}.csv", actor=actor, now=NOW)
            times[key] = time.perf_counter() - start
            times[f"{key} cpu"] = time.process_time() - cpu
    finally:
        await db.close_db()
    return times


def typed_members(rows: list[list[str]]) -> list[tuple]:
    stamp = NOW
    return [
        (
            r[0],
            r[1],
            r[2],
            date.fromisoformat(r[3]),
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            date.fromisoformat(r[10]),
            r[11],
            None,
            stamp,
            stamp,
        )
        for r in rows
    ]


def typed_lines(rows: list[list[str]], ids: dict[str, int]) -> list[tuple]:
    return [
        (
            ids[r[0]],
            r[1],
            date.fromisoformat(r[2]),
            int(r[3]),
            date.fromisoformat(r[4]),
            r[5],
            int(r[6]),
            int(r[7]),
        )
        for r in rows
    ]


MEMBER_COLS = (
    "member_no, name, name_kana, birth_date, email, phone, postal_code, address, "
    "workplace, category, joined_on, status, capital_refund_on, created_at, updated_at"
)
LINE_COLS = (
    "member_id, billing_month, billed_on, line_no, used_on, description, quantity, amount_yen"
)


def sqlite_floor(url: str, members: list[list[str]], lines: list[list[str]]) -> dict[str, float]:
    path = url[len("sqlite://") :]
    member_values = [
        tuple(v.isoformat() if isinstance(v, date) else v for v in row)
        for row in typed_members(members)
    ]
    conn = sqlite3.connect(path, isolation_level=None)
    # The same settings as the app's connection, so the same constraints are checked.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    times = {}
    start, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO member ({MEMBER_COLS}) VALUES ({', '.join('?' * 15)})", member_values
    )
    conn.execute("COMMIT")
    times["members"] = time.perf_counter() - start
    times["members cpu"] = time.process_time() - cpu
    ids = dict(conn.execute("SELECT member_no, id FROM member"))
    line_values = [
        tuple(v.isoformat() if isinstance(v, date) else v for v in row)
        for row in typed_lines(lines, ids)
    ]
    start, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO statement_line ({LINE_COLS}) VALUES ({', '.join('?' * 8)})", line_values
    )
    conn.execute("COMMIT")
    times["statements"] = time.perf_counter() - start
    times["statements cpu"] = time.process_time() - cpu
    conn.close()
    return times


async def postgres_floor(
    url: str, members: list[list[str]], lines: list[list[str]]
) -> dict[str, float]:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    times = {}
    member_values = typed_members(members)
    start = time.perf_counter()
    async with conn.transaction():
        await conn.copy_records_to_table(
            "member", records=member_values, columns=[c.strip() for c in MEMBER_COLS.split(",")]
        )
    times["members"] = time.perf_counter() - start
    ids = dict(await conn.fetch("SELECT member_no, id FROM member"))
    line_values = typed_lines(lines, ids)
    start = time.perf_counter()
    async with conn.transaction():
        await conn.copy_records_to_table(
            "statement_line",
            records=line_values,
            columns=[c.strip() for c in LINE_COLS.split(",")],
        )
    times["statements"] = time.perf_counter() - start
    await conn.close()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--lines", type=int, default=8)
    parser.add_argument("--postgres", help="server URL (any database); default: SQLite")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    members = member_rows(args.members)
    lines = statement_rows(args.members, args.lines)
    members_csv = to_csv(MEMBER_HEADER, members)
    statements_csv = to_csv(STATEMENT_HEADER, lines)
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{engine}: {len(members):,} members ({len(members_csv) / 1e6:.1f} MB), "
        f"{len(lines):,} statement lines ({len(statements_csv) / 1e6:.1f} MB)"
    )

    # The machine is shared: each figure is the best of --repeat runs, ours and
    # the floor alternating, so both see the same background load.
    ours: dict[str, float] = {}
    floor: dict[str, float] = {}
    for _ in range(args.repeat):
        url = await fresh_db(args.postgres)
        try:
            run = await run_import(url, members_csv, statements_csv)
        finally:
            await drop_db(url, args.postgres)
        url = await fresh_db(args.postgres)
        try:
            if args.postgres:
                bare = await postgres_floor(url, members, lines)
            else:
                bare = sqlite_floor(url, members, lines)
        finally:
            await drop_db(url, args.postgres)
        ours = {k: min(v, ours.get(k, v)) for k, v in run.items()}
        floor = {k: min(v, floor.get(k, v)) for k, v in bare.items()}

    counts = {"members": len(members), "statements": len(lines)}
    start = time.perf_counter()
    parsed = sum(1 for _ in csv.reader(io.StringIO(statements_csv.decode("utf-8"), newline="")))
    csv_only = time.perf_counter() - start
    print(f"reading the statements file with csv.reader alone ({parsed:,} rows): {csv_only:.2f} s")
    print(f"| {engine} | rows | import s | rows/s | floor s | floor rows/s | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in ("members", "statements"):
        n = counts[key]
        print(
            f"| {key} | {n:,} | {ours[key]:.2f} | {n / ours[key]:,.0f} | {floor[key]:.2f} | "
            f"{n / floor[key]:,.0f} | {ours[key] / floor[key]:.1f}x |"
        )
    if not args.postgres:  # PostgreSQL works in its own process: CPU here tells little
        for key in ("members", "statements"):
            mine, bare = ours[f"{key} cpu"], floor[f"{key} cpu"]
            print(f"CPU seconds, {key}: import {mine:.2f}, floor {bare:.2f} ({mine / bare:.1f}x)")
    total_ours = ours["members"] + ours["statements"]
    total_floor = floor["members"] + floor["statements"]
    print(
        f"| total | {sum(counts.values()):,} | {total_ours:.2f} | | {total_floor:.2f} | | "
        f"{total_ours / total_floor:.1f}x |"
    )
    again = ours["statements again (no change)"]
    print(f"re-import of the same statements file (changes nothing): {again:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
