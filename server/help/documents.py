"""The joining and leaving forms (B6): PDFs uploaded by staff, downloaded by anyone."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from server.audit.service import Actor, record
from server.config import Settings
from server.errors import DomainError, NotFound
from server.requests.events import RequestEvent
from server.requests.models import Document, DocumentKind

MAX_BYTES = 10 * 1024 * 1024
KIND_TITLES = {DocumentKind.JOIN: "加入申込書", DocumentKind.LEAVE: "脱退届"}


class DocumentError(DomainError):
    """The uploaded file cannot be offered to members."""


def documents_dir(settings: Settings) -> Path:
    """Where uploaded forms are kept."""
    return settings.data_dir / "documents"


async def upload_document(
    kind: DocumentKind,
    data: bytes,
    settings: Settings,
    now: datetime,
    *,
    title: str = "",
    staff_id: int | None = None,
) -> Document:
    """Staff: store a PDF form; it replaces the form of the same kind on the help page."""
    if not data.startswith(b"%PDF-"):
        raise DocumentError("PDFファイルを選んでください。")
    if len(data) > MAX_BYTES:
        raise DocumentError(f"ファイルが大きすぎます（{MAX_BYTES // (1024 * 1024)}MBまで）。")
    folder = documents_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{kind}-{secrets.token_hex(8)}.pdf"
    (folder / stored_name).write_bytes(data)
    await Document.filter(kind=kind, active=True).update(active=False)
    document = await Document.create(
        kind=kind,
        title=(title.strip() or KIND_TITLES[kind])[:100],
        filename=f"{kind}.pdf",
        stored_name=stored_name,
        size=len(data),
        uploaded_at=now,
        staff_id=staff_id,
        active=True,
    )
    await record(
        RequestEvent.DOCUMENT_UPLOAD,
        Actor(kind="staff", staff_id=staff_id),
        now,
        document=document.id,
        kind=kind,
    )
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
