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
from server.statements.service import latest_month

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


def _unseen(seen: dict[tuple[str, str], datetime], kind: str, ref: str, at: datetime) -> bool:
    opened = seen.get((kind, ref))
    return opened is None or opened < at


async def _seen_since(member_id: int, since: datetime) -> dict[tuple[str, str], datetime]:
    """When the member opened each item, for marks from `since` on.

    An older mark cannot hide anything: every item shown happened after `since`.
    """
    rows = await HomeSeen.filter(member_id=member_id, seen_at__gte=since).values_list(
        "kind", "ref", "seen_at"
    )
    return {(kind, ref): seen_at for kind, ref, seen_at in rows}


async def _candidates(viewer: Viewer, since: datetime) -> list[tuple[str, NewsItem]]:
    """Everything that happened to the member since `since`, seen or not, with its ref."""
    found: list[tuple[str, NewsItem]] = []
    latest = await latest_month(viewer)
    if latest is not None:
        # Lines carry the billing date, not an import time: the start of that day (JST).
        at = datetime.combine(latest.billed_on, time(0), tzinfo=JST)
        if at >= since:
            detail = f"{latest.label}分　ご請求額 {latest.total:,}円"
            href = f"/statements/{latest.month}"
            found.append(
                (latest.month, NewsItem(STATEMENT, "新しい明細があります", href, at, detail))
            )
    answered = Inquiry.filter(
        member_id=viewer.member_id, state=InquiryState.ANSWERED, answered_at__gte=since
    ).order_by("-answered_at")
    for inquiry_id, receipt_no, answered_at in await answered.values_list(
        "id", "receipt_no", "answered_at"
    ):
        text, href = "お問い合わせに回答があります", f"/inquiries/{inquiry_id}"
        item = NewsItem(INQUIRY, text, href, answered_at, f"受付番号 {receipt_no}")
        found.append((str(inquiry_id), item))
    finished = ChangeRequest.filter(
        member_id=viewer.member_id,
        state__in=(ChangeState.APPLIED, ChangeState.RETURNED),
        updated_at__gte=since,
    ).order_by("-updated_at")
    for change_id, state, updated_at in await finished.values_list("id", "state", "updated_at"):
        text = (
            "登録内容の変更を反映しました"
            if state == ChangeState.APPLIED
            else "登録内容の変更申請について、生協からのご連絡があります"
        )
        found.append((str(change_id), NewsItem(CHANGE, text, "/profile/change", updated_at)))
    return found


async def home_news(viewer: Viewer, now: datetime, days: int) -> list[NewsItem]:
    """The member's own new items, newest first (never another member's)."""
    since = now - timedelta(days=days)
    candidates = await _candidates(viewer, since)
    if not candidates:
        return []
    seen = await _seen_since(viewer.member_id, since)
    items = [item for ref, item in candidates if _unseen(seen, item.kind, ref, item.at)]
    return sorted(items, key=lambda item: to_jst(item.at), reverse=True)


async def finished_change_refs(member_id: int) -> list[str]:
    """The member's applied or returned change requests (seen when /profile/change opens)."""
    ids = await ChangeRequest.filter(
        member_id=member_id, state__in=(ChangeState.APPLIED, ChangeState.RETURNED)
    ).values_list("id", flat=True)
    return [str(i) for i in ids]
