"""The card and the offline PWA in real Chromium: offline copies, and nothing left behind."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import (
    DEMO_KANA,
    DEMO_NAME,
    DEMO_NUMBER,
    assert_nothing_of,
    cache_names,
    create_member,
    sign_in,
    update_member,
    wait_for_worker,
    wait_until_cached,
)

BANNER = re.compile(r"^オフライン表示（最終更新: \d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}）$")
MEMBER_CACHE = "mypage-member-"
SIGN_IN_LINK = "ログインして組合員証を表示する"


def open_card_and_keep_it(page: Page) -> None:
    """Sign in as the demo member, open the card online and wait until the worker keeps it."""
    sign_in(page)
    expect(page).to_have_url("/")
    page.goto("/card")
    expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
    wait_for_worker(page)
    wait_until_cached(page, "/card")


def second_member(server: LiveServer) -> dict[str, str]:
    """Another member with an account, unique to the calling test."""
    suffix = uuid.uuid4().hex[:6]
    member = {
        "email": f"b-{suffix}@example.jp",
        "password": "member-b-password-2026",
        "name": "鈴木 次郎",
        "name_kana": "スズキ ジロウ",
        "member_no": f"9{int(suffix, 16) % 10_000_000:07d}",
    }
    create_member(server, **member)
    return member


def test_card_shows_offline_with_the_banner(page: Page, context: BrowserContext) -> None:
    open_card_and_keep_it(page)
    expect(page.locator("[data-offline-banner]")).to_be_hidden()
    context.set_offline(True)
    page.reload()
    expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
    expect(page.locator(".card-kana")).to_have_text(DEMO_KANA)
    expect(page.locator(".card-no")).to_have_text(DEMO_NUMBER)
    # The QR the device drew (signed for this 30-second step), not the server's.
    expect(page.locator("#card-qr.card-qr-live canvas")).to_be_visible()
    banner = page.locator("[data-offline-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(BANNER)
    # Still live offline: the clock runs and the mark moves.
    clock = page.locator("#card-clock")
    before = clock.inner_text()
    expect(clock).not_to_have_text(before, timeout=3000)
    mark = page.locator("#card-live-mark")
    first = mark.bounding_box()
    page.wait_for_timeout(300)
    assert mark.bounding_box() != first


def test_card_first_opened_before_the_worker_is_kept_too(
    page: Page, context: BrowserContext
) -> None:
    sign_in(page)
    expect(page).to_have_url("/")
    wait_for_worker(page)
    # As on a device that had no worker yet: none in control, no copies.
    page.evaluate(
        """async () => {
          await (await navigator.serviceWorker.getRegistration()).unregister();
          for (const name of await caches.keys()) await caches.delete(name);
        }"""
    )
    page.goto("/card")
    expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
    # The worker did not handle this navigation (it came straight from the network).
    assert page.evaluate("performance.getEntriesByType('navigation')[0].workerStart") == 0
    wait_until_cached(page, "/card")
    wait_for_worker(page)
    context.set_offline(True)
    page.goto("/card")
    expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
    expect(page.locator("[data-offline-banner]")).to_be_visible()


def test_pages_never_opened_show_the_offline_page(page: Page, context: BrowserContext) -> None:
    open_card_and_keep_it(page)
    context.set_offline(True)
    page.goto("/")  # home is network-only
    expect(page.get_by_role("heading", name="インターネットに接続されていません")).to_be_visible()
    assert DEMO_NAME not in page.content()


def test_statement_pages_opened_online_are_kept(page: Page, context: BrowserContext) -> None:
    sign_in(page)
    expect(page).to_have_url("/")
    if page.request.get("/statements", max_redirects=0).status == 404:
        pytest.skip("the statements pages (statements.index / statements.month) are not built yet")
    wait_for_worker(page)
    page.goto("/statements")
    months = page.locator('a[href^="/statements/"]')
    month = next(
        (
            href
            for href in months.evaluate_all("els => els.map(e => e.getAttribute('href'))")
            if re.fullmatch(r"/statements/\d{4}-\d{2}", href or "")
        ),
        None,
    )
    assert month, "the demo member has no statement month to open"
    page.goto(month)
    month_text = page.locator("main").inner_text()
    wait_until_cached(page, "/statements")
    wait_until_cached(page, month)
    context.set_offline(True)
    page.goto("/statements")
    expect(page.locator("[data-offline-banner]")).to_have_text(BANNER)
    page.goto(month)
    expect(page.locator("[data-offline-banner]")).to_have_text(BANNER)
    # The whole statement as it was online, below the banner.
    assert month_text.strip() and month_text.strip() in page.locator("main").inner_text()
    page.goto("/statements/2001-01")  # never opened
    expect(page.get_by_role("heading", name="インターネットに接続されていません")).to_be_visible()


def test_sign_out_leaves_nothing_behind(page: Page, context: BrowserContext) -> None:
    open_card_and_keep_it(page)
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url("/login?done=logout")
    wait_for_worker(page)
    assert not [name for name in cache_names(page) if name.startswith(MEMBER_CACHE)]
    context.set_offline(True)
    page.goto("/card")
    # The card shell, with nothing on this device to fill it: the way to sign in.
    expect(page.get_by_role("link", name=SIGN_IN_LINK)).to_be_visible()
    expect(page.locator("#card")).to_be_hidden()
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)


def test_sign_out_purges_even_where_clear_site_data_is_ignored(
    page: Page, context: BrowserContext
) -> None:
    open_card_and_keep_it(page)
    # A browser that ignores Clear-Site-Data: the sign-out answer without it.
    page.route(
        "**/logout",
        lambda route: route.fulfill(
            status=200, content_type="text/plain; charset=utf-8", body="signed out"
        ),
    )
    page.get_by_role("button", name="ログアウト").click()
    expect(page.get_by_text("signed out")).to_be_visible()
    page.unroute("**/logout")
    page.goto("/offline")
    assert not [name for name in cache_names(page) if name.startswith(MEMBER_CACHE)]
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)


def test_an_ended_session_keeps_the_card(page: Page, context: BrowserContext) -> None:
    open_card_and_keep_it(page)
    # The session ends on the server's side (expiry): the card stays at hand (issue 16).
    context.clear_cookies()
    page.goto("/card")
    expect(page).to_have_url("/card")
    expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
    expect(page.locator("#card-qr.card-qr-live canvas")).to_be_visible()
    assert [name for name in cache_names(page) if name.startswith(MEMBER_CACHE)]
    # Other member pages still need a session.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    context.set_offline(True)
    page.goto("/card")
    expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
    expect(page.locator(".card-no")).to_have_text(DEMO_NUMBER)


def test_another_member_never_sees_the_first_members_card(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    other = second_member(live_server)
    open_card_and_keep_it(page)
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url("/login?done=logout")
    sign_in(page, other["email"], other["password"])
    expect(page).to_have_url("/")
    page.goto("/card")
    expect(page.locator(".card-name-kanji")).to_have_text(other["name"])
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)
    wait_for_worker(page)
    wait_until_cached(page, "/card")
    context.set_offline(True)
    page.reload()
    expect(page.locator(".card-name-kanji")).to_have_text(other["name"])
    expect(page.locator(".card-no")).to_have_text(other["member_no"])
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)


def test_a_new_member_on_a_device_without_sign_out_never_sees_the_old_copy(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    other = second_member(live_server)
    open_card_and_keep_it(page)
    # The first member's session ended without signing out (cookie gone, copy left).
    context.clear_cookies()
    sign_in(page, other["email"], other["password"])
    expect(page).to_have_url("/")
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)
    # Offline before opening their own card: the way to sign in, not the old card
    # (its copy and its key went when the other member signed in).
    context.set_offline(True)
    page.goto("/card")
    expect(page.get_by_role("link", name=SIGN_IN_LINK)).to_be_visible()
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)


def test_a_name_change_shows_at_the_next_online_visit(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    other = second_member(live_server)
    sign_in(page, other["email"], other["password"])
    page.goto("/card")
    expect(page.locator(".card-name-kanji")).to_have_text("鈴木 次郎")
    wait_for_worker(page)
    wait_until_cached(page, "/card")
    update_member(live_server, other["member_no"], name="高橋 次郎", name_kana="タカハシ ジロウ")
    page.reload()
    expect(page.locator(".card-name-kanji")).to_have_text("高橋 次郎")
    context.set_offline(True)
    page.reload()
    expect(page.locator("[data-offline-banner]")).to_be_visible()
    expect(page.locator(".card-name-kanji")).to_have_text("高橋 次郎")


def test_card_works_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(
        base_url=live_server.url, locale="ja-JP", java_script_enabled=False
    )
    try:
        page = context.new_page()
        sign_in(page)
        expect(page).to_have_url("/")
        page.goto("/card")
        expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
        expect(page.locator(".card-no")).to_have_text(DEMO_NUMBER)
        expect(page.locator(".card-qr svg")).to_be_visible()
        expect(page.locator("#card-clock")).to_have_text(
            re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}$")
        )
        # (Playwright's script switch does not make Chromium render <noscript>.)
        assert "<noscript>" in page.content() and "JavaScriptが無効のため" in page.content()
        expect(page.locator("[data-offline-banner]")).to_be_hidden()
        if page.request.get("/statements", max_redirects=0).status != 404:
            page.goto("/statements")
            expect(page.locator("main h1")).to_be_visible()
    finally:
        context.close()


def test_manifest_is_installable(page: Page) -> None:
    sign_in(page)
    expect(page).to_have_url("/")
    response = page.request.get("/manifest.json")
    assert response.ok
    manifest = json.loads(response.text())
    assert manifest["lang"] == "ja" and manifest["display"] == "standalone"
    assert manifest["name"].endswith("マイページ") and manifest["short_name"]
    purposes = set()
    for icon in manifest["icons"]:
        image = page.request.get(icon["src"])
        assert image.ok and image.headers["content-type"] == "image/png"
        body = image.body()
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(body[16:20], "big")
        height = int.from_bytes(body[20:24], "big")
        assert icon["sizes"] == f"{width}x{height}"
        purposes.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes
    # Chromium's own reading of the manifest: no errors, and installable.
    wait_for_worker(page)
    cdp = page.context.new_cdp_session(page)
    read = cdp.send("Page.getAppManifest")
    assert read["errors"] == [], read["errors"]
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Test contexts are incognito profiles, where Chromium never installs apps.
    assert [e for e in errors if e["errorId"] != "in-incognito"] == [], errors


def test_a_new_worker_removes_only_this_apps_old_caches(page: Page) -> None:
    open_card_and_keep_it(page)
    page.evaluate("Promise.all([caches.open('mypage-shell-old'), caches.open('another-app')])")
    # Another script URL for the same scope is an update: install, then activate.
    page.evaluate(
        """async () => {
          const fresh = await navigator.serviceWorker.register("/service-worker.js?update=1");
          const worker = fresh.installing || fresh.waiting || fresh.active;
          if (worker.state !== "activated") {
            await new Promise((resolve) => worker.addEventListener("statechange",
              () => worker.state === "activated" && resolve()));
          }
        }"""
    )
    names = cache_names(page)
    assert "mypage-shell-old" not in names
    assert "another-app" in names
    assert any(name.startswith("mypage-shell-") for name in names)
    # The member's copy survives an update of the app.
    assert any(name.startswith(MEMBER_CACHE) for name in names)


def test_home_offers_installation_when_the_browser_does(page: Page) -> None:
    sign_in(page)
    expect(page).to_have_url("/")
    hint = page.locator("#install-hint")
    expect(hint).to_be_hidden()
    # What Chromium fires when the app is installable (not in a test profile).
    page.evaluate(
        """() => {
          const event = new Event("beforeinstallprompt", {cancelable: true});
          event.prompt = () => { window.promptShown = true; };
          event.userChoice = Promise.resolve({outcome: "accepted"});
          window.dispatchEvent(event);
        }"""
    )
    expect(hint).to_be_visible()
    expect(page.locator("#install-ios")).to_be_hidden()
    page.get_by_role("button", name="ホーム画面に追加する").click()
    assert page.evaluate("window.promptShown") is True
    expect(hint).to_be_hidden()


def test_iphone_gets_the_add_to_home_screen_explanation(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(
        base_url=live_server.url,
        locale="ja-JP",
        user_agent=(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        ),
    )
    try:
        page = context.new_page()
        sign_in(page)
        expect(page).to_have_url("/")
        expect(page.locator("#install-ios")).to_be_visible()
        expect(page.locator("#install-ios")).to_contain_text("「ホーム画面に追加」")
        expect(page.get_by_role("button", name="ホーム画面に追加する")).to_be_hidden()
    finally:
        context.close()
