"""Card speed: server-rendered /card vs the bare route; issue, renew and verify per second.

Usage: .venv/bin/python bench/card_speed_bench.py [--seconds 10] [--rounds 5]
       [--connections 50] [--pages-only] [--database-url postgres://.../<empty database>]
Needs wrk (apt-get install wrk). Runs the app as in production (MYPAGE_ENV=test)
on a fresh SQLite database (or the empty PostgreSQL database given; pages only)
with the demo data, rate limits off (one address),
beside `bench/bare_app.py`, and prints a markdown block for bench/RESULTS.md.
Beside each page's throughput it prints the server's CPU per request (from
/proc, all its threads): on a VM shared with other test suites the
throughput of one 10-second run moves by 20 points, the CPU it took per
request much less. Also prints the QR's minimal version (error level M, alphanumeric) and length
for the demo member's code and for a long name.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import segno
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import wrk
from bench.foundation_bench import sign_in, wait
from server.card.cose import (
    decode_sign1,
    qr_text,
    raw_point,
    renew_message,
    sign1,
    sign_raw,
)
from server.card.keys import load_keyring
from server.config import Settings
from server.mail.catcher import MailCatcher

ROOT = Path(__file__).resolve().parents[1]
LONG_NAME, LONG_KANA = "勅使河原 三郎左衛門之助", "テシガワラ サブロウザエモンノスケ"
POST_LUA = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["X-CSRF-Token"] = "{token}"
"""
# One pre-signed renewal per certificate: each body is used once (then it would be refused).
RENEW_LUA = """
local bodies = {{{bodies}}}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["X-CSRF-Token"] = "{token}"
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[((i - 1) % #bodies) + 1])
end
"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def page_token(url: str, cookie: str) -> str:
    """The CSRF token of a page's meta tag, for the visitor the cookie names."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    html = urllib.request.urlopen(request).read().decode()
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def post_json(url: str, body: dict, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    return json.loads(urllib.request.urlopen(request).read())


def qr_size(text: str) -> str:
    code = segno.make_qr(text, error="m", mode="alphanumeric", boost_error=False)
    return f"version {code.version}-{code.error}, {len(text)} characters"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its threads so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def median_round(rounds: list[tuple[float, wrk.Result, wrk.Result]]):
    rounds.sort(key=lambda r: r[0])
    return rounds[len(rounds) // 2]


def main() -> None:
    """Run the measurements and print the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--pages-only", action="store_true")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (pages only)")
    args = parser.parse_args()
    if args.database_url:
        # The renewal run reads the certificates' ids straight from the SQLite file.
        args.pages_only = True
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="mypage-card-bench-"))
    mailbox = MailCatcher().start()
    database = work / "bench.sqlite3"
    env = {
        **os.environ,
        "MYPAGE_ENV": "test",
        "MYPAGE_DATABASE_URL": args.database_url or f"sqlite://{database}",
        "MYPAGE_RATE_LIMITS": "false",
        "MYPAGE_DATA_DIR": str(work / "data"),
        "MYPAGE_SMTP_HOST": mailbox.host,
        "MYPAGE_SMTP_PORT": str(mailbox.port),
    }
    py = sys.executable
    subprocess.run([py, "-m", "server", "migrate"], env=env, cwd=ROOT, check=True)
    subprocess.run([py, "-m", "server", "demo"], env=env, cwd=ROOT, check=True)
    app_port, bare_port = 8111, 8112
    log = (work / "server.log").open("wb")
    procs = [
        subprocess.Popen(
            [py, "-m", "server", "serve", "--port", str(app_port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen(
            [py, "bench/bare_app.py", str(bare_port)], env=env, cwd=ROOT, stdout=log, stderr=log
        ),
    ]
    s, c = args.seconds, args.connections
    results: dict[str, wrk.Result] = {}
    lines: list[str] = []
    load_at_start = os.getloadavg()
    try:
        app, bare = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
        wait(app + "/login")
        wait(bare + "/")
        session, _, _, _ = sign_in(app, mailbox)
        cookie = f"mypage_session={session}"

        def beside_bare(name: str, run) -> None:
            """Alternate the bare route and a run; keep the median round's ratio."""
            rounds = []
            for _ in range(args.rounds):
                bare_run = wrk.run(bare + "/", seconds=s, connections=c)
                measured = run()
                rounds.append((measured.rps / bare_run.rps, bare_run, measured))
            ratio, bare_mid, mid = median_round(rounds)
            results[f"bare route / ({name} round)"] = bare_mid
            results[name] = mid
            each = ", ".join(f"{r:.0%}" for r, _, _ in sorted(rounds, key=lambda r: r[0]))
            lines.append(f"- {name} / bare route: median {ratio:.0%} of {len(rounds)} ({each})")

        # Pages: each round runs the bare route, /card and home back to back (the
        # VM's speed drifts from minute to minute), and the median round is kept.
        signed_in = {"Cookie": cookie}
        for url, headers in ((bare + "/", {}), (app + "/card", signed_in), (app + "/", signed_in)):
            wrk.run(url, seconds=2, connections=c, headers=headers)  # warm-up, not counted
        page_rounds = []
        cpu: dict[str, list[float]] = {"bare": [], "card": [], "home": []}

        def timed(key: str, pid: int, url: str, headers: dict[str, str]) -> wrk.Result:
            """One wrk run, and the server's CPU per request (µs) during it."""
            before = cpu_seconds(pid)
            result = wrk.run(url, seconds=s, connections=c, headers=headers)
            cpu[key].append((cpu_seconds(pid) - before) / max(result.requests, 1) * 1e6)
            return result

        app_pid, bare_pid = procs[0].pid, procs[1].pid
        for _ in range(args.rounds):
            bare_run = timed("bare", bare_pid, bare + "/", {})
            card_run = timed("card", app_pid, app + "/card", signed_in)
            home_run = timed("home", app_pid, app + "/", signed_in)
            page_rounds.append((card_run.rps / bare_run.rps, bare_run, card_run, home_run))
        page_rounds.sort(key=lambda r: r[0])
        ratio, bare_mid, card_mid, home_mid = page_rounds[len(page_rounds) // 2]
        results["bare route / (median /card round)"] = bare_mid
        results["/card (signed in)"] = card_mid
        results["home / (signed in, same round)"] = home_mid
        each = ", ".join(f"{r[0]:.0%}" for r in page_rounds)
        homes = ", ".join(f"{r[3].rps / r[1].rps:.0%}" for r in page_rounds)
        lines.append(f"- /card / bare route: median {ratio:.0%} of {len(page_rounds)} ({each})")
        lines.append(f"- home / / bare route in the same rounds: {homes}")
        per = {key: median(values) for key, values in cpu.items()}
        lines.append(
            "- server CPU per request, median of the rounds: "
            + ", ".join(f"{key} {value:,.0f} µs" for key, value in per.items())
            + f"; bare / /card {per['bare'] / per['card']:.0%}, bare / home "
            f"{per['bare'] / per['home']:.0%}"
        )
        if not args.pages_only:
            device = ec.generate_private_key(ec.SECP256R1())
            token = page_token(app + "/card", cookie)
            script = work / "issue.lua"
            body = json.dumps({"public_key": b64url(raw_point(device.public_key()))})
            script.write_text(POST_LUA.format(body=body, cookie=cookie, token=token))
            beside_bare(
                "POST /api/card/certificates",
                lambda: wrk.run(
                    app + "/api/card/certificates", seconds=s, connections=c, script=script
                ),
            )
            # Renewal: one pre-signed body per certificate issued above (no session).
            visitor = urllib.request.urlopen(app + "/login")
            visitor_cookie = visitor.headers["Set-Cookie"].split(";")[0]
            visitor_token = page_token(app + "/login", visitor_cookie)
            with sqlite3.connect(database) as db:
                ids = [row[0] for row in db.execute("SELECT id FROM card_certificate")]
            ts = int(time.time() * 1000)
            bodies = ",".join(
                "[["
                + json.dumps(
                    {"id": i, "ts": ts, "signature": b64url(sign_raw(device, renew_message(i, ts)))}
                )
                + "]]"
                for i in ids
            )
            renew_script = work / "renew.lua"
            renew_script.write_text(
                RENEW_LUA.format(bodies=bodies, cookie=visitor_cookie, token=visitor_token)
            )
            renew_run = wrk.run(
                app + "/api/card/renew", seconds=s, connections=c, script=renew_script
            )
            results[f"POST /api/card/renew ({len(ids)} certificates)"] = renew_run
            if renew_run.requests > len(ids):
                lines.append("- renew: more requests than certificates; later ones were refused")
            # Verify: the demo member's current code, checked by a shop's system.
            answer = post_json(
                app + "/api/card/certificates",
                {"public_key": b64url(raw_point(device.public_key()))},
                {"Cookie": cookie, "X-CSRF-Token": token},
            )
            certificate = base64.urlsafe_b64decode(answer["certificate"] + "==")

            def verify_run() -> wrk.Result:
                code = qr_text(certificate, int(time.time()) // 30, device)
                verify_script = work / "verify.lua"
                verify_script.write_text(
                    POST_LUA.format(body=json.dumps({"code": code}), cookie="", token="")
                )
                return wrk.run(
                    app + "/api/card/verify", seconds=s, connections=c, script=verify_script
                )

            beside_bare("POST /api/card/verify", verify_run)
            demo_code = qr_text(certificate, int(time.time()) // 30, device)
            ring = load_keyring(Settings(data_dir=work / "data"))
            payload = dict(decode_sign1(certificate).payload, n=LONG_NAME, k=LONG_KANA)
            long_code = qr_text(sign1(ring.signing_key, ring.kid, payload), 1 << 26, device)
            lines.append(f"- QR for the demo member (山田 花子): {qr_size(demo_code)}")
            lines.append(f"- QR for a long name ({LONG_NAME}, {LONG_KANA}): {qr_size(long_code)}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        mailbox.stop()
    print(f"## Card speed ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    load = os.getloadavg()
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, "
        f"{'PostgreSQL' if args.database_url else 'SQLite (WAL)'}, one hypercorn worker; "
        f"wrk -t1 -c{c}, {s} s per run, {args.rounds} rounds; load average (1/5/15 min) at "
        f"the start {load_at_start[0]:.1f}/{load_at_start[1]:.1f}/{load_at_start[2]:.1f}, "
        f"at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}.\n"
    )
    print("| run | req/s | p50 ms | p99 ms | requests |\n| --- | ---: | ---: | ---: | ---: |")
    for name, result in results.items():
        print(result.row(name))
    print()
    for line in lines:
        print(line)
    bad = {name: r.non_2xx_3xx for name, r in results.items() if r.non_2xx_3xx}
    if bad:
        print(f"- non-2xx/3xx responses: {bad}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
