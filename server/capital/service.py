"""Reading capital figures, for one member and only the publications they may see."""

from __future__ import annotations

from datetime import date, datetime

from server.capital.models import CapitalRecord
from server.lib.clock import to_jst
from server.members.access import Viewer, first_capital_publication


async def visible_records(viewer: Viewer, now: datetime, publish_month: int) -> list[CapitalRecord]:
    """Published figures from the first July the member may see, newest year first."""
    today = to_jst(now).date()
    return (
        await CapitalRecord.filter(
            member_id=viewer.member_id,
            published_on__gte=first_capital_publication(viewer, publish_month),
            published_on__lte=today,
        )
        .order_by("-fiscal_year")
        .all()
    )


def first_visible(viewer: Viewer, publish_month: int) -> date:
    """When the member's first capital figures appear (for the empty state)."""
    return first_capital_publication(viewer, publish_month)
