"""Staff imports run by the outbox worker: waiting, progress, failure, stopping, and mail beside."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from tortoise import connections
from tortoise.transactions import in_transaction

from server.audit.models import AuditEvent
from server.db import is_postgres
from server.members.models import Member
from server.outbox.models import OutboxMessage, OutboxStatus
from server.staff.imports import job
from server.staff.imports.job import ProgressWriter
from server.staff.imports.models import IMPORTS_CHANNEL, ImportUpload, UploadState
from tests.dbutil import base_url
from tests.factories import PASSWORD, make_account
from tests.helpers import page, post_form
from tests.smtp import CODE_RE, deliver, mails_to, outbox_sender
from tests.staff.helpers import signed_in_staff
from tests.staff.test_imports import upload_example

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REFRESH = '<meta http-equiv="refresh"'
EMAIL = "hanako@example.jp"


async def press_apply(client: Any, location: str) -> Any:
    """取り込む, without running the worker."""
    return await post_form(client, f"{location}/apply", {}, token_from=location)


async def test_an_apply_waits_in_the_outbox_until_a_worker_runs_it(app: Quart) -> None:
    client, staff, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    response = await press_apply(client, location)
    assert response.headers["Location"] == f"{location}?done=queued"
    [queued] = await OutboxMessage.filter(channel=IMPORTS_CHANNEL)
    assert queued.status == OutboxStatus.PENDING
    _, html = await page(client, response.headers["Location"])
    assert "待機中" in html and REFRESH in html and ">取り込む</button>" not in html
    assert await Member.all().count() == 0  # nothing runs in the request
    # A second click while it waits is refused.
    again = await press_apply(client, location)
    assert again.status_code == 409
    assert "ただいま取り込み中です" in await again.get_data(as_text=True)

    await deliver(app)
    assert await Member.all().count() == 3
    _, html = await page(client, response.headers["Location"])
    assert "取り込みました。" in html and "取り込み済み" in html and REFRESH not in html
    row = await ImportUpload.get(id=int(location.rsplit("/", 1)[1]))
    assert row.state == UploadState.APPLIED and row.applied_by_id == staff.id
    assert row.progress_done == row.progress_total == 3
    assert (await OutboxMessage.get(id=queued.id)).status == OutboxStatus.SENT
    assert await deliver(app) == 0  # run once


async def test_progress_shows_rows_done_of_the_total_and_refreshes(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    upload_id = int(location.rsplit("/", 1)[1])
    await ImportUpload.filter(id=upload_id).update(state=UploadState.APPLYING)
    async with ProgressWriter(upload_id) as progress:
        progress("書き込み中: 1200/3600行", 1200, 3600)
        for _ in range(100):
            await asyncio.sleep(0.02)
            row = await ImportUpload.get(id=upload_id)
            if row.progress_done:
                break
    assert (row.progress_done, row.progress_total) == (1200, 3600)
    _, html = await page(client, location)
    assert "取り込み中です（1,200 / 3,600行）" in html and "書き込み中: 1200/3600行" in html
    assert REFRESH in html and '<progress max="3600" value="1200">' in html


async def test_a_failed_apply_shows_why_changes_nothing_and_may_be_tried_again(
    app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(job, "import_file", broken)
    await press_apply(client, location)
    await deliver(app)
    _, html = await page(client, f"{location}?done=queued")
    assert "失敗" in html and "予期しないエラーが起きたため、取り込めませんでした" in html
    assert "（データは変更していません）" in html and ">取り込む</button>" in html
    assert REFRESH not in html
    assert await Member.all().count() == 0
    assert await AuditEvent.filter(event="staff:import:apply_failed").exists()

    monkeypatch.undo()
    await press_apply(client, location)
    await deliver(app)
    assert await Member.all().count() == 3
    _, html = await page(client, location)
    assert "取り込み済み" in html and "予期しないエラー" not in html


async def test_an_apply_cut_short_by_a_stopping_worker_waits_for_the_next(
    app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    upload_id = int(location.rsplit("/", 1)[1])
    started = asyncio.Event()

    async def slow(*args: Any, **kwargs: Any) -> None:
        started.set()
        await asyncio.sleep(60)

    monkeypatch.setattr(job, "import_file", slow)
    await press_apply(client, location)
    [queued] = await OutboxMessage.filter(channel=IMPORTS_CHANNEL)
    running = asyncio.create_task(job.run_apply(queued.payload))
    await started.wait()
    assert (await ImportUpload.get(id=upload_id)).state == UploadState.APPLYING
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert (await ImportUpload.get(id=upload_id)).state == UploadState.QUEUED
    monkeypatch.undo()
    await job.run_apply(queued.payload)
    assert await Member.all().count() == 3


def hold_imports(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """The job's import waits, once started, until released; then it runs for real."""
    started, release = asyncio.Event(), asyncio.Event()
    real_import = job.import_file

    async def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        await release.wait()
        return await real_import(*args, **kwargs)

    monkeypatch.setattr(job, "import_file", held)
    return started, release


