"""Audit events of the members screen, named area:subject:action."""

from __future__ import annotations

from enum import StrEnum


class MemberEvent(StrEnum):
    """What staff did on the members screen (every view and action is recorded, A10)."""

    SEARCH = "staff:member:search"
    VIEW = "staff:member:view"
    INITIAL_PASSWORD_ISSUE = "staff:member:initial_password"  # noqa: S105 - an event name
    LETTER_PRINT = "staff:member:letter"
    LETTER_REFUSED = "staff:member:letter_refused"
    UNBLOCK = "staff:member:unblock"
    SESSIONS_END = "staff:member:sessions_end"
    WITHDRAWAL = "staff:member:withdrawal"
    CARD_REVOKE = "staff:member:card_revoke"
