"""Staff review of profile change requests: the queue, one request, and the actions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from server.audit.events import ChangeEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.config import Settings
from server.errors import NotFound
from server.imports.overrides import CoreSync, change_request_sync
from server.lib.clock import to_jst
from server.members.models import Member
from server.requests.models import ChangeGroup, ChangeRequest, ChangeState
from server.requests.service import (
    FIELD_LABELS,
    GROUP_FIELDS,
    GROUP_LABELS,
    OPEN_STATES,
    STATE_LABELS,
    ChangeView,
    current_values,
    set_change_state,
    view,
)
from server.requests.service import comparable as comparable_value
from server.staff.models import StaffUser
from server.staff.paging import Page, paginate

DEFAULT_FILTER = "open"
# The queue's state filter: code in the URL -> (label, states shown).
STATE_FILTERS: dict[str, tuple[str, tuple[ChangeState, ...]]] = {
    "open": ("未処理（受付済・処理中）", OPEN_STATES),
    "received": (STATE_LABELS[ChangeState.RECEIVED], (ChangeState.RECEIVED,)),
    "processing": (STATE_LABELS[ChangeState.PROCESSING], (ChangeState.PROCESSING,)),
    "applied": (STATE_LABELS[ChangeState.APPLIED], (ChangeState.APPLIED,)),
    "returned": (STATE_LABELS[ChangeState.RETURNED], (ChangeState.RETURNED,)),
    "replaced": ("置き換え済", (ChangeState.REPLACED,)),
    "all": ("すべて", tuple(ChangeState)),
}


@dataclass(frozen=True)
class QueueRow:
    """One request in the queue."""

    id: int
    member_no: str
    member_name: str
    group_label: str
    state: ChangeState
    state_label: str
    submitted_at: datetime
    expected_on: date
    updated_at: datetime
    overdue: bool


def staff_state_label(state: ChangeState, core: CoreSync | None) -> str:
    """The state in the office's words; an approved change waits for the core system."""
    if state == ChangeState.APPLIED and core is not None:
        return core.label
    return STATE_LABELS[state]


def state_filter(code: str | None) -> str:
    """A known filter code, or the default (open requests)."""
    return code if code in STATE_FILTERS else DEFAULT_FILTER


async def filter_counts() -> dict[str, int]:
    """How many requests each state filter shows."""
    rows = await ChangeRequest.annotate(n=Count("id")).group_by("state").values("state", "n")
    per_state = {ChangeState(row["state"]): int(row["n"]) for row in rows}
    return {
        code: sum(per_state.get(s, 0) for s in states)
        for code, (_, states) in STATE_FILTERS.items()
    }


async def change_queue(code: str, number: int, now: datetime) -> Page[QueueRow]:
    """Requests in the chosen states: open ones oldest first, finished ones newest first."""
    states = STATE_FILTERS[state_filter(code)][1]
    query = ChangeRequest.filter(state__in=states).select_related("member")
    if set(states) <= set(OPEN_STATES):
        query = query.order_by("submitted_at", "id")
    else:
        query = query.order_by("-updated_at", "-id")
    page = await paginate(query, number)
    today = to_jst(now).date()
    synced = await change_request_sync(r.id for r in page.items)
    rows = [
        QueueRow(
            id=r.id,
            member_no=r.member.member_no,
            member_name=r.member.name,
            group_label=GROUP_LABELS[ChangeGroup(r.group)],
            state=ChangeState(r.state),
            state_label=staff_state_label(ChangeState(r.state), synced.get(r.id)),
            submitted_at=r.submitted_at,
            expected_on=r.expected_on,
            updated_at=r.updated_at,
            overdue=r.state in OPEN_STATES and r.expected_on < today,
        )
        for r in page.items
    ]
    return Page(items=rows, number=page.number, per_page=page.per_page, total=page.total)


@dataclass(frozen=True)
class ValueRow:
    """One field: as the member saw it when sending, as registered now, and the new value."""

    field: str
    label: str
    at_submission: str
    registered: str
    new: str

    @property
    def changed(self) -> bool:
        """The member asked to change this field (not the same value written differently)."""
        return comparable_value(self.field, self.at_submission) != comparable_value(
            self.field, self.new
        )

    @property
    def changed_since(self) -> bool:
        """The registered value changed after the member sent the request."""
        return comparable_value(self.field, self.at_submission) != comparable_value(
            self.field, self.registered
        )


