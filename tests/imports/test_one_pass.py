"""One upload reports every problem of a file, and a file of another kind in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.audit.service import Actor
from server.imports.plan import Kind
from server.imports.reader import ImportRejected, WrongKind
from server.imports.service import import_file
from server.statements.models import StatementLine
from tests.imports.test_cli import mypage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
GOOD = "10000001,2026-11,2026-11-16,1,2026-10-05,ノート,1,680\n"
# A bad date, a bad amount and an unknown member, on three rows.
THREE_PROBLEMS = (
    HEADER
    + GOOD
    + "10000001,2026-11,2026-11-16,2,2026-10-32,鉛筆,1,100\n"
    + "10000002,2026-11,2026-11-16,1,2026-10-05,消しゴム,1,abc\n"
    + "99999999,2026-11,2026-11-16,1,2026-10-05,ペン,1,200\n"
).encode()
UNKNOWN = "この組合員番号の組合員は登録されていません。"


@pytest.fixture
async def members(app, clock) -> None:
    data = (EXAMPLES / "members.csv").read_bytes()
    await import_file(Kind.MEMBERS, data, source="members.csv", actor=Actor(), now=clock())


async def failing(kind: Kind, data: bytes, clock) -> ImportRejected:
    before = await StatementLine.all().count()
    with pytest.raises(ImportRejected) as caught:
        await import_file(kind, data, source="bad.csv", actor=Actor(), now=clock())
    assert await StatementLine.all().count() == before
    return caught.value


async def test_row_problems_and_unknown_members_come_in_one_report(members, clock) -> None:
    rejected = await failing(Kind.STATEMENTS, THREE_PROBLEMS, clock)
    found = [(p.line, p.column, p.value) for p in rejected.problems]
    assert found == [
        (3, "used_on", "2026-10-32"),
        (4, "amount_yen", "abc"),
        (5, "member_no", "99999999"),
    ]
    assert rejected.total == 3 and rejected.problems[2].reason == UNKNOWN


async def test_an_unknown_member_on_a_row_with_another_problem(members, clock) -> None:
    data = (HEADER + "99999999,2026-11,2026-11-16,1,2026-02-30,ペン,1,x\n").encode()
    rejected = await failing(Kind.STATEMENTS, data, clock)
    assert {(p.line, p.column) for p in rejected.problems} == {
        (2, "used_on"),
        (2, "amount_yen"),
        (2, "member_no"),
    }


async def test_capital_rows_and_unknown_members_in_one_report(members, clock) -> None:
    data = (
        "member_no,fiscal_year,published_on,units,balance_yen\n"
        "10000001,2025,2026-07-15,50,50000\n"
        "10000002,2025,2026-07-15,５０,-1\n"
        "99999999,2025,2026-07-15,50,50000\n"
        "10000001,2025,2026-07-99,50,50000\n"
    ).encode()
    rejected = await failing(Kind.CAPITAL, data, clock)
    found = [(p.line, p.column) for p in rejected.problems]
    assert found == [
        (3, "balance_yen"),
        (4, "member_no"),
        (5, "published_on"),
        (5, "fiscal_year"),  # the same member and year as line 2, found in the same pass
    ]


@pytest.mark.parametrize(
    ("chosen", "file", "label"),
    [
        (Kind.STATEMENTS, "members.csv", "組合員"),
        (Kind.CAPITAL, "members.csv", "組合員"),
        (Kind.MEMBERS, "statements.csv", "ご請求明細"),
        (Kind.CAPITAL, "statements.csv", "ご請求明細"),
        (Kind.MEMBERS, "capital.csv", "出資金"),
        (Kind.STATEMENTS, "capital.csv", "出資金"),
    ],
)
async def test_a_file_of_another_kind_gets_one_line(app, clock, chosen, file, label) -> None:
    rejected = await failing(chosen, (EXAMPLES / file).read_bytes(), clock)
    assert isinstance(rejected, WrongKind)
    [problem] = rejected.problems
    assert problem.reason.startswith(f"これは{label}ファイルのようです")
    assert rejected.total == 1


async def test_a_header_with_one_typo_is_not_called_another_kind(app, clock) -> None:
    data = (HEADER.replace("quantity", "qty") + GOOD).encode()
    rejected = await failing(Kind.STATEMENTS, data, clock)
    assert not isinstance(rejected, WrongKind)
    assert {p.column for p in rejected.problems} == {"qty", "quantity"}


async def test_the_cli_reports_everything_in_one_dry_run(db_url: str, tmp_path: Path) -> None:
    code, _, err = await mypage(db_url, "import", "members", str(EXAMPLES / "members.csv"))
    assert code == 0, err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(THREE_PROBLEMS)
    code, out, err = await mypage(db_url, "import", "statements", str(bad), "--dry-run")
    assert code == 1 and out == ""
    assert "ファイルに3件の問題があるため" in err
    assert "3行目 used_on「2026-10-32」: 存在しない日付です。" in err
    assert "4行目 amount_yen「abc」: 整数" in err
    assert f"5行目 member_no「99999999」: {UNKNOWN}" in err
    wrong = tmp_path / "members_again.csv"
    wrong.write_bytes((EXAMPLES / "members.csv").read_bytes())
    code, out, err = await mypage(db_url, "import", "statements", str(wrong), "--dry-run")
    assert code == 1
    report = [line for line in err.splitlines() if line.startswith("  ")]
    assert len(report) == 1 and "これは組合員ファイルのようです" in report[0]
    assert "知らない列名" not in err
