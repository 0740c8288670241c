"""Audit events of imports."""

from __future__ import annotations

from enum import StrEnum


class ImportEvent(StrEnum):
    """Audit events of imports."""

    APPLIED = "imports:file:applied"
    CHECKED = "imports:file:checked"
    REJECTED = "imports:file:rejected"
    # The operator chose the file's value over one recorded in the console.
    OVERWRITTEN = "imports:override:overwritten"
