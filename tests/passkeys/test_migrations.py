"""The passkeys migrations match the models (no drift) and build on core's."""

from __future__ import annotations

import asyncio
import copy

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from server.db import MIGRATIONS_CONFIG
from server.migrations.passkeys import __name__ as passkeys_migrations


async def _pending_changes() -> list[str]:
    config = copy.deepcopy(MIGRATIONS_CONFIG)
    apps = config["apps"]
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, apps).changes()
    return [f"{w.app_label}.{w.name}" for w in writers]


def test_models_and_migrations_agree() -> None:
    # A plain test with its own loop: the autodetector initialises Tortoise itself.
    assert asyncio.run(_pending_changes()) == []


def test_passkeys_migration_depends_on_core() -> None:
    import importlib

    initial = importlib.import_module(f"{passkeys_migrations}.0001_initial")
    assert ("core", "0001_initial") in initial.Migration.dependencies
