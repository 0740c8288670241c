"""Sample joining and leaving forms for the demo, so /help/forms shows its downloads."""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from server.config import Settings
from server.help.documents import KIND_TITLES, current_documents, upload_document
from server.help.models import DocumentKind
from server.lib.offload import run_cpu
from server.statements.pdf import PdfUnavailable, japanese_font

FIELDS = {
    DocumentKind.JOIN: ("氏名（ふりがな）", "生年月日", "住所", "電話番号", "勤務先（学校名）"),
    DocumentKind.LEAVE: ("氏名", "組合員番号", "住所", "退職日", "出資金の返還先口座"),
}


def sample_form(kind: DocumentKind, settings: Settings) -> bytes:
    """A one-page sample form (見本) with the fields and where to send it (CPU work)."""
    font = japanese_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, lang="ja-JP")
    title = KIND_TITLES[kind]
    canvas.setTitle(f"{title}（見本）")
    canvas.setAuthor(settings.coop_name)
    canvas.setFont(font, 20)
    canvas.drawString(20 * mm, 270 * mm, f"{settings.coop_name} {title}（見本）")
    canvas.setFont(font, 11)
    y = 250 * mm
    for label in FIELDS[kind]:
        canvas.drawString(20 * mm, y, label)
        canvas.line(65 * mm, y - 1.5 * mm, 190 * mm, y - 1.5 * mm)
        y -= 14 * mm
    canvas.drawString(20 * mm, y, "ご本人の署名")
    canvas.rect(65 * mm, y - 4 * mm, 125 * mm, 12 * mm)
    canvas.setFont(font, 10)
    canvas.drawString(
        20 * mm, 40 * mm, f"ご記入のうえ、FAX（フリーダイヤル）{settings.coop_fax} へ送信するか、"
    )
    canvas.drawString(20 * mm, 34 * mm, "郵送でご提出ください。")
    canvas.drawString(20 * mm, 26 * mm, f"お問い合わせ：フリーダイヤル {settings.coop_free_dial}")
    canvas.drawString(20 * mm, 16 * mm, "これはデモ用の見本です。")
    canvas.save()
    return buffer.getvalue()


async def add_demo_forms(settings: Settings, now: datetime) -> int:
    """Upload a sample of each form that has none yet; how many were added (0 without a font)."""
    present = await current_documents()
    added = 0
    for kind in DocumentKind:
        if kind in present:
            continue
        try:
            data = await run_cpu(sample_form, kind, settings)
        except PdfUnavailable:
            return added  # no Japanese font on this machine: the page explains by phone
        await upload_document(kind, data, settings, now, title=f"{KIND_TITLES[kind]}（見本）")
        added += 1
    return added
