"""Staff imports: store an uploaded CSV and dry-run it; queue its apply, once, for the worker."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.audit.events import ImportStaffEvent
from server.audit.service import Actor, record
from server.errors import DomainError
from server.imports.plan import KIND_LABELS, Kind
from server.imports.reader import MAX_FILE_BYTES, ImportRejected, Problem
from server.imports.service import import_file
from server.outbox.queue import enqueue
from server.staff.imports.display import get_upload
from server.staff.imports.models import IMPORTS_CHANNEL, ImportUpload, UploadState

log = logging.getLogger(__name__)

# The request body may be a little larger than the file (the form around it);
# files between MAX_FILE_BYTES and this get the import service's own message.
MAX_UPLOAD_BYTES = 55 * 1024 * 1024
# A checked file waits this long to be applied; then its bytes are dropped.
KEEP_DAYS = 7
# An apply that has not finished after this long was interrupted (the
# process died): the file may be applied again, which is safe because a
# re-run of the same file changes nothing.
STALE_APPLY = timedelta(hours=1)
BINARY_STARTS = {
    b"PK\x03\x04": "Excelブック（.xlsx）や ZIP などの圧縮ファイル",
    b"\xd0\xcf\x11\xe0": "古い形式のExcelブック（.xls）",
    b"%PDF": "PDFファイル",
    b"\x89PNG": "画像ファイル",
    b"\xff\xd8\xff": "画像ファイル",
}
KIND_CHOICES = [(kind.value, KIND_LABELS[kind]) for kind in Kind]


class UploadRefused(DomainError):
    """The file was not stored: no file, empty, too large, not a CSV, or not this kind."""

    status = 422

    def __init__(self, message: str, problems: Sequence[Problem] = (), *, status: int = 422):
        super().__init__(message, status=status)
        self.problems = list(problems)


class ApplyRefused(DomainError):
    """This upload cannot be applied (already applied, has errors, expired, running)."""

    status = 409


def parse_kind(value: str) -> Kind:
    """The kind chosen in the form; anything else is refused."""
    try:
        return Kind(value)
    except ValueError:
        raise UploadRefused(
            "取り込むデータの種類（組合員・ご請求明細・出資金）を選んでください。", status=400
        ) from None


def clean_filename(name: str) -> str:
    """The file's own name (browsers may send a whole path), printable, at most 255 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "（名前なし）"


def check_upload(filename: str, data: bytes) -> None:
    """Refuse what cannot be a core-system CSV file before anything is stored."""
    if not filename and not data:
        raise UploadRefused("ファイルを選んでください。", status=400)
    if not data:
        raise UploadRefused(
            "選んだファイルは空です（0バイト）。見出し行とデータ行のあるCSVファイルを選んでください。"
        )
    if len(data) > MAX_FILE_BYTES:
        raise UploadRefused(
            f"ファイルが大きすぎます（{len(data) / 1024 / 1024:.1f} MB）。"
            f"一度に取り込めるのは {MAX_FILE_BYTES // 1024 // 1024} MB までです。"
            "ファイルを分けて取り込んでください。",
            status=413,
        )
    for start, what in BINARY_STARTS.items():
        if data.startswith(start):
            raise UploadRefused(
                f"CSVファイルではありません（{what}のようです）。"
                "基幹システムから書き出したCSVファイルを選んでください。"
                "Excelで開いた場合は「CSV（コンマ区切り）」で保存し直してください。"
            )
    if b"\x00" in data[:65536]:
        raise UploadRefused(
            "CSVファイルではありません（文字ではないデータが含まれています）。"
            "基幹システムから書き出したCSVファイルを選んでください。"
        )


def problem_rows(problems: Sequence[Problem]) -> list[list[Any]]:
    """Row errors as stored on an upload: line, column, value (cut), reason."""
    return [[p.line, p.column, p.value[:200], p.reason] for p in problems]


def _file_level(rejected: ImportRejected) -> bool:
    # Line 0 is the file as a whole (empty, too large, unreadable) and line 1
    # the header: such a file is not this kind of CSV at all, so it is not kept.
    return all(problem.line <= 1 for problem in rejected.problems)


def _refusal_message(kind: Kind, rejected: ImportRejected) -> str:
    if any(problem.line == 1 for problem in rejected.problems):
        return (
            f"「{KIND_LABELS[kind]}」のファイルとして読めません。"
            "選んだ種類とファイルの見出し行（1行目）を確認してください。"
        )
    return rejected.problems[0].reason if rejected.problems else rejected.message


async def drop_expired(now: datetime) -> int:
    """Drop the bytes of checked files not applied within KEEP_DAYS; returns how many."""
    return await ImportUpload.filter(
        data__isnull=False,
        state=UploadState.CHECKED,
        uploaded_at__lt=now - timedelta(days=KEEP_DAYS),
    ).update(data=None)


