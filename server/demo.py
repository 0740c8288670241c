"""Demo data for development and benchmarks (never for production)."""

from __future__ import annotations

import random
import sys
from datetime import date, datetime, timedelta

from tortoise.transactions import in_transaction

from server.auth.models import Account
from server.lib.clock import system_clock, to_jst
from server.members.models import Category, Member, MemberStatus
from server.security import hash_password
from server.statements.demo import create_bulk_statements, create_member_history

DEMO_EMAIL = "demo@example.jp"
DEMO_PASSWORD = "gunma-demo-2026"  # noqa: S105 - the demo account README documents
DEMO_MEMBER_NO = "00012345"
BULK_PASSWORD = "bench-member-2026"  # noqa: S105 - benchmark members only

SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "渡辺",
    "伊藤",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山口",
    "松本",
    "井上",
    "木村",
    "清水",
    "新井",
    "関口",
    "星野",
    "茂木",
    "萩原",
]
SURNAMES_KANA = [
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "ワタナベ",
    "イトウ",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
    "ヨシダ",
    "ヤマグチ",
    "マツモト",
    "イノウエ",
    "キムラ",
    "シミズ",
    "アライ",
    "セキグチ",
    "ホシノ",
    "モテギ",
    "ハギワラ",
]
GIVEN = ["陽子", "健一", "美穂", "誠", "恵子", "浩二", "由美", "大輔", "直子", "隆"]
GIVEN_KANA = [
    "ヨウコ",
    "ケンイチ",
    "ミホ",
    "マコト",
    "ケイコ",
    "コウジ",
    "ユミ",
    "ダイスケ",
    "ナオコ",
    "タカシ",
]
TOWNS = [
    ("371-0026", "群馬県前橋市大手町1-1-1"),
    ("370-0065", "群馬県高崎市末広町12-3"),
    ("373-0851", "群馬県太田市飯田町1025"),
    ("376-0011", "群馬県桐生市相生町2-418"),
    ("372-0042", "群馬県伊勢崎市中央町7-8"),
    ("377-0008", "群馬県渋川市渋川1710"),
    ("379-2311", "群馬県みどり市笠懸町阿左美1960"),
]
SCHOOLS = [
    "前橋市立桃井小学校",
    "高崎市立中央小学校",
    "群馬県立前橋高等学校",
    "太田市立太田小学校",
    "桐生市立東中学校",
    "伊勢崎市立北小学校",
    "渋川市立渋川中学校",
    "群馬県立高崎女子高等学校",
]


async def create_demo(extra_members: int = 0, now: datetime | None = None) -> bool:
    """Create the demo member and a handful of others; False if they already exist."""
    now = now or system_clock()
    if await Member.filter(member_no=DEMO_MEMBER_NO).exists():
        created = False
    else:
        await _create_named_members(now)
        created = True
    if extra_members:
        await create_bulk_members(extra_members, now)
    return created


async def _create_named_members(now: datetime) -> None:
    today = now.date()
    demo_hash = await hash_password(DEMO_PASSWORD)
    async with in_transaction():
        demo = await Member.create(
            member_no=DEMO_MEMBER_NO,
            name="山田 花子",
            name_kana="ヤマダ ハナコ",
            birth_date=date(1978, 4, 12),
            email=DEMO_EMAIL,
            phone="027-231-0000",
            postal_code="371-0026",
            address="群馬県前橋市大手町1-1-1 生協ハイツ201",
            workplace="前橋市立桃井小学校",
            category=Category.SERVING,
            joined_on=date(today.year - 10, 4, 1),
            status=MemberStatus.ACTIVE,
        )
        await Account.create(
            member=demo,
            email=DEMO_EMAIL,
            password_hash=demo_hash,
            registered_at=now - timedelta(days=730),
        )
        await create_member_history(demo.id, to_jst(now).date())
        rng = random.Random(2026)
        for i in range(6):
            postal, address = TOWNS[i % len(TOWNS)]
            retired = i % 3 == 2
            await Member.create(
                member_no=f"{10000 + i * 37:08d}",
                name=f"{SURNAMES[i]} {GIVEN[i]}",
                name_kana=f"{SURNAMES_KANA[i]} {GIVEN_KANA[i]}",
                birth_date=date(
                    1950 + rng.randrange(40), rng.randrange(1, 13), rng.randrange(1, 28)
                ),
                email=None,
                phone=f"027-{rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}",
                postal_code=postal,
                address=address,
                workplace="" if retired else SCHOOLS[i % len(SCHOOLS)],
                category=Category.RETIRED if retired else Category.SERVING,
                joined_on=date(2000 + i * 3, 4, 1),
                status=MemberStatus.ACTIVE,
            )


async def create_bulk_members(count: int, now: datetime) -> None:
    """N more members with accounts (bulk inserts; one shared hash, benchmarks only)."""
    shared_hash = await hash_password(BULK_PASSWORD)
    start = await Member.all().count()
    batch = 2000
    for offset in range(0, count, batch):
        size = min(batch, count - offset)
        members = []
        for i in range(offset, offset + size):
            n = start + i
            postal, address = TOWNS[n % len(TOWNS)]
            members.append(
                Member(
                    member_no=f"{20000000 + n:08d}",
                    name=f"{SURNAMES[n % 20]} {GIVEN[n % 10]}",
                    name_kana=f"{SURNAMES_KANA[n % 20]} {GIVEN_KANA[n % 10]}",
                    birth_date=date(1960 + n % 40, 1 + n % 12, 1 + n % 28),
                    email=f"member{n}@example.jp",
                    phone=f"027-{200 + n % 700}-{1000 + n % 9000}",
                    postal_code=postal,
                    address=address,
                    workplace=SCHOOLS[n % len(SCHOOLS)],
                    category=Category.SERVING,
                    joined_on=date(2010, 4, 1),
                    status=MemberStatus.ACTIVE,
                )
            )
        async with in_transaction():
            await Member.bulk_create(members)
            saved = await Member.filter(member_no__in=[m.member_no for m in members]).values_list(
                "id", "email"
            )
            await Account.bulk_create(
                [
                    Account(
                        member_id=mid,
                        email=email,
                        password_hash=shared_hash,
                        registered_at=now - timedelta(days=400),
                    )
                    for mid, email in saved
                ]
            )
            await create_bulk_statements([mid for mid, _ in saved], to_jst(now).date())
        print(f"demo: {offset + size}/{count} members", file=sys.stderr)
