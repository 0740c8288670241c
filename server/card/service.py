"""What the membership card shows: read from the member's own row, dated by the clock."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import segno

from server.lib.clock import to_jst
from server.members.models import Member

# The co-op's fiscal year runs from April to March (Japan time).
FISCAL_YEAR_FIRST_MONTH = 4


@dataclass(frozen=True)
class FiscalYear:
    """One fiscal year: 2026年度 is 2026-04-01 to 2027-03-31."""

    year: int
    first_day: date
    last_day: date


@dataclass(frozen=True)
class Card:
    """Everything printed on the card, ready for the template."""

    member_no: str
    name: str
    name_kana: str
    category: str
    valid: FiscalYear
    fetched_at: datetime
    qr_svg: str


def fiscal_year(moment: datetime) -> FiscalYear:
    """The fiscal year a moment falls in, counted in Japan time."""
    today = to_jst(moment).date()
    year = today.year if today.month >= FISCAL_YEAR_FIRST_MONTH else today.year - 1
    return FiscalYear(year, date(year, 4, 1), date(year + 1, 3, 31))


@lru_cache(maxsize=256)
def qr_svg(member_no: str) -> str:
    """The member number as a QR code, inline SVG markup (no style attributes, CSP-safe)."""
    code = segno.make_qr(member_no, error="m")
    return str(
        code.svg_inline(
            scale=1,
            border=4,
            omitsize=True,
            svgclass="card-qr-svg",
            lineclass="card-qr-line",
            dark="#000",
            light="#fff",
        )
    )


def cache_key(secret_key: str, member_id: int) -> str:
    """Opaque per-member name for the service worker's page cache (never the member number)."""
    return hmac.new(secret_key.encode(), b"sw-cache:%d" % member_id, "sha256").hexdigest()[:32]


def card_for(member: Member, now: datetime) -> Card:
    """The signed-in member's card, from the row the session just loaded (no second read)."""
    return Card(
        member_no=member.member_no,
        name=member.name,
        name_kana=member.name_kana,
        category=member.category.value,
        valid=fiscal_year(now),
        fetched_at=now,
        qr_svg=qr_svg(member.member_no),
    )
