"""Reading the access log for staff: filters, keyset pages and the CSV export."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from server.audit.events import STAFF_LABELS
from server.audit.models import AuditEvent
from server.errors import DomainError
from server.lib.clock import JST, to_jst
from server.lib.dates import parse_typed_date
from server.lib.text import digits_only, nfkc
from server.lib.useragent import staff_device
from server.members.models import Member
from server.staff.auditlog.labels import AREA_LABELS, event_label
from server.staff.models import StaffUser
from server.statements.export import safe_cell

PAGE_SIZE = 100
EXPORT_CAP = 100_000
EXPORT_CHUNK = 1000
EXPORT_TIMEOUT_SECONDS = 600
MAX_DETAIL_VALUE = 200
RECENT_EVENTS_DAYS = 90
EVENT_RE = re.compile(r"^[a-z0-9_]{1,20}:(?:[a-z0-9_]{1,30}:[a-z0-9_]{1,30})?$")
FIRST_YEAR, LAST_YEAR = 2000, 2099

CSV_HEADER = [
    "日時（日本時間）",
    "イベント",
    "イベント名",
    "組合員番号",
    "氏名",
    "職員",
    "IPアドレス",
    "端末",
    "ユーザーエージェント",
    "詳細",
]


class LogFilterError(DomainError):
    """A filter of the access log could not be read; the message says which."""


@dataclass(frozen=True)
class LogFilter:
    """What the staff member asked to see; empty fields filter nothing."""

    member_no: str = ""
    member_id: int | None = None
    staff_id: int | None = None
    event: str = ""
    since: date | None = None
    until: date | None = None

    def args(self) -> dict[str, str]:
        """The filter as query arguments (for paging links and the export link)."""
        values = {
            "member_no": self.member_no,
            "staff": str(self.staff_id or ""),
            "event": self.event,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class LogRow:
    """One event as the table and the CSV show it."""

    id: int
    at: str
    event: str
    label: str
    member_no: str
    member_name: str
    staff_name: str
    ip: str
    device: str
    user_agent: str
    details: str


@dataclass
class LogPage:
    """One page of the table, with the cursors of its neighbours."""

    rows: list[LogRow] = field(default_factory=list)
    newer: int | None = None
    older: int | None = None


def _parse_date(text: str, label: str) -> date | None:
    if not nfkc(text):
        return None
    day = parse_typed_date(text)
    if day is None:
        raise LogFilterError(f"期間の{label}は 2026-11-28 の形で入力してください。")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise LogFilterError(
            f"期間の{label}は {FIRST_YEAR}年から{LAST_YEAR}年の日付にしてください。"
        )
    return day


async def parse_filter(args: Mapping[str, str]) -> LogFilter:
    """Read the filter form: member number (full-width digits too), staff, event, JST dates."""
    member_no = digits_only(args.get("member_no", ""))
    member_id = None
    if nfkc(args.get("member_no", "")) and not member_no:
        raise LogFilterError("組合員番号は数字で入力してください。")
    if member_no:
        member = await Member.filter(member_no=member_no).only("id").first()
        member_id = member.id if member is not None else None
        if member_id is None:
            raise LogFilterError(f"組合員番号 {member_no} の組合員は見つかりません。")
    staff_id = None
    staff_text = nfkc(args.get("staff", ""))
    if staff_text:
        if not staff_text.isdigit() or not await StaffUser.exists(id=int(staff_text)):
            raise LogFilterError("選んだ職員が見つかりません。ページを読み込み直してください。")
        staff_id = int(staff_text)
    event = nfkc(args.get("event", ""))
    if event and not EVENT_RE.match(event):
        raise LogFilterError("イベント種別は一覧から選んでください。")
    since = _parse_date(args.get("from", ""), "開始日")
    until = _parse_date(args.get("to", ""), "終了日")
    if since and until and since > until:
        raise LogFilterError("期間の開始日が終了日より後になっています。")
    return LogFilter(member_no, member_id, staff_id, event, since, until)


def jst_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Japan-time days as a UTC range: from the start of `since` to before the day after `until`."""
    start = datetime.combine(since, time(0), JST).astimezone(UTC) if since else None
    end = (
        datetime.combine(until + timedelta(days=1), time(0), JST).astimezone(UTC) if until else None
    )
    return start, end


def _filtered(f: LogFilter) -> QuerySet[AuditEvent]:
    query = AuditEvent.all()
    if f.member_id is not None:
        query = query.filter(member_id=f.member_id)
    if f.staff_id is not None:
        query = query.filter(staff_id=f.staff_id)
    if f.event.endswith(":"):
        query = query.filter(event__startswith=f.event)
    elif f.event:
        query = query.filter(event=f.event)
    start, end = jst_range(f.since, f.until)
    if start is not None:
        query = query.filter(at__gte=start)
    if end is not None:
        query = query.filter(at__lt=end)
    return query


def _older_than(at: datetime, event_id: int) -> Q:
    return Q(at__lt=at) | Q(at=at, id__lt=event_id)


def _newer_than(at: datetime, event_id: int) -> Q:
    return Q(at__gt=at) | Q(at=at, id__gt=event_id)


def describe_data(data: Any) -> str:
    """An event's data as key=value pairs (it never holds secrets; templates escape it)."""
    if not isinstance(data, dict):
        return "" if data in (None, "") else str(data)
    parts = []
    for key, value in data.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(text) > MAX_DETAIL_VALUE:
            text = text[:MAX_DETAIL_VALUE] + "…"
        parts.append(f"{key}={text}")
    return " ".join(parts)


