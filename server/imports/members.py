"""Members files: one row per member, matched by member_no (new ones added, others updated)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.audit.events import ImportEvent
from server.audit.service import record
from server.card.revocation import revoke_certificates_of
from server.imports.bulk import insert_rows
from server.imports.models import Settlement
from server.imports.overrides import Kept, Weighing, open_overrides, settle, weigh
from server.imports.plan import Context, Counts, Progress
from server.imports.reader import (
    MAX_PROBLEMS,
    CellError,
    ImportRejected,
    Problem,
    Table,
    parse_date,
    parse_member_no,
    parse_optional_date,
    parse_text,
)
from server.lib.batches import chunks
from server.lib.clock import to_jst
from server.lib.text import AddressInvalid, nfkc, valid_email
from server.members.access import access_ended_reason
from server.members.models import Category, Member, MemberStatus
from server.staff.models import StaffUser

COLUMNS = (
    "member_no",
    "name",
    "name_kana",
    "birth_date",
    "email",
    "phone",
    "postal_code",
    "address",
    "workplace",
    "category",
    "joined_on",
    "status",
    "capital_refund_on",
)
REQUIRED = COLUMNS
FIELDS = COLUMNS[1:]
BATCH = 2000
DATE_COLUMNS = ("birth_date", "joined_on", "capital_refund_on", "created_at", "updated_at")
PHONE_RE = re.compile(r"^\d[\d-]{8,16}\d$")
POSTAL_RE = re.compile(r"^(\d{3})-?(\d{4})$")


def _email(value: str) -> str | None:
    if not value.strip():
        return None
    try:
        return valid_email(value)
    except AddressInvalid as error:
        raise CellError(error.message) from None


def _phone(value: str) -> str:
    text = nfkc(value).replace("ー", "-")
    # PHONE_RE lets only digits and hyphens through, so the rest are digits.
    if not PHONE_RE.match(text) or not 10 <= len(text) - text.count("-") <= 11:
        raise CellError("電話番号は10桁または11桁の数字（ハイフン可）で入力してください。")
    return text


def _postal(value: str) -> str:
    match = POSTAL_RE.match(nfkc(value))
    if not match:
        raise CellError("郵便番号は7桁の数字（例: 371-0026）で入力してください。")
    return f"{match[1]}-{match[2]}"


def _kana(value: str) -> str:
    # NFKC turns half-width katakana into full-width; kana has no kanji to alter.
    return parse_text(nfkc(value), max_length=100)


def _category(value: str) -> Category:
    try:
        return Category(value.strip())
    except ValueError:
        raise CellError("区分は「現職」または「退職」で入力してください。") from None


def _status(value: str) -> MemberStatus:
    try:
        return MemberStatus(nfkc(value).lower())
    except ValueError:
        raise CellError(
            "状態は active、withdrawing、withdrawn のいずれかで入力してください。"
        ) from None


PARSERS: dict[str, Any] = {
    "member_no": parse_member_no,
    # Names are never NFKC-normalised: it would turn 﨑 into 崎.
    "name": lambda v: parse_text(v, max_length=100),
    "name_kana": _kana,
    "birth_date": parse_date,
    "email": _email,
    "phone": _phone,
    "postal_code": _postal,
    "address": lambda v: parse_text(v, max_length=300),
    "workplace": lambda v: parse_text(v, max_length=200, required=False),
    "category": _category,
    "joined_on": parse_date,
    "status": _status,
    "capital_refund_on": parse_optional_date,
}


REPEATING = (
    "birth_date",
    "postal_code",
    "address",
    "workplace",
    "category",
    "joined_on",
    "status",
    "capital_refund_on",
)
MEMO_LIMIT = 20_000


def parse(table: Table) -> dict[str, dict[str, Any]]:
    """Validate every row; member_no -> field values."""
    problems: list[Problem] = []
    members: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    # Columns whose values repeat across members (a school, a town, a date) are
    # parsed once per distinct value; the parsers are pure functions of the text.
    memo: dict[str, dict[str, Any]] = {column: {} for column in REPEATING}
    for number, row in table.records():
        values: dict[str, Any] = {}
        errors = []
        for column, parse_cell in PARSERS.items():
            raw = row[column]
            seen = memo.get(column)
            if seen is not None and raw in seen:
                values[column] = seen[raw]
                continue
            try:
                values[column] = parse_cell(raw)
            except CellError as error:
                errors.append(Problem(number, column, raw, str(error)))
                continue
            if seen is not None and len(seen) < MEMO_LIMIT:
                seen[raw] = values[column]
        # Checked even when another cell of the row is bad: one pass reports everything.
        if values.get("status") == MemberStatus.WITHDRAWING and "capital_refund_on" in values:
            if values["capital_refund_on"] is None:
                errors.append(
                    Problem(
                        number,
                        "capital_refund_on",
                        "",
                        "脱退手続き中（withdrawing）の組合員には出資金の払戻日が必要です。",
                    )
                )
        no: str = values.get("member_no", "")
        if no in lines:
            errors.append(
                Problem(number, "member_no", no, f"同じ組合員番号が{lines[no]}行目にもあります。")
            )
        elif no:
            lines[no] = number
        if errors:
            problems += errors
            continue
        members[no] = values
    if problems:
        raise ImportRejected(problems[:MAX_PROBLEMS], total=len(problems))
    return members


@dataclass
class MembersPlan:
    """Members to add and members whose fields changed, and the portal facts weighed."""

    counts: Counts
    context: Context
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Member] = field(default_factory=list)
    facts: Weighing = field(default_factory=lambda: Weighing({}, [], [], []))

    @property
    def kept(self) -> list[Kept]:
        """Conflicts and changes waiting for the core system (and those overwritten)."""
        return self.facts.kept

    @property
    def confirmed(self) -> int:
        """Portal-recorded fields this file now carries."""
        return len(self.facts.confirmed)

    async def apply(self, conn: BaseDBAsyncClient, now: datetime, progress: Progress) -> None:
        """Insert and update in batches."""
        columns = ("member_no", *FIELDS, "created_at", "updated_at")
        done, total = 0, len(self.new)
        for part in chunks(self.new, BATCH):
            rows = [(*(values[name] for name in columns[:-2]), now, now) for values in part]
            await insert_rows(conn, "member", columns, rows, dates=DATE_COLUMNS)
            done += len(part)
            if total > BATCH:
                progress(f"追加中: {done}/{total}人", done, total)
        if self.changed:
            for member in self.changed:
                member.updated_at = now
            await Member.bulk_update(
                self.changed, fields=[*FIELDS, "updated_at"], batch_size=500, using_db=conn
            )
            # Withdrawn, or withdrawing with the refund paid: their cards stop at once.
            today = to_jst(now).date()
            ended = [
                member.id
                for member in self.changed
                if access_ended_reason(member.status, member.capital_refund_on, today)
            ]
            await revoke_certificates_of(ended, now, "withdrawn", using_db=conn)
        await self._settle(now)

    async def _settle(self, now: datetime) -> None:
        """Close the overrides this file confirmed or the operator overwrote, audited."""
        source, sha256 = self.context.source, self.context.sha256
        await settle(self.facts.confirmed, Settlement.CONFIRMED, now, source, sha256)
        overwritten = [override.id for override, _ in self.facts.overwritten]
        await settle(overwritten, Settlement.OVERWRITTEN, now, source, sha256)
        for override, member_no in self.facts.overwritten:
            await record(
                ImportEvent.OVERWRITTEN,
                self.context.actor,
                now,
                member_no=member_no,
                field=override.field,
                portal_value=override.value,
                recorded_by=override.recorded_by,
                override=override.id,
                source=source[:200],
                sha256=sha256,
            )


async def _weigh_overrides(plan: MembersPlan, existing: dict[str, Member], members: dict) -> None:
    """Judge the open portal-recorded facts of the file's members (one query for all)."""
    overrides = await open_overrides(member.id for member in existing.values())
    if not overrides:
        return
    staff_ids = {o.recorded_by for found in overrides.values() for o in found if o.recorded_by}
    names = dict(await StaffUser.filter(id__in=list(staff_ids)).values_list("id", "name"))
    for no, member in existing.items():
        found = overrides.get(member.id)
        if found:
            weigh(no, found, members[no], plan.context.overwrite, names, plan.facts)


async def make_plan(table: Table, progress: Progress, context: Context) -> MembersPlan:
    """Validate, then compare each member with the database, keeping newer portal facts."""
    members = parse(table)
    plan = MembersPlan(counts=Counts(), context=context)
    existing: dict[str, Member] = {}
    # One light read of the numbers already stored; whole rows only for those.
    stored = set(await Member.all().values_list("member_no", flat=True))
    for part in chunks(sorted(stored.intersection(members))):
        for found in await Member.filter(member_no__in=part):
            existing[found.member_no] = found
    await _weigh_overrides(plan, existing, members)
    for no, values in members.items():
        member = existing.get(no)
        if member is None:
            plan.new.append(values)
            plan.counts.created += 1
            continue
        for name in plan.facts.keep.get(no, ()):
            values[name] = getattr(member, name)  # the portal's newer value stays
        differs = [name for name in FIELDS if getattr(member, name) != values[name]]
        if not differs:
            plan.counts.unchanged += 1
            continue
        for name in differs:
            setattr(member, name, values[name])
        plan.changed.append(member)
        plan.counts.updated += 1
    return plan