@dataclass(frozen=True)
class ChangeDetail:
    """A request as the staff detail page shows it."""

    change: ChangeView
    member_id: int
    member_no: str
    member_name: str
    rows: list[ValueRow]
    notice_to: str | None
    handled_by: str
    core: CoreSync | None = None

    @property
    def state_label(self) -> str:
        """受付済 … 反映済, or 基幹システム反映待ち while the core system has not caught up."""
        return staff_state_label(self.change.state, self.core)

    @property
    def is_open(self) -> bool:
        """Staff can still act on it."""
        return self.change.is_open

    @property
    def can_process(self) -> bool:
        """Only a received request can be marked 処理中."""
        return self.change.state == ChangeState.RECEIVED

    @property
    def changed_since(self) -> bool:
        """Some registered value differs from what the member saw when sending (open only:
        once applied, the registered value is the new one)."""
        return self.is_open and any(row.changed_since for row in self.rows)


async def _staff_name(staff_id: int | None) -> str:
    """The name of the staff member who last handled a request."""
    if staff_id is None:
        return ""
    staff = await StaffUser.filter(id=staff_id).first()
    return staff.name if staff is not None else f"職員ID {staff_id}"


async def change_detail(request_id: int) -> ChangeDetail:
    """One request with the member and the old/new values side by side."""
    request = await ChangeRequest.filter(id=request_id).first()
    if request is None:
        raise NotFound("変更届が見つかりません。")
    member = await Member.get(id=request.member_id)  # type: ignore[attr-defined]
    registered = current_values(member)
    rows = [
        ValueRow(
            field=f,
            label=FIELD_LABELS[f],
            at_submission=str(request.current_values.get(f, "")),
            registered=registered[f],
            new=str(request.new_values.get(f, "")),
        )
        for f in GROUP_FIELDS[ChangeGroup(request.group)]
    ]
    account = await Account.filter(member_id=member.id).first()
    return ChangeDetail(
        change=view(request),
        member_id=member.id,
        member_no=member.member_no,
        member_name=member.name,
        rows=rows,
        notice_to=account.email if account is not None else None,
        handled_by=await _staff_name(request.staff_id),
        core=(await change_request_sync([request.id])).get(request.id),
    )


async def _act(
    request_id: int,
    state: ChangeState,
    event: ChangeEvent,
    settings: Settings,
    now: datetime,
    actor: Actor,
    comment: str = "",
) -> ChangeRequest:
    """Change the state through set_change_state and record the staff event with it."""
    async with in_transaction():
        request = await set_change_state(
            request_id,
            state,
            settings,
            now,
            staff_id=actor.staff_id,
            comment=comment,
            actor=actor,
        )
        await record(
            event,
            replace(actor, member_id=request.member_id),  # type: ignore[attr-defined]
            now,
            request=request.id,
            group=str(request.group),
        )
    return request


async def mark_processing(
    request_id: int, settings: Settings, now: datetime, actor: Actor
) -> ChangeRequest:
    """処理中にする: the member is told the co-op is working on it."""
    return await _act(request_id, ChangeState.PROCESSING, ChangeEvent.PROCESS, settings, now, actor)


async def approve(
    request_id: int, settings: Settings, now: datetime, actor: Actor
) -> ChangeRequest:
    """反映する: write the new values to the member record (the card shows them) and tell them."""
    return await _act(request_id, ChangeState.APPLIED, ChangeEvent.APPROVE, settings, now, actor)


async def send_back(
    request_id: int, comment: str, settings: Settings, now: datetime, actor: Actor
) -> ChangeRequest:
    """差し戻す: nothing is written; the member reads the comment (required) by mail and online."""
    text = comment.replace("\r\n", "\n")
    state, event = ChangeState.RETURNED, ChangeEvent.RETURN
    return await _act(request_id, state, event, settings, now, actor, text)
