"""Business days: weekends, Japanese public holidays (jpholiday) and the co-op's closed days."""

from __future__ import annotations

from datetime import date

import pytest

from server.lib.business_days import BusinessCalendar, parse_closed_day

PLAIN = BusinessCalendar()
COOP = BusinessCalendar.from_strings(["12-29", "12-30", "12-31", "01-02", "01-03", "2026-08-14"])


def test_an_ordinary_week() -> None:
    # Monday 2026-05-18: Tue, Wed, Thu, Fri, then the next Monday.
    assert PLAIN.add_business_days(date(2026, 5, 18), 5) == date(2026, 5, 25)
    assert PLAIN.add_business_days(date(2026, 5, 18), 1) == date(2026, 5, 19)
    assert PLAIN.add_business_days(date(2026, 5, 18), 0) == date(2026, 5, 18)


def test_joining_on_a_weekend_counts_from_monday() -> None:
    assert PLAIN.add_business_days(date(2026, 5, 23), 1) == date(2026, 5, 25)  # Sat -> Mon


def test_golden_week_2026() -> None:
    # 4/29 昭和の日 (Wed), 5/3-5/5 (Sun-Tue), 5/6 振替休日 (Wed).
    for holiday in (date(2026, 4, 29), date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 6)):
        assert not PLAIN.is_business_day(holiday)
    # Joined Tue 4/28: 4/30, 5/1, 5/7, 5/8, 5/11.
    assert PLAIN.add_business_days(date(2026, 4, 28), 5) == date(2026, 5, 11)
    # Without holidays it would have been 5/5.
    assert PLAIN.add_business_days(date(2026, 4, 28), 2) == date(2026, 5, 1)


def test_co_op_closed_days_every_year_and_once() -> None:
    # Fri 2026-12-25: 12/28 Mon, then closed 12/29-1/3 (1/1 is a holiday), 1/4 Mon ...
    assert COOP.add_business_days(date(2026, 12, 25), 2) == date(2027, 1, 4)
    assert PLAIN.add_business_days(date(2026, 12, 25), 2) == date(2026, 12, 29)
    assert not COOP.is_business_day(date(2026, 8, 14))
    assert COOP.is_business_day(date(2027, 8, 13))


def test_closed_day_format_is_checked() -> None:
    assert parse_closed_day("12-29") == (12, 29)
    assert parse_closed_day("2027-01-04") == date(2027, 1, 4)
    for bad in ("12/29", "13-01", "2026-02-30", "", "tomorrow"):
        with pytest.raises(ValueError):
            parse_closed_day(bad)
    with pytest.raises(ValueError):
        PLAIN.add_business_days(date(2026, 1, 5), -1)


def test_settings_refuse_a_bad_closed_day() -> None:
    from server.config import ConfigError, Settings

    with pytest.raises(ConfigError):
        Settings.from_env({"MYPAGE_COOP_CLOSED_DAYS": "12-29,12/30"})
    assert Settings.from_env({"MYPAGE_COOP_CLOSED_DAYS": "08-13, 08-14"}).coop_closed_days == (
        "08-13",
        "08-14",
    )
