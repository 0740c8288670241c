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
        try:
            return dict(statements.parse(table, lambda m: None))
        except ImportRejected as rejected:
            return [(p.column, p.reason) for p in rejected.problems]


@pytest.mark.parametrize("row", ROWS)
def test_same_result_both_ways(row: str, monkeypatch) -> None:
    assert outcome(row, monkeypatch, fast=True) == outcome(row, monkeypatch, fast=False)
