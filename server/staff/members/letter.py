"""The initial-password letter (初期パスワードのご案内): A4 PDF, embedded Japanese font."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from server.errors import DomainError
from server.lib.formatting import jdate, jdatetime

# The statements' font registration (IPAex Gothic, embedded as a TrueType subset).
from server.statements.pdf import PdfUnavailable, japanese_font

LEFT = 25 * mm
RIGHT = A4[0] - 25 * mm
TOP = A4[1] - 25 * mm
WIDTH = RIGHT - LEFT
BODY = 10.5
NO_LINE_START = frozenset("、。，．）」』】・ー！？")
LINE = 6.2 * mm


class LetterUnavailable(DomainError):
    """The server cannot make PDFs (its Japanese font is missing)."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "ただいま案内状（PDF）を作成できません。"
            "画面に表示された初期パスワードを控えて、組合員にお伝えください。"
        )


@dataclass(frozen=True)
class Letter:
    """What the letter says; the password is only ever in memory."""

    member_name: str
    member_no: str
    postal_code: str
    address: str
    password: str
    expires_at: datetime
    issued_on: date
    register_url: str
    coop_name: str
    free_dial: str
    mail_domain: str


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break Japanese text into lines that fit `width` (no spaces needed between words)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        too_wide = pdfmetrics.stringWidth(current + ch, font, size) > width
        # Closing punctuation never starts a line (kinsoku); it hangs past the edge.
        if too_wide and current and ch not in NO_LINE_START:
            lines.append(current)
            current = ""
        current += ch
    if current:
        lines.append(current)
    return lines


def _paragraph(canvas: Canvas, font: str, text: str, y: float, *, indent: float = 0) -> float:
    canvas.setFont(font, BODY)
    for line in wrap(text, font, BODY, WIDTH - indent):
        canvas.drawString(LEFT + indent, y, line)
        y -= LINE
    return y


def letter_pdf(letter: Letter) -> bytes:
    """The letter as an A4 PDF (CPU work: call it in a thread)."""
    try:
        font = japanese_font()
    except PdfUnavailable:
        raise LetterUnavailable() from None
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle("マイページ 初期パスワードのご案内")
    canvas.setAuthor(letter.coop_name)
    y = _addressee(canvas, font, letter)
    y = _password_box(canvas, font, letter, y)
    y = _steps(canvas, font, letter, y)
    _contact(canvas, font, letter, y)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _addressee(canvas: Canvas, font: str, letter: Letter) -> float:
    canvas.setFont(font, BODY)
    canvas.drawRightString(RIGHT, TOP, jdate(letter.issued_on))
    canvas.drawRightString(RIGHT, TOP - LINE, letter.coop_name)
    y = TOP
    if letter.postal_code:
        canvas.drawString(LEFT, y, f"〒{letter.postal_code}")
        y -= LINE
    for line in wrap(letter.address, font, BODY, WIDTH * 0.6):
        canvas.drawString(LEFT, y, line)
        y -= LINE
    canvas.setFont(font, 14)
    canvas.drawString(LEFT, y - 3 * mm, f"{letter.member_name} 様")
    y -= 18 * mm
    canvas.setFont(font, 17)
    canvas.drawCentredString(A4[0] / 2, y, "マイページ 初期パスワードのご案内")
    y -= 12 * mm
    return _paragraph(
        canvas,
        font,
        f"{letter.coop_name}の組合員マイページ（デジタル組合員証）の利用登録に使う"
        "初期パスワードをお知らせします。下記の組合員番号と初期パスワードで、"
        "有効期限までに利用登録を行ってください。",
        y,
    )


def _password_box(canvas: Canvas, font: str, letter: Letter, y: float) -> float:
    top = y - 2 * mm
    height = 36 * mm
    canvas.rect(LEFT, top - height, WIDTH, height)
    canvas.setFont(font, 12)
    canvas.drawString(LEFT + 8 * mm, top - 10 * mm, "組合員番号")
    canvas.drawString(LEFT + 50 * mm, top - 10 * mm, letter.member_no)
    canvas.drawString(LEFT + 8 * mm, top - 20 * mm, "初期パスワード")
    canvas.setFont(font, 16)
    canvas.drawString(LEFT + 50 * mm, top - 20.5 * mm, letter.password)
    canvas.setFont(font, 12)
    canvas.drawString(LEFT + 8 * mm, top - 30 * mm, "有効期限")
    canvas.drawString(LEFT + 50 * mm, top - 30 * mm, f"{jdatetime(letter.expires_at)}まで")
    return top - height - 10 * mm


def _steps(canvas: Canvas, font: str, letter: Letter, y: float) -> float:
    canvas.setFont(font, 12)
    canvas.drawString(LEFT, y, "利用登録のしかた")
    y -= LINE + 1 * mm
    steps = (
        f"スマートフォンやパソコンで {letter.register_url} を開きます。",
        "組合員番号・初期パスワード・生年月日を入力します。"
        "初期パスワードは大文字・小文字、全角・半角、「-」の有無を問いません。",
        "メールアドレスを入力すると、認証コードがメールで届きます。"
        "届いた認証コードを入力してください。",
        "ご自分で決めたパスワードを入力すると、登録完了です。"
        "次回からはメールアドレスとパスワードでログインします。",
    )
    for number, step in enumerate(steps, start=1):
        canvas.setFont(font, BODY)
        canvas.drawString(LEFT, y, f"{number}.")
        y = _paragraph(canvas, font, step, y, indent=7 * mm) - 1 * mm
    y -= 3 * mm
    notes = (
        "初期パスワードは利用登録に一度だけ使えます。新しい初期パスワードを発行すると、"
        "以前のものは使えなくなります。",
        f"メールが届かない場合は、{letter.mail_domain} からのメールを受け取れるよう"
        "設定してください。",
        "この案内状は、登録が済んだら破棄するか、他の人の目に触れない場所に保管してください。",
    )
    for note in notes:
        canvas.setFont(font, BODY)
        canvas.drawString(LEFT, y, "※")
        y = _paragraph(canvas, font, note, y, indent=5 * mm)
    return y - 6 * mm


def _contact(canvas: Canvas, font: str, letter: Letter, y: float) -> None:
    canvas.line(LEFT, y + 3 * mm, RIGHT, y + 3 * mm)
    canvas.setFont(font, BODY)
    canvas.drawString(LEFT, y - 3 * mm, "お問い合わせ")
    canvas.drawString(LEFT + 30 * mm, y - 3 * mm, letter.coop_name)
    canvas.setFont(font, 13)
    canvas.drawString(LEFT + 30 * mm, y - 3 * mm - LINE * 1.3, f"フリーダイヤル {letter.free_dial}")
    _paragraph(
        canvas,
        font,
        "有効期限が過ぎた場合や、初期パスワードがわからない場合はお電話ください。",
        y - 3 * mm - LINE * 2.5,
        indent=30 * mm,
    )
