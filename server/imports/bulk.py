"""Fast writes and reads for big imports, below the ORM but inside its transaction.

The ORM builds a model object per row, which costs more than the database
work itself at 240,000 rows; these helpers hand plain tuples to the driver
(`executemany` on SQLite, `COPY` on PostgreSQL) in the import's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.db import speaks_postgres
from server.lib.dates import as_date


def _sqlite_value(value: Any) -> Any:
    # The text forms Tortoise itself writes to SQLite, so the ORM reads them back.
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def insert_rows(
    conn: BaseDBAsyncClient,
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    dates: Sequence[str] = (),
) -> None:
    """Insert many rows in the current transaction; `dates` names the date/datetime columns."""
    if not rows:
        return
    if speaks_postgres(conn):
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    await conn.execute_many(
        f'INSERT INTO "{table}" ({names}) VALUES ({marks})',  # noqa: S608 - our own names
        _sqlite_rows(rows, [columns.index(name) for name in dates]),
    )


def _sqlite_rows(rows: list[tuple[Any, ...]], positions: list[int]) -> list[Any]:
    if not positions:
        return rows  # nothing to convert (e.g. built through `stored_date`)
    # Only the date columns need converting, and a file holds few distinct
    # dates: converting each once is cheaper than formatting every cell.
    memo: dict[Any, Any] = {}
    converted = []
    for row in rows:
        values = list(row)
        for i in positions:
            value = values[i]
            text = memo.get(value)
            if text is None:
                text = memo[value] = _sqlite_value(value)
            values[i] = text
        converted.append(values)
    return converted


class _SqliteDates(dict[Any, Any]):
    """date -> the text SQLite stores, each distinct date converted once."""

    def __missing__(self, value: Any) -> Any:
        text = self[value] = _sqlite_value(value)
        return text


class _SameDates(dict[Any, Any]):
    """date -> date: asyncpg's COPY takes date objects as they are."""

    def __missing__(self, value: Any) -> Any:
        return value


def stored_date(conn: BaseDBAsyncClient) -> dict[Any, Any]:
    """A mapping from a date to what this database's driver is handed for it.

    Building an import's rows through it (a dict lookup per cell) is cheaper
    than converting the rows again just before `insert_rows`.
    """
    return _SameDates() if speaks_postgres(conn) else _SqliteDates()


class _ReadDates(dict[Any, date]):
    """A date column's raw value -> date, each distinct value converted once."""

    def __missing__(self, value: Any) -> date:
        parsed = self[value] = as_date(value)
        return parsed


def read_dates() -> dict[Any, date]:
    """A mapping from a date column's raw value (SQLite text, or a date) to the date."""
    return _ReadDates()


def params(conn: BaseDBAsyncClient, count: int, start: int = 1) -> str:
    """Placeholders for `count` parameters in this database's style."""
    if speaks_postgres(conn):
        return ", ".join(f"${n}" for n in range(start, start + count))
    return ", ".join("?" for _ in range(count))
