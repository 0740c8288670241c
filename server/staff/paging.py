"""Long staff lists shown a page at a time (change requests, inquiries)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.queryset import QuerySet

PER_PAGE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a long list, with what the pager needs."""

    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when empty)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        """A page before this one exists."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """A page after this one exists."""
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """The 1-based position of this page's first item (0 when empty)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        """The 1-based position of this page's last item."""
        return (self.number - 1) * self.per_page + len(self.items)


def page_number(text: str | None) -> int:
    """The ?page= argument: a positive number, anything else is page 1."""
    try:
        number = int(text or "1")
    except ValueError:
        return 1
    return number if number > 0 else 1


async def paginate(query: QuerySet[Any], number: int, per_page: int = PER_PAGE) -> Page[Any]:
    """Run a query for one page; a page past the end shows the last one."""
    total = await query.count()
    last = max(1, math.ceil(total / per_page))
    number = min(max(1, number), last)
    rows = await query.offset((number - 1) * per_page).limit(per_page)
    return Page(items=list(rows), number=number, per_page=per_page, total=total)
