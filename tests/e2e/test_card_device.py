"""The card credential on the device (issue 16) in real Chromium with its own WebCrypto:
issued once, shown without a session, online and offline, renewed or dropped, gone at sign-out."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import (
    CARD_DATABASES_JS,
    DEMO_KANA,
    DEMO_NAME,
    DEMO_NUMBER,
    assert_nothing_of,
    card_record,
    create_member,
    decode_qr_screenshot,
    import_member_status,
    sign_in,
    wait_for_card_record,
    wait_for_worker,
    wait_until_kept,
)

LIVE_QR = "#card-qr.card-qr-live canvas"
STEP_MS = 30_000


def member(server: LiveServer) -> dict[str, str]:
    """A member of one's own, so that revoking or withdrawing touches no other test."""
    suffix = uuid.uuid4().hex[:6]
    spec = {
        "email": f"card-{suffix}@example.jp",
        "password": "card-member-password-2026",
        "name": "木村 一郎",
        "name_kana": "キムラ イチロウ",
        "member_no": f"7{int(suffix, 16) % 10_000_000:07d}",
    }
    create_member(server, **spec)
    return spec


def open_card(page: Page, email: str | None = None, password: str | None = None) -> dict[str, Any]:
    """Sign in, open /card and wait for the certificate and the device-drawn QR."""
    if email and password:
        sign_in(page, email, password)
    else:
        sign_in(page)
    expect(page).to_have_url("/")
    page.goto("/card")
    record = wait_for_card_record(page)
    expect(page.locator(LIVE_QR)).to_be_visible()
    return record


def live_code(page: Page) -> str:
    """The QR text the page drew last."""
    return str(page.locator("#card-qr").get_attribute("data-code"))


def current_step(page: Page) -> int:
    """The 30-second step by the page's corrected clock."""
    record = card_record(page)
    assert record
    return int(
        page.evaluate(
            "(offset) => Math.floor((Date.now() + offset) / 30000)", record["clockOffsetMs"]
        )
    )


def test_a_certificate_is_issued_with_a_key_that_never_leaves_the_device(
    page: Page, live_server: LiveServer
) -> None:
    record = open_card(page)
    assert record["keyType"] == "private" and record["extractable"] is False
    assert re.fullmatch(r"[0-9a-f]{16}", record["id"])
    assert record["fields"]["member_no"] == DEMO_NUMBER
    assert record["fields"]["name"] == DEMO_NAME
    code = live_code(page)
    assert code.startswith("CC1:") and re.fullmatch(r"[0-9A-Z $%*+\-./:]+", code)
    # Alphanumeric mode, version 15-M at most (600 characters).
    assert len(code) <= 600, len(code)
    verdict = page.request.post("/api/card/verify", data={"code": code}).json()
    assert verdict["valid"] is True and verdict["reason"] is None
    assert verdict["member_no"] == DEMO_NUMBER and verdict["name"] == DEMO_NAME


def test_the_card_outlives_the_session_online_and_offline(
    page: Page, context: BrowserContext
) -> None:
    record = open_card(page)
    wait_for_worker(page)
    # The session ends (idle timeout or deleted row look the same to the browser).
    context.clear_cookies()
    page.goto("/card")
    expect(page).to_have_url("/card")
    expect(page.locator(".card-name-kanji")).to_have_text(DEMO_NAME)
    expect(page.locator(".card-kana")).to_have_text(DEMO_KANA)
    expect(page.locator(".card-no")).to_have_text(DEMO_NUMBER)
    expect(page.locator(LIVE_QR)).to_be_visible()
    expect(page.locator("#card-signin")).to_be_hidden()
    # A fresh QR: signed for the current step by this device.
    code = live_code(page)
    assert decode_qr_screenshot(page) == code
    verdict = page.request.post("/api/card/verify", data={"code": code}).json()
    assert verdict["valid"] is True, verdict
    assert card_record(page) == record  # not renewed (less than a day old), not dropped
    context.set_offline(True)
    page.reload()
    expect(page.locator(".card-no")).to_have_text(DEMO_NUMBER)
    expect(page.locator(LIVE_QR)).to_be_visible()
    assert decode_qr_screenshot(page) == live_code(page)
    # The clock runs offline.
    clock = page.locator("#card-clock")
    before = clock.inner_text()
    expect(clock).not_to_have_text(before, timeout=3000)


def test_the_qr_changes_every_30_seconds(page: Page) -> None:
    open_card(page)
    first = live_code(page)
    step = current_step(page)
    page.wait_for_function(
        "(code) => document.getElementById('card-qr').getAttribute('data-code') !== code",
        arg=first,
        timeout=STEP_MS + 5000,
    )
    assert current_step(page) == step + 1
    assert decode_qr_screenshot(page) == live_code(page) != first


