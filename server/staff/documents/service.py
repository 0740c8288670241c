"""The forms screen: the current join and leave PDFs, and replacing one (admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.audit.events import DocumentStaffEvent
from server.audit.service import Actor, record
from server.config import Settings
from server.errors import DomainError
from server.help.documents import KIND_TITLES, DocumentError, current_documents, upload_document
from server.help.models import Document, DocumentKind
from server.staff.models import StaffUser

KIND_CHOICES = [(kind.value, KIND_TITLES[kind]) for kind in DocumentKind]


class DocumentRefused(DomainError):
    """The form was not stored; the message says why."""

    status = 422


@dataclass(frozen=True)
class CurrentForm:
    """One kind of form and the PDF members get now (None before the first upload)."""

    kind: DocumentKind
    label: str
    document: Document | None
    uploaded_by: str


def parse_kind(value: str) -> DocumentKind:
    """The kind chosen in the form: 加入申込書 or 脱退届."""
    try:
        return DocumentKind(value)
    except ValueError:
        raise DocumentRefused(
            "書類の種類（加入申込書・脱退届）を選んでください。", status=400
        ) from None


async def current_forms() -> list[CurrentForm]:
    """Each kind of form with its current PDF and who uploaded it."""
    documents = await current_documents()
    ids = [d.staff_id for d in documents.values() if d.staff_id is not None]
    names = dict(await StaffUser.filter(id__in=ids).values_list("id", "name"))
    return [
        CurrentForm(
            kind=kind,
            label=KIND_TITLES[kind],
            document=documents.get(kind),
            uploaded_by=names.get(documents[kind].staff_id, "") if kind in documents else "",
        )
        for kind in DocumentKind
    ]


async def replace_form(
    kind_value: str,
    title: str,
    data: bytes,
    staff_id: int,
    actor: Actor,
    settings: Settings,
    now: datetime,
) -> Document:
    """Store a new PDF form; members get it from /help/forms at once (the old one retires)."""
    try:
        kind = parse_kind(kind_value)
        return await upload_document(
            kind, data, settings, now, title=title, staff_id=staff_id, actor=actor
        )
    except (DocumentRefused, DocumentError) as error:
        await record(
            DocumentStaffEvent.UPLOAD_REFUSED,
            actor,
            now,
            kind=kind_value[:20],
            bytes=len(data),
            reason=error.message,
        )
        if isinstance(error, DocumentRefused):
            raise
        raise DocumentRefused(error.message) from None
