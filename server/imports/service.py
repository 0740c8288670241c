"""Importing a core-system CSV file: validate everything, then apply in one transaction.

Called by `mypage import` and, later, by the staff console with an uploaded
file: both hand over the bytes, who is acting and the clock reading.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from server import metrics
from server.audit.events import ImportEvent
from server.audit.service import Actor, record
from server.imports.overrides import KEEP_ALL, Kept, KeptKind, Overwrite
from server.imports.reader import (
    MAX_PROBLEMS,
    CellError,
    ImportRejected,
    Problem,
    Table,
    parse_member_no,
    read_table,
)

Progress = Callable[[str], None]
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

    counts: Counts
    kept: list[Kept]
    confirmed: int

    async def apply(self, conn: BaseDBAsyncClient, now: datetime, progress: Progress) -> None:
        """Write the changes (called inside the import's transaction)."""


class Importer(Protocol):
    """One kind of file: its columns, and how its rows become a plan."""

    COLUMNS: tuple[str, ...]
    REQUIRED: tuple[str, ...]

    async def make_plan(self, table: Table, progress: Progress, context: Context) -> Plan:
        """Validate every row (raising ImportRejected) and compare with the database."""


@dataclass
class ImportResult:
    """The outcome of a successful run (or a dry run)."""

    kind: Kind
    source: str
    encoding: str
    sha256: str
    rows: int
    dry_run: bool
    counts: Counts = field(default_factory=Counts)
    kept: list[Kept] = field(default_factory=list)
    confirmed: int = 0

    @property
    def conflicts(self) -> list[Kept]:
        """Fields where the file contradicts a fact recorded in the console."""
        return [k for k in self.kept if k.kind == KeptKind.CONFLICT]

    @property
    def waiting(self) -> list[Kept]:
        """Approved changes the file does not carry yet (the core system has not caught up)."""
        return [k for k in self.kept if k.kind == KeptKind.WAITING]

    def summary(self) -> str:
        """One Japanese sentence for the operator."""
        c = self.counts
        if self.dry_run:
            verb = "確認しました（--dry-run: 書き込みはしていません）"
        else:
            verb = "取り込みました"
        text = (
            f"{KIND_LABELS[self.kind]}ファイル {self.source}"
            f"（{self.encoding}、{self.rows}行）を{verb}。"
            f"追加 {c.created}件、更新 {c.updated}件、"
            f"削除 {c.deleted}件、変更なし {c.unchanged}件。"
        )
        if self.kept or self.confirmed:
            overwritten = sum(1 for k in self.kept if k.overwritten)
            text += (
                f"窓口で記録した内容: 競合 {len(self.conflicts)}件、"
                f"基幹システム反映待ち {len(self.waiting)}件、"
                f"ファイルの値で上書き {overwritten}件、"
                f"基幹システムへの反映を確認 {self.confirmed}件。"
            )
        return text

    def audit(self) -> dict[str, int]:
        """The portal-recorded facts' counts, for the audit log."""
        return {
            "conflicts": len(self.conflicts),
            "waiting": len(self.waiting),
            "overwritten": sum(1 for k in self.kept if k.overwritten),
            "confirmed": self.confirmed,
        }


def importer_for(kind: Kind) -> Importer:
    """The module that knows this kind of file."""
    from server.imports import capital, members, statements

    modules: dict[Kind, Any] = {
        Kind.MEMBERS: members,
        Kind.STATEMENTS: statements,
        Kind.CAPITAL: capital,
    }
    importer: Importer = modules[kind]
    return importer


def wrong_kind(kind: Kind) -> Callable[[list[str]], str | None]:
    """A judge of a header that does not fit `kind`: the kind whose columns it mostly names."""

    def judge(header: list[str]) -> str | None:
        names = set(header)
        mine = len(names.intersection(importer_for(kind).COLUMNS))
        for other in Kind:
            theirs = len(names.intersection(importer_for(other).COLUMNS))
            # member_no is in every kind: only a header mostly of another kind's names counts.
            if other != kind and theirs > mine and theirs * 2 >= len(names):
                label, chosen = KIND_LABELS[other], KIND_LABELS[kind]
                return (
                    f"これは{label}ファイルのようです（見出し行が{label}ファイルの列名です）。"
                    f"種類に「{label}」を選んで取り込むか、{chosen}ファイルを選び直してください。"
                )
        return None

    return judge


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


def _quiet(message: str) -> None:
    return None


async def import_file(
    kind: Kind,
    data: bytes,
    *,
    source: str,
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    overwrite: Overwrite = KEEP_ALL,
) -> ImportResult:
    """Import one file all-or-nothing; raises ImportRejected (nothing written) on any bad row.

    Fields recorded in the console since the last file are kept where the file
    contradicts them, unless `overwrite` names them (MEMBER_NO:FIELD).
    """
    started, outcome = time.perf_counter(), "rejected"
    try:
        with gc_paused():
            result = await _import_file(
                kind,
                data,
                source=source,
                actor=actor,
                now=now,
                dry_run=dry_run,
                progress=progress,
                overwrite=overwrite,
            )
        outcome = "checked" if dry_run else "applied"
        return result
    finally:
        elapsed = time.perf_counter() - started
        metrics.IMPORT_SECONDS.labels(str(kind), outcome).observe(elapsed)


async def _import_file(
    kind: Kind,
    data: bytes,
    *,
    source: str,
    actor: Actor,
    now: datetime,
    dry_run: bool,
    progress: Progress | None,
    overwrite: Overwrite,
) -> ImportResult:
    progress = progress or _quiet
    digest = hashlib.sha256(data).hexdigest()
    audit: dict[str, Any] = {"kind": str(kind), "source": source[:200], "sha256": digest}
    importer = importer_for(kind)
    try:
        table = read_table(data, importer.COLUMNS, importer.REQUIRED, wrong_kind(kind))
        progress(f"{len(table.rows)}行を読み込みました（{table.encoding}）。検証しています…")
        context = Context(source=source, sha256=digest, actor=actor, overwrite=overwrite)
        plan = await importer.make_plan(table, progress, context)
    except ImportRejected as rejected:
        await record(
            ImportEvent.REJECTED,
            actor,
            now,
            **audit,
            bytes=len(data),
            problems=rejected.total,
            first=[str(p) for p in rejected.problems[:5]],
        )
        raise
    result = ImportResult(
        kind=kind,
        source=source,
        encoding=table.encoding,
        sha256=digest,
        rows=len(table.rows),
        dry_run=dry_run,
        counts=plan.counts,
        kept=plan.kept,
        confirmed=plan.confirmed,
    )
    audit.update(rows=result.rows, **plan.counts.as_dict())
    if result.kept or result.confirmed:
        audit.update(result.audit())
    if dry_run:
        await record(ImportEvent.CHECKED, actor, now, **audit)
        return result
    # One transaction: a crash anywhere below (the audit record included)
    # rolls everything back, so the database is as it was before the run.
    async with in_transaction() as conn:
        await plan.apply(conn, now, progress)
        await record(ImportEvent.APPLIED, actor, now, **audit)
    return result


_gc_pauses = 0
_gc_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while an import builds its rows.

    A file's hundreds of thousands of new lists and tuples would trigger
    collections that walk all of them again and again; they form no cycles,
    and reference counting frees them as usual.
    Overlapping imports in one process keep it paused until the last ends.
    """
    global _gc_pauses, _gc_was_enabled
    if _gc_pauses == 0:
        _gc_was_enabled = gc.isenabled()
        gc.disable()
    _gc_pauses += 1
    try:
        yield
    finally:
        _gc_pauses -= 1
        if _gc_pauses == 0 and _gc_was_enabled:
            gc.enable()


def chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    """Split lookups so `IN (...)` stays under every database's parameter limit."""
    return [items[i : i + size] for i in range(0, len(items), size)]


async def member_ids(member_nos: list[str]) -> dict[str, int]:
    """member_no -> id for those that exist."""
    from server.imports.bulk import params
    from server.members.models import Member

    conn = Member._meta.db
    found: dict[str, int] = {}
    # Raw rows: for 30,000 members the ORM's per-row work outweighs the queries.
    for part in chunks(sorted(set(member_nos)), 900):
        marks = params(conn, len(part))
        sql = f"SELECT member_no, id FROM member WHERE member_no IN ({marks})"  # noqa: S608
        _, rows = await conn.execute_query(sql, part)
        found.update((no, mid) for no, mid in rows)
    return found
