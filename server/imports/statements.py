"""Statements files: one row per line; a file replaces the (member, month) pairs it holds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.imports.reader import (
    MAX_PROBLEMS,
    CellError,
    ImportRejected,
    Problem,
    Table,
    parse_date,
    parse_int,
    parse_member_no,
    parse_month,
    parse_text,
)
from server.imports.service import Counts, Progress, chunks, member_ids
from server.statements.models import StatementLine

COLUMNS = (
    "member_no",
    "billing_month",
    "billed_on",
    "line_no",
    "used_on",
    "description",
    "quantity",
    "amount_yen",
)
REQUIRED = COLUMNS
BATCH = 5000
MAX_AMOUNT = 100_000_000

# (line_no, billed_on, used_on, description, quantity, amount_yen)
Line = tuple[int, date, date, str, int, int]
Pair = tuple[str, str]


def _parse_row(row: dict[str, str]) -> tuple[Pair, Line, list[tuple[str, str, str]]]:
    errors: list[tuple[str, str, str]] = []
    values: dict[str, Any] = {}
    parsers = {
        "member_no": parse_member_no,
        "billing_month": parse_month,
        "billed_on": parse_date,
        "line_no": lambda v: parse_int(v, minimum=1, maximum=100_000),
        "used_on": parse_date,
        "description": lambda v: parse_text(v, max_length=200),
        "quantity": lambda v: parse_int(v, maximum=1_000_000),
        "amount_yen": lambda v: parse_int(v, maximum=MAX_AMOUNT),
    }
    for column, parse in parsers.items():
        raw = row[column]
        try:
            values[column] = parse(raw)
        except CellError as error:
            errors.append((column, raw, str(error)))
    if errors:
        return ("", ""), (0, date.min, date.min, "", 0, 0), errors
    pair = (str(values["member_no"]), str(values["billing_month"]))
    line: Line = (
        values["line_no"],
        values["billed_on"],
        values["used_on"],
        values["description"],
        values["quantity"],
        values["amount_yen"],
    )
    return pair, line, errors


def parse(table: Table, progress: Progress) -> dict[Pair, list[tuple[int, Line]]]:
    """Validate every row; lines (with their file line numbers) by (member_no, month)."""
    problems: list[Problem] = []
    pairs: dict[Pair, list[tuple[int, Line]]] = defaultdict(list)
    seen: dict[tuple[str, str, int], int] = {}
    billed: dict[Pair, tuple[int, date]] = {}
    for count, (number, row) in enumerate(table.rows, 1):
        if count % 50_000 == 0:
            progress(f"検証中: {count}/{len(table.rows)}行")
        pair, line, errors = _parse_row(row)
        if errors:
            problems += [Problem(number, c, v, reason) for c, v, reason in errors]
            continue
        key = (pair[0], pair[1], line[0])
        if key in seen:
            problems.append(
                Problem(
                    number,
                    "line_no",
                    str(line[0]),
                    f"同じ組合員・請求月・行番号の行が{seen[key]}行目にもあります。",
                )
            )
            continue
        seen[key] = number
        first = billed.setdefault(pair, (number, line[1]))
        if first[1] != line[1]:
            problems.append(
                Problem(
                    number,
                    "billed_on",
                    row["billed_on"],
                    f"同じ組合員・請求月の請求日が{first[0]}行目（{first[1].isoformat()}）と違います。",
                )
            )
            continue
        pairs[pair].append((number, line))
    if problems:
        raise ImportRejected(problems[:MAX_PROBLEMS], total=len(problems))
    return pairs


@dataclass
class StatementsPlan:
    """The (member, month) pairs to replace and the lines to write."""

    counts: Counts
    replace: dict[str, list[int]] = field(default_factory=dict)  # month -> member ids
    lines: list[tuple[int, str, Line]] = field(default_factory=list)

    async def apply(self, progress: Progress) -> None:
        """Delete the replaced pairs, then insert the new lines in batches."""
        for month, ids in self.replace.items():
            for part in chunks(ids):
                await StatementLine.filter(billing_month=month, member_id__in=part).delete()
        total = len(self.lines)
        for start in range(0, total, BATCH):
            batch = self.lines[start : start + BATCH]
            await StatementLine.bulk_create(
                [
                    StatementLine(
                        member_id=mid,
                        billing_month=month,
                        line_no=line[0],
                        billed_on=line[1],
                        used_on=line[2],
                        description=line[3],
                        quantity=line[4],
                        amount_yen=line[5],
                    )
                    for mid, month, line in batch
                ]
            )
            if total > BATCH:
                progress(f"書き込み中: {min(start + BATCH, total)}/{total}行")


async def _existing(ids: list[int], months: list[str]) -> dict[tuple[int, str], list[Line]]:
    found: dict[tuple[int, str], list[Line]] = defaultdict(list)
    for part in chunks(ids):
        rows = await StatementLine.filter(member_id__in=part, billing_month__in=months).values_list(
            "member_id",
            "billing_month",
            "line_no",
            "billed_on",
            "used_on",
            "description",
            "quantity",
            "amount_yen",
        )
        for mid, month, *line in rows:
            found[(mid, month)].append(tuple(line))
    return found


async def make_plan(table: Table, progress: Progress) -> StatementsPlan:
    """Validate, resolve member numbers, and find which pairs differ from the database."""
    pairs = parse(table, progress)
    ids = await member_ids([no for no, _ in pairs])
    unknown = [
        Problem(number, "member_no", no, "この組合員番号の組合員は登録されていません。")
        for (no, _), lines in pairs.items()
        if no not in ids
        for number, _ in lines
    ]
    if unknown:
        unknown.sort(key=lambda p: p.line)
        raise ImportRejected(unknown[:MAX_PROBLEMS], total=len(unknown))
    months = sorted({month for _, month in pairs})
    existing = await _existing(sorted(set(ids.values())), months)
    plan = StatementsPlan(counts=Counts())
    for (no, month), numbered in pairs.items():
        mid = ids[no]
        lines = sorted(line for _, line in numbered)
        old = sorted(existing.get((mid, month), []))
        if old == lines:
            plan.counts.unchanged += len(lines)
            continue
        if old:
            plan.replace.setdefault(month, []).append(mid)
            plan.counts.deleted += len(old)
        plan.counts.created += len(lines)
        plan.lines += [(mid, month, line) for line in lines]
    return plan
