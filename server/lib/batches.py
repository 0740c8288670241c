"""Cutting long lists into slices, so `IN (...)` stays under every database's parameter limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = 500) -> list[list[T]]:
    """`items` in consecutive slices of at most `size` (the last may be shorter)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
