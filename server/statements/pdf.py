"""A4 PDF of one month's statement, with an embedded Japanese TrueType font."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from server.errors import DomainError
from server.lib.formatting import jdate, yen
from server.statements.service import Statement
from server.statements.tagging import Tags, add_structure

FONT_NAME = "IPAexGothic"
# Debian's fonts-ipaexfont-gothic (installed by `make system-deps`). A TrueType
# font is embedded as a subset, so the PDF reads the same on every device;
# reportlab's CID fonts are not embedded and render as boxes on some viewers.
FONT_PATHS = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf"),
)
LEFT = 20 * mm
RIGHT = A4[0] - 20 * mm
TOP = A4[1] - 20 * mm
BOTTOM = 25 * mm
ROW = 7 * mm
_FONT_LOCK = threading.Lock()


class PdfUnavailable(DomainError):
    """The server cannot make PDFs (its Japanese font is missing)."""

    status = 503


def japanese_font() -> str:
    """The embedded Japanese font's name for reportlab, registered on first use."""
    with _FONT_LOCK:  # PDFs are drawn in worker threads; register the font once
        if FONT_NAME in pdfmetrics.getRegisteredFontNames():
            return FONT_NAME
        for path in FONT_PATHS:
            if path.exists():
                pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
                return FONT_NAME
    raise PdfUnavailable(
        "ただいまPDFを作成できません。画面の明細またはCSVのダウンロードをご利用ください。"
    )


def statement_pdf(
    statement: Statement, *, coop_name: str, contact: str, member_name: str, member_no: str
) -> bytes:
    """The statement as an A4 PDF (CPU work: call it in a thread).

    `contact` (the free dial and FAX) is printed at the foot of every page, so
    a member who prints it knows whom to ask about a line.
    """
    font = japanese_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, lang="ja-JP")
    canvas.setTitle(f"ご請求明細（{statement.label}分）")
    canvas.setAuthor(coop_name)
    canvas.setSubject(
        f"{member_name} 様（組合員番号 {member_no}）の{statement.label}分のご請求明細"
    )
    canvas.setKeywords(["ご請求明細", coop_name, statement.label])
    canvas.setCreator(f"{coop_name} 組合員マイページ")
    tags = Tags(canvas)
    y = _heading(tags, font, statement, coop_name, member_name, member_no)
    page = 1
    for row, line in enumerate(statement.lines, 1):
        if y < BOTTOM + ROW * 2:
            _footer(tags, font, page, contact, last=False)
            canvas.showPage()
            tags.new_page()
            page += 1
            with tags.artifact():  # the headings again, for the eye: read once
                y = _columns(canvas, font, TOP)
        canvas.setFont(font, 9.5)
        description = _fit(line.description, font, 9.5, 80 * mm)
        for x, text, actual in (
            (LEFT, jdate(line.used_on), ""),
            (
                LEFT + 38 * mm,
                description,
                line.description if description != line.description else "",
            ),
        ):
            with tags.text("TD", row, actual=actual):
                canvas.drawString(x, y, text)
        for x, text in ((RIGHT - 35 * mm, f"{line.quantity:,}"), (RIGHT, yen(line.amount_yen))):
            with tags.text("TD", row):
                canvas.drawRightString(x, y, text)
        y -= ROW
    with tags.artifact():
        canvas.line(LEFT, y + ROW * 0.6, RIGHT, y + ROW * 0.6)
    canvas.setFont(font, 12)
    total_row = len(statement.lines) + 1
    with tags.text("TH", total_row):
        canvas.drawString(LEFT + 38 * mm, y - 2 * mm, "ご請求金額合計")
    with tags.text("TD", total_row):
        canvas.drawRightString(RIGHT, y - 2 * mm, yen(statement.total))
    _footer(tags, font, page, contact)
    canvas.save()
    return add_structure(buffer.getvalue(), tags.marks)


def _heading(
    tags: Tags,
    font: str,
    statement: Statement,
    coop_name: str,
    member_name: str,
    member_no: str,
) -> float:
    canvas = tags.canvas
    canvas.setFont(font, 18)
    with tags.text("H1"):
        canvas.drawString(LEFT, TOP, f"ご請求明細（{statement.label}分）")
    canvas.setFont(font, 11)
    for draw, x, y, text in (
        (canvas.drawRightString, RIGHT, TOP, coop_name),
        (canvas.drawString, LEFT, TOP - 12 * mm, f"{member_name} 様"),
        (canvas.drawString, LEFT, TOP - 19 * mm, f"組合員番号 {member_no}"),
        (canvas.drawRightString, RIGHT, TOP - 12 * mm, f"ご請求日 {jdate(statement.billed_on)}"),
        (canvas.drawRightString, RIGHT, TOP - 19 * mm, f"ご請求金額 {yen(statement.total)}"),
    ):
        with tags.text("P"):
            draw(x, y, text)
    return _columns(canvas, font, TOP - 32 * mm, tags)


def _columns(canvas: Canvas, font: str, y: float, tags: Tags | None = None) -> float:
    """The column headings: the table's header row on the first page, an artifact after."""
    canvas.setFont(font, 10)
    for draw, x, text in (
        (canvas.drawString, LEFT, "ご利用日"),
        (canvas.drawString, LEFT + 38 * mm, "内容"),
        (canvas.drawRightString, RIGHT - 35 * mm, "数量"),
        (canvas.drawRightString, RIGHT, "金額"),
    ):
        if tags is None:
            draw(x, y, text)
            continue
        with tags.text("TH", 0):
            draw(x, y, text)
    if tags is None:
        canvas.line(LEFT, y - 2.5 * mm, RIGHT, y - 2.5 * mm)
    else:
        with tags.artifact():
            canvas.line(LEFT, y - 2.5 * mm, RIGHT, y - 2.5 * mm)
    return y - ROW - 1 * mm


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Cut a long description with an ellipsis so it never runs into the numbers."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _footer(tags: Tags, font: str, page: int, contact: str, *, last: bool = True) -> None:
    """The contact at every page's foot; read aloud once, after the table (others are artifacts)."""
    canvas = tags.canvas
    canvas.setFont(font, 8)
    with tags.text("P") if last else tags.artifact():
        canvas.drawString(LEFT, 12 * mm, contact)
    with tags.artifact():
        canvas.drawRightString(RIGHT, 12 * mm, f"- {page} -")
