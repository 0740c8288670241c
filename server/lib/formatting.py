"""How dates and amounts read for Japanese members."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from server.lib.clock import to_jst


def yen(amount: int) -> str:
    """12,345円 (negative amounts as −1,200円)."""
    sign = "−" if amount < 0 else ""
    return f"{sign}{abs(amount):,}円"


def jdate(value: date | datetime | None) -> str:
    """2026年11月15日."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_jst(value)
    return f"{value.year}年{value.month}月{value.day}日"


def jdatetime(value: datetime | None) -> str:
    """2026年11月28日 14:05 (Japan time)."""
    if value is None:
        return ""
    local = to_jst(value)
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


def register(app: Any) -> None:
    """Make the formatters available in templates."""
    app.jinja_env.filters.update(yen=yen, jdate=jdate, jdatetime=jdatetime)

    def has_endpoint(name: str) -> bool:
        return name in app.view_functions

    app.jinja_env.globals["has_endpoint"] = has_endpoint
    # The same question as a plain `'name' in endpoints` test, which Jinja runs
    # without its call machinery: base.html asks it a dozen times on every page.
    app.jinja_env.globals["endpoints"] = app.view_functions
