"""Facts recorded in the console survive members files that do not carry them yet."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from quart import Quart

from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.imports.models import MemberFieldOverride, Settlement
from server.imports.overrides import KeptKind, Overwrite, change_request_sync
from server.imports.plan import Kind
from server.imports.service import import_file
from server.lib.clock import FrozenClock
from server.members.models import Member, MemberStatus
from server.requests.changes import set_change_state
from server.requests.models import ChangeGroup, ChangeRequest, ChangeState
from server.staff.members.actions import record_withdrawal
from server.staff.models import StaffUser
from tests.staff.helpers import new_staff

OPERATOR = Actor(kind="operator", user_agent="test")
HEADER = (
    "member_no,name,name_kana,birth_date,email,phone,postal_code,address,workplace,"
    "category,joined_on,status,capital_refund_on\n"
)
ROW: dict[str, str] = {
    "member_no": "10000001",
    "name": "佐藤 陽子",
    "name_kana": "サトウ ヨウコ",
    "birth_date": "1975-06-01",
    "email": "",
    "phone": "027-231-1111",
    "postal_code": "371-0026",
    "address": "群馬県前橋市大手町1-1-1",
    "workplace": "前橋市立桃井小学校",
    "category": "現職",
    "joined_on": "2001-04-01",
    "status": "active",
    "capital_refund_on": "",
}
NEW_ADDRESS = {"postal_code": "370-0829", "address": "群馬県高崎市高松町35-1"}


def members_file(*rows: dict[str, str]) -> bytes:
    """A members CSV from ROW with each row's changes."""
    lines = [",".join({**ROW, **row}.values()) for row in rows]
    return (HEADER + "\n".join(lines) + "\n").encode()


async def run(clock: FrozenClock, data: bytes, name: str = "members.csv", **kw: Any):
    return await import_file(Kind.MEMBERS, data, source=name, actor=OPERATOR, now=clock(), **kw)


async def clerk(app: Quart) -> StaffUser:
    staff, _ = await new_staff(app, name="窓口 一郎")
    return staff


async def approved_address_change(app: Quart, clock: FrozenClock) -> ChangeRequest:
    """The member is imported, asks to move, and a clerk approves it in the console."""
    await run(clock, members_file({}, {"member_no": "10000002", "name": "鈴木 一"}))
    member = await Member.get(member_no="10000001")
    request = await ChangeRequest.create(
        member_id=member.id,
        group=ChangeGroup.ADDRESS,
        state=ChangeState.RECEIVED,
        current_values={"postal_code": "371-0026", "address": ROW["address"]},
        new_values=NEW_ADDRESS,
        submitted_at=clock(),
        expected_on=date(2026, 12, 2),
        updated_at=clock(),
    )
    staff = await clerk(app)
    clock.advance(hours=1)
    settings = app.config["MYPAGE_SETTINGS"]
    await set_change_state(request.id, ChangeState.APPLIED, settings, clock(), staff_id=staff.id)
    clock.advance(days=1)
    return request


async def test_old_file_keeps_an_approved_change_as_waiting_then_new_file_settles_it(
    app: Quart, clock: FrozenClock
) -> None:
    request = await approved_address_change(app, clock)

    # The next file still has the old address (the core system has not caught
    # up) and a new workplace: the workplace is applied, the address is kept.
    old_file = members_file({"workplace": "高崎市立中央小学校"})
    checked = await run(clock, old_file, dry_run=True)
    assert checked.conflicts == []
    assert {(k.member_no, k.kind) for k in checked.waiting} == {("10000001", KeptKind.WAITING)}
    assert {k.field for k in checked.kept} == {"postal_code", "address"}
    address = next(k for k in checked.kept if k.field == "address")
    assert address.file_value == ROW["address"] and address.portal_value == NEW_ADDRESS["address"]
    assert address.recorded_by == "窓口 一郎"
    assert "基幹システム反映待ち 2件" in checked.summary()

    result = await run(clock, old_file)
    member = await Member.get(member_no="10000001")
    assert (member.postal_code, member.address) == ("370-0829", NEW_ADDRESS["address"])
    assert member.workplace == "高崎市立中央小学校"
    assert result.counts.updated == 1
    assert (await change_request_sync([request.id]))[request.id].label == "基幹システム反映待ち"

    # The core system now carries the move: settled, with the file named.
    new_file = members_file({"workplace": "高崎市立中央小学校", **NEW_ADDRESS})
    clock.advance(days=7)
    result = await run(clock, new_file, name="members-1212.csv")
    assert result.kept == [] and result.confirmed == 2
    sync = (await change_request_sync([request.id]))[request.id]
    assert sync.label == "反映済" and sync.file == "members-1212.csv"
    assert sync.sha256 == hashlib.sha256(new_file).hexdigest() and sync.settled_at == clock()
    settled = await MemberFieldOverride.filter(change_request_id=request.id)
    assert {o.settled_how for o in settled} == {Settlement.CONFIRMED}

    # Settled for good: a later old file is the core system's word again.
    result = await run(clock, old_file)
    assert result.kept == [] and (await Member.get(member_no="10000001")).address == ROW["address"]


async def test_a_third_value_in_the_file_is_a_conflict_and_can_be_overwritten(
    app: Quart, clock: FrozenClock
) -> None:
    await approved_address_change(app, clock)
    other = members_file({"address": "群馬県桐生市織姫町1-1"})
    checked = await run(clock, other, dry_run=True)
    [conflict] = checked.conflicts
    assert (conflict.field, conflict.key) == ("address", "10000001:address")
    assert [k.field for k in checked.waiting] == ["postal_code"]  # still the old one

    await run(clock, other, overwrite=Overwrite(keys=frozenset({"10000001:address"})))
    member = await Member.get(member_no="10000001")
    assert member.address == "群馬県桐生市織姫町1-1" and member.postal_code == "370-0829"
    event = await AuditEvent.get(event="imports:override:overwritten")
    assert event.data["field"] == "address" and event.data["member_no"] == "10000001"
    assert event.data["portal_value"] == NEW_ADDRESS["address"]


