"""`mypage import`: read a file, run the import service, print the report."""

from __future__ import annotations

import asyncio
import getpass
import socket
import sys
from pathlib import Path
from typing import TextIO

from server.audit.service import Actor
from server.imports.reader import ImportRejected, check_size
from server.imports.service import Kind, import_file
from server.lib.clock import system_clock

SHOWN_PROBLEMS = 200


def operator() -> Actor:
    """Who runs the command, as far as the machine knows."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(kind="operator", user_agent=f"mypage import ({user}@{socket.gethostname()})")


def print_report(rejected: ImportRejected, source: str, out: TextIO) -> None:
    """The per-row report: line, column, value and the reason in Japanese."""
    print(f"取り込めませんでした: {source}", file=out)
    print(rejected.message, file=out)
    for problem in rejected.problems[:SHOWN_PROBLEMS]:
        print(f"  {problem}", file=out)
    hidden = rejected.total - min(len(rejected.problems), SHOWN_PROBLEMS)
    if hidden > 0:
        print(f"  ほか {hidden}件", file=out)


def _read(path: Path) -> bytes:
    check_size(path.stat().st_size)
    return path.read_bytes()


async def run_import(kind: str, file: str, *, dry_run: bool) -> int:
    """Exit status: 0 imported (or checked), 1 rejected (nothing written), 2 unreadable file."""
    path = Path(file)
    try:
        data = await asyncio.to_thread(_read, path)
    except ImportRejected as rejected:
        print_report(rejected, file, sys.stderr)
        return 1
    except OSError as error:
        print(f"ファイルを読めません: {file}（{error.strerror}）", file=sys.stderr)
        return 2

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        result = await import_file(
            Kind(kind),
            data,
            source=path.name,
            actor=operator(),
            now=system_clock(),
            dry_run=dry_run,
            progress=progress,
        )
    except ImportRejected as rejected:
        print_report(rejected, file, sys.stderr)
        return 1
    print(result.summary())
    return 0