async def _rows(events: list[AuditEvent]) -> list[LogRow]:
    member_ids = {e.member_id for e in events if e.member_id is not None}
    staff_ids = {e.staff_id for e in events if e.staff_id is not None}
    members = {
        row["id"]: row
        for row in await Member.filter(id__in=member_ids).values("id", "member_no", "name")
    }
    staff = dict(await StaffUser.filter(id__in=staff_ids).values_list("id", "name"))
    rows = []
    for e in events:
        member = members.get(e.member_id) if e.member_id is not None else None
        rows.append(
            LogRow(
                id=e.id,
                at=to_jst(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                event=e.event,
                label=event_label(e.event),
                member_no=member["member_no"] if member else "",
                member_name=member["name"] if member else "",
                staff_name=str(staff.get(e.staff_id, "")) if e.staff_id is not None else "",
                ip=e.ip,
                device=staff_device(e.user_agent),
                user_agent=e.user_agent,
                details=describe_data(e.data),
            )
        )
    return rows


async def _cursor(event_id: int) -> tuple[datetime, int] | None:
    row = await AuditEvent.filter(id=event_id).only("id", "at").first()
    return (row.at, row.id) if row is not None else None


def parse_cursor(text: str) -> int | None:
    """A paging cursor (an event id) from the query string; nonsense reads as none."""
    return int(text) if text.isdigit() and len(text) < 19 else None


async def log_page(f: LogFilter, *, before: int | None = None, after: int | None = None) -> LogPage:
    """A page of events, newest first: the first, or older than `before`, or newer than `after`."""
    query = _filtered(f)
    cursor_id = after if after is not None else before
    cursor = await _cursor(cursor_id) if cursor_id is not None else None
    if cursor is not None and after is not None:
        found = await query.filter(_newer_than(*cursor)).order_by("at", "id").limit(PAGE_SIZE + 1)
        more = len(found) > PAGE_SIZE
        events = list(reversed(found[:PAGE_SIZE]))
        page = LogPage(await _rows(events))
        page.newer = events[0].id if more and events else None
        page.older = events[-1].id if events else None
        return page
    if cursor is not None:
        query = query.filter(_older_than(*cursor))
    found = await query.order_by("-at", "-id").limit(PAGE_SIZE + 1)
    events = found[:PAGE_SIZE]
    page = LogPage(await _rows(events))
    page.older = events[-1].id if len(found) > PAGE_SIZE else None
    page.newer = events[0].id if cursor is not None and events else None
    return page


async def event_choices(
    now: datetime, selected: str = ""
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The event select, per area: "all of it", then each event name.

    The names are the ones the app is known to record plus any other name
    recorded in the last RECENT_EVENTS_DAYS days: a DISTINCT over the whole
    log would read every row of a table that only grows, on every page view.
    """
    recent = await (
        AuditEvent.filter(at__gte=now - timedelta(days=RECENT_EVENTS_DAYS))
        .distinct()
        .values_list("event", flat=True)
    )
    names = set(STAFF_LABELS) | {str(name) for name in recent}
    if EVENT_RE.match(selected) and not selected.endswith(":"):
        names.add(selected)
    areas: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(names):
        area = name.split(":", 1)[0]
        areas.setdefault(area, [(f"{area}:", event_label(f"{area}:"))])
        areas[area].append((name, event_label(name)))
    order = list(AREA_LABELS)
    ranked = sorted(areas, key=lambda a: (order.index(a) if a in order else len(order), a))
    return [(AREA_LABELS.get(area, area), areas[area]) for area in ranked]


async def staff_choices() -> list[tuple[int, str]]:
    """The staff select: every staff account, active or not, by name."""
    rows = await StaffUser.all().order_by("name", "id").values_list("id", "name", "active")
    return [(i, name if active else f"{name}（利用停止）") for i, name, active in rows]


def _csv_text(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([safe_cell(v) if isinstance(v, str) else v for v in row] for row in rows)
    return out.getvalue()


async def export_csv(f: LogFilter) -> AsyncIterator[bytes]:
    """The filtered log as CSV (UTF-8 BOM, CRLF), newest first, in chunks, up to EXPORT_CAP rows."""
    yield ("\ufeff" + _csv_text([CSV_HEADER])).encode()
    sent = 0
    cursor: tuple[datetime, int] | None = None
    while sent < EXPORT_CAP:
        query = _filtered(f)
        if cursor is not None:
            query = query.filter(_older_than(*cursor))
        events = await query.order_by("-at", "-id").limit(min(EXPORT_CHUNK, EXPORT_CAP - sent))
        if not events:
            return
        lines = [
            [
                r.at,
                r.label,
                r.event,
                r.member_no,
                r.member_name,
                r.staff_name,
                r.ip,
                r.device,
                r.user_agent,
                r.details,
            ]
            for r in await _rows(events)
        ]
        yield _csv_text(lines).encode()
        sent += len(events)
        cursor = (events[-1].at, events[-1].id)
    if cursor is not None and await _filtered(f).filter(_older_than(*cursor)).exists():
        note = f"（{EXPORT_CAP:,}件で打ち切りました。期間を絞って出力してください）"
        yield _csv_text([[note]]).encode()
