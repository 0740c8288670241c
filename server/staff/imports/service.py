"""Staff imports: store an uploaded CSV, dry-run it, apply it once, list the history."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from server.audit.events import ImportStaffEvent
from server.audit.service import Actor, record
from server.errors import DomainError, NotFound
from server.imports.overrides import Overwrite
from server.imports.reader import MAX_FILE_BYTES, ImportRejected, Problem
from server.imports.service import KIND_LABELS, Kind, import_file
from server.staff.imports.models import ImportUpload, UploadState
from server.staff.models import StaffUser

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
HISTORY_LIMIT = 100
# Applies in progress (a reference keeps each task alive until it is done).
_RUNNING: set[asyncio.Task[ImportUpload]] = set()
BINARY_STARTS = {
    b"PK\x03\x04": "Excelブック（.xlsx）や ZIP などの圧縮ファイル",
    b"\xd0\xcf\x11\xe0": "古い形式のExcelブック（.xls）",
    b"%PDF": "PDFファイル",
    b"\x89PNG": "画像ファイル",
    b"\xff\xd8\xff": "画像ファイル",
}
STATE_LABELS = {
    UploadState.CHECKED: "確認のみ",
    UploadState.REJECTED: "エラーあり",
    UploadState.APPLYING: "取り込み中",
    UploadState.APPLIED: "取り込み済み",
}
KIND_CHOICES = [(kind.value, KIND_LABELS[kind]) for kind in Kind]
# Every column but the stored bytes, for pages that only show what happened.
SUMMARY_FIELDS = (
    "id",
    "kind",
    "filename",
    "size",
    "sha256",
    "state",
    "encoding",
    "rows",
    "counts",
    "problems",
    "problem_total",
    "uploaded_by_id",
    "uploaded_at",
    "apply_started_at",
    "applied_at",
    "applied_by_id",
    "applied_counts",
    "kept",
)


class UploadRefused(DomainError):
    """The file was not stored: no file, empty, too large, not a CSV, or not this kind."""

    status = 422

    def __init__(self, message: str, problems: Sequence[Problem] = (), *, status: int = 422):
        super().__init__(message, status=status)
        self.problems = list(problems)


class ApplyRefused(DomainError):
    """This upload cannot be applied (already applied, has errors, expired, running)."""

    status = 409


@dataclass(frozen=True)
class HistoryRow:
    """One upload as the history table shows it."""

    upload: ImportUpload
    kind_label: str
    state_label: str
    uploaded_by: str
    applied_by: str


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


def _problem_rows(problems: Sequence[Problem]) -> list[list[Any]]:
    return [[p.line, p.column, p.value[:200], p.reason] for p in problems]


def problems_of(upload: ImportUpload) -> list[Problem]:
    """The stored row errors of an upload, as the import service reported them."""
    return [
        Problem(int(line), str(col), str(val), str(why))
        for line, col, val, why in upload.problems or []
    ]


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

    def progress(message: str) -> None:
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
            problems=_problem_rows(rejected.problems),
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


def conflicts_of(upload: ImportUpload) -> list[dict[str, Any]]:
    """The stored conflicts with facts recorded in the console (labels in Japanese)."""
    return [k for k in upload.kept or [] if k.get("kind") == "conflict"]


def waiting_of(upload: ImportUpload) -> list[dict[str, Any]]:
    """Approved changes the file does not carry yet (基幹システム反映待ち)."""
    return [k for k in upload.kept or [] if k.get("kind") == "waiting"]


async def get_upload(upload_id: int) -> ImportUpload:
    """An upload without its bytes (404 when there is none)."""
    upload = await ImportUpload.filter(id=upload_id).only(*SUMMARY_FIELDS).first()
    if upload is None:
        raise NotFound("アップロードされたファイルが見つかりません。")
    return upload


async def has_bytes(upload_id: int) -> bool:
    """True while the file itself is still kept (so it can be applied)."""
    return await ImportUpload.filter(id=upload_id, data__isnull=False).exists()


async def same_file_applied(upload: ImportUpload) -> ImportUpload | None:
    """An earlier upload of the same bytes and kind that was applied (re-running is harmless)."""
    return (
        await ImportUpload.filter(
            sha256=upload.sha256, kind=upload.kind, state=UploadState.APPLIED, id__lt=upload.id
        )
        .order_by("-applied_at")
        .only(*SUMMARY_FIELDS)
        .first()
    )


def state_label(upload: ImportUpload, kept: bool = True) -> str:
    """確認のみ / エラーあり / 取り込み中 / 取り込み済み (and when a checked file expired)."""
    label = STATE_LABELS[UploadState(upload.state)]
    if upload.state == UploadState.CHECKED and not kept:
        return label + "（保存期間切れ）"
    return label


async def _refuse(upload: ImportUpload, message: str, actor: Actor, now: datetime) -> None:
    await record(ImportStaffEvent.APPLY_REFUSED, actor, now, upload=upload.id, reason=message)
    raise ApplyRefused(message)


async def _claim(upload_id: int, staff_id: int, now: datetime) -> bool:
    # One conditional UPDATE: of two clicks (or two staff) only one gets the file.
    free = Q(state=UploadState.CHECKED) | Q(
        state=UploadState.APPLYING, apply_started_at__lt=now - STALE_APPLY
    )
    claimed = await ImportUpload.filter(Q(id=upload_id), free, data__isnull=False).update(
        state=UploadState.APPLYING, apply_started_at=now, applied_by_id=staff_id
    )
    return claimed == 1


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
    if not await _claim(upload_id, staff_id, now):
        if upload.state == UploadState.APPLYING:
            await _refuse(upload, "このファイルはただいま取り込み中です。", actor, now)
        await _refuse(
            upload,
            f"保存期間（{KEEP_DAYS}日）を過ぎたため、ファイルは削除されました。"
            "もう一度アップロードしてください。",
            actor,
            now,
        )
    # Shielded: a browser that gives up (or a proxy timeout) must not cut a
    # long import short; it finishes and the history shows the outcome.
    task = asyncio.ensure_future(_run_apply(upload, actor, now, Overwrite(keys=chosen)))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return await asyncio.shield(task)


async def _run_apply(
    upload: ImportUpload, actor: Actor, now: datetime, overwrite: Overwrite
) -> ImportUpload:
    upload_id = upload.id
    data = await ImportUpload.filter(id=upload_id).first().values_list("data", flat=True)
    kind = Kind(upload.kind)
    try:
        result = await import_file(
            kind,
            bytes(data or b""),
            source=upload.filename,
            actor=actor,
            now=now,
            overwrite=overwrite,
        )
    except ImportRejected as rejected:
        # The database changed since the dry run; the service wrote nothing.
        await ImportUpload.filter(id=upload_id).update(
            state=UploadState.REJECTED,
            data=None,
            problems=_problem_rows(rejected.problems),
            problem_total=rejected.total,
            apply_started_at=None,
            applied_by_id=None,
        )
        await record(
            ImportStaffEvent.APPLY_FAILED, actor, now, upload=upload_id, problems=rejected.total
        )
        return await get_upload(upload_id)
    except Exception:
        await ImportUpload.filter(id=upload_id).update(
            state=UploadState.CHECKED, apply_started_at=None, applied_by_id=None
        )
        raise
    counts = result.counts.as_dict()
    await ImportUpload.filter(id=upload_id).update(
        state=UploadState.APPLIED,
        applied_at=now,
        applied_counts=counts,
        data=None,
        kept=[kept.as_dict() for kept in result.kept],
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
    return await get_upload(upload_id)


async def _names(ids: set[int]) -> dict[int, str]:
    rows = await StaffUser.filter(id__in=list(ids)).values_list("id", "name")
    return {staff_id: name for staff_id, name in rows}


async def staff_name(staff_id: int | None) -> str:
    """A staff member's name for display ('' for none)."""
    if staff_id is None:
        return ""
    return (await _names({staff_id})).get(staff_id, "")


