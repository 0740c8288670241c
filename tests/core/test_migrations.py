"""Migrating an empty database gives exactly the models' schema (no drift)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.autodetector import MigrationAutodetector

from server import db
from tests.dbutil import TemplateDatabase, pg_execute, with_database


async def _columns(url: str) -> dict[str, set[tuple[str, bool]]]:
    """Every table's (column, nullable) pairs, read back from the database."""
    await Tortoise.init(config=db.tortoise_config(url))
    try:
        conn = get_connection("default")
        tables: dict[str, set[tuple[str, bool]]] = {}
        if db.is_postgres(url):
            rows = await conn.execute_query_dict(
                "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                "WHERE table_schema = 'public'"
            )
            for row in rows:
                tables.setdefault(row["table_name"], set()).add(
                    (row["column_name"], row["is_nullable"] == "YES")
                )
        else:
            names = await conn.execute_query_dict(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            for item in names:
                info = await conn.execute_query_dict(f'PRAGMA table_info("{item["name"]}")')
                tables[item["name"]] = {(c["name"], not c["notnull"]) for c in info}
        tables.pop("tortoise_migrations", None)
        return tables
    finally:
        await Tortoise.close_connections()


async def test_models_have_no_changes_without_a_migration() -> None:
    config = db.tortoise_config("sqlite://:memory:")
    await Tortoise.init(config=config)
    try:
        from tortoise import Tortoise as T

        detector = MigrationAutodetector(T.apps, config["apps"])  # type: ignore[arg-type]
        writers = await detector.changes()
    finally:
        await Tortoise.close_connections()
    pending = [f"{w.app_label}: {w.name}" for w in writers]
    assert pending == [], "run `make migrations` and review the result"


@asynccontextmanager
async def generated_database(tmp_path: Path) -> AsyncIterator[str]:
    """A database built straight from the models (generate_schemas), dropped afterwards."""
    template = TemplateDatabase(tmp_path)
    if template.postgres:
        name = f"mypage_gen_{uuid.uuid4().hex[:10]}"
        await pg_execute(template.base, f'CREATE DATABASE "{name}"')
        url = with_database(template.base, name)
    else:
        url = f"sqlite://{tmp_path / 'generated.sqlite3'}"
    try:
        await Tortoise.init(config=db.tortoise_config(url))
        await Tortoise.generate_schemas()
        await Tortoise.close_connections()
        yield url
    finally:
        if template.postgres:
            await pg_execute(template.base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_migrated_schema_equals_the_models(db_url: str, tmp_path: Path) -> None:
    async with generated_database(tmp_path) as generated_url:
        migrated = await _columns(db_url)  # db_url was built by running the migrations
        generated = await _columns(generated_url)
        assert migrated == generated


def test_model_docstrings_are_safe_as_sql_comments() -> None:
    """Tortoise writes a model's docstring into the schema, where ; and ` break SQLite."""
    import importlib

    from tortoise.models import Model

    bad = []
    for modules in db.APPS.values():
        for module_name in modules:
            module = importlib.import_module(module_name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, Model) and value is not Model:
                    doc = value.__doc__ or ""
                    if ";" in doc or "`" in doc:
                        bad.append(value.__name__)
    assert bad == []


async def _indexes(url: str) -> set[tuple[str, str, bool]]:
    """Every index as (table, its columns in order, unique), read back from the database."""
    await Tortoise.init(config=db.tortoise_config(url))
    try:
        conn = get_connection("default")
        found: set[tuple[str, str, bool]] = set()
        if db.is_postgres(url):
            rows = await conn.execute_query_dict(
                "SELECT t.relname AS tbl, ix.indisunique AS uniq,"
                " string_agg(a.attname, ',' ORDER BY k.n) AS cols"
                " FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid"
                " JOIN pg_class t ON t.oid = ix.indrelid"
                " JOIN pg_namespace ns ON ns.oid = t.relnamespace"
                " CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
                " WHERE ns.nspname = 'public' GROUP BY t.relname, i.relname, ix.indisunique"
            )
            found = {(r["tbl"], r["cols"], bool(r["uniq"])) for r in rows}
        else:
            tables = await conn.execute_query_dict(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            for table in tables:
                for index in await conn.execute_query_dict(f'PRAGMA index_list("{table["name"]}")'):
                    info = await conn.execute_query_dict(f'PRAGMA index_info("{index["name"]}")')
                    cols = ",".join(c["name"] for c in sorted(info, key=lambda c: c["seqno"]))
                    found.add((table["name"], cols, bool(index["unique"])))
        return {item for item in found if item[0] != "tortoise_migrations"}
    finally:
        await Tortoise.close_connections()


async def test_migrated_indexes_equal_the_models(db_url: str, tmp_path: Path) -> None:
    """Columns alone miss a dropped index (SQLite's AlterField rebuild loses them)."""
    async with generated_database(tmp_path) as generated_url:
        migrated = await _indexes(db_url)
        assert ("audit_event", "staff_id", False) in migrated
        assert migrated == await _indexes(generated_url)
