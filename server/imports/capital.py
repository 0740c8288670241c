"""Capital files: one row per member and fiscal year, matched on both (added or updated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.capital.models import CapitalRecord
from server.imports.overrides import Kept
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
)
from server.lib.batches import chunks

COLUMNS = ("member_no", "fiscal_year", "published_on", "units", "balance_yen")
REQUIRED = COLUMNS
FIELDS = ("published_on", "units", "balance_yen")
BATCH = 2000

PARSERS: dict[str, Any] = {
    "member_no": parse_member_no,
    "fiscal_year": lambda v: parse_int(v, minimum=1950, maximum=2200),
    "published_on": parse_date,
    "units": lambda v: parse_int(v, minimum=0, maximum=10_000_000),
    "balance_yen": lambda v: parse_int(v, minimum=0, maximum=1_000_000_000),
}


def parse(table: Table) -> dict[tuple[str, int], tuple[int, dict[str, Any]]]:
    """Validate every row; (member_no, fiscal_year) -> (line number, values)."""
    records, problems = parse_rows(table)
    if problems:
        raise ImportRejected(problems[:MAX_PROBLEMS], total=len(problems))
    return records


def parse_rows(
    table: Table,
) -> tuple[dict[tuple[str, int], tuple[int, dict[str, Any]]], list[Problem]]:
    """Check every row: the good rows by (member_no, fiscal_year), and the problems."""
    problems: list[Problem] = []
    records: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
    for number, row in table.records():
        values: dict[str, Any] = {}
        errors = []
        for column, parse_cell in PARSERS.items():
            try:
                values[column] = parse_cell(row[column])
            except CellError as error:
                errors.append(Problem(number, column, row[column], str(error)))
        key = (values.get("member_no", ""), values.get("fiscal_year", 0))
        # A row with another bad cell is still checked for a repeat (one pass reports all).
        if "member_no" in values and "fiscal_year" in values and key in records:
            errors.append(
                Problem(
                    number,
                    "fiscal_year",
                    row["fiscal_year"],
                    f"同じ組合員・年度の行が{records[key][0]}行目にもあります。",
                )
            )
        if errors:
            problems += errors
            continue
        records[key] = (number, values)
    return records, problems


@dataclass
class CapitalPlan:
    """Capital records to add and those whose figures changed."""

    counts: Counts
    # These files carry no field the console records: nothing is kept against them.
    kept: list[Kept] = field(default_factory=list)
    confirmed: int = 0
    new: list[CapitalRecord] = field(default_factory=list)
    changed: list[CapitalRecord] = field(default_factory=list)

    async def apply(self, conn: BaseDBAsyncClient, now: datetime, progress: Progress) -> None:
        """Insert and update in batches."""
        for part in chunks(self.new, BATCH):
            await CapitalRecord.bulk_create(part, using_db=conn)
        if self.changed:
            await CapitalRecord.bulk_update(
                self.changed, fields=list(FIELDS), batch_size=500, using_db=conn
            )


async def make_plan(table: Table, progress: Progress, context: Context) -> CapitalPlan:
    """Validate, resolve member numbers, and compare with the database."""
    records, problems = parse_rows(table)
    ids = await resolve_members(table, {no for no, _ in records}, problems)
    existing: dict[tuple[int, int], CapitalRecord] = {}
    years = sorted({year for _, year in records})
    for part in chunks(sorted(set(ids.values()))):
        for found in await CapitalRecord.filter(member_id__in=part, fiscal_year__in=years):
            existing[(found.member_id, found.fiscal_year)] = found  # type: ignore[attr-defined]
    plan = CapitalPlan(counts=Counts())
    for (no, year), (_, values) in records.items():
        mid = ids[no]
        rec = existing.get((mid, year))
        if rec is None:
            plan.new.append(
                CapitalRecord(
                    member_id=mid,
                    fiscal_year=year,
                    **{name: values[name] for name in FIELDS},
                )
            )
            plan.counts.created += 1
        elif all(getattr(rec, name) == values[name] for name in FIELDS):
            plan.counts.unchanged += 1
        else:
            for name in FIELDS:
                setattr(rec, name, values[name])
            plan.changed.append(rec)
            plan.counts.updated += 1
    return plan
