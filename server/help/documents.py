"""The joining and leaving forms: PDFs uploaded by staff, downloaded by anyone."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from tortoise.transactions import in_transaction

from server.audit.events import RequestEvent
from server.audit.service import Actor, record
from server.config import Settings
from server.errors import DomainError, NotFound
from server.help.models import Document, DocumentKind

MAX_BYTES = 10 * 1024 * 1024
TITLE_MAX = 100
KIND_TITLES = {DocumentKind.JOIN: "加入申込書", DocumentKind.LEAVE: "脱退届"}


class DocumentError(DomainError):
    """The uploaded file cannot be offered to members."""


def documents_dir(settings: Settings) -> Path:
    """Where uploaded forms are kept."""
    return settings.data_dir / "documents"


def check_pdf(data: bytes) -> None:
    """Refuse what members could not open as a PDF form: empty, too large, not a PDF, cut short."""
    if not data:
        raise DocumentError("ファイルが選ばれていないか、空です。PDFファイルを選んでください。")
    if len(data) > MAX_BYTES:
        raise DocumentError(f"ファイルが大きすぎます（{MAX_BYTES // (1024 * 1024)}MBまで）。")
    if not data.startswith(b"%PDF-"):
        raise DocumentError("PDFファイルを選んでください。")
    # A complete PDF ends with %%EOF (readers look for it in the last 1 KB);
    # without it the download was cut short and members would get a broken file.
    if b"%%EOF" not in data[-1024:]:
        raise DocumentError(
            "PDFファイルが途中までしかありません（ファイルの終わりが見つかりません）。"
            "元のファイルをもう一度保存して選び直してください。"
        )


def clean_title(title: str, kind: DocumentKind) -> str:
    """The title members read: the kind's name when empty, one line, at most 100 characters."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in title).split())
    if len(text) > TITLE_MAX:
        raise DocumentError(
            f"表示名は{TITLE_MAX}文字以内にしてください（{len(text)}文字あります）。"
        )
    return text or KIND_TITLES[kind]


async def upload_document(
    kind: DocumentKind,
    data: bytes,
    settings: Settings,
    now: datetime,
    *,
    title: str = "",
    staff_id: int | None = None,
    actor: Actor | None = None,
) -> Document:
    """Staff: store a PDF form; it replaces the form of the same kind on the help page."""
    check_pdf(data)
    shown_title = clean_title(title, kind)
    folder = documents_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{kind}-{secrets.token_hex(8)}.pdf"
    path = folder / stored_name
    path.write_bytes(data)
    try:
        # The old form stays on the page until the new one is in place.
        async with in_transaction():
            await Document.filter(kind=kind, active=True).update(active=False)
            document = await Document.create(
                kind=kind,
                title=shown_title,
                filename=f"{kind}.pdf",
                stored_name=stored_name,
                size=len(data),
                uploaded_at=now,
                staff_id=staff_id,
                active=True,
            )
            await record(
                RequestEvent.DOCUMENT_UPLOAD,
                actor or Actor(kind="staff", staff_id=staff_id),
                now,
                document=document.id,
                kind=kind,
                bytes=len(data),
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return document


async def current_documents() -> dict[DocumentKind, Document]:
    """The form of each kind that members can download now."""
    rows = await Document.filter(active=True).order_by("-uploaded_at")
    found: dict[DocumentKind, Document] = {}
    for row in rows:
        found.setdefault(DocumentKind(row.kind), row)
    return found


async def document_file(document_id: int, settings: Settings) -> tuple[Document, Path]:
    """A current form and its file; replaced or missing ones are 404."""
    document = await Document.filter(id=document_id, active=True).first()
    if document is None:
        raise NotFound("書類が見つかりません。")
    path = documents_dir(settings) / document.stored_name
    if not path.is_file():
        raise NotFound("書類が見つかりません。")
    return document, path
