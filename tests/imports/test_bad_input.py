"""Every kind of bad file gets a precise Japanese report and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.audit.service import Actor
from server.imports.plan import Kind
from server.imports.reader import MAX_FILE_BYTES, ImportRejected, Problem
from server.imports.service import import_file
from server.members.models import Member
from server.statements.models import StatementLine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
GOOD = "10000001,2026-11,2026-11-16,1,2026-10-05,ノート,1,680\n"


async def rejected(kind: Kind, data: bytes, clock) -> list[Problem]:
    """Run an import that must fail; check nothing changed; return the report."""
    members = await Member.all().count()
    lines = sorted(await StatementLine.all().values_list("id", "amount_yen"))
    with pytest.raises(ImportRejected) as caught:
        await import_file(kind, data, source="bad.csv", actor=Actor(), now=clock())
    assert await Member.all().count() == members
    assert sorted(await StatementLine.all().values_list("id", "amount_yen")) == lines
    assert "取り込みませんでした" in caught.value.message
    return caught.value.problems


@pytest.fixture
async def members(app, clock) -> None:
    data = (EXAMPLES / "members.csv").read_bytes()
    await import_file(Kind.MEMBERS, data, source="members.csv", actor=Actor(), now=clock())
    await import_file(
        Kind.STATEMENTS,
        (EXAMPLES / "statements.csv").read_bytes(),
        source="statements.csv",
        actor=Actor(),
        now=clock(),
    )


async def test_unknown_column(members, clock) -> None:
    data = (HEADER.strip() + ",memo\n" + GOOD.strip() + ",x\n").encode()
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert (problem.line, problem.column) == (1, "memo")
    assert "知らない列名です" in problem.reason


async def test_missing_column(members, clock) -> None:
    row = b"10000001,2026-11,2026-11-16,1,2026-10-05,x,5\n"
    data = HEADER.replace(",quantity", "").encode() + row
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert (problem.line, problem.column) == (1, "quantity")
    assert problem.reason == "必要な列がありません。見出し行を確認してください。"


async def test_wrong_header_entirely(members, clock) -> None:
    # A capital file chosen as statements: one line naming its kind, not one per column.
    [problem] = await rejected(Kind.STATEMENTS, (EXAMPLES / "capital.csv").read_bytes(), clock)
    assert problem.reason.startswith("これは出資金ファイルのようです（")
    assert str(problem).startswith("ファイル: これは出資金ファイルのようです")


async def test_column_order_is_free(members, clock) -> None:
    data = "amount_yen,description,quantity,used_on,line_no,billed_on,billing_month,member_no\n"
    data += "500,鉛筆,1,2026-10-01,9,2026-12-15,2026-12,10000003\n"
    result = await import_file(
        Kind.STATEMENTS, data.encode(), source="x.csv", actor=Actor(), now=clock()
    )
    assert result.counts.created == 1
    line = await StatementLine.get(billing_month="2026-12")
    assert (line.line_no, line.amount_yen, line.description) == (9, 500, "鉛筆")


async def test_extra_cell_in_a_row(members, clock) -> None:
    data = (HEADER + GOOD.strip() + ",余分\n").encode()
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert problem.line == 2
    assert "列の数が見出し行と違います" in problem.reason


async def test_duplicate_member_month_line(members, clock) -> None:
    data = (HEADER + GOOD + "10000002,2026-11,2026-11-16,1,2026-10-05,本,1,100\n" + GOOD).encode()
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert (problem.line, problem.column, problem.value) == (4, "line_no", "1")
    assert problem.reason == "同じ組合員・請求月・行番号の行が2行目にもあります。"


async def test_unknown_member_number(members, clock) -> None:
    data = (HEADER + GOOD + GOOD.replace("10000001", "99999999")).encode()
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert (problem.line, problem.column, problem.value) == (3, "member_no", "99999999")
    assert problem.reason == "この組合員番号の組合員は登録されていません。"


async def test_impossible_date(members, clock) -> None:
    data = (HEADER + GOOD.replace("2026-10-05", "2026-02-30")).encode()
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert (problem.line, problem.column, problem.value) == (2, "used_on", "2026-02-30")
    assert problem.reason == "存在しない日付です。"
    assert str(problem) == "2行目 used_on「2026-02-30」: 存在しない日付です。"


async def test_amount_abc_fails_and_every_bad_row_is_reported(members, clock) -> None:
    data = (
        HEADER
        + GOOD.replace(",680", ",abc")
        + "10000001,2026-13,2026-11-16,2,2026-10-05,本,1,100\n"
        + "1000000１,2026-11,2026-11-16,3,2026-10-05,,1,100\n"
    ).encode()
    problems = await rejected(Kind.STATEMENTS, data, clock)
    found = {(p.line, p.column, p.value) for p in problems}
    assert found == {
        (2, "amount_yen", "abc"),
        (3, "billing_month", "2026-13"),
        (4, "description", ""),
    }
    amount = next(p for p in problems if p.column == "amount_yen")
    assert amount.reason == "整数（半角または全角の数字）で入力してください。"


async def test_empty_file(members, clock) -> None:
    for data in (b"", b"\xef\xbb\xbf", b"\n\n"):
        [problem] = await rejected(Kind.STATEMENTS, data, clock)
        assert problem.reason.startswith("ファイルが空です。")


async def test_header_only(members, clock) -> None:
    [problem] = await rejected(Kind.STATEMENTS, HEADER.encode(), clock)
    assert "データ行がありません" in problem.reason


async def test_a_50_mb_file_is_refused_before_parsing(members, clock) -> None:
    line = GOOD.encode()
    data = HEADER.encode() + line * (50 * 1024 * 1024 // len(line) + 1)
    assert len(data) > MAX_FILE_BYTES
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert "ファイルが大きすぎます（50.0 MB）" in problem.reason
    assert "40 MB まで" in problem.reason


async def test_mixed_encodings(members, clock) -> None:
    data = HEADER.encode() + GOOD.encode("utf-8") + GOOD.replace("1,680", "2,680").encode("cp932")
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert problem.line == 3
    assert problem.reason.startswith("文字コードが混在しています（2行目は UTF-8")


async def test_undecodable_bytes(members, clock) -> None:
    data = HEADER.encode() + b"10000001,2026-11,2026-11-16,1,2026-10-05,\x81\x7f\xff,1,680\n"
    [problem] = await rejected(Kind.STATEMENTS, data, clock)
    assert problem.line == 2
    assert "文字コードを判別できません" in problem.reason


async def test_member_file_problems(app, clock) -> None:
    text = (EXAMPLES / "members.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    bad = [
        lines[0],
        lines[1].replace("10000001", "1234567"),
        lines[2].replace(",2027-07-31", ","),
        lines[3].replace(",現職,", ",常勤,").replace("0276-45-3333", "abc"),
        lines[3].replace("関口", "関"),
    ]
    problems = await rejected(Kind.MEMBERS, ("\n".join(bad) + "\n").encode(), clock)
    found = {(p.line, p.column) for p in problems}
    assert found == {
        (2, "member_no"),
        (3, "capital_refund_on"),
        (4, "category"),
        (4, "phone"),
        (5, "member_no"),  # line 4's number again: found although line 4 has bad cells
    }
    reasons = {p.column: p.reason for p in problems if p.line < 5}
    assert reasons["member_no"] == "組合員番号は8桁の数字で入力してください。"
    assert reasons["category"] == "区分は「現職」または「退職」で入力してください。"


async def test_duplicate_member_number_in_file(app, clock) -> None:
    lines = (EXAMPLES / "members.csv").read_text(encoding="utf-8").splitlines()
    data = "\n".join([*lines, lines[1]]) + "\n"
    [problem] = await rejected(Kind.MEMBERS, data.encode(), clock)
    assert (problem.line, problem.column) == (5, "member_no")
    assert problem.reason == "同じ組合員番号が2行目にもあります。"


async def test_blank_lines_and_empty_rows_are_skipped(members, clock) -> None:
    data = (HEADER + "\n" + GOOD.replace("2026-11", "2026-12") + ",,,,,,,\n\n").encode()
    result = await import_file(Kind.STATEMENTS, data, source="x.csv", actor=Actor(), now=clock())
    assert result.rows == 1 and result.counts.created == 1
