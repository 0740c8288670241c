"""What every kind of import shares: counts, the import's context, progress, member lookups.

The kind modules (members, statements, capital) build on these; the service
runs a kind, and nothing here imports either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from server import db
from server.audit.service import Actor
from server.imports.bulk import params
from server.imports.overrides import KEEP_ALL, Kept, Overwrite
from server.imports.reader import (
    MAX_PROBLEMS,
    CellError,
    ImportRejected,
    Problem,
    Table,
    parse_member_no,
)
from server.lib.batches import chunks

# Told what the import is doing: a sentence for the operator, and rows done of
# the total when it is counting (0, 0 when it is not).
Progress = Callable[[str, int, int], None]
UNKNOWN_MEMBER = "この組合員番号の組合員は登録されていません。"


class Kind(StrEnum):
    """What a file holds."""

    MEMBERS = "members"
    STATEMENTS = "statements"
    CAPITAL = "capital"


KIND_LABELS = {
    Kind.MEMBERS: "組合員",
    Kind.STATEMENTS: "ご請求明細",
    Kind.CAPITAL: "出資金",
}


@dataclass
class Counts:
    """What an import changes; `unchanged` rows were already there as in the file."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        """For the audit log."""
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True)
class Context:
    """The file being imported, who imports it, and their choice on conflicts."""

    source: str
    sha256: str
    actor: Actor
    overwrite: Overwrite = KEEP_ALL


class Plan(Protocol):
    """What a kind-specific module works out before anything is written."""

    @property
    def counts(self) -> Counts:
        """What the import changes."""

    @property
    def kept(self) -> list[Kept]:
        """Facts recorded in the console that the file would revert."""

    @property
    def confirmed(self) -> int:
        """Changes recorded in the console that the file now carries."""

    async def apply(self, conn: BaseDBAsyncClient, now: datetime, progress: Progress) -> None:
        """Write the changes (called inside the import's transaction)."""


def quiet(message: str, done: int, total: int) -> None:
    """A Progress that tells no one."""
    return None


def rejection(problems: list[Problem]) -> ImportRejected:
    """Every problem of a file in line order (the first MAX_PROBLEMS of them kept)."""
    problems.sort(key=lambda problem: problem.line)  # stable: a row's columns keep their order
    return ImportRejected(problems[:MAX_PROBLEMS], total=len(problems))


async def resolve_members(
    table: Table, member_nos: set[str], problems: list[Problem]
) -> dict[str, int]:
    """member_no -> id for a file's rows; raises with the row problems and unknown members together.

    `member_nos` are those of the rows that passed; when some rows did not,
    their member numbers are looked up as well, so that one upload reports
    everything (an unknown member included) instead of one kind at a time.
    """
    wanted = set(member_nos)
    if problems:
        wanted |= _row_member_nos(table)
    ids = await member_ids(sorted(wanted))
    if problems or len(ids) < len(wanted):
        position = table.position("member_no")
        for number, cells in table.rows:
            no = _member_no_or_none(cells[position])
            if no is not None and no not in ids:
                problems.append(Problem(number, "member_no", no, UNKNOWN_MEMBER))
        raise rejection(problems)
    return ids


def _member_no_or_none(value: str) -> str | None:
    try:
        return parse_member_no(value)
    except CellError:
        return None  # already reported by the row checks


def _row_member_nos(table: Table) -> set[str]:
    position = table.position("member_no")
    found = (_member_no_or_none(cells[position]) for _, cells in table.rows)
    return {no for no in found if no is not None}


async def member_ids(member_nos: list[str]) -> dict[str, int]:
    """member_no -> id for those that exist."""
    conn = db.connection()
    found: dict[str, int] = {}
    # Raw rows: for 30,000 members the ORM's per-row work outweighs the queries.
    for part in chunks(sorted(set(member_nos)), 900):
        marks = params(conn, len(part))
        sql = f"SELECT member_no, id FROM member WHERE member_no IN ({marks})"  # noqa: S608
        _, rows = await conn.execute_query(sql, part)
        found.update((no, mid) for no, mid in rows)
    return found
