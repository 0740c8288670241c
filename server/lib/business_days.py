"""Business days of the co-op: no weekends, Japanese public holidays or closed days.

Pure: no web or database imports, so any feature (registration, the name on
the card after a change of surname, ...) can ask "which day is N business
days after this one". Public holidays come from `jpholiday`, which follows
the Cabinet Office's list, including substitute holidays (振替休日).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import jpholiday


def parse_closed_day(text: str) -> date | tuple[int, int]:
    """ "YYYY-MM-DD" is one date; "MM-DD" is that day every year. ValueError otherwise."""
    parts = text.strip().split("-")
    numbers = [int(part) for part in parts if part.isdigit()]
    if len(parts) == 3 and len(numbers) == 3:
        return date(numbers[0], numbers[1], numbers[2])
    if len(parts) == 2 and len(numbers) == 2:
        date(2024, numbers[0], numbers[1])  # validates the month and day (leap year)
        return (numbers[0], numbers[1])
    raise ValueError(f"closed day must be YYYY-MM-DD or MM-DD: {text!r}")


@dataclass(frozen=True)
class BusinessCalendar:
    """Which days the co-op works: weekdays that are neither holidays nor closed days."""

    closed_dates: frozenset[date] = field(default_factory=frozenset)
    closed_every_year: frozenset[tuple[int, int]] = field(default_factory=frozenset)

    @classmethod
    def from_strings(cls, values: Iterable[str]) -> BusinessCalendar:
        """Build from the setting's strings ("12-29", "2027-01-04", ...)."""
        dates: set[date] = set()
        yearly: set[tuple[int, int]] = set()
        for value in values:
            parsed = parse_closed_day(value)
            if isinstance(parsed, date):
                dates.add(parsed)
            else:
                yearly.add(parsed)
        return cls(frozenset(dates), frozenset(yearly))

    def is_business_day(self, day: date) -> bool:
        """True on a day the co-op's office works."""
        if day.weekday() >= 5 or jpholiday.is_holiday(day):
            return False
        return day not in self.closed_dates and (day.month, day.day) not in self.closed_every_year

    def add_business_days(self, start: date, count: int) -> date:
        """The `count`-th business day after `start` (start itself never counts)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
        return day
