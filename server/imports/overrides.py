"""Facts recorded in the console that a members file must not silently undo.

The core system is the system of record for what its file carries, but it
learns of a change the office approved (or a withdrawal it recorded) only
later. Until a file agrees, each such field is an open override: an import
keeps the portal's value, and lists the member when the file says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q

from server.imports.models import MemberFieldOverride, OverrideSource, Settlement
from server.lib.batches import chunks
from server.lib.formatting import jdate, jdatetime
from server.lib.text import nfkc

# The members file's columns in the office's words.
FIELD_LABELS = {
    "name": "氏名",
    "name_kana": "フリガナ",
    "postal_code": "郵便番号",
    "address": "住所",
    "phone": "電話番号",
    "status": "状態",
    "capital_refund_on": "出資金の払い戻し日",
}
# The file's status codes, shown with the office's word beside them.
STATUS_TEXT = {"active": "在籍", "withdrawing": "脱退手続き中", "withdrawn": "脱退済み"}
SOURCE_LABELS = {
    OverrideSource.CHANGE_REQUEST: "変更届の承認",
    OverrideSource.WITHDRAWAL: "脱退の記録",
}


class KeptKind(StrEnum):
    """Why a portal value was kept against the file."""

    # The file still has the value from before the change: the core system
    # has not caught up yet. Expected, not an error.
    WAITING = "waiting"
    # The file says something else than both: someone must choose.
    CONFLICT = "conflict"


def as_text(value: Any) -> str:
    """A field's value in the form overrides store and compare (dates ISO, none empty)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def same(field: str, file_text: str, portal_text: str) -> bool:
    """Whether the file says what the portal recorded, written either way.

    The console and the core system may space a name (山田　花子 / 山田 花子)
    or hyphenate a phone number differently; that is agreement, not a conflict.
    """
    if file_text == portal_text:
        return True

    def plain(text: str) -> str:
        text = " ".join(nfkc(text).split())
        return text.replace("-", "") if field in ("phone", "postal_code") else text

    return plain(file_text) == plain(portal_text)


def shown(field: str, text: str) -> str:
    """A stored text value as the office reads it."""
    if not text:
        return "（なし）"
    if field == "status":
        return f"{STATUS_TEXT.get(text, text)}（{text}）"
    if field == "capital_refund_on":
        return jdate(date.fromisoformat(text))
    return text


@dataclass(frozen=True)
class Kept:
    """One field of one member where the file's value was not applied (or was, by choice)."""

    member_no: str
    field: str
    kind: KeptKind
    file_value: str
    portal_value: str
    recorded_by: str
    recorded_at: datetime
    source: OverrideSource
    overwritten: bool = False

    @property
    def key(self) -> str:
        """MEMBER_NO:FIELD, as `--overwrite` and the staff screen's checkboxes name it."""
        return f"{self.member_no}:{self.field}"

    def as_dict(self) -> dict[str, Any]:
        """For the upload's stored dry run and the staff screen (labels in Japanese)."""
        return {
            "key": self.key,
            "member_no": self.member_no,
            "field": self.field,
            "label": FIELD_LABELS.get(self.field, self.field),
            "kind": str(self.kind),
            "file": self.file_value,
            "portal": self.portal_value,
            "by": self.recorded_by,
            "at": jdatetime(self.recorded_at),
            "source": SOURCE_LABELS[self.source],
            "overwritten": self.overwritten,
        }

    def line(self) -> str:
        """One line of the CLI report."""
        what = "上書きしました" if self.overwritten else "ポータルの値を残します"
        head = "競合" if self.kind == KeptKind.CONFLICT else "基幹システム反映待ち"
        return (
            f"{head} {self.member_no} {FIELD_LABELS.get(self.field, self.field)}: "
            f"ファイル「{self.file_value}」／ポータル「{self.portal_value}」"
            f"（{self.recorded_by or '記録者不明'} {jdatetime(self.recorded_at)}、"
            f"{SOURCE_LABELS[self.source]}）→ {what}"
        )


@dataclass(frozen=True)
class Overwrite:
    """The operator's choice: which conflicts take the file's value."""

    keys: frozenset[str] = frozenset()
    everything: bool = False


KEEP_ALL = Overwrite()  # the default: every conflict keeps the portal's value


async def record_overrides(
    member_id: int,
    values: Mapping[str, Any],
    previous: Mapping[str, Any],
    *,
    source: OverrideSource,
    staff_id: int | None,
    now: datetime,
    change_request_id: int | None = None,
) -> None:
    """Remember fields just set in the console; a newer fact replaces an open older one."""
    fields = list(values)
    await MemberFieldOverride.filter(
        member_id=member_id, field__in=fields, settled_at__isnull=True
    ).update(settled_at=now, settled_how=Settlement.SUPERSEDED)
    await MemberFieldOverride.bulk_create(
        [
            MemberFieldOverride(
                member_id=member_id,
                field=name,
                value=as_text(values[name]),
                previous=as_text(previous.get(name)),
                source=source,
                change_request_id=change_request_id,
                recorded_by=staff_id,
                recorded_at=now,
            )
            for name in fields
        ]
    )


