"""Reading the core system's CSV files: size, encoding, header and cell parsers.

Pure functions with no database: each parser returns the value or raises
`CellError` with the Japanese reason, and the caller turns that into a
`Problem` with the line number and column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

from server.errors import DomainError
from server.lib import dates
from server.lib.text import nfkc

# A month of statements for 30,000 members is about 20 MB; 40 MB leaves room
# and keeps a runaway export (or the wrong file) from filling memory.
MAX_FILE_BYTES = 40 * 1024 * 1024
MAX_PROBLEMS = 1000
EMPTY_FILE = "ファイルが空です。見出し行とデータ行のあるCSVファイルを選んでください。"
NO_ROWS = "データ行がありません（見出し行だけのファイルです）。"
MISSING_COLUMN = "必要な列がありません。見出し行を確認してください。"
UTF8_BOM = b"\xef\xbb\xbf"
DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
INT_RE = re.compile(r"^-?\d+$")
MINUS_SIGNS = str.maketrans({"−": "-", "▲": "-", "△": "-"})


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be imported: where, which column, what was there, why."""

    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.line}行目" if self.line else "ファイル"
        column = f" {self.column}" if self.column else ""
        value = f"「{self.value[:40]}」" if self.value else ""
        return f"{where}{column}{value}: {self.reason}"


class ImportRejected(DomainError):
    """The file was not imported; `problems` says why, row by row. Nothing was changed."""

    status = 422

    def __init__(self, problems: Sequence[Problem], *, total: int | None = None) -> None:
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        super().__init__(
            f"ファイルに{self.total}件の問題があるため、取り込みませんでした（データは変更していません）。"
        )


class WrongKind(ImportRejected):
    """The header is that of another kind of file: one line says which, not one per column."""

    def __init__(self, reason: str) -> None:
        super().__init__([Problem(0, "", "", reason)])


class CellError(ValueError):
    """A cell could not be read; the argument is the Japanese reason."""


@dataclass(frozen=True)
class Table:
    """A decoded CSV: its header and its rows (cells in header order) with their line numbers."""

    encoding: str
    header: list[str]
    rows: list[tuple[int, list[str]]]

    def position(self, column: str) -> int:
        """Where a column is in this file (column order is free)."""
        return self.header.index(column)

    def records(self) -> list[tuple[int, dict[str, str]]]:
        """Rows as column -> cell, for the smaller files where speed does not matter."""
        return [(line, dict(zip(self.header, cells, strict=True))) for line, cells in self.rows]


