"""The `mypage` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from server import db
from server.config import ConfigError, Settings
from server.lib.offload import set_cpu_threads

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
    from server.help.demo import add_demo_forms
    from server.lib.clock import system_clock
    from server.staff.demo import DEMO_STAFF_EMAIL, demo_staff_link

    await db.init_db(settings.database_url, settings.db_pool_size)
    try:
        if args.if_empty and await _has_members():
            print("demo: the database already has members; nothing added")
        else:
            created = await create_demo(extra_members=args.members)
            print("demo: created" if created else "demo: already present")
        staff_link = await demo_staff_link(settings, system_clock())
        forms = await add_demo_forms(settings, system_clock())
        if forms:
            print(f"demo: {forms} sample forms on /help/forms")
    finally:
        await db.close_db()
    print(f"demo sign-in: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    if staff_link:
        print(f"demo staff console ({DEMO_STAFF_EMAIL}, admin): register a passkey at {staff_link}")
    else:
        print(f"demo staff console: sign in at {settings.staff_url}/staff/login with the passkey")
    return 0


@command("serve")
async def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the app with hypercorn (the PWA, pages and API)."""
    from server.serve import serve

    return await serve(settings, host=args.host, port=args.port, workers=args.workers)


@command("worker")
async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Deliver the outbox (mail, push notices, staff imports) until interrupted."""
    # Imported here, as every command's own needs are: the CLI starts fast.
    import signal
    from functools import partial

    from server.lib.clock import system_clock
    from server.mail.smtp import MailOutlet
    from server.outbox.runtime import ChannelOpener, run_worker
    from server.push.channel import open_push
    from server.staff.imports.job import open_imports

    # As `mypage serve` does: development mail goes to a catcher of our own;
    # the worker has no /dev/mail page, so it prints each mail here.
    mail = MailOutlet(settings, on_mail=_print_mail)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await db.init_db(settings.database_url, settings.db_pool_size)
    try:
        if mail.catches():
            print("worker: development: mail is caught and printed here (no MYPAGE_SMTP_HOST)")
        else:
            print(f"worker: delivering mail through {settings.smtp_host}:{settings.smtp_port}")
        sys.stdout.flush()
        channels: list[ChannelOpener] = [mail.open, partial(open_push, settings), open_imports]
        await run_worker(settings, system_clock, stop, channels)
    finally:
        await db.close_db()
    print("worker: stopped")
    return 0


def _print_mail(mail: Any) -> None:
    """Development's caught mail, on the worker's terminal."""
    print(f"--- mail to {mail.to}: {mail.subject}\n{mail.body}", flush=True)


@command("initial-passwords")
async def cmd_initial_passwords(args: argparse.Namespace, settings: Settings) -> int:
    """Issue initial passwords and write the mail-merge CSV for the letters."""
    from server.account.service import (
        IssueError,
        issue_initial_passwords,
        members_to_issue,
        write_letter_csv,
    )
    from server.audit.service import Actor
    from server.lib.clock import system_clock

    out = Path(args.out)
    problem = _unwritable(out)
    if problem:
        print(f"initial-passwords: {problem}", file=sys.stderr)
        return 2
    await db.init_db(settings.database_url, settings.db_pool_size)
    try:
        try:
            members = await members_to_issue(args.member_no or [])
        except IssueError as error:
            print(f"initial-passwords: {error.message}", file=sys.stderr)
            return 1
        if not members:
            print("initial-passwords: no member needs an initial password; nothing written")
            return 0
        issued = await issue_initial_passwords(
            members, system_clock(), settings.initial_password_days, Actor(kind="staff"), settings
        )
    finally:
        await db.close_db()
    write_letter_csv(out, issued)
    print(f"initial-passwords: {len(issued)} written to {out} (keep it safe, delete it after use)")
    return 0


def _unwritable(path: Path) -> str:
    # Checked before any password is issued: a file that cannot be written
    # would leave members with passwords nobody can print.
    if path.exists():
        return f"{path} already exists; choose a new file"
    if not path.parent.is_dir():
        return f"no folder {path.parent}"
    return ""


@command("import")
async def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a members, statements or capital CSV file from the core system."""
    from server.imports.cli import run_import

    await db.init_db(settings.database_url, settings.db_pool_size)
    try:
        return await run_import(
            args.kind,
            args.file,
            dry_run=args.dry_run,
            overwrite=args.overwrite,
            overwrite_all=args.overwrite_all,
        )
    finally:
        await db.close_db()


@command("staff")
async def cmd_staff(args: argparse.Namespace, settings: Settings) -> int:
    """Create a staff account, or renew an existing one's, one-time passkey set-up link."""
    from server.audit.service import Actor
    from server.errors import DomainError
    from server.lib.clock import system_clock
    from server.staff.accounts.service import create_staff, setup_link_for

    name = f"staff {args.staff_command}"
    await db.init_db(settings.database_url, settings.db_pool_size)
    try:
        try:
            if args.staff_command == "link":
                staff, url = await setup_link_for(
                    args.email, system_clock(), Actor(kind="system"), settings
                )
            else:
                staff, url = await create_staff(
                    args.email, args.name, args.role, system_clock(), Actor(kind="system"), settings
                )
        except DomainError as error:
            print(f"{name}: {error.message}", file=sys.stderr)
            return 1
    finally:
        await db.close_db()
    hours = settings.staff_setup_link_hours
    done = "created" if args.staff_command == "create" else "has a new set-up link"
    print(
        f"{name}: {staff.email} ({staff.role}) {done}; the passkey set-up link "
        f"(valid {hours} h, once) is queued as mail and goes out with `mypage serve` "
        "or `mypage worker`"
    )
    if args.print_link:
        print(f"set-up link (secret, for this person only): {url}")
    return 0