async def withdrawn_in_console(app: Quart, clock: FrozenClock) -> StaffUser:
    """Two members imported; a clerk records the first one's withdrawal in the console."""
    await run(clock, members_file({}, {"member_no": "10000002", "name": "鈴木 一"}))
    staff = await clerk(app)
    member = await Member.get(member_no="10000001")
    actor = Actor(kind="staff", staff_id=staff.id)
    await record_withdrawal(member.id, "2027-07-31", True, clock(), actor)
    clock.advance(days=1)
    return staff


async def test_a_file_saying_active_is_a_conflict_kept_and_the_rest_applied(
    app: Quart, clock: FrozenClock
) -> None:
    await withdrawn_in_console(app, clock)
    data = members_file({"phone": "090-1234-5678"}, {"member_no": "10000002", "name": "鈴木 肇"})
    checked = await run(clock, data, dry_run=True)
    [conflict] = checked.kept  # one decision: the refund date goes with the status
    assert (conflict.kind, conflict.field, conflict.member_no) == (
        KeptKind.CONFLICT,
        "status",
        "10000001",
    )
    assert conflict.file_value == "在籍（active）"
    assert conflict.portal_value == "脱退手続き中（withdrawing）・払い戻し日 2027年7月31日"
    assert conflict.recorded_by == "窓口 一郎"
    assert conflict.as_dict()["label"] == "状態"

    result = await run(clock, data)
    member = await Member.get(member_no="10000001")
    assert member.status == MemberStatus.WITHDRAWING
    assert member.capital_refund_on == date(2027, 7, 31)
    assert member.phone == "090-1234-5678"  # the rest of the row is applied
    assert (await Member.get(member_no="10000002")).name == "鈴木 肇"
    assert result.counts.updated == 2
    applied = await AuditEvent.filter(event="imports:file:applied").order_by("-id").first()
    assert applied is not None and applied.data["conflicts"] == 1
    assert await MemberFieldOverride.filter(settled_at__isnull=True).count() == 2


async def test_overwrite_all_takes_the_file_and_is_audited(app: Quart, clock: FrozenClock) -> None:
    staff = await withdrawn_in_console(app, clock)
    result = await run(clock, members_file({}), overwrite=Overwrite(everything=True))
    [conflict] = result.conflicts
    assert conflict.overwritten
    member = await Member.get(member_no="10000001")
    assert member.status == MemberStatus.ACTIVE and member.capital_refund_on is None
    rows = await MemberFieldOverride.all()
    assert {o.settled_how for o in rows} == {Settlement.OVERWRITTEN}
    events = await AuditEvent.filter(event="imports:override:overwritten")
    assert sorted(e.data["field"] for e in events) == ["capital_refund_on", "status"]
    assert {e.data["recorded_by"] for e in events} == {staff.id}


async def test_a_file_saying_withdrawn_confirms_the_withdrawal(
    app: Quart, clock: FrozenClock
) -> None:
    await withdrawn_in_console(app, clock)
    data = members_file({"status": "withdrawn", "capital_refund_on": "2027-07-31"})
    result = await run(clock, data)
    assert result.kept == [] and result.confirmed == 2
    assert (await Member.get(member_no="10000001")).status == MemberStatus.WITHDRAWN
    assert await MemberFieldOverride.filter(settled_at__isnull=True).count() == 0


async def test_a_different_refund_date_is_its_own_conflict(app: Quart, clock: FrozenClock) -> None:
    await withdrawn_in_console(app, clock)
    data = members_file({"status": "withdrawing", "capital_refund_on": "2027-08-31"})
    result = await run(clock, data)
    [conflict] = result.kept
    assert conflict.field == "capital_refund_on" and conflict.file_value == "2027年8月31日"
    member = await Member.get(member_no="10000001")
    assert member.capital_refund_on == date(2027, 7, 31)
    # The status agreed and is settled; only the date stays open.
    assert [o.field for o in await MemberFieldOverride.filter(settled_at__isnull=True)] == [
        "capital_refund_on"
    ]


async def test_a_newer_console_fact_replaces_an_open_older_one(
    app: Quart, clock: FrozenClock
) -> None:
    await withdrawn_in_console(app, clock)
    member = await Member.get(member_no="10000001")
    staff = await StaffUser.first()
    assert staff is not None
    actor = Actor(kind="staff", staff_id=staff.id)
    await record_withdrawal(member.id, "2027-09-30", False, clock(), actor)  # a correction
    open_rows = await MemberFieldOverride.filter(settled_at__isnull=True)
    assert sorted((o.field, o.value) for o in open_rows) == [
        ("capital_refund_on", "2027-09-30"),
        ("status", "withdrawing"),
    ]
    assert await MemberFieldOverride.filter(settled_how=Settlement.SUPERSEDED).count() == 2


async def test_the_same_value_written_differently_settles_the_change(
    app: Quart, clock: FrozenClock
) -> None:
    request = await approved_address_change(app, clock)
    # The core system writes the digits full-width.
    data = members_file({"postal_code": "３７００８２９", "address": "群馬県高崎市高松町３５-１"})
    result = await run(clock, data)
    assert result.kept == [] and result.confirmed == 2
    assert (await change_request_sync([request.id]))[request.id].label == "反映済"
    # The file is the system of record once it agrees: its spelling is stored.
    assert (await Member.get(member_no="10000001")).address == "群馬県高崎市高松町３５-１"
