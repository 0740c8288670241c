"""Audit events of the outbox."""

from __future__ import annotations

from enum import StrEnum


class MailEvent(StrEnum):
    """Outbox events, named area:subject:action."""

    GIVE_UP = "mail:outbox:give_up"