def test_without_a_certificate_or_session_the_card_page_offers_sign_in(page: Page) -> None:
    page.goto("/card")
    link = page.get_by_role("link", name="ログインして組合員証を表示する")
    expect(link).to_be_visible()
    assert link.get_attribute("href") == "/login?next=/card"
    expect(page.locator("#card")).to_be_hidden()
    assert "<noscript>" in page.content()


def test_an_old_certificate_renews_itself_without_a_session(
    page: Page, context: BrowserContext
) -> None:
    record = open_card(page)
    context.clear_cookies()
    age_record(page, days=2)
    page.goto("/card")
    deadline = time.monotonic() + 15
    while (card_record(page) or record)["id"] == record["id"]:
        assert time.monotonic() < deadline, "the certificate was not renewed"
        time.sleep(0.1)
    fresh = card_record(page)
    assert fresh and fresh["id"] != record["id"] and fresh["fields"] == record["fields"]
    expect(page.locator(LIVE_QR)).to_be_visible()
    code = live_code(page)
    verdict = page.request.post("/api/card/verify", data={"code": code}).json()
    assert verdict["valid"] is True, verdict


def age_record(page: Page, days: int) -> None:
    """Make the stored certificate look `days` old to the device (renewedAt back-dated)."""
    page.evaluate(
        """(days) => new Promise((resolve, reject) => {
          const open = indexedDB.open("coop-card", 1);
          open.onsuccess = () => {
            const db = open.result;
            const tx = db.transaction("card", "readwrite");
            const store = tx.objectStore("card");
            const get = store.get("current");
            get.onsuccess = () => {
              const record = get.result;
              record.renewedAt = Date.now() - days * 86400000;
              store.put(record, "current");
            };
            tx.oncomplete = () => { db.close(); resolve(); };
            tx.onerror = () => { db.close(); reject(tx.error); };
          };
        })""",
        days,
    )


def test_a_withdrawn_member_loses_the_card_and_shops_see_it_revoked(
    page: Page,
    context: BrowserContext,
    live_server: LiveServer,
    tmp_path: Any,
) -> None:
    someone = member(live_server)
    open_card(page, someone["email"], someone["password"])
    code = live_code(page)
    context.clear_cookies()
    import_member_status(live_server, tmp_path, someone, "withdrawn")
    # The shop's verifier, online: the revocation list says 失効.
    page.goto("/verify")
    page.locator("#verify-code").fill(code)
    page.get_by_role("button", name="確認する").click()
    expect(page.locator("#verify-label")).to_have_text("失効")
    expect(page.locator("#verify-no")).to_have_text(someone["member_no"])
    api = page.request.post("/api/card/verify", data={"code": code}).json()
    assert api["valid"] is False and api["reason"] == "revoked"
    # The device asks to renew: refused, the card goes, and the page says why.
    page.goto("/card")
    age_record(page, days=2)
    page.reload()
    status = page.locator("#card-status")
    expect(status).to_be_visible()
    expect(status).to_contain_text("この端末の組合員証を削除しました")
    assert re.search(r"[ぁ-んァ-ン一-龥]", status.inner_text())
    expect(page.locator("#card")).to_be_hidden()
    assert card_record(page) is None
    expect(page.get_by_role("link", name="ログインして組合員証を表示する")).to_be_visible()
    assert someone["member_no"] not in page.locator("main").inner_text()


def test_sign_out_removes_the_key_and_the_certificate(page: Page, context: BrowserContext) -> None:
    open_card(page)
    wait_for_worker(page)
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url("/login?done=logout")
    assert "coop-card" not in page.evaluate(CARD_DATABASES_JS)
    page.goto("/card")
    expect(page.get_by_role("link", name="ログインして組合員証を表示する")).to_be_visible()
    assert card_record(page) is None
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)
    # Clear-Site-Data removed the worker too: wait for the new one and its shell.
    wait_for_worker(page)
    wait_until_kept(page, "/card")
    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("link", name="ログインして組合員証を表示する")).to_be_visible()
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)


def test_another_members_card_is_replaced_at_their_sign_in(
    page: Page, live_server: LiveServer, context: BrowserContext
) -> None:
    open_card(page)
    context.clear_cookies()  # the first member never signed out
    someone = member(live_server)
    record = open_card(page, someone["email"], someone["password"])
    assert record["fields"]["member_no"] == someone["member_no"]
    expect(page.locator(".card-no")).to_have_text(someone["member_no"])
    assert_nothing_of(page, DEMO_NAME, DEMO_KANA, DEMO_NUMBER)


