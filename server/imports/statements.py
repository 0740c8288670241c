"""Statements files: one row per line; a file replaces the (member, month) pairs it holds."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from itertools import compress, pairwise
from operator import ge, itemgetter, ne, or_
from typing import Any

from server import db
from server.imports.bulk import stored_date
from server.imports.plan import Context, Counts, Progress, resolve_members
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
from server.imports.statement_plan import (
    Line,
    StatementsPlan,
    existing_lines,
    months_with_data,
)
from server.pages.news import MonthTotal

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
MAX_AMOUNT = 100_000_000

Pair = tuple[str, str]


def _line_no(value: str) -> int:
    return parse_int(value, minimum=1, maximum=100_000)


def _description(value: str) -> str:
    return parse_text(value, max_length=200)


def _quantity(value: str) -> int:
    return parse_int(value, maximum=1_000_000)


def _amount(value: str) -> int:
    return parse_int(value, maximum=MAX_AMOUNT)


PARSERS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("member_no", parse_member_no),
    ("billing_month", parse_month),
    ("billed_on", parse_date),
    ("line_no", _line_no),
    ("used_on", parse_date),
    ("description", _description),
    ("quantity", _quantity),
    ("amount_yen", _amount),
)


def _cells(
    number: int, cells: list[str], order: list[tuple[str, int, Callable[[str], Any]]]
) -> tuple[list[Any], list[Problem]]:
    values: list[Any] = []
    errors: list[Problem] = []
    for column, position, parse_cell in order:
        raw = cells[position]
        try:
            values.append(parse_cell(raw))
        except CellError as error:
            errors.append(Problem(number, column, raw, str(error)))
    return values, errors


def _whole(text: str) -> bool:
    return text.isascii() and (text.isdigit() or (text[:1] == "-" and text[1:].isdigit()))


def _plain(cells: list[str], p: list[int]) -> list[Any] | None:
    """The usual row (half-width, canonical, in range) at speed; None sends it to the parsers.

    Accepts exactly what the careful parsers accept for such cells, never more.
    """
    no, month, billed, line, used, description, quantity, amount = (cells[i] for i in p)
    if not (len(no) == 8 and no.isascii() and no.isdigit()):
        return None
    if not (len(month) == 7 and month[4] == "-" and month.isascii()):
        return None
    if not (month[:4].isdigit() and month[5:].isdigit() and "01" <= month[5:] <= "12"):
        return None
    if not (line.isascii() and line.isdigit() and _whole(quantity) and _whole(amount)):
        return None
    if not (len(billed) == len(used) == 10 and billed[4] == billed[7] == used[4] == used[7] == "-"):
        return None
    if not (billed.isascii() and used.isascii()):
        return None
    try:
        billed_on, used_on = date.fromisoformat(billed), date.fromisoformat(used)
    except ValueError:
        return None
    line_no, count, yen = int(line), int(quantity), int(amount)
    text = description.strip()
    if not (0 < len(text) <= 200 and 1 <= line_no <= 100_000):
        return None
    if abs(count) > 1_000_000 or abs(yen) > MAX_AMOUNT:
        return None
    return [no, month, billed_on, line_no, used_on, text, count, yen]


# Whole columns at once: cells joined by line breaks, one fullmatch per column.
_MEMBER_NOS = re.compile(r"[0-9]{8}(?:\n[0-9]{8})*")
_NATURALS = re.compile(r"[0-9]+(?:\n[0-9]+)*")
_WHOLES = re.compile(r"-?[0-9]+(?:\n-?[0-9]+)*")


def _column_matches(pattern: re.Pattern[str], cells: Sequence[str]) -> bool:
    joined = "\n".join(cells)
    # As many line breaks as joins: no cell holds one of its own.
    return joined.count("\n") == len(cells) - 1 and pattern.fullmatch(joined) is not None


def _plain_month(month: str) -> bool:
    return (
        len(month) == 7
        and month[4] == "-"
        and month.isascii()
        and month[:4].isdigit()
        and month[5:].isdigit()
        and "01" <= month[5:] <= "12"
    )


def _plain_date(text: str) -> date | None:
    if not (len(text) == 10 and text[4] == text[7] == "-" and text.isascii()):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _plain_ints(cells: Sequence[str], pattern: re.Pattern[str]) -> list[int] | None:
    return list(map(int, cells)) if _column_matches(pattern, cells) else None


def _plain_columns(table: Table) -> dict[Pair, list[Line]] | None:
    """A file of usual rows, checked column by column; None sends it to the row-by-row path.

    Accepts exactly the files whose every row `_plain` accepts, with no
    duplicate line and one billed_on per pair, and gives the same result;
    anything else (a single odd cell included) is read again row by row,
    which finds and reports the problems.
    """
    if not table.rows:
        return None
    rows = list(map(itemgetter(1), table.rows))
    no, month, billed, line, used, description, quantity, amount = (
        list(map(itemgetter(table.position(name)), rows)) for name, _ in PARSERS
    )
    if not _column_matches(_MEMBER_NOS, no) or not all(map(_plain_month, set(month))):
        return None
    dates = {text: _plain_date(text) for text in {*billed, *used}}
    if None in dates.values():
        return None
    line_nos = _plain_ints(line, _NATURALS)
    counts = _plain_ints(quantity, _WHOLES)
    yens = _plain_ints(amount, _WHOLES)
    if line_nos is None or counts is None or yens is None:
        return None
    if min(line_nos) < 1 or max(line_nos) > 100_000:
        return None
    if max(map(abs, counts)) > 1_000_000 or max(map(abs, yens)) > MAX_AMOUNT:
        return None
    texts = list(map(str.strip, description))
    lengths = set(map(len, texts))
    if min(lengths) < 1 or max(lengths) > 200:
        return None
    lines = list(
        zip(
            line_nos,
            map(dates.__getitem__, billed),
            map(dates.__getitem__, used),
            texts,
            counts,
            yens,
            strict=True,
        )
    )
    # Rows of a pair usually follow each other: group by runs, not row by row.
    count = len(no)
    new_pair = map(or_, map(ne, no, no[1:]), map(ne, month, month[1:]))
    starts = [0, *compress(range(1, count), new_pair), count]
    pairs: dict[Pair, list[Line]] = {}
    for start, end in pairwise(starts):
        numbered = pairs.setdefault((no[start], month[start]), [])
        numbered += lines[start:end]
    # Inside a run, rising line numbers and one billed_on rule out a repeated
    # line and a second date; a pair in several runs is checked as a whole.
    breaks = set(starts)
    rising = set(compress(range(1, count), map(ge, line_nos, line_nos[1:]))) <= breaks
    one_date = set(compress(range(1, count), map(ne, billed, billed[1:]))) <= breaks
    if rising and one_date and len(pairs) == len(starts) - 1:
        return pairs
    for numbered in pairs.values():
        # A repeated line number, or two billed_on dates in one pair: the
        # row-by-row path reports them with both line numbers.
        if len({values[0] for values in numbered}) != len(numbered):
            return None
        if len({values[1] for values in numbered}) != 1:
            return None
    return pairs


def parse(table: Table, progress: Progress) -> dict[Pair, list[Line]]:
    """Validate every row; lines grouped by (member_no, billing_month)."""
    pairs, problems = parse_rows(table, progress)
    if problems:
        raise ImportRejected(problems[:MAX_PROBLEMS], total=len(problems))
    return pairs


def parse_rows(table: Table, progress: Progress) -> tuple[dict[Pair, list[Line]], list[Problem]]:
    """Check every row: the good rows' lines by (member_no, billing_month), and the problems."""
    usual = _plain_columns(table)
    if usual is not None:
        return usual, []
    order = [(column, table.position(column), parse_cell) for column, parse_cell in PARSERS]
    positions = [position for _, position, _ in order]
    problems: list[Problem] = []
    pairs: dict[Pair, list[Line]] = defaultdict(list)
    seen: dict[tuple[str, str, int], int] = {}
    billed: dict[Pair, tuple[int, date]] = {}
    for count, (number, cells) in enumerate(table.rows, 1):
        if count % 50_000 == 0:
            progress(f"検証中: {count}/{len(table.rows)}行", count, len(table.rows))
        values = _plain(cells, positions)
        if values is None:
            try:  # full-width digits, separators and the like; a bad row is read again
                values = [parse_cell(cells[position]) for _, position, parse_cell in order]
            except CellError:
                problems += _cells(number, cells, order)[1]
                continue
        member_no, month, billed_on, line_no, used_on, description, quantity, amount = values
        key = (member_no, month, line_no)
        if key in seen:
            problems.append(
                Problem(
                    number,
                    "line_no",
                    str(line_no),
                    f"同じ組合員・請求月・行番号の行が{seen[key]}行目にもあります。",
                )
            )
            continue
        seen[key] = number
        pair = (member_no, month)
        first = billed.setdefault(pair, (number, billed_on))
        if first[1] != billed_on:
            problems.append(
                Problem(
                    number,
                    "billed_on",
                    cells[order[2][1]],
                    f"同じ組合員・請求月の請求日が{first[0]}行目（{first[1].isoformat()}）と違います。",
                )
            )
            continue
        pairs[pair].append((line_no, billed_on, used_on, description, quantity, amount))
    return pairs, problems


async def make_plan(table: Table, progress: Progress, context: Context) -> StatementsPlan:
    """Validate, resolve member numbers, and find which pairs differ from the database."""
    pairs, problems = parse_rows(table, progress)
    ids = await resolve_members(table, {no for no, _ in pairs}, problems)
    months = sorted({month for _, month in pairs})
    present = await months_with_data(months)
    wanted = {(ids[no], month) for no, month in pairs} & present
    existing = await existing_lines(wanted)
    plan = StatementsPlan(counts=Counts())
    store = stored_date(db.connection())
    for (no, month), numbered in pairs.items():
        mid = ids[no]
        lines = sorted(numbered)
        stored = existing.get((mid, month))
        old = sorted(stored) if stored else []
        if old == lines:
            plan.counts.unchanged += len(lines)
            continue
        if old:
            plan.replace.setdefault(month, []).append(mid)
            plan.counts.deleted += len(old)
        plan.counts.created += len(lines)
        plan.rows += [
            (mid, month, n, store[billed_on], store[used_on], text, quantity, amount)
            for n, billed_on, used_on, text, quantity, amount in lines
        ]
        plan.changed.append(MonthTotal(mid, month, lines[0][1], sum(map(itemgetter(5), lines))))
    return plan
