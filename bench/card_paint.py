"""Time from opening the card offline to a valid, device-signed QR painted (issue 16).

    .venv/bin/python bench/card_paint.py [--runs 20] [--width 390 --height 664] [--cpu-slowdown 4]

Starts a real server (bench/card_bench.py's `Server`: migrate, demo, serve) and
the system Chromium (headless). The demo member signs in once and opens /card:
the page makes its key pair and gets its certificate. Then, as at a counter
with no signal and no session: cookies cleared, the browser offline, and /card
opened again `--runs` times. Each run measures, from the navigation's start:

- `qr`: card.js's `card-qr` performance mark, set when the canvas with the QR
  for the current 30-second step (signed by the device key with WebCrypto) is
  in the page, plus the next animation frame (when it is painted);
- `fcp`: first contentful paint.

The first run after a browser start is reported apart (`cold`: the worker and
the scripts are not in memory yet). `--cpu-slowdown` asks Chromium (DevTools
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

from bench.card_bench import ARGS, CHROMIUM, Server, sign_in  # noqa: E402

PAINTED_JS = """() => new Promise((resolve) => {
  function done() {
    requestAnimationFrame(() => {
      const mark = performance.getEntriesByName("card-qr")[0];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      resolve({qr: mark ? mark.startTime : null, fcp: fcp ? fcp.startTime : null,
               code: document.getElementById("card-qr").getAttribute("data-code")});
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
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp)) as server:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(
                base_url=server.url, locale="ja-JP", viewport={"width": width, "height": height}
            )
            page = context.new_page()
            sign_in(page)
            page.goto("/card")
            page.wait_for_selector("#card-qr.card-qr-live canvas")
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            context.clear_cookies()
            context.set_offline(True)
            if slowdown > 1:
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
            samples = []
            codes = []
            for _ in range(runs + 1):
                page.goto("/card")
                samples.append(page.evaluate(PAINTED_JS))
                codes.append(decode(page) == samples[-1]["code"])
            context.set_offline(False)
            last = samples[-1]["code"]
            verdict = page.request.post("/api/card/verify", data={"code": last}).json()
            browser.close()
    warm = samples[1:]
    qr = [s["qr"] for s in warm]
    fcp = [s["fcp"] for s in warm if s["fcp"] is not None]
    return {
        "cold_qr_ms": samples[0]["qr"],
        "qr_ms_median": statistics.median(qr),
        "qr_ms_p90": sorted(qr)[int(0.9 * (len(qr) - 1))],
        "qr_ms_max": max(qr),
        "fcp_ms_median": statistics.median(fcp) if fcp else None,
        "decoded": f"{sum(codes)}/{len(codes)}",
        "last_verdict": verdict.get("reason") or ("valid" if verdict.get("valid") else "?"),
        "code_chars": len(last),
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