async def history(limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
    """The latest uploads, newest first, with who uploaded and applied them."""
    uploads = (
        await ImportUpload.all().order_by("-uploaded_at", "-id").limit(limit).only(*SUMMARY_FIELDS)
    )
    kept = set(
        await ImportUpload.filter(id__in=[u.id for u in uploads], data__isnull=False).values_list(
            "id", flat=True
        )
    )
    ids = {u.uploaded_by_id for u in uploads} | {
        u.applied_by_id for u in uploads if u.applied_by_id
    }
    names = await _names(ids)
    return [
        HistoryRow(
            upload=u,
            kind_label=kind_label(u.kind),
            state_label=state_label(u, u.id in kept),
            uploaded_by=names.get(u.uploaded_by_id, ""),
            applied_by=names.get(u.applied_by_id, "") if u.applied_by_id else "",
        )
        for u in uploads
    ]


def kind_label(kind: str) -> str:
    """組合員 / ご請求明細 / 出資金."""
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind


def counts_text(counts: dict[str, int] | None) -> str:
    """追加 1件・更新 2件・削除 0件・変更なし 3件."""
    if not counts:
        return ""
    return (
        f"追加 {counts.get('created', 0)}件・更新 {counts.get('updated', 0)}件・"
        f"削除 {counts.get('deleted', 0)}件・変更なし {counts.get('unchanged', 0)}件"
    )