def test_sign_out_removes_the_card_where_clear_site_data_is_ignored(page: Page) -> None:
    open_card(page)
    wait_for_worker(page)
    # A browser that ignores Clear-Site-Data: the sign-out answer without it.
    page.route(
        "**/logout",
        lambda route: route.fulfill(
            status=200, content_type="text/plain; charset=utf-8", body="signed out"
        ),
    )
    page.get_by_role("button", name="ログアウト").click()
    expect(page.get_by_text("signed out")).to_be_visible()
    assert "coop-card" not in page.evaluate(CARD_DATABASES_JS)
    page.unroute("**/logout")


@pytest.mark.parametrize(("width", "height"), [(320, 568), (390, 664)])
def test_the_card_fits_the_counter_at_200_percent_text(
    browser: Browser, live_server: LiveServer, width: int, height: int
) -> None:
    context = browser.new_context(
        base_url=live_server.url, locale="ja-JP", viewport={"width": width, "height": height}
    )
    try:
        page = context.new_page()
        open_card(page)
        wait_for_worker(page)
        check_layout(page, width, height)
        # Offline, with the banner above the card.
        context.set_offline(True)
        page.reload()
        expect(page.locator("[data-offline-banner]")).to_be_visible()
        expect(page.locator(LIVE_QR)).to_be_visible()
        check_layout(page, width, height)
    finally:
        context.close()


def check_layout(page: Page, width: int, height: int) -> None:
    """At 200 % text: the number's text inside its box, the mark, clock and QR on screen."""
    page.evaluate("document.documentElement.style.setProperty('font-size', '200%')")
    page.wait_for_timeout(100)
    for selector in (".card-no", ".card-name-kanji", ".card-valid dd"):
        inside = page.evaluate(
            """(selector) => {
              const box = document.querySelector(selector);
              const range = document.createRange();
              range.selectNodeContents(box);
              const text = range.getBoundingClientRect();
              const own = box.getBoundingClientRect();
              const card = document.getElementById("card").getBoundingClientRect();
              return {fits: box.scrollWidth <= box.clientWidth + 1,
                      inside: text.left >= own.left - 1 && text.right <= own.right + 1
                              && text.left >= card.left && text.right <= card.right};
            }""",
            selector,
        )
        assert inside["fits"] and inside["inside"], (selector, inside)
    # The number on one line (never broken mid-number).
    number = page.locator(".card-no")
    box = number.bounding_box()
    assert box
    assert (
        page.evaluate(
            "() => { const r = document.createRange();"
            " r.selectNodeContents(document.querySelector('.card-no'));"
            " return r.getClientRects().length; }"
        )
        == 1
    )
    for selector in ("#card-clock", "#card-qr canvas", "#card-live-mark"):
        rect = page.locator(selector).bounding_box()
        assert rect, selector
        assert rect["x"] >= 0 and rect["y"] >= 0, (selector, rect)
        assert rect["x"] + rect["width"] <= width + 0.5, (selector, rect)
        assert rect["y"] + rect["height"] <= height + 0.5, (selector, rect)
    # Readable by a real decoder on this small screen too.
    assert decode_qr_screenshot(page) == live_code(page)
    page.evaluate("document.documentElement.style.removeProperty('font-size')")


def test_the_mark_stops_under_reduced_motion_and_the_clock_still_runs(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(base_url=live_server.url, locale="ja-JP", reduced_motion="reduce")
    try:
        page = context.new_page()
        open_card(page)
        mark = page.locator("#card-live-mark")
        first = mark.bounding_box()
        page.wait_for_timeout(400)
        assert mark.bounding_box() == first
        clock = page.locator("#card-clock")
        before = clock.inner_text()
        expect(clock).not_to_have_text(before, timeout=3000)
    finally:
        context.close()


def test_the_card_says_what_it_is_for(page: Page) -> None:
    open_card(page)
    expect(page.locator(".card-purpose")).to_contain_text(
        "学校生協の指定店・提携店でご提示ください"
    )


def test_a_phone_with_a_wrong_clock_still_shows_a_valid_code(
    context: BrowserContext, page: Page
) -> None:
    # Ten minutes fast: the server's clock offset at issue corrects the step.
    context.clock.install(time=time.time() + 10 * 60)
    record = open_card(page)
    assert abs(record["clockOffsetMs"] + 10 * 60 * 1000) < 30_000, record["clockOffsetMs"]
    verdict = page.request.post("/api/card/verify", data={"code": live_code(page)}).json()
    assert verdict["valid"] is True, verdict
