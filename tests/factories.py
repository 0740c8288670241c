"""Small factories: each test builds exactly the rows it needs."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from server.auth.models import Account
from server.members.models import Category, Member, MemberStatus
from server.security import hash_password

PASSWORD = "correct-horse-2026"
_numbers = itertools.count(1)
_hashes: dict[str, str] = {}


async def password_hash(password: str = PASSWORD) -> str:
    """argon2 hashes are slow on purpose; tests reuse one per password."""
    if password not in _hashes:
        _hashes[password] = await hash_password(password)
    return _hashes[password]


async def make_member(**fields: Any) -> Member:
    """A member with realistic defaults; override any column."""
    n = next(_numbers)
    values: dict[str, Any] = {
        "member_no": f"{30000000 + n:08d}",
        "name": f"テスト 太郎{n}",
        "name_kana": f"テスト タロウ{n}",
        "birth_date": date(1980, 5, 5),
        "email": None,
        "phone": "027-000-0000",
        "postal_code": "371-0026",
        "address": "群馬県前橋市大手町1-1-1",
        "workplace": "前橋市立テスト小学校",
        "category": Category.SERVING,
        "joined_on": date(2015, 4, 1),
        "status": MemberStatus.ACTIVE,
    }
    values.update(fields)
    return await Member.create(**values)


async def make_account(
    member: Member | None = None,
    *,
    email: str | None = None,
    password: str | None = PASSWORD,
    registered_at: datetime | None = None,
    **fields: Any,
) -> Account:
    """A registered My Page account (creates its member when none is given)."""
    member = member or await make_member()
    email = email or f"member{member.id}@example.jp"
    return await Account.create(
        member=member,
        email=email,
        password_hash=await password_hash(password) if password else None,
        registered_at=registered_at or datetime(2024, 11, 1, tzinfo=UTC),
        **fields,
    )