def check_size(size: int, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse a file that is too large before reading it."""
    if size > limit:
        raise ImportRejected(
            [
                Problem(
                    0,
                    "",
                    "",
                    f"ファイルが大きすぎます（{size / 1024 / 1024:.1f} MB）。"
                    f"一度に取り込めるのは {limit // 1024 // 1024} MB までです。"
                    "ファイルを分けて取り込んでください。",
                )
            ]
        )


def decode(data: bytes) -> tuple[str, str]:
    """The text and encoding name: UTF-8 (with or without BOM) or CP932, never a mix."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
        bom = True
    else:
        bom = False
    try:
        return data.decode("utf-8"), "UTF-8 (BOM付き)" if bom else "UTF-8"
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8_lines = [n for n, raw in enumerate(lines, 1) if not raw.isascii() and _is_utf8(raw)]
    bad = [n for n, raw in enumerate(lines, 1) if not _is_utf8(raw)]
    if bom or utf8_lines:
        first_utf8 = utf8_lines[0] if utf8_lines else 1
        return _mixed(bad[0], first_utf8)
    try:
        return data.decode("cp932"), "CP932 (Shift_JIS)"
    except UnicodeDecodeError:
        pass
    for n, raw in enumerate(lines, 1):
        try:
            raw.decode("cp932")
        except UnicodeDecodeError:
            raise ImportRejected(
                [
                    Problem(
                        n,
                        "",
                        "",
                        "文字コードを判別できません。"
                        "UTF-8 または Shift_JIS（CP932）で保存してください。",
                    )
                ]
            ) from None
    raise ImportRejected([Problem(0, "", "", "文字コードを判別できません。")])


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mixed(bad_line: int, utf8_line: int) -> tuple[str, str]:
    raise ImportRejected(
        [
            Problem(
                bad_line,
                "",
                "",
                f"文字コードが混在しています（{utf8_line}行目は UTF-8、"
                "この行は UTF-8 ではありません）。"
                "ファイル全体を同じ文字コードで保存し直してください。",
            )
        ]
    )


def read_table(
    data: bytes,
    columns: Sequence[str],
    required: Sequence[str],
    wrong_kind: Callable[[list[str]], str | None] | None = None,
) -> Table:
    """Decode and split a file; the header must name exactly the known columns, in any order.

    `wrong_kind` looks at a header that does not fit and may name the kind
    of file it belongs to (the sentence the operator reads).
    """
    check_size(len(data))
    text, encoding = decode(data)
    if not text.strip():
        raise ImportRejected([Problem(0, "", "", EMPTY_FILE)])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [nfkc(name).lower() for name in next(reader)]
        problems = _header_problems(header, columns, required)
        if problems:
            other = wrong_kind(header) if wrong_kind else None
            raise WrongKind(other) if other else ImportRejected(problems)
        records = list(reader)
    except csv.Error as error:
        raise ImportRejected(
            [Problem(reader.line_num, "", "", f"CSVとして読み取れません（{error}）。")]
        ) from None
    if reader.line_num == len(records) + 1:
        # One line per record (no line breaks inside quoted cells, the usual
        # file): each record's line number is its position.
        numbered: Iterable[tuple[int, list[str]]] = enumerate(records, 2)
    else:
        numbered = _numbered(text)
    if all(records) and all(map(itemgetter(0), records)):
        rows = list(numbered)  # every first cell filled: no blank line to skip
    else:
        # Blank lines, also ",,,," as spreadsheets save them, are skipped.
        rows = [(n, f) for n, f in numbered if (f and f[0]) or "".join(f).strip()]
    width = len(header)
    widths = set(map(len, map(itemgetter(1), rows)))
    problems = (
        []
        if widths <= {width}
        else [
            Problem(
                line,
                "",
                "",
                f"列の数が見出し行と違います（見出し {len(header)}列、この行 {len(fields)}列）。",
            )
            for line, fields in rows
            if len(fields) != width
        ]
    )
    if problems:
        raise ImportRejected(problems[:MAX_PROBLEMS], total=len(problems))
    if not rows:
        raise ImportRejected([Problem(0, "", "", NO_ROWS)])
    return Table(encoding=encoding, header=header, rows=rows)


def _numbered(text: str) -> list[tuple[int, list[str]]]:
    """The data records with the line each ends on (cells may hold line breaks)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    return [(reader.line_num, fields) for fields in reader]


def _header_problems(
    header: list[str], columns: Sequence[str], required: Sequence[str]
) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(1, name, name, "同じ列名が2回あります。"))
        elif name not in columns:
            problems.append(
                Problem(1, name, name, f"知らない列名です。使える列名: {', '.join(columns)}")
            )
        seen.add(name)
    for name in required:
        if name not in seen:
            problems.append(Problem(1, name, "", MISSING_COLUMN))
    return problems


# Cell parsers: NFKC only where half-width is meant (numbers, dates, codes).


def _half(value: str) -> str:
    return value.strip() if value.isascii() else nfkc(value)


def parse_date(value: str) -> date:
    """YYYY-MM-DD (also full-width, or with slashes), a real calendar date."""
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
        try:  # the usual case, at C speed; anything odd gets the careful path below
            return date.fromisoformat(value)
        except ValueError:
            pass
    text = _half(value)
    match = DATE_RE.match(text)
    if not match:
        raise CellError("日付は YYYY-MM-DD の形で入力してください（例: 2026-11-15）。")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError("存在しない日付です。") from None


def parse_optional_date(value: str) -> date | None:
    """A date, or None for an empty cell."""
    return parse_date(value) if value.strip() else None


def parse_month(value: str) -> str:
    """YYYY-MM, returned zero-padded."""
    if len(value) == 7 and value[4] == "-" and value.isascii() and "01" <= value[5:] <= "12":
        if value[:4].isdigit() and value[5:].isdigit():
            return value
    text = _half(value).replace("/", "-")
    parsed = dates.parse_month(text, padded=False)
    if parsed is None:
        raise CellError("請求月は YYYY-MM の形で入力してください（例: 2026-11）。")
    return f"{parsed[0]:04d}-{parsed[1]:02d}"


def parse_int(value: str, *, minimum: int | None = None, maximum: int = 2_000_000_000) -> int:
    """A whole number; separators (１，０００), full-width digits and minus signs are accepted."""
    if value.isascii() and (value.isdigit() or (value[:1] == "-" and value[1:].isdigit())):
        number = int(value)
    else:
        text = _half(value).translate(MINUS_SIGNS).replace(",", "").replace(" ", "")
        if not INT_RE.match(text):
            raise CellError("整数（半角または全角の数字）で入力してください。")
        number = int(text)
    if minimum is not None and number < minimum:
        raise CellError(f"{minimum}以上の数で入力してください。")
    if abs(number) > maximum:
        raise CellError("数が大きすぎます。")
    return number


def parse_member_no(value: str) -> str:
    """Eight digits (full-width digits accepted)."""
    if len(value) == 8 and value.isascii() and value.isdigit():
        return value
    text = _half(value)
    if len(text) != 8 or not text.isdigit() or not text.isascii():
        raise CellError("組合員番号は8桁の数字で入力してください。")
    return text


def parse_text(value: str, *, max_length: int, required: bool = True) -> str:
    """Free text (names, addresses), trimmed, length-checked, never NFKC-changed."""
    text = value.strip()
    if required and not text:
        raise CellError("空欄にはできません。")
    if len(text) > max_length:
        raise CellError(f"{max_length}文字以内にしてください（{len(text)}文字あります）。")
    return text
