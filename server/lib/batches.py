"""Cutting long lists into slices, so `IN (...)` stays under every database's parameter limit."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def chunks(items: list[T], size: int = 500) -> list[list[T]]:
    """`items` in consecutive slices of at most `size` (the last may be shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
