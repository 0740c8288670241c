"""Staff inbox of member inquiries: filters, replies, internal notes, assignment."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from server.audit.events import InquiryEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.config import Settings
from server.errors import DomainError, NotFound
from server.inquiries.models import (
    Inquiry,
    InquiryCategory,
    InquiryNote,
    InquiryReply,
    InquiryState,
)
from server.inquiries.service import CATEGORY_LABELS, reply_to_inquiry
from server.members.models import Member
from server.staff.models import StaffUser
from server.staff.paging import Page, paginate

MAX_NOTE = 2000
EXCERPT = 40
# The inbox's filters: code in the URL -> label; the first entry is the default.
STATE_FILTERS = {"received": "未回答", "answered": "回答済", "all": "すべて"}
ASSIGNMENT_FILTERS = {"all": "すべて", "me": "自分の担当", "none": "未割当"}
# Staff read a received inquiry as one still to answer.
STATE_LABELS = {InquiryState.RECEIVED: "未回答", InquiryState.ANSWERED: "回答済"}


class InboxError(DomainError):
    """A staff action on an inquiry that cannot be done as sent; the message says why."""


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows: a category ("" for all), a state and an assignment filter."""

    category: str
    state: str
    assigned: str

    def args(self) -> dict[str, str]:
        """The filters as URL arguments (for the pager's links)."""
        return {"category": self.category, "state": self.state, "assigned": self.assigned}


def inbox_filters(category: str | None, state: str | None, assigned: str | None) -> InboxFilters:
    """Known filter codes, anything else replaced by the default."""
    codes = {c.value for c in InquiryCategory}
    return InboxFilters(
        category=category if category in codes else "",
        state=state if state in STATE_FILTERS else "received",
        assigned=assigned if assigned in ASSIGNMENT_FILTERS else "all",
    )


def _query(filters: InboxFilters, staff_id: int, *, state: str) -> QuerySet[Inquiry]:
    """Inquiries matching the category and assignment filters and one state code."""
    query = Inquiry.all()
    if filters.category:
        query = query.filter(category=filters.category)
    if state != "all":
        query = query.filter(state=InquiryState(state))
    if filters.assigned == "me":
        query = query.filter(assigned_staff_id=staff_id)
    elif filters.assigned == "none":
        query = query.filter(assigned_staff_id__isnull=True)
    return query


async def state_counts(filters: InboxFilters, staff_id: int) -> dict[str, int]:
    """How many inquiries each state tab holds, with the category and assignment filters."""
    rows = (
        await _query(filters, staff_id, state="all")
        .annotate(n=Count("id"))
        .group_by("state")
        .values("state", "n")
    )
    per_state = {str(row["state"]): int(row["n"]) for row in rows}
    counts = {code: per_state.get(code, 0) for code in STATE_FILTERS if code != "all"}
    counts["all"] = sum(per_state.values())
    return counts


async def _staff_names(ids: set[int | None]) -> dict[int, str]:
    """Staff names by id, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await StaffUser.filter(id__in=wanted).values_list("id", "name")
    return {int(i): str(n) for i, n in rows}


def _name(names: dict[int, str], staff_id: int | None) -> str:
    """A staff member's name, or an id when the account is gone."""
    if staff_id is None:
        return ""
    return names.get(staff_id, f"職員ID {staff_id}")


