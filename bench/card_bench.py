"""Benchmark of the membership card and the offline PWA.

    .venv/bin/python bench/card_bench.py [--runs 15] [--lighthouse-runs 3] [--no-lighthouse]

Starts a real server (hypercorn, `mypage serve`) on a fresh SQLite database
with the demo data, then measures with the system Chromium (headless):

1. bytes transferred for /login, / and /card on a cold load (no HTTP cache,
   no service worker): HTML, CSS and JS as the browser received them
   (gzip), and their uncompressed size;
2. time from navigation to the card being painted offline (served by the
   service worker from its copy), against the same online;
3. Lighthouse 12 (mobile, its default throttling) scores for /card, when
   `npx lighthouse@12` (or $LIGHTHOUSE) runs here; CHROME_PATH defaults to
   /usr/bin/chromium.

Prints a Markdown summary and writes the raw numbers to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
EMAIL, PASSWORD = "demo@example.jp", "gunma-demo-2026"
COUNTED = {"Document": "html", "Stylesheet": "css", "Script": "js"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`mypage migrate`, `mypage demo`, `mypage serve` on a throwaway database."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = {
            **os.environ,
            "MYPAGE_ENV": "test",
            "MYPAGE_DATABASE_URL": f"sqlite://{workdir / 'bench.sqlite3'}",
            "MYPAGE_BASE_URL": self.url,
            "MYPAGE_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
            "MYPAGE_RATE_LIMITS": "false",
            "MYPAGE_DATA_DIR": str(workdir / "data"),
            "MYPAGE_SMTP_HOST": "127.0.0.1",
            "MYPAGE_SMTP_PORT": str(free_port()),
        }
        self.log = (workdir / "server.log").open("wb")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        for args in (["migrate"], ["demo"]):
            subprocess.run(
                [sys.executable, "-m", "server", *args],
                env=self.env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--host",
                "localhost",
                "--port",
                str(self.port),
            ],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.log.close()


def sign_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("メールアドレス").fill(EMAIL)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("/")


def transfer(context: BrowserContext, path: str) -> dict[str, Any]:
    """Bytes on the wire (headers + gzip body) and uncompressed bodies, cold, for one page."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    kinds: dict[str, str] = {}
    urls: dict[str, str] = {}
    decoded: dict[str, int] = {}
    wire: dict[str, int] = {}
    cdp.on("Network.responseReceived", lambda e: kinds.__setitem__(e["requestId"], e["type"]))
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )

    def data(e: dict[str, Any]) -> None:
        decoded[e["requestId"]] = decoded.get(e["requestId"], 0) + e["dataLength"]

    cdp.on("Network.dataReceived", data)
    cdp.on(
        "Network.loadingFinished",
        lambda e: wire.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    page.goto(path, wait_until="load")
    page.wait_for_timeout(500)
    result: dict[str, Any] = {"path": path, "final_url": page.url, "files": []}
    for request_id, size in wire.items():
        kind = COUNTED.get(kinds.get(request_id, ""), "other")
        result["files"].append(
            {
                "url": urls.get(request_id, "").replace(context_base(page), ""),
                "kind": kind,
                "transferred": size,
                "uncompressed": decoded.get(request_id, 0),
            }
        )
    counted = [f for f in result["files"] if f["kind"] != "other"]
    result["transferred"] = sum(f["transferred"] for f in counted)
    result["uncompressed"] = sum(f["uncompressed"] for f in counted)
    result["transferred_all"] = sum(f["transferred"] for f in result["files"])
    page.close()
    return result


def context_base(page: Page) -> str:
    parts = urllib.parse.urlsplit(page.url)
    return f"{parts.scheme}://{parts.netloc}"


def paint_times(context: BrowserContext, runs: int) -> dict[str, Any]:
    """Navigation to first contentful paint and to the name being on screen, online and offline."""
    page = context.new_page()
    sign_in(page)
    page.goto("/card")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function(
        """async () => { for (const n of await caches.keys())
             if (n.startsWith("mypage-member-") && await (await caches.open(n)).match("/card"))
               return true; return false; }"""
    )
    measure = """() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      return {fcp: fcp ? fcp.startTime : null, dcl: nav.domContentLoadedEventEnd,
              banner: !document.querySelector("[data-offline-banner]").hidden};
    }"""
    results: dict[str, Any] = {}
    for mode in ("online", "offline"):
        context.set_offline(mode == "offline")
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            page.goto("/card", wait_until="commit")
            page.locator(".card-name-kanji").wait_for(state="visible")
            visible_ms = (time.perf_counter() - start) * 1000
            page.wait_for_load_state("load")
            page.wait_for_function(
                "() => performance.getEntriesByName('first-contentful-paint').length > 0"
            )
            entry = page.evaluate(measure)
            assert entry["banner"] == (mode == "offline"), entry
            samples.append({"fcp_ms": entry["fcp"], "visible_ms": visible_ms})
        fcps = sorted(s["fcp_ms"] for s in samples)
        results[mode] = {
            "runs": runs,
            "fcp_median_ms": statistics.median(fcps),
            "fcp_p90_ms": fcps[max(0, -(-len(fcps) * 9 // 10) - 1)],
            "fcp_max_ms": max(s["fcp_ms"] for s in samples),
            "visible_median_ms": statistics.median(s["visible_ms"] for s in samples),
            "visible_max_ms": max(s["visible_ms"] for s in samples),
            "samples": samples,
        }
    context.set_offline(False)
    page.close()
    return results


def session_cookie(base: str) -> str:
    """Sign in over plain HTTP and return the Cookie header a browser would send."""
    jar = CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    html = opener.open(base + "/login").read().decode()
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    body = urllib.parse.urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    try:
        opener.open(base + "/login", data=body.encode())
    except urllib.error.HTTPError as error:
        if error.code != 303:
            raise
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def lighthouse(base: str, runs: int) -> dict[str, Any] | None:
    """Lighthouse 12 (mobile) on /card, signed in through an extra Cookie header."""
    command = shlex.split(os.environ.get("LIGHTHOUSE", "npx --yes lighthouse@12"))
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", CHROMIUM)}
    try:
        version = subprocess.run(
            [*command, "--version"], env=env, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"lighthouse not available: {error}", file=sys.stderr)
        return None
    if version.returncode != 0:
        print(f"lighthouse not available: {version.stderr[-500:]}", file=sys.stderr)
        return None
    scores: list[dict[str, float]] = []
    metrics: list[dict[str, float]] = []
    for i in range(runs):
        report = OUT / f"lighthouse-card-{i}.json"
        run = subprocess.run(
            [
                *command,
                base + "/card",
                "--only-categories=performance,accessibility,best-practices",
                "--output=json",
                f"--output-path={report}",
                "--quiet",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
                "--extra-headers",
                json.dumps({"Cookie": session_cookie(base)}),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if run.returncode != 0:
            print(run.stderr[-2000:], file=sys.stderr)
            continue
        data = json.loads(report.read_text())
        if not data["finalDisplayedUrl"].endswith("/card"):
            raise RuntimeError(f"lighthouse was not signed in: {data['finalDisplayedUrl']}")
        scores.append({k: round(v["score"] * 100) for k, v in data["categories"].items()})
        audits = data["audits"]
        metrics.append(
            {
                name: audits[name]["numericValue"]
                for name in (
                    "first-contentful-paint",
                    "largest-contentful-paint",
                    "total-blocking-time",
                    "cumulative-layout-shift",
                    "speed-index",
                )
            }
        )
        failed = [
            f"{category}: {audit_id}"
            for category, body in data["categories"].items()
            for ref in body["auditRefs"]
            if ref["weight"] > 0
            and (audit_id := ref["id"]) in audits
            and audits[audit_id]["score"] is not None
            and audits[audit_id]["score"] < 1
        ]
        if failed:
            print(f"lighthouse run {i}: not full marks: {failed}", file=sys.stderr)
    if not scores:
        return None
    return {
        "version": version.stdout.strip(),
        "runs": scores,
        "metrics": metrics,
        "median": {key: statistics.median(s[key] for s in scores) for key in scores[0]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--lighthouse-runs", type=int, default=3)
    parser.add_argument("--no-lighthouse", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp)) as server:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            results["chromium"] = browser.version
            anonymous = browser.new_context(
                base_url=server.url, locale="ja-JP", service_workers="block"
            )
            member = browser.new_context(
                base_url=server.url, locale="ja-JP", service_workers="block"
            )
            login_page = member.new_page()
            sign_in(login_page)
            login_page.close()
            results["transfer"] = [
                transfer(anonymous, "/login"),
                transfer(member, "/"),
                transfer(member, "/card"),
            ]
            offline = browser.new_context(base_url=server.url, locale="ja-JP")
            results["paint"] = paint_times(offline, args.runs)
            browser.close()
        if not args.no_lighthouse:
            results["lighthouse"] = lighthouse(server.url, args.lighthouse_runs)
    results["load_average"] = [round(x, 1) for x in os.getloadavg()]
    (OUT / "card_bench.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(summary(results))


def summary(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']}, Chromium {results['chromium']}, "
        f"load average at the end (1/5/15 min): {results['load_average']}",
        "",
    ]
    lines.append("| page | HTML+CSS+JS transferred | uncompressed | everything transferred |")
    lines.append("| --- | ---: | ---: | ---: |")
    for item in results["transfer"]:
        lines.append(
            f"| {item['path']} | {item['transferred'] / 1024:.1f} KB | "
            f"{item['uncompressed'] / 1024:.1f} KB | {item['transferred_all'] / 1024:.1f} KB |"
        )
    lines.append("")
    lines.append(
        "| /card | FCP median | FCP p90 | FCP max | name visible median | name visible max |"
    )
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for mode, p in results["paint"].items():
        lines.append(
            f"| {mode} ({p['runs']} runs) | {p['fcp_median_ms']:.0f} ms | {p['fcp_p90_ms']:.0f} ms"
            f" | {p['fcp_max_ms']:.0f} ms"
            f" | {p['visible_median_ms']:.0f} ms | {p['visible_max_ms']:.0f} ms |"
        )
    lh = results.get("lighthouse")
    lines.append("")
    if lh:
        lines.append(
            f"Lighthouse {lh['version']} /card (mobile), "
            f"median of {len(lh['runs'])}: {lh['median']}"
        )
        lines.append(f"runs: {lh['runs']}")
    else:
        lines.append("Lighthouse: not run")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