@command("cleanup")
async def cmd_cleanup(args: argparse.Namespace, settings: Settings) -> int:
    """Delete expired sessions, codes, links and old sent mail now (also hourly when serving)."""
    from server.lib.clock import system_clock
    from server.maintenance import purge_expired

    await db.init_db(settings.database_url, settings.db_pool_size)
    try:
        counts = await purge_expired(system_clock(), settings)
    finally:
        await db.close_db()
    done = ", ".join(f"{table} {n}" for table, n in counts.items() if n) or "nothing"
    print(f"cleanup: deleted {done}")
    return 0


@command("end-sessions")
async def cmd_end_sessions(args: argparse.Namespace, settings: Settings) -> int:
    """Sign every member and every clerk out at once (after a suspected leak); audited."""
    from server.audit.events import AuthEvent
    from server.audit.service import Actor, record
    from server.auth.models import Session
    from server.lib.clock import system_clock
    from server.staff.models import StaffSession

    if not args.all:
        print("end-sessions: add --all to sign everyone out (members and staff)", file=sys.stderr)
        return 2
    await db.init_db(settings.database_url, settings.db_pool_size)
    try:
        members = await Session.all().delete()
        staff = await StaffSession.all().delete()
        await record(
            AuthEvent.SESSIONS_END_EVERYONE,
            Actor(kind="system"),
            system_clock(),
            members=members,
            staff=staff,
        )
    finally:
        await db.close_db()
    print(f"end-sessions: ended {members} member and {staff} staff sessions")
    return 0


@command("backup")
async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Copy the SQLite database to a new file while serving; PostgreSQL: print pg_dump."""
    from server.backup import BackupRefused, backup

    try:
        target = await backup(settings.database_url, Path(args.file))
    except BackupRefused as refused:
        print(f"backup: {refused}", file=sys.stderr)
        return 2
    print(f"backup: written to {target} (restore: stop the app, copy it over the database file)")
    return 0


@command("vapid-keys")
async def cmd_vapid_keys(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new VAPID key pair for MYPAGE_VAPID_PRIVATE_KEY (the private key is secret)."""
    from server.push.vapid import new_key_pair

    private, public = new_key_pair()
    print(f"MYPAGE_VAPID_PRIVATE_KEY={private}")
    print(f"public key (applicationServerKey): {public}")
    return 0


@command("card-keys")
async def cmd_card_keys(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new card signing key (PEM, secret) and its key id, for MYPAGE_CARD_SIGNING_KEY."""
    from server.card.keys import new_key_pem

    pem, kid = new_key_pem()
    print(pem, end="")
    print(f"# kid: {kid}", file=sys.stderr)
    print(
        "# Save the PEM above to a file readable only by the app, set MYPAGE_CARD_SIGNING_KEY "
        "to its path, and list the old key's file in MYPAGE_CARD_RETIRED_KEYS until every "
        "card it signed has expired (30 days).",
        file=sys.stderr,
    )
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
    sub.add_parser("worker", help="deliver the outbox (mail) until interrupted")
    initial = sub.add_parser("initial-passwords", help="issue initial passwords to a CSV file")
    initial.add_argument("--out", required=True, help="CSV file to create (must not exist)")
    initial.add_argument(
        "--member-no",
        action="extend",
        nargs="+",
        help="only these members (NO ... or repeated); default: every member without an account",
    )
    imp = sub.add_parser("import", help="import a CSV file from the core system")
    imp.add_argument("kind", choices=["members", "statements", "capital"])
    imp.add_argument("file", help="CSV file (UTF-8 or CP932)")
    imp.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    imp.add_argument(
        "--overwrite",
        action="append",
        default=[],
        metavar="MEMBER_NO:FIELD",
        help="take the file's value for this conflict with a fact recorded in the console",
    )
    imp.add_argument(
        "--overwrite-all",
        action="store_true",
        help="take the file's value for every conflict listed by --dry-run",
    )
    staff = sub.add_parser("staff", help="staff accounts of the staff console")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    create = staff_sub.add_parser("create", help="create a staff account (mails a set-up link)")
    create.add_argument("email")
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=["admin", "operator"], default="operator")
    create.add_argument(
        "--print-link", action="store_true", help="also print the set-up link (when mail is off)"
    )
    link = staff_sub.add_parser(
        "link", help="mail a new set-up link to an existing staff account (a new staff host)"
    )
    link.add_argument("email")
    link.add_argument(
        "--print-link", action="store_true", help="also print the set-up link (when mail is off)"
    )
    sub.add_parser("cleanup", help="delete expired sessions, codes, links and old sent mail")
    end = sub.add_parser("end-sessions", help="sign every member and clerk out (audited)")
    end.add_argument("--all", action="store_true", help="required: yes, everyone")
    sub.add_parser("vapid-keys", help="print a new VAPID key pair for push notices")
    backup = sub.add_parser("backup", help="copy the SQLite database to FILE (safe while serving)")
    backup.add_argument("file", help="new file to write (must not exist)")
    sub.add_parser("card-keys", help="print a new card signing key (PEM) and its key id")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run `mypage`."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"mypage: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    set_cpu_threads(settings.cpu_threads)
    handler = COMMANDS[args.command]
    raise SystemExit(asyncio.run(handler(args, settings)))
