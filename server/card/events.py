"""Audit events of the card credential, named area:subject:action."""

from __future__ import annotations

from enum import StrEnum


class CardEvent(StrEnum):
    """Certificates issued, renewed, refused and revoked (recorded in the member's access log)."""

    ISSUE = "card:certificate:issue"
    RENEW = "card:certificate:renew"
    RENEW_REFUSED = "card:certificate:renew_refused"
    REVOKE = "card:certificate:revoke"
