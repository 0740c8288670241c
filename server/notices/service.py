"""Co-op notice rules: what members see today, writing a notice, withdrawing one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.audit.events import NoticeEvent
from server.audit.service import Actor, record
from server.errors import DomainError, NotFound
from server.lib.clock import to_jst
from server.lib.text import nfkc
from server.notices.models import CoopNotice
from server.push.service import opted_in_members, queue_member_notices

MAX_TITLE = 100
MAX_BODY = 2000
HOME_LIMIT = 5
PUSH_TOPIC = "coop_notices"
PUSH_BODY_CHARS = 120


class NoticeStatus(StrEnum):
    """Where a notice stands today, as the staff list shows it."""

    CURRENT = "掲載中"
    SCHEDULED = "予定"
    ENDED = "終了"
    WITHDRAWN = "取り下げ"


class NoticeError(DomainError):
    """A notice could not be written or withdrawn; nothing was changed."""


@dataclass(frozen=True)
class NoticeInput:
    """A checked notice form."""

    title: str
    body: str
    starts_on: date
    ends_on: date | None
    push: bool


def today_in_japan(now: datetime) -> date:
    """The calendar day in Japan, which decides what is shown."""
    return to_jst(now).date()


async def current_notices(now: datetime) -> list[CoopNotice]:
    """The notices shown on members' home pages today, newest first (one query)."""
    today = today_in_japan(now)
    return (
        await CoopNotice.filter(withdrawn_at=None, starts_on__lte=today)
        .filter(Q(ends_on=None) | Q(ends_on__gte=today))
        .order_by("-starts_on", "-id")
        .limit(HOME_LIMIT)
    )


def status_of(notice: CoopNotice, today: date) -> NoticeStatus:
    """掲載中, 予定, 終了 or 取り下げ on this day."""
    if notice.withdrawn_at is not None:
        return NoticeStatus.WITHDRAWN
    if notice.starts_on > today:
        return NoticeStatus.SCHEDULED
    if notice.ends_on is not None and notice.ends_on < today:
        return NoticeStatus.ENDED
    return NoticeStatus.CURRENT


async def all_notices(limit: int = 200) -> list[CoopNotice]:
    """Every notice for the staff list, newest first."""
    return await CoopNotice.all().order_by("-starts_on", "-id").limit(limit)


def _date(text: str, label: str) -> date | None:
    value = nfkc(text).replace("/", "-")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise NoticeError(f"{label}は 2026-12-01 の形で入力してください。") from error


def check_notice(
    title: str, body: str, starts_on: str, ends_on: str, push: bool, today: date
) -> NoticeInput:
    """Check the form: title and body lengths, dates from today on, push only for today."""
    title = " ".join(title.split())
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()
    if not title:
        raise NoticeError("タイトルを入力してください。")
    if len(title) > MAX_TITLE:
        raise NoticeError(f"タイトルは{MAX_TITLE}文字以内で入力してください。")
    if not body:
        raise NoticeError("本文を入力してください。")
    if len(body) > MAX_BODY:
        raise NoticeError(
            f"本文は{MAX_BODY}文字以内で入力してください（今は{len(body)}文字です）。"
        )
    start = _date(starts_on, "掲載開始日")
    end = _date(ends_on, "掲載終了日")
    if start is None:
        raise NoticeError("掲載開始日を入力してください。")
    if start < today:
        raise NoticeError("掲載開始日は今日以降の日付にしてください。")
    if end is not None and end < start:
        raise NoticeError("掲載終了日は掲載開始日と同じ日か、それより後にしてください。")
    if push and start != today:
        raise NoticeError(
            "プッシュ通知は、掲載開始日が今日のお知らせだけ送れます。"
            "後日に掲載するお知らせは、その日に改めて作成してください。"
        )
    return NoticeInput(title, body, start, end, push)


def push_text(body: str) -> str:
    """The notification's text: the start of the body on one line."""
    text = " ".join(body.split())
    return text if len(text) <= PUSH_BODY_CHARS else text[:PUSH_BODY_CHARS] + "…"


async def create_notice(
    data: NoticeInput, staff_id: int, now: datetime, actor: Actor
) -> tuple[CoopNotice, int]:
    """Store the notice and, if asked, queue its push notices in the same transaction.

    Returns the notice and how many members' push notices were queued.
    """
    async with in_transaction():
        notice = await CoopNotice.create(
            title=data.title,
            body=data.body,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            created_by_id=staff_id,
            created_at=now,
            pushed_at=now if data.push else None,
        )
        queued = 0
        if data.push:
            members = await opted_in_members(PUSH_TOPIC)
            queued = await queue_member_notices(
                members,
                PUSH_TOPIC,
                f"notice:{notice.id}",
                data.title,
                push_text(data.body),
                "/",
                now,
            )
        details: dict[str, object] = {
            "notice_id": notice.id,
            "title": data.title,
            "starts_on": data.starts_on.isoformat(),
        }
        if data.ends_on is not None:
            details["ends_on"] = data.ends_on.isoformat()
        if data.push:
            details["pushed"] = queued
        await record(NoticeEvent.CREATE, actor, now, **details)
    return notice, queued


async def withdraw_notice(notice_id: int, now: datetime, actor: Actor) -> CoopNotice:
    """Take a notice off members' home pages (push notices already sent stay sent)."""
    async with in_transaction():
        notice = await CoopNotice.filter(id=notice_id).select_for_update().first()
        if notice is None:
            raise NotFound("このお知らせは見つかりません。")
        if notice.withdrawn_at is not None:
            raise NoticeError("このお知らせはすでに取り下げられています。", status=409)
        notice.withdrawn_at = now
        await notice.save(update_fields=["withdrawn_at"])
        await record(NoticeEvent.WITHDRAW, actor, now, notice_id=notice.id, title=notice.title)
    return notice
