"""Model instances from one hand-written join, for the two lookups on hot paths.

The session lookup (every signed-in page) and the account lookup (every
password sign-in) each read a few models joined on unique keys. Through
`select_related` the query builder and `Model._init_from_db` cost several
times more than the query itself, so these two select the models' columns
by hand and build the instances here. On a SQLite file the row is read on
the event loop through `sqlite_reader` (a point read on a unique index);
otherwise, or when SQLite asks the reader to wait, through the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from tortoise import connections, fields
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.timezone import get_default_timezone, get_use_tz

from server.auth import sqlite_reader

Convert = Callable[[Any], Any] | None
# Dialect ("sqlite", "postgres") -> SQL with one parameter.
Query = Callable[[str], str]


def _to_datetime(value: Any) -> datetime | None:
    # What DatetimeField.to_python_value gives with use_tz (zone: UTC), with
    # SQLite's text parsed by the C ISO parser instead of a pure-Python one.
    if value is None:
        return None
    if type(value) is str:
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=get_default_timezone())
    return value.astimezone(get_default_timezone())


def _to_date(value: Any) -> date | None:
    return date.fromisoformat(value) if type(value) is str else value


def _typed(field_type: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return None if value is None else field_type(value)

    return convert


def _converter(field: fields.Field) -> Convert:
    if type(field) is fields.DatetimeField and get_use_tz():
        return _to_datetime
    if type(field) is fields.DateField:
        return _to_date
    if isinstance(field, CharEnumFieldInstance):
        return _typed(field.enum_type)
    return field.to_python_value


@lru_cache(maxsize=8)
def _decoder(model: type[Model]) -> tuple[list[str], list[tuple[str, Convert]], dict[str, Any]]:
    """Columns to select, (attribute, conversion) for each, and the state ORM rows carry.

    Mirrors `Model._init_from_db` (native columns as they are, plain ones
    through their Python type, the rest converted), with cheaper conversions
    for timestamps, dates and enums; tests compare the result with the ORM's.
    """
    meta = model._meta
    columns: list[str] = []
    steps: list[tuple[str, Convert]] = []
    for column, attribute, _ in meta.db_native_fields:
        columns.append(column)
        steps.append((attribute, None))
    for column, attribute, field in meta.db_default_fields:
        columns.append(column)
        steps.append((attribute, _typed(field.field_type)))
    for column, attribute, field in meta.db_complex_fields:
        columns.append(column)
        steps.append((attribute, _converter(field)))
    state = {
        "_partial": False,
        "_saved_in_db": True,
        "_custom_generated_pk": meta.db_pk_column not in meta.generated_db_fields,
    }
    return columns, steps, state


def select_list(*aliased: tuple[str, type[Model]]) -> str:
    """Every column of each (alias, model), in the order `decode` reads them."""
    return ", ".join(
        f'{alias}."{column}"' for alias, model in aliased for column in _decoder(model)[0]
    )


def placeholder(dialect: str) -> str:
    """The first query parameter in this dialect."""
    return "$1" if dialect == "postgres" else "?"


def _build(model: type[Model], row: Sequence[Any], start: int) -> tuple[Any, int]:
    _, steps, state = _decoder(model)
    instance = model.__new__(model)
    values = instance.__dict__
    values.update(state, _await_when_save={})
    for offset, (attribute, convert) in enumerate(steps, start):
        value = row[offset]
        values[attribute] = value if convert is None else convert(value)
    return instance, start + len(steps)


def decode(row: Sequence[Any], models: Sequence[type[Model]]) -> list[Any]:
    """One instance of each model, from consecutive columns of the row."""
    built = []
    position = 0
    for model in models:
        instance, position = _build(model, row, position)
        built.append(instance)
    return built


async def fetch_row(query: Query, parameter: str) -> Sequence[Any] | None:
    """The first row of a one-parameter query, from the SQLite reader or the ORM."""
    conn = connections.get("default")
    reader = sqlite_reader.for_client(conn)
    rows = reader.fetch(query("sqlite"), parameter) if reader is not None else None
    if rows is None:
        _, rows = await conn.execute_query(query(conn.capabilities.dialect), [parameter])
    return rows[0] if rows else None
