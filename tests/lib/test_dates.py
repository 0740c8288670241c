"""Dates typed by members and clerks: 西暦 and 和暦, half- and full-width."""

from __future__ import annotations

from datetime import date

import pytest

from server.lib.dates import parse_typed_date


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1975-06-01", date(1975, 6, 1)),
        ("1975/6/1", date(1975, 6, 1)),
        ("１９７５年６月１日", date(1975, 6, 1)),
        ("19750601", date(1975, 6, 1)),
        ("昭和50年6月1日", date(1975, 6, 1)),
        ("昭和５０年６月１日", date(1975, 6, 1)),
        ("S50.6.1", date(1975, 6, 1)),
        ("s50.6.1", date(1975, 6, 1)),
        ("Ｓ５０．６．１", date(1975, 6, 1)),
        ("昭和50/6/1", date(1975, 6, 1)),
        ("昭和 50年 6月 1日", date(1975, 6, 1)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("H1.1.8", date(1989, 1, 8)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R2.2.29", date(2020, 2, 29)),
        ("大正15年1月1日", date(1926, 1, 1)),
    ],
)
def test_accepted(typed: str, expected: date) -> None:
    assert parse_typed_date(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "昭和",
        "昭和65年1月1日",
        "平成元年1月7日",
        "令和元年4月30日",
        "S50.2.30",
        "X50.6.1",
        "昨日",
    ],
)
def test_refused(typed: str) -> None:
    """No such day in that era, or not a date at all."""
    assert parse_typed_date(typed) is None
