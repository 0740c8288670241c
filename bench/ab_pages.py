"""Two checkouts' servers and the bare route side by side, alternated under wrk.

Usage: .venv/bin/python bench/ab_pages.py OLD_CHECKOUT NEW_CHECKOUT [--path /card]
       [--rounds 4] [--seconds 8] [--postgres]
Each checkout serves its own demo database (SQLite, or with --postgres a
database of its own on 127.0.0.1:5432, dropped after) as in production
(MYPAGE_ENV=test); the demo member signs in to each. Every round runs the
bare route, then the old and the new page, so drift of the VM hits all three
alike. Prints req/s and server CPU per request for each run and the median
ratio to the bare route. Needs wrk.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import wrk
from bench.card_speed_bench import cpu_seconds, median
from bench.foundation_bench import sign_in, wait
from server.mail.catcher import MailCatcher

PG = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"]


def serve(checkout: Path, index: int, mailbox: MailCatcher, postgres: bool, log) -> tuple:
    """Migrate, load the demo and start one checkout's server; (process, base URL)."""
    work = Path(tempfile.mkdtemp(prefix="mypage-ab-"))
    if postgres:
        subprocess.run([*PG, f"drop database if exists mypage_ab_{index}"], check=True)
        subprocess.run([*PG, f"create database mypage_ab_{index}"], check=True)
        url = f"postgres://postgres@127.0.0.1:5432/mypage_ab_{index}"
    else:
        url = f"sqlite://{work / 'db.sqlite3'}"
    env = {
        **os.environ,
        "MYPAGE_ENV": "test",
        "MYPAGE_DATABASE_URL": url,
        "MYPAGE_RATE_LIMITS": "false",
        "MYPAGE_DATA_DIR": str(work / "data"),
        "MYPAGE_SMTP_HOST": mailbox.host,
        "MYPAGE_SMTP_PORT": str(mailbox.port),
    }
    py = str(checkout / ".venv" / "bin" / "python")
    for command in ("migrate", "demo"):
        subprocess.run([py, "-m", "server", command], env=env, cwd=checkout, check=True)
    port = 8131 + index
    process = subprocess.Popen(
        [py, "-m", "server", "serve", "--port", str(port)],
        env=env,
        cwd=checkout,
        stdout=log,
        stderr=log,
    )
    return process, f"http://127.0.0.1:{port}"


def main() -> None:
    """Serve both, sign in, alternate the runs, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--path", default="/card")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    mailbox = MailCatcher().start()
    log = (Path(tempfile.mkdtemp(prefix="mypage-ab-log-")) / "servers.log").open("wb")
    checkouts = [args.old.resolve(), args.new.resolve()]
    servers = [serve(c, i, mailbox, args.postgres, log) for i, c in enumerate(checkouts)]
    bare = subprocess.Popen(
        [sys.executable, "bench/bare_app.py", "8135"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=log,
        stderr=log,
    )
    try:
        runs = [("bare route", bare.pid, "http://127.0.0.1:8135/", {})]
        wait("http://127.0.0.1:8135/")
        for checkout, (process, base) in zip(checkouts, servers, strict=True):
            wait(base + "/login")
            mailbox.clear()  # the code read next is this server's
            cookie = {"Cookie": "mypage_session=" + sign_in(base, mailbox)[0]}
            runs.append((str(checkout), process.pid, base + args.path, cookie))
        for _, _, url, headers in runs:
            wrk.run(url, seconds=2, connections=50, headers=headers)  # warm-up
        found: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in runs}
        for _ in range(args.rounds):
            for name, pid, url, headers in runs:
                before = cpu_seconds(pid)
                result = wrk.run(url, seconds=args.seconds, connections=50, headers=headers)
                cpu = (cpu_seconds(pid) - before) / max(result.requests, 1) * 1e6
                found[name].append((result.rps, cpu))
        load = os.getloadavg()
        print(f"{args.path}, wrk -t1 -c50, {args.rounds} rounds of {args.seconds} s; load {load}")
        print("| run | req/s per round | CPU µs / request (median) | / bare route (median) |")
        print("| --- | --- | ---: | ---: |")
        bare_rps = [rps for rps, _ in found["bare route"]]
        for name, values in found.items():
            ratios = [rps / b for (rps, _), b in zip(values, bare_rps, strict=True)]
            print(
                f"| {name} | {', '.join(f'{rps:,.0f}' for rps, _ in values)} "
                f"| {median([cpu for _, cpu in values]):,.0f} | {median(ratios):.0%} |"
            )
    finally:
        for process in [bare, *(p for p, _ in servers)]:
            process.terminate()
            process.wait()
        mailbox.stop()
        if args.postgres:
            for index in range(2):
                subprocess.run([*PG, f"drop database if exists mypage_ab_{index}"], check=False)


if __name__ == "__main__":
    main()
