"""`mypage import` as an operator runs it: exit codes, report on stderr, dry run."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from server import db
from server.audit.service import Actor
from server.members.models import Member
from server.staff.members.actions import record_withdrawal
from server.staff.models import StaffUser
from server.statements.models import StatementLine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def mypage(db_url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "MYPAGE_DATABASE_URL": db_url, "MYPAGE_ENV": "test"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from server.cli import main; main()",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def count(db_url: str) -> tuple[int, int]:
    await db.init_db(db_url)
    try:
        return await Member.all().count(), await StatementLine.all().count()
    finally:
        await db.close_db()


async def test_import_commands(db_url: str, tmp_path: Path) -> None:
    code, out, err = await mypage(
        db_url, "import", "members", str(EXAMPLES / "members_cp932.csv"), "--dry-run"
    )
    assert code == 0, err
    assert "書き込みはしていません" in out
    assert await count(db_url) == (0, 0)

    code, out, err = await mypage(db_url, "import", "members", str(EXAMPLES / "members.csv"))
    assert code == 0, err
    assert "追加 3件" in out
    code, out, err = await mypage(
        db_url, "import", "statements", str(EXAMPLES / "statements_cp932.csv")
    )
    assert code == 0, err
    assert "CP932" in out and "追加 7件" in out
    assert "行を読み込みました" in err  # progress goes to stderr

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
        "10000001,2026-11,2026-02-30,1,2026-10-05,ノート,1,abc\n",
        encoding="utf-8",
    )
    code, out, err = await mypage(db_url, "import", "statements", str(bad))
    assert code == 1
    assert "取り込めませんでした" in err
    assert "2行目 billed_on「2026-02-30」: 存在しない日付です。" in err
    assert "2行目 amount_yen「abc」: 整数（半角または全角の数字）で入力してください。" in err
    assert await count(db_url) == (3, 7)

    code, out, err = await mypage(db_url, "import", "capital", str(tmp_path / "missing.csv"))
    assert code == 2
    assert "ファイルを読めません" in err


async def withdraw_in_console(db_url: str, member_no: str, refund_on: date) -> None:
    """A clerk records the member's withdrawal on the members screen (its service)."""
    await db.init_db(db_url)
    try:
        now = datetime.now(UTC)
        staff = await StaffUser.create(
            email="clerk@coop.example.jp",
            name="窓口 一郎",
            role="operator",
            user_handle="clerk-handle",
            created_at=now,
        )
        member = await Member.get(member_no=member_no)
        actor = Actor(kind="staff", staff_id=staff.id)
        await record_withdrawal(member.id, refund_on.isoformat(), True, now, actor)
    finally:
        await db.close_db()


async def status_of(db_url: str, member_no: str) -> str:
    await db.init_db(db_url)
    try:
        return str((await Member.get(member_no=member_no)).status)
    finally:
        await db.close_db()


async def test_conflicts_are_listed_by_the_dry_run_and_overwritten_only_when_named(
    db_url: str,
) -> None:
    members = str(EXAMPLES / "members.csv")
    code, out, err = await mypage(db_url, "import", "members", members)
    assert code == 0, err
    refund_on = date.today() + timedelta(days=60)
    await withdraw_in_console(db_url, "10000001", refund_on)

    code, out, err = await mypage(db_url, "import", "members", members, "--dry-run")
    assert code == 0, err
    assert "競合 1件" in out
    assert (
        "競合 10000001 状態: ファイル「在籍（active）」／ポータル「脱退手続き中（withdrawing）"
        in out
    )
    assert "窓口 一郎" in out and "--overwrite 組合員番号:項目" in out

    code, out, err = await mypage(db_url, "import", "members", members)
    assert code == 0, err
    assert "ポータルの値を残します" in out
    assert await status_of(db_url, "10000001") == "withdrawing"

    code, out, err = await mypage(
        db_url, "import", "members", members, "--overwrite", "10000001:住所"
    )
    assert code == 2 and "--overwrite は「組合員番号:項目」" in err
    assert await status_of(db_url, "10000001") == "withdrawing"

    code, out, err = await mypage(
        db_url, "import", "members", members, "--overwrite", "１０００００01:status"
    )
    assert code == 0, err
    assert "上書きしました" in out and "ファイルの値で上書き 1件" in out
    assert await status_of(db_url, "10000001") == "active"
