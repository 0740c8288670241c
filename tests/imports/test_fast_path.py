"""The fast path for usual rows accepts and refuses exactly what the careful parsers do."""

from __future__ import annotations

import pytest

from server.imports import statements
from server.imports.reader import ImportRejected, read_table

HEADER = "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
ROWS = [
    "10000001,2026-11,2026-11-16,1,2026-10-05,ノート,1,680",
    "10000001,2026-11,2026-11-16,2,2026-10-05, 空白つき ,-1,-550",
    "10000001,2026-11,2026-11-16,3,2026-10-05,上限,1000000,100000000",
    '10000001,2026-11,2026-11-16,4,2026-10-05,全角,１,"１，０００"',
    "10000001,2026-11,2026-11-16,+5,2026-10-05,プラス,1,1",
    "10000001,2026-11,2026-11-16,6,2026-10-05,下線,1,1_000",
    "10000001,2026-11,2026-11-16,0,2026-10-05,行番号0,1,1",
    "10000001,2026-11,2026-11-16,8,2026-02-30,ない日,1,1",
    "10000001,2026-00,2026-11-16,9,2026-10-05,月0,1,1",
    "10000001,2026-11,2026-11-16,10,2026-10-05,大きすぎ,1,100000001",
    "1000000,2026-11,2026-11-16,11,2026-10-05,7桁,1,1",
    "10000001,2026-11,2026-11-16,12,2026-10-05,,1,1",
]


def outcome(row: str, monkeypatch, fast: bool):
    table = read_table((HEADER + row + "\n").encode(), statements.COLUMNS, statements.REQUIRED)
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(statements, "_plain", lambda cells, p: None)
            patch.setattr(statements, "_plain_columns", lambda table: None)
        try:
            return dict(statements.parse(table, lambda *_: None))
        except ImportRejected as rejected:
            return [(p.column, p.reason) for p in rejected.problems]


@pytest.mark.parametrize("row", ROWS)
def test_same_result_both_ways(row: str, monkeypatch) -> None:
    assert outcome(row, monkeypatch, fast=True) == outcome(row, monkeypatch, fast=False)


GOOD = [
    *ROWS[:3],
    "10000002,2026-11,2026-11-16,1,2026-10-06,ペン,2,220",
    "10000001,2026-10,2026-10-16,1,2026-09-30,前月,1,100",
]
FILES = {
    "usual": GOOD,
    "pairs interleaved": [GOOD[3], GOOD[0], GOOD[4], GOOD[1], GOOD[2]],
    "lines out of order": [GOOD[2], GOOD[0], GOOD[1]],
    "one odd cell": [*GOOD, ROWS[3].replace(",4,", ",5,")],
    "duplicate line": [*GOOD, GOOD[0].replace("ノート", "二重")],
    "duplicate line later": [GOOD[0], GOOD[3], GOOD[0].replace("ノート", "二重")],
    "two billed dates": [*GOOD, "10000002,2026-11,2026-11-17,2,2026-10-06,別日,1,1"],
    "bad cell among good": [*GOOD, ROWS[9]],
    "line break in a cell": [*GOOD, '10000002,2026-11,2026-11-16,2,2026-10-06,"二行\n目",1,1'],
    "member number with a line break": [
        *GOOD,
        '"1000000\n3",2026-11,2026-11-16,1,2026-10-06,x,1,1',
    ],
}


def whole_file(rows: list[str], monkeypatch, fast: bool):
    data = (HEADER + "\n".join(rows) + "\n").encode()
    table = read_table(data, statements.COLUMNS, statements.REQUIRED)
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(statements, "_plain", lambda cells, p: None)
            patch.setattr(statements, "_plain_columns", lambda table: None)
        try:
            return list(statements.parse(table, lambda *_: None).items())
        except ImportRejected as rejected:
            return [(p.line, p.column, p.value, p.reason) for p in rejected.problems]


@pytest.mark.parametrize("name", FILES)
def test_whole_files_read_the_same_column_by_column(name: str, monkeypatch) -> None:
    rows = FILES[name]
    assert whole_file(rows, monkeypatch, fast=True) == whole_file(rows, monkeypatch, fast=False)


def test_usual_file_takes_the_column_path() -> None:
    data = (HEADER + "\n".join(GOOD) + "\n").encode()
    table = read_table(data, statements.COLUMNS, statements.REQUIRED)
    pairs = statements._plain_columns(table)
    assert pairs is not None
    assert list(pairs) == [
        ("10000001", "2026-11"),
        ("10000002", "2026-11"),
        ("10000001", "2026-10"),
    ]
    assert [line[0] for line in pairs[("10000001", "2026-11")]] == [1, 2, 3]


def test_line_numbers_count_line_breaks_inside_cells() -> None:
    rows = [GOOD[0], '10000002,2026-11,2026-11-16,1,2026-10-06,"二行\n目",1,1', "", GOOD[1]]
    data = (HEADER + "\n".join(rows) + "\n").encode()
    table = read_table(data, statements.COLUMNS, statements.REQUIRED)
    assert [line for line, _ in table.rows] == [2, 4, 6]