async def upload_and_check(
    kind_value: str, filename: str, data: bytes, staff_id: int, actor: Actor, now: datetime
) -> ImportUpload:
    """Dry-run an uploaded file and keep it (bytes only when it can be applied)."""
    audit: dict[str, Any] = {"kind": kind_value[:20], "file": filename[:200], "bytes": len(data)}
    try:
        kind = parse_kind(kind_value)
        check_upload(filename, data)
    except UploadRefused as refused:
        await record(ImportStaffEvent.UPLOAD_REFUSED, actor, now, **audit, reason=refused.message)
        raise
    await drop_expired(now)
    filename = clean_filename(filename)
    digest = hashlib.sha256(data).hexdigest()

    def progress(message: str, done: int, total: int) -> None:
        log.info("staff import %s (%s): %s", filename, kind, message)

    fields: dict[str, Any] = {
        "kind": str(kind),
        "filename": filename,
        "size": len(data),
        "sha256": digest,
        "uploaded_by_id": staff_id,
        "uploaded_at": now,
    }
    try:
        result = await import_file(
            kind, data, source=filename, actor=actor, now=now, dry_run=True, progress=progress
        )
    except ImportRejected as rejected:
        if _file_level(rejected):
            message = _refusal_message(kind, rejected)
            await record(ImportStaffEvent.UPLOAD_REFUSED, actor, now, **audit, reason=message)
            # The header's problems are listed under the general sentence; a
            # file-wide one (a file of another kind, say) is the sentence itself.
            header = [problem for problem in rejected.problems if problem.line == 1]
            raise UploadRefused(message, header) from None
        upload = await ImportUpload.create(
            **fields,
            state=UploadState.REJECTED,
            data=None,
            problems=problem_rows(rejected.problems),
            problem_total=rejected.total,
        )
        await record(
            ImportStaffEvent.DRY_RUN, actor, now, **audit, upload=upload.id, problems=rejected.total
        )
        return upload
    upload = await ImportUpload.create(
        **fields,
        state=UploadState.CHECKED,
        data=data,
        encoding=result.encoding,
        rows=result.rows,
        counts=result.counts.as_dict(),
        kept=[kept.as_dict() for kept in result.kept],
    )
    await record(
        ImportStaffEvent.DRY_RUN,
        actor,
        now,
        **audit,
        upload=upload.id,
        rows=result.rows,
        **result.counts.as_dict(),
        conflicts=len(result.conflicts),
        waiting=len(result.waiting),
    )
    return upload


async def _refuse(upload: ImportUpload, message: str, actor: Actor, now: datetime) -> None:
    await record(ImportStaffEvent.APPLY_REFUSED, actor, now, upload=upload.id, reason=message)
    raise ApplyRefused(message)


async def _queue(
    upload_id: int, staff_id: int, actor: Actor, now: datetime, overwrite: frozenset[str]
) -> bool:
    """Mark a checked upload 待機中 and queue its apply for the worker; False if it was not free.

    One conditional UPDATE: of two clicks (or two staff) only one gets the file.
    """
    free = Q(state__in=[UploadState.CHECKED, UploadState.FAILED]) | Q(
        state=UploadState.APPLYING, apply_started_at__lt=now - STALE_APPLY
    )
    async with in_transaction():
        claimed = await ImportUpload.filter(Q(id=upload_id), free, data__isnull=False).update(
            state=UploadState.QUEUED,
            apply_started_at=now,
            applied_by_id=staff_id,
            failure="",
            progress_message="",
            progress_done=0,
            progress_total=0,
        )
        if claimed != 1:
            return False
        payload = {
            "upload_id": upload_id,
            "actor": asdict(actor),
            "now": now.isoformat(),
            "overwrite": sorted(overwrite),
        }
        await enqueue(IMPORTS_CHANNEL, payload, now)
    return True


async def apply_upload(
    upload_id: int,
    staff_id: int,
    actor: Actor,
    now: datetime,
    overwrite: Sequence[str] = (),
) -> ImportUpload:
    """Import a checked upload for real, once; `overwrite` names the conflicts the file wins."""
    await drop_expired(now)
    upload = await get_upload(upload_id)
    listed = {k.get("key") for k in upload.kept or []}
    chosen = frozenset(overwrite)
    if not chosen <= listed:
        await _refuse(
            upload,
            "選んだ項目が確認結果にありません。ページを読み込み直して、もう一度選んでください。",
            actor,
            now,
        )
    if upload.state == UploadState.APPLIED:
        await _refuse(
            upload, "このファイルはすでに取り込み済みです。二度は取り込めません。", actor, now
        )
    if upload.state == UploadState.REJECTED:
        await _refuse(
            upload,
            "確認で問題が見つかったファイルは取り込めません。"
            "ファイルを直して、もう一度アップロードしてください。",
            actor,
            now,
        )
    if not await _queue(upload_id, staff_id, actor, now, chosen):
        if upload.state in (UploadState.QUEUED, UploadState.APPLYING):
            await _refuse(upload, "このファイルはただいま取り込み中です。", actor, now)
        await _refuse(
            upload,
            f"保存期間（{KEEP_DAYS}日）を過ぎたため、ファイルは削除されました。"
            "もう一度アップロードしてください。",
            actor,
            now,
        )
    return await get_upload(upload_id)
