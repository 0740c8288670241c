"""Audit events of co-op notices (written by staff in the console)."""

from __future__ import annotations

from enum import StrEnum


class NoticeEvent(StrEnum):
    """Notice events, named area:subject:action."""

    CREATE = "staff:notice:create"
    WITHDRAW = "staff:notice:withdraw"
