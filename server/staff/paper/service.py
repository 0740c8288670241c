"""The paper-statement list: who gets statements by post, the fee per issue, the CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from server.audit.events import PaperStaffEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState
from server.config import Settings
from server.lib.clock import to_jst
from server.members.models import Member, MemberStatus
from server.requests.models import ServiceStop
from server.requests.service import fee_with_tax
from server.statements.export import safe_cell

CSV_HEADER = [
    "組合員番号",
    "氏名",
    "郵便番号",
    "住所",
    "サービス停止日",
    "手数料（1回・税抜・円）",
    "手数料（1回・税込・円）",
]


@dataclass(frozen=True)
class PaperMember:
    """A member on the paper-statement list."""

    member_no: str
    name: str
    postal_code: str
    address: str
    stopped_at: datetime


async def paper_statement_members() -> list[PaperMember]:
    """Members whose My Page is stopped, so statements go by post with the fee."""
    stopped = await Account.filter(state=AccountState.STOPPED).values_list("member_id", flat=True)
    # A withdrawn member is billed no more, so gets no postcards and no fee.
    stops = (
        await ServiceStop.filter(member_id__in=list(stopped))
        .exclude(member__status=MemberStatus.WITHDRAWN)
        .order_by("-stopped_at")
        .select_related("member")
    )
    seen: set[int] = set()
    result: list[PaperMember] = []
    for stop in stops:
        member: Member = stop.member
        if member.id in seen:
            continue
        seen.add(member.id)
        result.append(
            PaperMember(
                member.member_no, member.name, member.postal_code, member.address, stop.stopped_at
            )
        )
    return sorted(result, key=lambda item: item.member_no)


@dataclass(frozen=True)
class PaperList:
    """Members on paper statements and what one issue costs them, each and together."""

    members: list[PaperMember]
    fee_yen: int

    @property
    def fee_with_tax(self) -> int:
        """The fee per member per issue with consumption tax."""
        return fee_with_tax(self.fee_yen)

    @property
    def total_yen(self) -> int:
        """All members' fees for one issue, tax excluded."""
        return self.fee_yen * len(self.members)

    @property
    def total_with_tax(self) -> int:
        """All members' fees for one issue, tax included (per member, rounded down)."""
        return self.fee_with_tax * len(self.members)


async def paper_list(settings: Settings, actor: Actor, now: datetime) -> PaperList:
    """The list as staff see it on screen (the look is audited)."""
    listing = PaperList(await paper_statement_members(), settings.paper_fee_yen)
    await record(PaperStaffEvent.VIEW, actor, now, members=len(listing.members))
    return listing


def paper_csv(listing: PaperList) -> bytes:
    """UTF-8 with BOM and CRLF (Excel reads it), Japanese header, every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for member in listing.members:
        cells = [
            member.member_no,
            member.name,
            member.postal_code,
            member.address,
            to_jst(member.stopped_at).date().isoformat(),
            str(listing.fee_yen),
            str(listing.fee_with_tax),
        ]
        writer.writerow([safe_cell(cell) for cell in cells])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


async def export_csv(settings: Settings, actor: Actor, now: datetime) -> bytes:
    """The list as a CSV download (audited with how many members it holds)."""
    listing = PaperList(await paper_statement_members(), settings.paper_fee_yen)
    await record(PaperStaffEvent.EXPORT, actor, now, members=len(listing.members))
    return paper_csv(listing)


def export_filename(now: datetime) -> str:
    """paper-statements-20261128.csv (the date in Japan)."""
    return f"paper-statements-{to_jst(now):%Y%m%d}.csv"
