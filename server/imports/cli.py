"""`mypage import`: read a file, run the import service, print the report."""

from __future__ import annotations

import asyncio
import getpass
import socket
import sys
from pathlib import Path
from typing import TextIO

from server.audit.service import Actor
from server.imports.overrides import FIELD_LABELS, Overwrite
from server.imports.plan import Kind
from server.imports.reader import ImportRejected, check_size, parse_member_no
from server.imports.service import ImportResult, import_file
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


def parse_overwrite(keys: list[str], everything: bool) -> Overwrite:
    """`--overwrite 10000001:address` (repeated) and `--overwrite-all`; raises ValueError."""
    chosen = set()
    for key in keys:
        number, _, field = key.partition(":")
        if field not in FIELD_LABELS:
            names = "、".join(FIELD_LABELS)
            raise ValueError(
                f"--overwrite は「組合員番号:項目」で指定してください（例: 10000001:address）。"
                f"項目は {names} のいずれかです: {key}"
            )
        try:
            chosen.add(f"{parse_member_no(number)}:{field}")
        except ValueError:
            raise ValueError(f"--overwrite の組合員番号が正しくありません: {key}") from None
    return Overwrite(keys=frozenset(chosen), everything=everything)


def print_kept(result: ImportResult, out: TextIO) -> None:
    """Each fact recorded in the console that the file contradicts or does not carry yet."""
    for kept in result.kept:
        print(f"  {kept.line()}", file=out)
    if result.conflicts and not all(k.overwritten for k in result.conflicts):
        print(
            "  競合した項目はポータルの値を残しました。ファイルの値にするには "
            "--overwrite 組合員番号:項目（または --overwrite-all）を付けて取り込んでください。",
            file=out,
        )


async def run_import(
    kind: str,
    file: str,
    *,
    dry_run: bool,
    overwrite: list[str] | None = None,
    overwrite_all: bool = False,
) -> int:
    """Exit status: 0 imported (or checked), 1 rejected (nothing written), 2 bad file or option."""
    path = Path(file)
    try:
        choice = parse_overwrite(overwrite or [], overwrite_all)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    try:
        data = await asyncio.to_thread(_read, path)
    except ImportRejected as rejected:
        print_report(rejected, file, sys.stderr)
        return 1
    except OSError as error:
        print(f"ファイルを読めません: {file}（{error.strerror}）", file=sys.stderr)
        return 2

    def progress(message: str, done: int, total: int) -> None:
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
            overwrite=choice,
        )
    except ImportRejected as rejected:
        print_report(rejected, file, sys.stderr)
        return 1
    print(result.summary())
    print_kept(result, sys.stdout)
    return 0
