"""Audit events of statement views and downloads."""

from __future__ import annotations

from enum import StrEnum


class StatementEvent(StrEnum):
    """Data views recorded in the access log (A10)."""

    LIST_VIEWED = "statements:list:view"
    VIEWED = "statements:statement:view"
    DOWNLOADED = "statements:statement:download"
