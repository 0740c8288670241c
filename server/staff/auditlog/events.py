"""Audit events of the access log screen itself."""

from __future__ import annotations

from enum import StrEnum


class AccessLogEvent(StrEnum):
    """Looking at the access log, named area:subject:action."""

    VIEW = "staff:access_log:view"
    EXPORT = "staff:access_log:export"
