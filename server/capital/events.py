"""Audit events of the capital page."""

from __future__ import annotations

from enum import StrEnum


class CapitalEvent(StrEnum):
    """Data views recorded in the access log (A10), like statement views."""

    VIEWED = "capital:capital:view"