async def upload_state(location: str) -> UploadState:
    """The upload's state as the staff page reads it."""
    return UploadState((await ImportUpload.get(id=int(location.rsplit("/", 1)[1]))).state)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> bool:
    """Whether `check` comes true within `seconds`."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def code_goes_out_while_applying(
    app: Quart, sender: Any, location: str, release: asyncio.Event
) -> None:
    """A password sign-in's code reaches the SMTP server while the import applies; then it ends."""
    member = app.test_client()
    signing_in = await post_form(member, "/login", {"email": EMAIL, "password": PASSWORD})
    assert signing_in.headers["Location"] == "/login/code"
    sender.wake()  # as the request does when the app runs its sender

    async def code_arrived() -> bool:
        return any(CODE_RE.search(mail.body) for mail in mails_to(EMAIL))

    assert await eventually(code_arrived, 5), "the code mail waited behind the import"
    assert await upload_state(location) == UploadState.APPLYING
    release.set()

    async def applied() -> bool:
        return await upload_state(location) == UploadState.APPLIED

    assert await eventually(applied, 30)


async def test_a_sign_in_code_goes_out_while_an_import_applies(
    app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff_client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(staff_client, "members", "members.csv")
    started, release = hold_imports(monkeypatch)
    await press_apply(staff_client, location)
    sender = outbox_sender(app.config["MYPAGE_SETTINGS"], app.config["MYPAGE_CLOCK"])
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await asyncio.wait_for(started.wait(), 5)
        assert await upload_state(location) == UploadState.APPLYING

        await make_account(email=EMAIL)
        await code_goes_out_while_applying(app, sender, location, release)
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(running, 10)
    _, html = await page(staff_client, location)
    assert "取り込み済み" in html


async def test_a_stopping_sender_hands_a_running_import_back_to_wait(
    app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    started, _ = hold_imports(monkeypatch)
    await press_apply(client, location)
    sender = outbox_sender(app.config["MYPAGE_SETTINGS"], app.config["MYPAGE_CLOCK"])
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    # As `mypage serve` stops: the sender gets a while to finish, then is cancelled.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(running, 0.5)
    assert running.cancelled()
    assert await upload_state(location) == UploadState.QUEUED
    [handed_back] = await OutboxMessage.filter(channel=IMPORTS_CHANNEL)
    assert handed_back.status == OutboxStatus.PENDING and handed_back.locked_until is None
    _, html = await page(client, location)
    assert "待機中" in html and REFRESH in html

    monkeypatch.undo()
    await deliver(app)
    assert await Member.all().count() == 3
    assert await upload_state(location) == UploadState.APPLIED


@pytest.mark.skipif(
    not is_postgres(base_url() or "sqlite://"),
    reason="on SQLite one connection waits for the import's write transaction, as requests do",
)
async def test_a_sign_in_code_goes_out_while_an_import_waits_inside_its_transaction(
    app: Quart,
) -> None:
    """PostgreSQL: the import holds its write transaction open, blocked on a real table lock."""
    staff_client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(staff_client, "members", "members.csv")
    await make_account(email=EMAIL)
    locked, unlock = asyncio.Event(), asyncio.Event()

    async def hold_members_table() -> None:
        # Reads go on; the import's writes to the table wait for the lock.
        async with in_transaction() as conn:
            await conn.execute_script('LOCK TABLE "member" IN SHARE MODE')
            locked.set()
            await unlock.wait()

    async def import_waits_for_lock() -> bool:
        sql = (
            "SELECT count(*) AS n FROM pg_locks WHERE relation = 'member'::regclass AND NOT granted"
        )
        [row] = await connections.get("default").execute_query_dict(sql)
        return bool(row["n"])

    holder = asyncio.create_task(hold_members_table())
    await asyncio.wait_for(locked.wait(), 5)
    await press_apply(staff_client, location)
    sender = outbox_sender(app.config["MYPAGE_SETTINGS"], app.config["MYPAGE_CLOCK"])
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        assert await eventually(import_waits_for_lock, 10)
        await code_goes_out_while_applying(app, sender, location, unlock)
    finally:
        unlock.set()
        await holder
        stop.set()
        await asyncio.wait_for(running, 10)