def _excerpt(message: str) -> str:
    """The start of a message on one line, for the inbox."""
    text = " ".join(message.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


@dataclass(frozen=True)
class InboxRow:
    """One inquiry in the inbox."""

    id: int
    receipt_no: str
    created_at: datetime
    category_label: str
    state: InquiryState
    state_label: str
    member_no: str
    member_name: str
    excerpt: str
    assigned_name: str


async def inbox(filters: InboxFilters, staff_id: int, number: int) -> Page[InboxRow]:
    """Inquiries matching the filters, newest first, one page of them."""
    query = _query(filters, staff_id, state=filters.state).select_related("member")
    page = await paginate(query.order_by("-created_at", "-id"), number)
    names = await _staff_names({i.assigned_staff_id for i in page.items})
    rows = [
        InboxRow(
            id=i.id,
            receipt_no=i.receipt_no,
            created_at=i.created_at,
            category_label=CATEGORY_LABELS[InquiryCategory(i.category)],
            state=InquiryState(i.state),
            state_label=STATE_LABELS[InquiryState(i.state)],
            member_no=i.member.member_no,
            member_name=i.member.name,
            excerpt=_excerpt(i.message),
            assigned_name=_name(names, i.assigned_staff_id),
        )
        for i in page.items
    ]
    return Page(items=rows, number=page.number, per_page=page.per_page, total=page.total)


@dataclass(frozen=True)
class Entry:
    """A reply or an internal note, with who wrote it."""

    created_at: datetime
    body: str
    staff_name: str


@dataclass(frozen=True)
class InquiryDetail:
    """An inquiry as the staff detail page shows it."""

    inquiry: Inquiry
    category_label: str
    state_label: str
    member_id: int
    member_no: str
    member_name: str
    reply_to: str
    replies: list[Entry]
    notes: list[Entry]
    assigned_staff_id: int | None
    assigned_name: str
    staff_choices: list[tuple[int, str]]


async def _inquiry(inquiry_id: int) -> Inquiry:
    """An inquiry by id, or 404."""
    inquiry = await Inquiry.filter(id=inquiry_id).first()
    if inquiry is None:
        raise NotFound("お問い合わせが見つかりません。")
    return inquiry


async def inquiry_detail(inquiry_id: int) -> InquiryDetail:
    """The message, the member, the replies, the internal notes and the assignment."""
    inquiry = await _inquiry(inquiry_id)
    member = await Member.get(id=inquiry.member_id)  # type: ignore[attr-defined]
    replies = await InquiryReply.filter(inquiry_id=inquiry.id).order_by("created_at", "id")
    notes = await InquiryNote.filter(inquiry_id=inquiry.id).order_by("created_at", "id")
    names = await _staff_names(
        {r.staff_id for r in replies} | {n.staff_id for n in notes} | {inquiry.assigned_staff_id}
    )
    account = await Account.filter(member_id=member.id).first()
    active = await StaffUser.filter(active=True).order_by("name", "id").values_list("id", "name")
    return InquiryDetail(
        inquiry=inquiry,
        category_label=CATEGORY_LABELS[InquiryCategory(inquiry.category)],
        state_label=STATE_LABELS[InquiryState(inquiry.state)],
        member_id=member.id,
        member_no=member.member_no,
        member_name=member.name,
        # The same choice reply_to_inquiry makes: the account's address, else the one sent from.
        reply_to=account.email if account is not None else inquiry.reply_to,
        replies=[Entry(r.created_at, r.body, _name(names, r.staff_id)) for r in replies],
        notes=[Entry(n.created_at, n.body, _name(names, n.staff_id)) for n in notes],
        assigned_staff_id=inquiry.assigned_staff_id,
        assigned_name=_name(names, inquiry.assigned_staff_id),
        staff_choices=[(int(i), str(n)) for i, n in active],
    )


def _staff_id(actor: Actor) -> int:
    """The acting staff member's id (staff actions need one)."""
    if actor.staff_id is None:
        raise InboxError("職員としてログインしてから操作してください。", status=403)
    return actor.staff_id


async def reply(
    inquiry_id: int, body: str, settings: Settings, now: datetime, actor: Actor
) -> InquiryReply:
    """Answer the member: mailed to them and shown in their inquiry history."""
    staff_id = _staff_id(actor)
    inquiry = await _inquiry(inquiry_id)
    async with in_transaction():
        answer = await reply_to_inquiry(
            inquiry.id, body, settings, now, staff_id=staff_id, actor=actor
        )
        await record(
            InquiryEvent.REPLY,
            replace(actor, member_id=inquiry.member_id),  # type: ignore[attr-defined]
            now,
            inquiry=inquiry.id,
            reply=answer.id,
        )
    return answer


async def add_note(inquiry_id: int, body: str, now: datetime, actor: Actor) -> InquiryNote:
    """An internal note for staff: never shown or mailed to the member."""
    staff_id = _staff_id(actor)
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise InboxError("メモの内容を入力してください。")
    if len(text) > MAX_NOTE:
        raise InboxError(f"メモは{MAX_NOTE:,}文字以内で入力してください（現在{len(text):,}文字）。")
    inquiry = await _inquiry(inquiry_id)
    async with in_transaction():
        note = await InquiryNote.create(
            inquiry_id=inquiry.id, staff_id=staff_id, body=text, created_at=now
        )
        # The note's text stays out of the access log: it may hold personal details.
        await record(
            InquiryEvent.NOTE,
            replace(actor, member_id=inquiry.member_id),  # type: ignore[attr-defined]
            now,
            inquiry=inquiry.id,
            note=note.id,
        )
    return note


def _target(value: str) -> int | None:
    """The chosen staff id from the form; empty means nobody."""
    text = value.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InboxError("担当者を選び直してください。") from None


async def assign(inquiry_id: int, target: str, now: datetime, actor: Actor) -> int | None:
    """Give the inquiry to an active staff member, or to nobody ("" unassigns)."""
    _staff_id(actor)
    staff_id = _target(target)
    if staff_id is not None and not await StaffUser.filter(id=staff_id, active=True).exists():
        raise InboxError("担当者を選び直してください。利用停止中の職員には割り当てられません。")
    async with in_transaction():
        inquiry = await Inquiry.filter(id=inquiry_id).select_for_update().first()
        if inquiry is None:
            raise NotFound("お問い合わせが見つかりません。")
        previous = inquiry.assigned_staff_id
        if previous == staff_id:
            return staff_id
        inquiry.assigned_staff_id = staff_id
        await inquiry.save(update_fields=["assigned_staff_id"])
        data: dict[str, Any] = {"inquiry": inquiry.id, "previous": previous}
        if staff_id is not None:
            data["assigned_staff_id"] = staff_id
        await record(
            InquiryEvent.ASSIGN if staff_id is not None else InquiryEvent.UNASSIGN,
            replace(actor, member_id=inquiry.member_id),  # type: ignore[attr-defined]
            now,
            **data,
        )
    return staff_id
