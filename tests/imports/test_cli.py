"""`mypage import` as an operator runs it: exit codes, report on stderr, dry run."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from server import db
from server.members.models import Member
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
