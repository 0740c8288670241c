"""Issue 18 on PostgreSQL: 1 vs 2 workers, the 200-session soak, and the outbox drain.

    .venv/bin/python bench/multi_bench.py --postgres postgres://postgres@127.0.0.1:5432/postgres \
        [--part throughput|soak|drain|all] [--seconds 10] [--rounds 3] [--soak-seconds 60] \
        [--sessions 200] [--mails 10000] [--root DIR]

- throughput: signed-in home and /card, `mypage serve --workers 1` and
  `--workers 2` on the same database, measured alternately (wrk, 50 conns).
- soak: N signed-in sessions (bulk demo members, sessions made by the app's
  own `start_session`) for S seconds over home, /card, /statements, the
  month page and its PDF, one wrk per page (connections split in proportion),
  each cycling through every session's cookie; req/s, p99 per page, 5xx (from
  the server's access log), RSS of the server's processes before and after.
- drain: M mails queued while SMTP is down (`mypage worker` tries each once,
  so each waits out its backoff), then SMTP comes back: time until all are sent.

Everything runs on 127.0.0.1, on a database of its own that is dropped at
the end. `--root` runs the server from another checkout (e.g. an older
commit exported with `git archive`) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from import_bench import drop_db, fresh_db  # type: ignore[import-not-found]

from bench import wrk
from bench.foundation_bench import wait
from server import db
from server.mail.catcher import MailCatcher

ROOT = Path(__file__).resolve().parents[1]
PAGES = {  # share of the soak's connections
    "/": 0.35,
    "/card": 0.2,
    "/statements": 0.15,
    "/statements/{month}": 0.15,
    "/statements/{month}.pdf": 0.15,
}
ROTATE_LUA = """
cookies = {{{cookies}}}
n = 0
request = function()
  n = n + 1
  local cookie = "mypage_session=" .. cookies[(n % #cookies) + 1]
  return wrk.format("GET", "{path}", {{["Cookie"] = cookie}})
end
"""
STATUS_RE = re.compile(r'" (\d{3}) \d+ [\d.]+ms')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (hypercorn's workers), MiB."""
    pids = [pid]
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    pids += [int(p) for p in children.split()]
    total = 0
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except FileNotFoundError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return total / 1024


class Server:
    """`mypage serve` in a process of its own."""

    def __init__(self, env: dict[str, str], work: Path, workers: int, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work / f"server-{self.port}.log"
        cmd = [sys.executable, "-m", "server", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*cmd, "--workers", str(workers)],
            env=env,
            cwd=root,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait(self.url + "/login")

    def statuses(self) -> Counter[str]:
        return Counter(STATUS_RE.findall(self.log.read_text(errors="replace")))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def make_sessions(url: str, count: int) -> tuple[list[str], str]:
    """Session cookies for `count` bulk demo members, and the month they all have."""
    from server.audit.service import Actor
    from server.auth.models import Account
    from server.auth.session_store import SessionPolicy
    from server.auth.sessions import start_session
    from server.statements.models import StatementLine

    await db.init_db(url)
    try:
        policy = SessionPolicy(idle=timedelta(hours=2), absolute=timedelta(hours=12))
        accounts = await Account.filter(email__startswith="member").order_by("id").limit(count)
        now = datetime.now(UTC)
        actor = Actor(kind="member", ip="127.0.0.1", user_agent="bench")
        tokens = [
            await start_session(a, policy, now, method="password", actor=actor) for a in accounts
        ]
        line = await StatementLine.filter(member_id=accounts[0].member_id).first()
        assert line is not None
        return tokens, line.billing_month
    finally:
        await db.close_db()


def throughput(args: argparse.Namespace, env: dict[str, str], work: Path, url: str) -> None:
    servers = {n: Server(env, work, n, args.root) for n in (1, 2)}
    try:
        tokens, _ = asyncio.run(make_sessions(url, 1))
        cookie = {"Cookie": f"mypage_session={tokens[0]}"}
        rows: dict[tuple[str, int], list[wrk.Result]] = {}
        for _ in range(args.rounds):
            for path in ("/", "/card"):
                for workers, server in servers.items():
                    wrk.run(server.url + path, seconds=2, connections=50, headers=cookie)  # warm
                    result = wrk.run(
                        server.url + path, seconds=args.seconds, connections=50, headers=cookie
                    )
                    rows.setdefault((path, workers), []).append(result)
        print("\n| page | workers | req/s (median) | rounds | p50 ms | p99 ms | non-2xx |")
        print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
        for (path, workers), results in rows.items():
            mid = sorted(results, key=lambda r: r.rps)[len(results) // 2]
            rounds = ", ".join(f"{r.rps:,.0f}" for r in results)
            print(
                f"| {path} | {workers} | {mid.rps:,.0f} | {rounds} | {mid.p50:.1f} "
                f"| {mid.p99:.1f} | {sum(r.non_2xx_3xx for r in results)} |"
            )
    finally:
        for server in servers.values():
            server.stop()


def soak(args: argparse.Namespace, env: dict[str, str], work: Path, url: str) -> None:
    tokens, month = asyncio.run(make_sessions(url, args.sessions))
    server = Server(env, work, args.workers, args.root)
    try:
        cookies = ",".join(f'"{t}"' for t in tokens)
        for path in PAGES:  # one request of each, so no first-use cost lands in the soak
            wrk.run(
                server.url + path.format(month=month),
                seconds=1,
                connections=2,
                headers={"Cookie": f"mypage_session={tokens[0]}"},
            )
        before_rss = tree_rss_mb(server.process.pid)
        before = server.statuses()
        runs = []
        for path, share in PAGES.items():
            real = path.format(month=month)
            script = work / f"soak{len(runs)}.lua"
            script.write_text(ROTATE_LUA.format(cookies=cookies, path=real))
            conns = max(1, round(args.sessions * share))
            # wrk's 2 s default timeout would leave the slowest requests out of p99.
            cmd = wrk.command(
                server.url + real,
                seconds=args.soak_seconds,
                connections=conns,
                script=script,
                timeout=30,
            )
            runs.append((path, conns, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)))
        results = [(path, conns, wrk.parse(proc.communicate()[0])) for path, conns, proc in runs]
        after_rss = tree_rss_mb(server.process.pid)
        statuses = server.statuses() - before
        fivexx = sum(n for code, n in statuses.items() if code.startswith("5"))
        print(f"\nsoak: {args.sessions} sessions, {args.soak_seconds} s, {args.workers} worker(s)")
        print("| page | conns | req/s | p50 ms | p99 ms | non-2xx/3xx | timeouts |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for path, conns, r in results:
            print(
                f"| {path} | {conns} | {r.rps:,.0f} | {r.p50:.1f} | {r.p99:.1f} "
                f"| {r.non_2xx_3xx} | {r.timeouts} |"
            )
        total = sum(r.rps for _, _, r in results)
        print(
            f"total {total:,.0f} req/s; statuses {dict(statuses)}; 5xx {fivexx}; "
            f"RSS {before_rss:.0f} -> {after_rss:.0f} MiB"
        )
    finally:
        server.stop()


async def queue_mails(url: str, count: int) -> None:
    from server.config import Settings
    from server.mail.compose import enqueue_mail

    await db.init_db(url)
    try:
        settings = Settings.from_env()
        now = datetime.now(UTC)
        for n in range(count):
            await enqueue_mail(
                f"drain{n}@example.jp", "password_changed", settings, now, name="組合員"
            )
    finally:
        await db.close_db()


async def pending(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL"))
    finally:
        await conn.close()


def drain(args: argparse.Namespace, env: dict[str, str], work: Path, url: str) -> None:
    smtp_port = free_port()
    env = {**env, "MYPAGE_SMTP_PORT": str(smtp_port)}
    os.environ.update(env)  # the mail is sealed with the settings the worker will read
    started = time.perf_counter()
    asyncio.run(queue_mails(url, args.mails))
    queued_in = time.perf_counter() - started
    log = (work / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "server", "worker"],
        env=env,
        cwd=args.root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # SMTP is down: wait until every row was tried once and waits for its retry.
        async def all_tried() -> bool:
            import asyncpg

            conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
            try:
                left = await conn.fetchval("SELECT count(*) FROM outbox_message WHERE attempts = 0")
                return int(left) == 0
            finally:
                await conn.close()

        outage = time.perf_counter()
        while not asyncio.run(all_tried()):
            time.sleep(0.5)
        outage = time.perf_counter() - outage
        arrived = [0]
        catcher = MailCatcher(
            smtp_port, keep=10, on_mail=lambda _m: arrived.__setitem__(0, arrived[0] + 1)
        )
        catcher.start()
        up = time.perf_counter()
        first = None
        while asyncio.run(pending(url)) > 0:
            if first is None and arrived[0]:
                first = time.perf_counter() - up
            time.sleep(0.25)
            if time.perf_counter() - up > 900:
                raise SystemExit("not drained in 15 minutes")
        done = time.perf_counter() - up
        catcher.stop()
        print(
            f"\ndrain: {args.mails} mails queued in {queued_in:.1f} s; all tried once while "
            f"SMTP was down in {outage:.1f} s; SMTP back: first delivery after "
            f"{first or 0:.1f} s, all {arrived[0]} delivered {done:.1f} s after SMTP came back "
            f"({args.mails / max(done - (first or 0), 0.001):,.0f} mails/s once flowing)"
        )
    finally:
        worker.terminate()
        worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server URL (any database)")
    parser.add_argument("--part", default="all", choices=["throughput", "soak", "drain", "all"])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--soak-seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="workers in the soak")
    parser.add_argument("--mails", type=int, default=10000)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout the server runs from")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, root {args.root}"
    )
    work = Path(tempfile.mkdtemp(prefix="mypage-multi-"))
    url = asyncio.run(fresh_db(args.postgres))
    mailbox = MailCatcher().start()
    env = {
        **os.environ,
        "MYPAGE_ENV": "test",
        "MYPAGE_DATABASE_URL": url,
        "MYPAGE_RATE_LIMITS": "false",
        "MYPAGE_DATA_DIR": str(work / "data"),
        "MYPAGE_SMTP_HOST": "127.0.0.1",
        "MYPAGE_SMTP_PORT": str(mailbox.port),
    }
    try:
        subprocess.run(
            [sys.executable, "-m", "server", "demo", "--members", str(args.members)],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if args.part in ("throughput", "all"):
            throughput(args, env, work, url)
        if args.part in ("soak", "all"):
            soak(args, env, work, url)
        if args.part in ("drain", "all"):
            drain(args, env, work, url)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        mailbox.stop()
        asyncio.run(drop_db(url, args.postgres))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
