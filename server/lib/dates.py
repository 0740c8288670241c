"""Dates as members and clerks type them: 西暦 or 和暦, half- or full-width.

Older members write their birth date in the Japanese era they grew up with
(昭和50年6月1日, S50.6.1, 昭和50/6/1); forms accept that beside 1975-06-01.
"""

from __future__ import annotations

import re
from datetime import date

from server.lib.text import nfkc

# Each era's first day; an era year 1 (元年) starts there.
ERAS: dict[str, date] = {
    "明治": date(1868, 1, 25),
    "大正": date(1912, 7, 30),
    "昭和": date(1926, 12, 25),
    "平成": date(1989, 1, 8),
    "令和": date(2019, 5, 1),
}
ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_ERA_DATE = re.compile(
    r"(明治|大正|昭和|平成|令和|[MTSHR])\s*(\d{1,2}|元)\s*(?:年|\D)\s*(\d{1,2})\s*(?:月|\D)\s*(\d{1,2})\s*日?",
    re.IGNORECASE,
)
_WESTERN = re.compile(r"(\d{4})\D+(\d{1,2})\D+(\d{1,2})\D*")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _era_date(era: str, year: str, month: str, day: str) -> date | None:
    name = ERA_LETTERS.get(era.upper(), era)
    first = ERAS[name]
    try:
        value = date(first.year + (1 if year == "元" else int(year)) - 1, int(month), int(day))
    except ValueError:
        return None
    following = [start for start in ERAS.values() if start > first]
    if value < first or (following and value >= min(following)):
        return None  # 昭和65年, 平成元年1月1日: no such day
    return value


def parse_typed_date(text: str) -> date | None:
    """1980-05-05, 1980/5/5, 1980年5月5日, 19800505, 昭和55年5月5日, S55.5.5 (full-width too)."""
    value = nfkc(text)
    era = _ERA_DATE.fullmatch(value)
    if era is not None:
        return _era_date(*era.groups())
    match = _WESTERN.fullmatch(value) or _COMPACT.fullmatch(value)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")


def parse_month(text: str, *, padded: bool = True) -> tuple[int, int] | None:
    """Year and month of "YYYY-MM" (with `padded=False` also "YYYY-M"); None for anything else."""
    match = _MONTH.fullmatch(text)
    if match is None or (padded and len(match[2]) != 2):
        return None
    year, month = int(match[1]), int(match[2])
    return (year, month) if 1 <= month <= 12 else None


def as_date(value: object) -> date:
    """A date column as read raw or aggregated: SQLite hands back its ISO text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
