"""What waits for staff on the console's front page."""

from __future__ import annotations

from dataclasses import dataclass

from server.inquiries.models import Inquiry, InquiryState
from server.requests.models import ChangeRequest, ChangeState


@dataclass(frozen=True)
class WaitingCounts:
    """Open work: change requests not yet done, inquiries not yet answered."""

    changes: int
    inquiries: int


async def waiting_counts() -> WaitingCounts:
    """Counts of change requests and inquiries that wait for staff."""
    changes = await ChangeRequest.filter(
        state__in=[ChangeState.RECEIVED, ChangeState.PROCESSING]
    ).count()
    inquiries = await Inquiry.filter(state=InquiryState.RECEIVED).count()
    return WaitingCounts(changes=changes, inquiries=inquiries)
