"""What the staff import pages show: an upload, its problems and conflicts, the history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.errors import NotFound
from server.imports.plan import KIND_LABELS, Kind
from server.imports.reader import Problem
from server.staff.imports.models import ImportUpload, UploadState
from server.staff.models import StaffUser

HISTORY_LIMIT = 100

STATE_LABELS = {
    UploadState.CHECKED: "確認のみ",
    UploadState.REJECTED: "エラーあり",
    UploadState.QUEUED: "待機中",
    UploadState.APPLYING: "取り込み中",
    UploadState.APPLIED: "取り込み済み",
    UploadState.FAILED: "失敗",
}
# States the worker has yet to finish: their page refreshes itself.
UNDER_WAY = frozenset({UploadState.QUEUED, UploadState.APPLYING})
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
    "progress_message",
    "progress_done",
    "progress_total",
    "failure",
)


@dataclass(frozen=True)
class HistoryRow:
    """One upload as the history table shows it."""

    upload: ImportUpload
    kind_label: str
    state_label: str
    uploaded_by: str
    applied_by: str


def problems_of(upload: ImportUpload) -> list[Problem]:
    """The stored row errors of an upload, as the import service reported them."""
    return [
        Problem(int(line), str(col), str(val), str(why))
        for line, col, val, why in upload.problems or []
    ]


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
    """The state in Japanese (確認のみ, 待機中, 取り込み中, 取り込み済み...), and a file expired."""
    label = STATE_LABELS[UploadState(upload.state)]
    if upload.state == UploadState.CHECKED and not kept:
        return label + "（保存期間切れ）"
    return label


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
