"""Time from opening the card offline to a valid, device-signed QR painted.

    .venv/bin/python bench/card_paint.py [--runs 20] [--width 390 --height 664] [--cpu-slowdown 4]

Starts a real server (the browser tests' `LiveServer`: migrate, demo, serve,
with their SMTP catcher for the sign-in code) and the system Chromium
(headless). The demo member signs in once and opens /card:
the page makes its key pair and gets its certificate. Then, as at a counter
with no signal and no session: cookies cleared, the browser offline, and /card
opened again `--runs` times. Each run measures, from the navigation's start:

- `qr`: card.js's `card-qr` performance mark, set when the canvas with the QR
  for the current 30-second step (signed by the device key with WebCrypto) is
  in the page, plus the next animation frame (when it is painted);
- `fcp`: first contentful paint.

The first offline open is reported apart (`first_open`). `--cpu-slowdown` asks Chromium (DevTools
CPU throttling) to run that many times slower, as on a low-end phone. Each
painted QR is decoded from a screenshot with zxing-cpp and checked with
`POST /api/card/verify` once online again, so only valid codes count.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402
from tests.e2e.helpers import sign_in, start_catcher, stop_catcher  # noqa: E402

PAINTED_JS = """() => new Promise((resolve) => {
  function done() {
    requestAnimationFrame(() => {
      const mark = performance.getEntriesByName("card-qr")[0];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      resolve({qr: mark ? mark.startTime : null, fcp: fcp ? fcp.startTime : null,
               code: document.getElementById("card-qr").getAttribute("data-code"),
               version: document.getElementById("card-qr").getAttribute("data-qr-version")});
    });
  }
  if (performance.getEntriesByName("card-qr").length) return done();
  new PerformanceObserver((list, observer) => { observer.disconnect(); done(); })
    .observe({entryTypes: ["mark"]});
})"""


def decode(page: Page) -> str:
    """The QR in a screenshot of the viewport, read by zxing-cpp."""
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.screenshot())))
    return str(found[0].text) if found else ""


def run(runs: int, width: int, height: int, slowdown: float) -> dict[str, Any]:
    """Open the card offline `runs` times; the timings of each, and their verdicts."""
    catcher = start_catcher()
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), f"sqlite://{Path(tmp) / 'bench.sqlite3'}", catcher.port)
        server.start()
        try:
            result = measure(server, runs, width, height, slowdown)
        finally:
            server.stop()
            stop_catcher(catcher)
    return result


def measure(server: LiveServer, runs: int, width: int, height: int, slowdown: float) -> Any:
    """Sign in once, then open the card offline without a session `runs` + 1 times."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=server.url, locale="ja-JP", viewport={"width": width, "height": height}
        )
        page = context.new_page()
        sign_in(page)
        page.goto("/card")
        page.wait_for_selector("#card-qr.card-qr-live canvas")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        # At the counter: no session, no signal.
        context.clear_cookies()
        context.set_offline(True)
        if slowdown > 1:
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
        samples = []
        decoded = 0
        for _ in range(runs + 1):
            page.goto("/card")
            samples.append(page.evaluate(PAINTED_JS))
            decoded += decode(page) == samples[-1]["code"]
        context.set_offline(False)
        last = samples[-1]["code"]
        verdict = page.request.post("/api/card/verify", data={"code": last}).json()
        browser.close()
    warm = [s["qr"] for s in samples[1:]]
    fcp = [s["fcp"] for s in samples[1:] if s["fcp"] is not None]
    return {
        "first_open_qr_ms": samples[0]["qr"],
        "qr_ms_median": statistics.median(warm),
        "qr_ms_p90": sorted(warm)[int(0.9 * (len(warm) - 1))],
        "qr_ms_max": max(warm),
        "fcp_ms_median": statistics.median(fcp) if fcp else None,
        "decoded_by_zxing": f"{decoded}/{len(samples)}",
        "last_code_verdict": "valid" if verdict.get("valid") else verdict.get("reason"),
        "code_chars": len(last),
        "qr_version_at_L": samples[-1]["version"],
    }


def main() -> int:
    """Print the numbers as a Markdown table row set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--width", type=int, default=390)
    parser.add_argument("--height", type=int, default=664)
    parser.add_argument("--cpu-slowdown", type=float, default=1)
    args = parser.parse_args()
    result = run(args.runs, args.width, args.height, args.cpu_slowdown)
    print(f"| viewport | {args.width}×{args.height}, CPU ×{args.cpu_slowdown:g} |")
    print("| --- | ---: |")
    for key, value in result.items():
        shown = f"{value:.0f}" if isinstance(value, float) else str(value)
        print(f"| {key} | {shown} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