async def open_overrides(member_ids: Iterable[int]) -> dict[int, list[MemberFieldOverride]]:
    """member id -> its open overrides, for these members (one query).

    Open overrides are few (changes the core system has not confirmed yet), so
    reading them all and keeping the file's members is one cheap query however
    large the file is.
    """
    wanted = set(member_ids)
    found: dict[int, list[MemberFieldOverride]] = {}
    for override in await MemberFieldOverride.filter(settled_at__isnull=True).order_by("id"):
        if override.member_id in wanted:
            found.setdefault(override.member_id, []).append(override)
    return found


async def settle(
    ids: Iterable[int], how: Settlement, now: datetime, source: str, sha256: str
) -> None:
    """Close overrides a file agreed with (or that the operator overwrote from it)."""
    for part in chunks(list(ids)):
        await MemberFieldOverride.filter(id__in=part).update(
            settled_at=now, settled_how=how, settled_by_file=source[:255], settled_sha256=sha256
        )


@dataclass(frozen=True)
class CoreSync:
    """Whether an approved change request has reached the core system."""

    waiting: bool
    settled_at: datetime | None = None
    file: str = ""
    sha256: str = ""

    @property
    def label(self) -> str:
        """基幹システム反映待ち, or 反映済."""
        return "基幹システム反映待ち" if self.waiting else "反映済"


async def change_request_sync(request_ids: Iterable[int]) -> dict[int, CoreSync]:
    """Request id -> its core-system state, for requests that recorded overrides."""
    ids = list(request_ids)
    if not ids:
        return {}
    rows = await MemberFieldOverride.filter(
        Q(change_request_id__in=ids), ~Q(settled_how=Settlement.SUPERSEDED) | Q(settled_how=None)
    ).order_by("id")
    per_request: dict[int, list[MemberFieldOverride]] = {}
    for row in rows:
        if row.change_request_id is not None:
            per_request.setdefault(row.change_request_id, []).append(row)
    result: dict[int, CoreSync] = {}
    for request_id, overrides in per_request.items():
        if any(o.settled_at is None for o in overrides):
            result[request_id] = CoreSync(waiting=True)
            continue
        last = max(overrides, key=lambda o: o.settled_at or datetime.min)
        result[request_id] = CoreSync(
            waiting=False,
            settled_at=last.settled_at,
            file=last.settled_by_file or "",
            sha256=last.settled_sha256 or "",
        )
    return result


@dataclass
class Weighing:
    """What the open overrides of a file's members mean for this file."""

    keep: dict[str, set[str]]  # member_no -> fields whose portal value stays
    confirmed: list[int]
    overwritten: list[tuple[MemberFieldOverride, str]]  # with the member_no
    kept: list[Kept]


def _verdict(override: MemberFieldOverride, values: Mapping[str, Any]) -> KeptKind | None:
    """None when the file agrees (settles it), else why the portal's value stays."""
    name = override.field
    file_text = as_text(values[name])
    if override.source == OverrideSource.WITHDRAWAL:
        # `withdrawn` is newer than our `withdrawing`: the core system finished it.
        if as_text(values["status"]) == "withdrawn" or file_text == override.value:
            return None
        return KeptKind.CONFLICT
    if same(name, file_text, override.value):
        return None
    if same(name, file_text, override.previous):
        return KeptKind.WAITING
    return KeptKind.CONFLICT


def weigh(
    member_no: str,
    overrides: list[MemberFieldOverride],
    values: Mapping[str, Any],
    overwrite: Overwrite,
    names: Mapping[int, str],
    into: Weighing,
) -> None:
    """Judge one member's open overrides against the file's row."""
    by_field = {o.field: o for o in overrides}
    status = by_field.get("status")
    status_conflict = (
        status is not None
        and status.source == OverrideSource.WITHDRAWAL
        and _verdict(status, values) is not None
    )
    for override in overrides:
        verdict = _verdict(override, values)
        if verdict is None:
            into.confirmed.append(override.id)
            continue
        refund_follows = (
            status_conflict
            and override.field == "capital_refund_on"
            and override.source == OverrideSource.WITHDRAWAL
        )
        key_field = "status" if refund_follows else override.field
        explicit = f"{member_no}:{key_field}" in overwrite.keys
        chosen = explicit or (overwrite.everything and verdict == KeptKind.CONFLICT)
        if chosen:
            into.overwritten.append((override, member_no))
        else:
            into.keep.setdefault(member_no, set()).add(override.field)
        if refund_follows:
            continue  # a withdrawal is one decision: shown, kept and overwritten with its status
        into.kept.append(
            Kept(
                member_no=member_no,
                field=override.field,
                kind=verdict,
                file_value=_shown_with_refund(override.field, values, None),
                portal_value=_shown_with_refund(
                    override.field,
                    {override.field: override.value},
                    by_field.get("capital_refund_on") if override is status else None,
                ),
                recorded_by=names.get(override.recorded_by or 0, ""),
                recorded_at=override.recorded_at,
                source=OverrideSource(override.source),
                overwritten=chosen,
            )
        )


def _shown_with_refund(
    field: str, values: Mapping[str, Any], refund: MemberFieldOverride | None
) -> str:
    text = shown(field, as_text(values[field]))
    date_text = refund.value if refund is not None else as_text(values.get("capital_refund_on"))
    if field == "status" and date_text:
        text += f"・払い戻し日 {shown('capital_refund_on', date_text)}"
    return text
