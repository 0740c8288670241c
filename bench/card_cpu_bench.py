"""CPU of a signed-in /card and home, the card's render and each response hook, in process.

Usage: .venv/bin/python bench/card_cpu_bench.py [--repeats 15]
Run it from two checkouts one after the other (old, new, old, new) to compare
code. A throwaway SQLite database with the demo data; the member signs in
once through a real server (the mailed code from the SMTP catcher), then the
app runs under Quart's test client in this process. Each figure is the
minimum over `--repeats` batches of `time.process_time()` per call: on a VM
shared with other test suites the minimum moves by a few per cent where a
10-second wrk run's throughput moves by twenty points. The hooks are timed on
a 6.4 KB text/html response made for each call; "(Response() alone)" is that
making, to subtract.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.foundation_bench import sign_in, wait
from server.mail.catcher import MailCatcher

ROOT = Path(__file__).resolve().parents[1]


def prepare(work: Path) -> tuple[dict[str, str], str]:
    """Migrate, load the demo data and sign the demo member in; (environment, cookie)."""
    mailbox = MailCatcher().start()
    env = {
        **os.environ,
        "MYPAGE_ENV": "test",
        "MYPAGE_DATABASE_URL": f"sqlite://{work / 'bench.sqlite3'}",
        "MYPAGE_RATE_LIMITS": "false",
        "MYPAGE_DATA_DIR": str(work / "data"),
        "MYPAGE_SMTP_HOST": mailbox.host,
        "MYPAGE_SMTP_PORT": str(mailbox.port),
        "MYPAGE_OUTBOX_SENDER": "1",
    }
    py = sys.executable
    for command in ("migrate", "demo"):
        subprocess.run([py, "-m", "server", command], env=env, cwd=ROOT, check=True)
    server = subprocess.Popen(
        [py, "-m", "server", "serve", "--port", "8151"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait("http://127.0.0.1:8151/login")
        session, _, _, _ = sign_in("http://127.0.0.1:8151", mailbox)
    finally:
        server.terminate()
        server.wait()
        mailbox.stop()
    env["MYPAGE_OUTBOX_SENDER"] = "0"
    return env, f"mypage_session={session}"


async def measure(cookie: str, repeats: int) -> dict[str, float]:
    """µs of CPU per call, minimum over the batches."""
    from quart import Response, g

    from server.app import create_app
    from server.auth.web import now
    from server.card.service import card_for
    from server.config import Settings
    from server.lib.render import render_page

    found: dict[str, float] = {}

    async def timed(name: str, call: Callable[[], Awaitable[object]], batch: int) -> None:
        for _ in range(30):
            await call()
        best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            for _ in range(batch):
                await call()
            best = min(best, (time.process_time() - started) / batch * 1e6)
        found[name] = best

    app = create_app(Settings.from_env())
    async with app.test_app():
        client = app.test_client()
        headers = {"Cookie": cookie}
        for path in ("/card", "/"):

            async def page(path: str = path) -> None:
                response = await client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code)
                await response.get_data()

            await timed(f"request {path}", page, 300)
        async with app.test_request_context("/card", headers=headers):
            await app.preprocess_request()
            card = card_for(g.member, now())

            async def render() -> None:
                await render_page("card/card.html", card=card, shops_url=None)

            await timed("render card/card.html", render, 1000)
            for hook in app.after_request_funcs[None]:
                run = app.ensure_async(hook)

                async def after(run: Callable[..., Awaitable[object]] = run) -> None:
                    await run(Response("<p>x</p>" * 800))

                await timed(f"after_request {hook.__qualname__.split('.')[-1]}", after, 1000)

            async def make() -> None:
                Response("<p>x</p>" * 800)

            await timed("(Response() alone)", make, 1000)
    return found


def main() -> None:
    """Prepare, measure, print one markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mypage-card-cpu-"))
    env, cookie = prepare(work)
    os.environ.update(env)
    load = os.getloadavg()
    found = asyncio.run(measure(cookie, args.repeats))
    print(f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; µs of CPU per call (min)\n")
    print("| what | µs |\n| --- | ---: |")
    for name, value in found.items():
        print(f"| {name} | {value:.1f} |")


if __name__ == "__main__":
    main()
