"""The CSV download of a member's statements, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from server.statements.models import StatementLine
from server.statements.service import month_label

HEADER = ["請求月", "請求日", "行番号", "ご利用日", "内容", "数量", "金額（円）"]
# A cell starting with one of these is run as a formula by spreadsheet software.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula (a leading quote disarms it)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def statements_csv(lines: Iterable[StatementLine]) -> bytes:
    """UTF-8 with BOM (so Excel reads the Japanese), CRLF line ends; numbers stay numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in lines:
        writer.writerow(
            [
                month_label(line.billing_month),
                line.billed_on.isoformat(),
                line.line_no,
                line.used_on.isoformat(),
                safe_cell(line.description),
                line.quantity,
                line.amount_yen,
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
