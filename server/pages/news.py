"""Home's 「新着」: what is new for the signed-in member, until opened or too old.

An item shows while it is younger than `home_news_days` and the member has not
opened its page since it happened: the statement's month page, the inquiry's
page, or /profile/change for an applied or returned change. Opening a page
calls `mark_seen`; a later event on the same item (another reply) shows it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from tortoise.exceptions import IntegrityError

from server.inquiries.models import Inquiry, InquiryState
from server.lib.clock import JST, to_jst
from server.members.access import Viewer
from server.pages.models import HomeSeen
from server.requests.models import ChangeRequest, ChangeState
from server.statements.service import visible_months

STATEMENT, INQUIRY, CHANGE = "statement", "inquiry", "change"


@dataclass(frozen=True)
class NewsItem:
    """One line of home's 新着: what happened, a link to it, and when."""

    kind: str
    text: str
    href: str
    at: datetime
    detail: str = ""


async def mark_seen(member_id: int, kind: str, refs: list[str], now: datetime) -> None:
    """Record that the member opened these items (an upsert per item)."""
    for ref in refs:
        updated = await HomeSeen.filter(member_id=member_id, kind=kind, ref=ref).update(seen_at=now)
        if updated:
            continue
        try:
            await HomeSeen.create(member_id=member_id, kind=kind, ref=ref, seen_at=now)
        except IntegrityError:
            # Two tabs opened the page at once: the other request made the row.
            await HomeSeen.filter(member_id=member_id, kind=kind, ref=ref).update(seen_at=now)


async def _seen(member_id: int) -> dict[tuple[str, str], datetime]:
    rows = await HomeSeen.filter(member_id=member_id)
    return {(row.kind, row.ref): row.seen_at for row in rows}


def _unseen(seen: dict[tuple[str, str], datetime], kind: str, ref: str, at: datetime) -> bool:
    opened = seen.get((kind, ref))
    return opened is None or opened < at


async def home_news(viewer: Viewer, now: datetime, days: int) -> list[NewsItem]:
    """The member's own new items, newest first (never another member's)."""
    since = now - timedelta(days=days)
    seen = await _seen(viewer.member_id)
    items: list[NewsItem] = []
    months = await visible_months(viewer)
    if months:
        latest = months[0]
        # Lines carry the billing date, not an import time: the start of that day (JST).
        at = datetime.combine(latest.billed_on, time(0), tzinfo=JST)
        if at >= since and _unseen(seen, STATEMENT, latest.month, at):
            items.append(
                NewsItem(
                    STATEMENT,
                    "新しい明細があります",
                    f"/statements/{latest.month}",
                    at,
                    f"{latest.label}分　ご請求額 {latest.total:,}円",
                )
            )
    for inquiry in await Inquiry.filter(
        member_id=viewer.member_id, state=InquiryState.ANSWERED, answered_at__gte=since
    ).order_by("-answered_at"):
        assert inquiry.answered_at is not None
        if _unseen(seen, INQUIRY, str(inquiry.id), inquiry.answered_at):
            items.append(
                NewsItem(
                    INQUIRY,
                    "お問い合わせに回答があります",
                    f"/inquiries/{inquiry.id}",
                    inquiry.answered_at,
                    f"受付番号 {inquiry.receipt_no}",
                )
            )
    for change in await ChangeRequest.filter(
        member_id=viewer.member_id,
        state__in=(ChangeState.APPLIED, ChangeState.RETURNED),
        updated_at__gte=since,
    ).order_by("-updated_at"):
        if _unseen(seen, CHANGE, str(change.id), change.updated_at):
            applied = change.state == ChangeState.APPLIED
            text = (
                "登録内容の変更を反映しました"
                if applied
                else "登録内容の変更申請について、生協からのご連絡があります"
            )
            items.append(NewsItem(CHANGE, text, "/profile/change", change.updated_at))
    return sorted(items, key=lambda item: to_jst(item.at), reverse=True)


async def finished_change_refs(member_id: int) -> list[str]:
    """The member's applied or returned change requests (seen when /profile/change opens)."""
    ids = await ChangeRequest.filter(
        member_id=member_id, state__in=(ChangeState.APPLIED, ChangeState.RETURNED)
    ).values_list("id", flat=True)
    return [str(i) for i in ids]
