"""The `mypage` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from server import db
from server.config import ConfigError, Settings

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    """Register a subcommand handler."""

    def decorate(handler: Handler) -> Handler:
        COMMANDS[name] = handler
        return handler

    return decorate


@command("migrate")
async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply migrations to the configured database."""
    await db.migrate(settings.database_url)
    print("migrate: the database is up to date")
    return 0


@command("demo")
async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Create demo data (development only)."""
    if settings.is_production:
        print("demo: refused in production", file=sys.stderr)
        return 2
    from server.demo import DEMO_EMAIL, DEMO_PASSWORD, create_demo

    await db.init_db(settings.database_url)
    try:
        if args.if_empty and await _has_members():
            print("demo: the database already has members; nothing added")
            return 0
        created = await create_demo(extra_members=args.members)
    finally:
        await db.close_db()
    print("demo: created" if created else "demo: already present")
    print(f"demo sign-in: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    return 0


@command("serve")
async def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the app with hypercorn (the PWA, pages and API)."""
    from server.serve import serve

    return await serve(settings, host=args.host, port=args.port, workers=args.workers)


@command("vapid-keys")
async def cmd_vapid_keys(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new VAPID key pair for MYPAGE_VAPID_PRIVATE_KEY (the private key is secret)."""
    from server.push.vapid import new_key_pair

    private, public = new_key_pair()
    print(f"MYPAGE_VAPID_PRIVATE_KEY={private}")
    print(f"public key (applicationServerKey): {public}")
    return 0


async def _has_members() -> bool:
    from server.members.models import Member

    return await Member.exists()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `mypage`."""
    parser = argparse.ArgumentParser(prog="mypage", description="Co-op My Page")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="apply migrations")
    demo = sub.add_parser("demo", help="create demo data")
    demo.add_argument("--members", type=int, default=0, help="extra members for benchmarks")
    demo.add_argument("--if-empty", action="store_true", help="only into an empty database")
    sub.add_parser("vapid-keys", help="print a new VAPID key pair for push notices")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run `mypage`."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"mypage: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    handler = COMMANDS[args.command]
    raise SystemExit(asyncio.run(handler(args, settings)))
