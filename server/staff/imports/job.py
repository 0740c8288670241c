"""Applying a checked upload: queued by the staff request, run by the outbox worker.

A large file takes a minute or more, longer than a request should live; so
the apply button queues an outbox job (channel "imports") in the same
transaction that marks the upload 待機中, and the worker (inside `mypage
serve`, or `mypage worker`) runs it: 取り込み中 with rows done of the total,
then 取り込み済み, エラーあり (the data changed since the dry run) or 失敗 with
the reason. A job queued while no worker runs waits in the outbox for one.
The worker runs these jobs in a loop of their own (the channel is `apart`),
so mail queued while a file applies (a sign-in code) goes out meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

from server.audit.events import ImportStaffEvent
from server.audit.service import Actor, record
from server.auth.sessions import reload_member_sessions
from server.imports.overrides import Overwrite
from server.imports.plan import Kind
from server.imports.reader import ImportRejected
from server.imports.service import import_file
from server.outbox.channels import Channel
from server.staff.imports.models import IMPORTS_CHANNEL, ImportUpload, UploadState
from server.staff.imports.service import problem_rows

log = logging.getLogger(__name__)
# How often the page's progress is written while the worker applies a file.
PROGRESS_EVERY = 0.5
FAILED = (
    "取り込みの途中で予期しないエラーが起きたため、取り込めませんでした"
    "（データは変更していません）。もう一度「取り込む」を押してください。"
    "繰り返し失敗するときは、システム担当者に連絡してください。"
)


class ProgressWriter:
    """The import's progress, written to the upload every PROGRESS_EVERY seconds at most."""

    def __init__(self, upload_id: int) -> None:
        self.upload_id = upload_id
        self.latest: tuple[str, int, int] | None = None
        self.changed = asyncio.Event()
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def __call__(self, message: str, done: int, total: int) -> None:
        """The import's Progress: remember the newest step (written by the loop)."""
        self.latest = (message[:200], done, total)
        self.changed.set()

    async def _write(self) -> None:
        while not self.stopping.is_set():
            waiters = [
                asyncio.ensure_future(self.changed.wait()),
                asyncio.ensure_future(self.stopping.wait()),
            ]
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
            if self.stopping.is_set() or self.latest is None:
                return
            self.changed.clear()
            message, done, total = self.latest
            await ImportUpload.filter(id=self.upload_id, state=UploadState.APPLYING).update(
                progress_message=message, progress_done=done, progress_total=total
            )
            await asyncio.sleep(PROGRESS_EVERY)

    async def __aenter__(self) -> ProgressWriter:
        self.task = asyncio.create_task(self._write(), name=f"import-{self.upload_id}-progress")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task


async def run_apply(payload: dict[str, Any]) -> None:
    """The "imports" channel: apply one queued upload (delivered again, it does nothing)."""
    upload_id = int(payload["upload_id"])
    actor = Actor(**payload["actor"])
    now = datetime.fromisoformat(payload["now"])
    overwrite = Overwrite(keys=frozenset(payload.get("overwrite", ())))
    started = await ImportUpload.filter(id=upload_id, state=UploadState.QUEUED).update(
        state=UploadState.APPLYING
    )
    if started != 1:
        return  # already run (the job was delivered again after a lost lease)
    upload = await ImportUpload.get(id=upload_id)
    kind = Kind(upload.kind)
    try:
        async with ProgressWriter(upload_id) as progress:
            result = await import_file(
                kind,
                bytes(upload.data or b""),
                source=upload.filename,
                actor=actor,
                now=now,
                overwrite=overwrite,
                progress=progress,
            )
    except asyncio.CancelledError:
        # The worker is stopping mid-import: the transaction rolled back, and
        # the job (handed back to the outbox) runs again when a worker starts.
        await ImportUpload.filter(id=upload_id, state=UploadState.APPLYING).update(
            state=UploadState.QUEUED
        )
        raise
    except ImportRejected as rejected:
        # The database changed since the dry run; the service wrote nothing.
        await ImportUpload.filter(id=upload_id).update(
            state=UploadState.REJECTED,
            data=None,
            problems=problem_rows(rejected.problems),
            problem_total=rejected.total,
            apply_started_at=None,
            applied_by_id=None,
        )
        await record(
            ImportStaffEvent.APPLY_FAILED, actor, now, upload=upload_id, problems=rejected.total
        )
        return
    except Exception as error:  # the import rolled back; staff may try again
        log.exception("staff import %s: apply failed", upload_id)
        await ImportUpload.filter(id=upload_id).update(state=UploadState.FAILED, failure=FAILED)
        await record(
            ImportStaffEvent.APPLY_FAILED, actor, now, upload=upload_id, error=type(error).__name__
        )
        return
    # Members' names and status changed: their next pages in this process show it.
    reload_member_sessions()
    counts = result.counts.as_dict()
    await ImportUpload.filter(id=upload_id).update(
        state=UploadState.APPLIED,
        applied_at=now,
        applied_counts=counts,
        data=None,
        kept=[kept.as_dict() for kept in result.kept],
        progress_done=result.rows,
        progress_total=result.rows,
    )
    await record(
        ImportStaffEvent.APPLY,
        actor,
        now,
        upload=upload_id,
        kind=str(kind),
        **counts,
        **result.audit(),
        overwrite=sorted(overwrite.keys),
    )


def imports_channel() -> Channel:
    """The "imports" channel the outbox worker runs staff imports on (apart: mail never waits)."""
    return Channel(IMPORTS_CHANNEL, run_apply, apart=True)


@asynccontextmanager
async def open_imports() -> AsyncIterator[Channel]:
    """The channel for the sender's lifetime (it holds nothing to close)."""
    yield imports_channel()
