"""Audit events of the member's own pages."""

from __future__ import annotations

from enum import StrEnum


class MemberPageEvent(StrEnum):
    """Data views recorded in the access log (A10), like statement views."""

    PROFILE_VIEWED = "members:profile:view"
