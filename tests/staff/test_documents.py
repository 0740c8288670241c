"""The forms screen over HTTP: admins replace the join/leave PDFs, members get them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from quart import Quart
from werkzeug.datastructures import FileStorage

from server.audit.models import AuditEvent
from server.config import Settings
from server.help.documents import MAX_BYTES, DocumentError, documents_dir, upload_document
from server.help.models import Document, DocumentKind
from server.lib.clock import FrozenClock
from tests.helpers import csrf_of, page
from tests.staff.helpers import signed_in_staff

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def upload(client: Any, kind: str, data: bytes, title: str = "") -> Any:
    """Post the upload form as a browser does (multipart with the CSRF field)."""
    _, html = await page(client, "/staff/documents")
    form = {"csrf_token": csrf_of(html), "kind": kind, "title": title}
    files = {
        "file": FileStorage(io.BytesIO(data), filename="form.pdf", content_type="application/pdf")
    }
    return await client.post("/staff/documents", form=form, files=files)


async def test_admin_uploads_a_form_and_members_get_it_from_the_help_page(app: Quart) -> None:
    client, staff, _ = await signed_in_staff(app, role="admin")
    status, html = await page(client, "/staff/documents")
    assert status == 200 and "まだありません" in html and 'enctype="multipart/form-data"' in html
    response = await upload(client, "join", PDF, "加入申込書（2027年度版）")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/documents?done=uploaded"
    _, html = await page(client, response.headers["Location"])
    document = await Document.get(kind=DocumentKind.JOIN, active=True)
    assert "書類をアップロードしました" in html
    assert "加入申込書（2027年度版）" in html and staff.name in html
    assert document.staff_id == staff.id and document.size == len(PDF)

    member_view = app.test_client()
    _, html = await page(member_view, "/help/forms")
    assert f'href="/help/forms/{document.id}.pdf">加入申込書（2027年度版）（PDF）' in html
    assert "脱退届：フリーダイヤル" in html and "準備中" not in html
    response = await member_view.get(f"/help/forms/{document.id}.pdf")
    assert response.status_code == 200 and await response.get_data() == PDF

    # A new leave form; then a new join form replaces the first one.
    assert (await upload(client, "leave", PDF)).status_code == 303
    assert (await upload(client, "join", PDF + b"% v2\n")).status_code == 303
    _, html = await page(member_view, "/help/forms")
    newer = await Document.get(kind=DocumentKind.JOIN, active=True)
    assert f'href="/help/forms/{newer.id}.pdf"' in html
    assert f'href="/help/forms/{document.id}.pdf"' not in html
    assert "脱退届（PDF）" in html
    event = await AuditEvent.filter(event="requests:document:upload").first()
    assert event is not None and event.staff_id == staff.id and event.actor == "staff"
    assert event.ip  # the staff member's request, not a bare id


async def test_bad_files_are_refused_and_nothing_changes(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, role="admin")
    cases = [
        ("join", b"<html><body>form</body></html>", "PDFファイルを選んでください", 422),
        ("join", b"", "空です", 422),
        ("join", PDF[:20], "途中までしかありません", 422),
        ("both", PDF, "書類の種類（加入申込書・脱退届）を選んでください", 400),
        ("leave", PDF, "100文字以内", 422),
    ]
    for kind, data, message, status in cases:
        title = "長" * 101 if message == "100文字以内" else ""
        response = await upload(client, kind, data, title)
        html = await response.get_data(as_text=True)
        assert response.status_code == status, message
        assert message in html, message
        assert 'enctype="multipart/form-data"' in html
    assert await Document.all().count() == 0
    assert await AuditEvent.filter(event="staff:document:upload_refused").count() == len(cases)
    folder = documents_dir(app.config["MYPAGE_SETTINGS"])
    assert not folder.exists() or list(folder.iterdir()) == []


async def test_a_pdf_over_the_limit_gets_413(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, role="admin")
    response = await upload(client, "join", PDF + b"0" * (MAX_BYTES + 64 * 1024))
    assert response.status_code == 413
    assert "送信内容が大きすぎます" in await response.get_data(as_text=True)
    assert await Document.all().count() == 0


async def test_operators_see_the_forms_but_only_admins_replace_them(app: Quart) -> None:
    admin, _, _ = await signed_in_staff(app, role="admin")
    await upload(admin, "leave", PDF, "脱退届")
    operator, _, _ = await signed_in_staff(app, role="operator")
    status, html = await page(operator, "/staff/documents")
    assert status == 200 and "脱退届" in html
    assert "書類の差し替えは管理者だけが行えます" in html
    assert 'type="file"' not in html
    form = {"csrf_token": csrf_of(html), "kind": "leave", "title": "偽物"}
    files = {"file": FileStorage(io.BytesIO(PDF), filename="x.pdf")}
    response = await operator.post("/staff/documents", form=form, files=files)
    assert response.status_code == 403
    assert "管理者だけが行えます" in await response.get_data(as_text=True)
    assert await Document.filter(title="偽物").count() == 0


async def test_upload_document_checks_and_cleans(
    app: Quart, settings: Settings, clock: FrozenClock
) -> None:
    """The shared service itself: the end marker, the title, the file left behind."""
    with pytest.raises(DocumentError, match="途中までしかありません"):
        await upload_document(DocumentKind.JOIN, b"%PDF-1.7\n" + b"x" * 5000, settings, clock())
    with pytest.raises(DocumentError, match="空です"):
        await upload_document(DocumentKind.JOIN, b"", settings, clock())
    # Trailing bytes after %%EOF (some writers add them) are fine; titles become one line.
    document = await upload_document(
        DocumentKind.LEAVE, PDF + b"\n\n", settings, clock(), title="  脱退届\n（様式2）  "
    )
    assert document.title == "脱退届 （様式2）"
    assert (documents_dir(settings) / document.stored_name).read_bytes() == PDF + b"\n\n"
    untitled = await upload_document(DocumentKind.JOIN, PDF, settings, clock(), title="")
    assert untitled.title == "加入申込書"
