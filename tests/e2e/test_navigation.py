"""Issue 19 item 3 in Chromium: tap targets at least 44 px high, checkboxes 24 px, and the
login form does not move when the passkey box appears."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in

TARGETS = """() => {
  const selector = [
    ".site-nav a", ".site-header button", "main button", "main summary", ".menu a", ".news-item a",
    ".check label", ".field-check label", "main a.button-link",
  ].join(",");
  const seen = [];
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
    seen.push({what: el.tagName + " " + el.textContent.trim().slice(0, 30), height: r.height});
  }
  const boxes = [];
  for (const el of document.querySelectorAll("input[type=checkbox]")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    const label = el.labels && el.labels[0] ? el.labels[0].getBoundingClientRect() : null;
    const labelHeight = label ? label.height : 0;
    boxes.push({id: el.id, width: r.width, height: r.height, labelHeight});
  }
  return {seen, boxes};
}"""


def test_tap_targets_are_44_px_high_on_home_and_settings(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page)
    for path in ("/", "/settings"):
        page.goto(path)
        found: dict[str, Any] = page.evaluate(TARGETS)
        assert len(found["seen"]) >= 8, (path, found["seen"])
        small = [t for t in found["seen"] if t["height"] < 44]
        assert small == [], (path, small)
        if path == "/settings":
            assert found["boxes"], "the notification topics are checkboxes"
            for box in found["boxes"]:
                assert box["width"] >= 24 and box["height"] >= 24, box
                assert box["labelHeight"] >= 44, box  # the label is the tap target
    # The current page is marked in the menu.
    expect(page.locator('.site-nav a[aria-current="page"]')).to_have_text("設定")


def _boxes(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => Object.fromEntries(
          ["form[action='/login']", "#passkey-login-box", ".help-links"].map((s) => {
            const r = document.querySelector(s).getBoundingClientRect();
            return [s, [r.x, r.y, r.width, r.height]];
          }))"""
    )


def test_login_form_does_not_move_when_the_passkey_box_appears(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    # Before the script runs: hold passkeys.js back and measure the page as first drawn.
    page.route("**/js/passkeys.js", lambda route: route.abort())
    page.goto("/login")
    before = _boxes(page)
    assert (
        page.locator("#passkey-login-box").evaluate("el => getComputedStyle(el).visibility")
        == "hidden"
    )
    page.unroute("**/js/passkeys.js")

    page.add_init_script(
        """window.__shifts = 0;
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shifts += e.value;
        }).observe({type: "layout-shift", buffered: true});"""
    )
    page.goto("/login")
    box = page.locator("#passkey-login-box")
    expect(box).not_to_have_class("passkey-login passkey-pending")
    expect(page.get_by_role("button", name="パスキーでログイン")).to_be_visible()
    after = _boxes(page)
    assert after == before
    page.wait_for_timeout(300)
    assert page.evaluate("window.__shifts") == 0


def test_without_script_the_login_page_has_no_empty_passkey_gap(
    browser: Any, live_server: Any
) -> None:
    context = browser.new_context(
        base_url=live_server.url, locale="ja-JP", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("#passkey-login-box")).to_be_hidden()
        expect(page.get_by_role("button", name="ログイン", exact=True)).to_be_visible()
    finally:
        context.close()
