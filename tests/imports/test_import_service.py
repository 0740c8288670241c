"""The import service on a real database: examples, normalisation, idempotency, replacement."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from server.audit.events import ImportEvent
from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.capital.models import CapitalRecord
from server.imports.plan import Kind
from server.imports.reader import ImportRejected
from server.imports.service import import_file
from server.lib.clock import FrozenClock
from server.members.models import Category, Member, MemberStatus
from server.statements.models import StatementLine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPERATOR = Actor(kind="operator", user_agent="test")


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


async def run(kind: Kind, data: bytes, clock: FrozenClock, **kw):
    return await import_file(kind, data, source="test.csv", actor=OPERATOR, now=clock(), **kw)


async def load_examples(clock: FrozenClock) -> None:
    await run(Kind.MEMBERS, example("members.csv"), clock)
    await run(Kind.STATEMENTS, example("statements.csv"), clock)
    await run(Kind.CAPITAL, example("capital.csv"), clock)


async def snapshot() -> list[tuple]:
    return sorted(
        await StatementLine.all().values_list(
            "member__member_no", "billing_month", "line_no", "description", "amount_yen"
        )
    )


async def test_members_example_is_normalised(app, clock) -> None:
    result = await run(Kind.MEMBERS, example("members.csv"), clock)
    assert (result.counts.created, result.encoding) == (3, "UTF-8")
    takahashi = await Member.get(member_no="10000002")
    assert takahashi.name == "髙橋 誠"  # names are never NFKC-changed
    assert takahashi.name_kana == "タカハシ マコト"  # half-width kana made full-width
    assert takahashi.phone == "027-322-2222"  # full-width digits and hyphens
    assert takahashi.postal_code == "370-0065"
    assert takahashi.email is None
    assert takahashi.category == Category.RETIRED
    assert takahashi.status == MemberStatus.WITHDRAWING
    assert takahashi.capital_refund_on == date(2027, 7, 31)
    sekiguchi = await Member.get(member_no="10000003")
    assert sekiguchi.postal_code == "373-0851"
    assert sekiguchi.birth_date == date(1988, 2, 29)


async def test_cp932_and_bom_files_read_the_same_as_utf8(app, clock) -> None:
    await run(Kind.MEMBERS, example("members.csv"), clock)
    cp932 = await run(Kind.MEMBERS, example("members_cp932.csv"), clock)
    assert cp932.encoding == "CP932 (Shift_JIS)"
    assert (cp932.counts.created, cp932.counts.updated, cp932.counts.unchanged) == (0, 0, 3)
    bom = await run(Kind.MEMBERS, b"\xef\xbb\xbf" + example("members.csv"), clock)
    assert bom.encoding == "UTF-8 (BOM付き)"
    assert bom.counts.unchanged == 3
    await run(Kind.STATEMENTS, example("statements.csv"), clock)
    again = await run(Kind.STATEMENTS, example("statements_cp932.csv"), clock)
    assert again.counts.unchanged == 7 and again.counts.created == 0


async def test_amounts_with_full_width_digits_and_separators(app, clock) -> None:
    await load_examples(clock)
    lines = dict(
        await StatementLine.filter(billing_month="2026-11", member__member_no="10000001")
        .order_by("line_no")
        .values_list("line_no", "amount_yen")
    )
    assert lines == {1: 680, 2: 1500}  # "６８０" and "１，５００"
    refund = await StatementLine.get(billing_month="2026-10", line_no=4)
    assert (refund.quantity, refund.amount_yen) == (-1, -550)
    full_width_date = await StatementLine.get(member__member_no="10000002")
    assert full_width_date.billed_on == date(2026, 11, 16)


async def test_same_file_twice_changes_nothing(app, clock) -> None:
    await load_examples(clock)
    before = await snapshot()
    ids = sorted(await StatementLine.all().values_list("id", flat=True))
    for kind, name in [
        (Kind.MEMBERS, "members.csv"),
        (Kind.STATEMENTS, "statements.csv"),
        (Kind.CAPITAL, "capital.csv"),
    ]:
        result = await run(kind, example(name), clock)
        assert (result.counts.created, result.counts.updated, result.counts.deleted) == (0, 0, 0)
    assert await snapshot() == before
    assert sorted(await StatementLine.all().values_list("id", flat=True)) == ids
    assert await CapitalRecord.all().count() == 3
    applied = await AuditEvent.filter(event="imports:file:applied").order_by("id")
    assert len(applied) == 6
    statements_runs = [e.data for e in applied if e.data["kind"] == "statements"]
    assert statements_runs[0]["sha256"] == statements_runs[1]["sha256"]
    assert statements_runs[0]["created"] == 7 and statements_runs[1]["unchanged"] == 7
    assert applied[0].actor == "operator"


async def test_a_file_replaces_only_the_pairs_it_contains(app, clock) -> None:
    await load_examples(clock)
    corrected = (
        "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
        "10000001,2026-11,2026-11-16,1,2026-10-05,ノート（A4・5冊組）訂正,1,600\n"
    ).encode()
    result = await run(Kind.STATEMENTS, corrected, clock)
    assert (result.counts.created, result.counts.deleted) == (1, 2)
    november = await StatementLine.filter(member__member_no="10000001", billing_month="2026-11")
    assert [(line.line_no, line.amount_yen) for line in november] == [(1, 600)]
    # Other months of the member and other members' November stay as they were.
    assert await StatementLine.filter(billing_month="2026-10").count() == 4
    assert await StatementLine.filter(member__member_no="10000002").count() == 1


async def test_members_are_updated_in_place(app, clock) -> None:
    await run(Kind.MEMBERS, example("members.csv"), clock)
    first = await Member.get(member_no="10000001")
    text = example("members.csv").decode()
    changed = text.replace("群馬県前橋市大手町1-1-1", "群馬県前橋市本町2-2")
    result = await run(Kind.MEMBERS, changed.encode(), clock)
    assert (result.counts.updated, result.counts.unchanged) == (1, 2)
    again = await Member.get(member_no="10000001")
    assert again.id == first.id and again.address == "群馬県前橋市本町2-2"


async def test_capital_is_updated_by_member_and_year(app, clock) -> None:
    await load_examples(clock)
    changed = example("capital.csv").decode().replace("50,50000", "60,60000")
    result = await run(Kind.CAPITAL, changed.encode(), clock)
    assert (result.counts.updated, result.counts.unchanged) == (1, 2)
    record = await CapitalRecord.get(member__member_no="10000001", fiscal_year=2025)
    assert (record.units, record.balance_yen) == (60, 60000)


async def test_dry_run_writes_nothing_but_is_audited(app, clock) -> None:
    result = await run(Kind.MEMBERS, example("members.csv"), clock, dry_run=True)
    assert result.dry_run and result.counts.created == 3
    assert await Member.all().count() == 0
    assert await AuditEvent.filter(event="imports:file:checked").count() == 1


async def test_a_crash_mid_import_leaves_the_database_as_before(app, clock, monkeypatch) -> None:
    await load_examples(clock)
    before = await snapshot()
    replacement = (
        "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
        "10000001,2026-10,2026-10-15,1,2026-09-03,置き換え,1,1\n"
        "10000002,2026-12,2026-12-15,1,2026-11-03,新しい月,1,2\n"
    ).encode()
    import server.imports.service as service

    real_record = service.record

    async def crash(event, *args, **kwargs):
        if event == ImportEvent.APPLIED:
            raise RuntimeError("power cut")
        return await real_record(event, *args, **kwargs)

    from server.outbox.models import OutboxMessage

    queued_before = await OutboxMessage.filter(channel="push").count()
    monkeypatch.setattr(service, "record", crash)
    with pytest.raises(RuntimeError):
        await run(Kind.STATEMENTS, replacement, clock)
    assert await snapshot() == before  # deletes and inserts were both rolled back
    # The notices were queued in the same transaction, so they went too.
    assert await OutboxMessage.filter(channel="push").count() == queued_before


async def test_a_crash_between_batches_rolls_back_earlier_batches(app, clock, monkeypatch) -> None:
    await run(Kind.MEMBERS, example("members.csv"), clock)
    from server.imports import statement_plan

    monkeypatch.setattr(statement_plan, "BATCH", 2)
    real_insert = statement_plan.insert_rows
    calls = 0

    async def flaky(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        return await real_insert(*args, **kwargs)

    monkeypatch.setattr(statement_plan, "insert_rows", flaky)
    with pytest.raises(OSError):
        await run(Kind.STATEMENTS, example("statements.csv"), clock)
    assert calls == 3
    assert await StatementLine.all().count() == 0
    assert await AuditEvent.filter(event="imports:file:applied").count() == 1  # members only


async def test_rejected_runs_are_audited(app, clock) -> None:
    with pytest.raises(ImportRejected):
        await run(Kind.STATEMENTS, example("statements.csv"), clock)  # no members yet
    event = await AuditEvent.get(event="imports:file:rejected")
    assert event.data["problems"] == 7
    assert "登録されていません" in event.data["first"][0]


async def test_an_import_queues_one_notice_per_changed_member_month(app, clock) -> None:
    from server.outbox.models import OutboxMessage

    await run(Kind.MEMBERS, example("members.csv"), clock)
    await run(Kind.STATEMENTS, example("statements.csv"), clock)
    pairs = set(await StatementLine.all().distinct().values_list("member_id", "billing_month"))
    notices = await OutboxMessage.filter(channel="push").all()
    assert {(n.payload["member_id"], n.payload["url"].rsplit("/", 1)[1]) for n in notices} == pairs
    assert len(notices) == len(pairs)
    # The same file again changes nothing and queues nothing.
    await run(Kind.STATEMENTS, example("statements.csv"), clock)
    assert await OutboxMessage.filter(channel="push").count() == len(pairs)
