"""Screenshots of the member pages at 320 px (a small phone) for docs/screens.md.

Serves the demo on a fresh SQLite database the way the browser tests do (tests/e2e:
`mypage migrate`, `mypage demo`, `mypage serve`, a local SMTP catcher for the sign-in
code), signs in as the demo member in the system Chromium and saves one PNG per page:

    .venv/bin/python scripts/screenshots.py            # into docs/screenshots/
    .venv/bin/python scripts/screenshots.py /tmp/shots # somewhere else
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402
from tests.e2e.helpers import sign_in, start_catcher, stop_catcher, wait_for_card_record  # noqa: E402

WIDTH = 320
HEIGHT = 568
# A long page is cut here: enough to show its layout without a picture metres long.
MAX_HEIGHT = 1700


def latest_statement(page: Page) -> str:
    """The path of the newest statement on /statements."""
    page.goto("/statements")
    href = page.locator("main a[href^='/statements/']").first.get_attribute("href")
    assert href, "the demo member has no statement"
    return href


def shoot(page: Page, path: str, out: Path) -> None:
    """The page from its top, as tall as it is (up to MAX_HEIGHT), 320 px wide."""
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
    page.screenshot(
        path=str(out),
        full_page=True,
        clip={"x": 0, "y": 0, "width": WIDTH, "height": height},
        animations="disabled",
        caret="hide",
    )
    print(f"{path} -> {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def main(target: Path) -> None:
    """Start the demo, sign in, and save home, card, a statement, profile and settings."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        catcher = start_catcher()
        server = LiveServer(Path(workdir), f"sqlite://{workdir}/shots.sqlite3", catcher.port)
        try:
            server.start()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                context = browser.new_context(
                    base_url=server.url,
                    locale="ja-JP",
                    viewport={"width": WIDTH, "height": HEIGHT},
                    device_scale_factor=2,
                )
                page = context.new_page()
                sign_in(page)
                pages = [
                    ("home", "/"),
                    ("card", "/card"),
                    ("statement", latest_statement(page)),
                    ("profile", "/profile"),
                    ("settings", "/settings"),
                ]
                for name, path in pages:
                    page.goto(path)
                    page.wait_for_load_state("networkidle")
                    if name == "card":
                        wait_for_card_record(page)
                        page.locator("#card-qr canvas").wait_for()
                    shoot(page, path, target / f"{name}-320.png")
                # The tables of /settings are far down the page: the security history alone.
                page.goto("/settings")
                page.locator("#security-history").screenshot(
                    path=str(target / "settings-history-320.png"), animations="disabled"
                )
                print("/settings#security-history -> settings-history-320.png")
                # A statement with the text at 200 % (WCAG 1.4.4), set through the CSSOM
                # because our CSP refuses an injected <style>.
                page.goto(pages[2][1])
                page.evaluate("document.documentElement.style.setProperty('font-size', '200%')")
                shoot(page, pages[2][1], target / "statement-320-text200.png")
                context.close()
                browser.close()
        finally:
            server.stop()
            stop_catcher(catcher)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
