"""The shops' verifier (/verify) in real Chromium: a code read from a real screenshot,
checked in the browser with WebCrypto against the published keys, offline too."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.helpers import (
    DEMO_KANA,
    DEMO_NAME,
    DEMO_NUMBER,
    decode_qr_screenshot,
    sign_in,
    wait_for_card_record,
    wait_for_worker,
    wait_until_kept,
)

LIVE_QR = "#card-qr.card-qr-live canvas"

# On the /card page: a code made by this device's key, for another step or over
# altered certificate bytes (same length, so the CBOR stays well formed).
MAKE_CODE_JS = """async ({stepDelta, find, replace}) => {
  const record = await new Promise((resolve) => {
    const open = indexedDB.open("coop-card", 1);
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction("card").objectStore("card").get("current");
      get.onsuccess = () => { db.close(); resolve(get.result); };
    };
  });
  const C = self.CoopCard;
  let cert = C.fromBase64url(record.certificate);
  if (find) {
    const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const from = hex(C.utf8(find)), to = hex(C.utf8(replace));
    const text = hex(cert);
    if (from.length !== to.length || text.indexOf(from) < 0) throw new Error("cannot alter");
    const altered = text.replace(from, to);
    cert = new Uint8Array(altered.match(/../g).map((h) => parseInt(h, 16)));
  }
  const step = Math.floor((Date.now() + record.clockOffsetMs) / 30000) + stepDelta;
  const sig = await crypto.subtle.sign(C.SIGN, record.privateKey, C.stepMessage(cert, step));
  return C.qrText(cert, step, new Uint8Array(sig));
}"""


def card_code(page: Page) -> str:
    """Sign in as the demo member, open the card, and read its QR from a screenshot."""
    sign_in(page)
    expect(page).to_have_url("/")
    page.goto("/card")
    wait_for_card_record(page)
    expect(page.locator(LIVE_QR)).to_be_visible()
    return decode_qr_screenshot(page)


def make_code(page: Page, step_delta: int = 0, find: str = "", replace: str = "") -> str:
    """A code signed by this device's key (see MAKE_CODE_JS)."""
    return str(
        page.evaluate(MAKE_CODE_JS, {"stepDelta": step_delta, "find": find, "replace": replace})
    )


def paste(page: Page, code: str) -> None:
    """The camera-less path: paste the code and press 確認する."""
    page.locator("#verify-code").fill(code)
    page.get_by_role("button", name="確認する").click()


def test_a_screenshot_verifies_in_the_page_and_through_the_api(
    page: Page, context: BrowserContext
) -> None:
    code = card_code(page)
    api = page.request.post("/api/card/verify", data={"code": code}).json()
    assert api["valid"] is True and api["member_no"] == DEMO_NUMBER
    shop = context.new_page()
    shop.goto("/verify")
    paste(shop, code)
    expect(shop.locator("#verify-label")).to_have_text("有効")
    expect(shop.locator("#verify-result")).to_have_attribute("data-reason", "valid")
    expect(shop.locator("#verify-name")).to_have_text(DEMO_NAME)
    expect(shop.locator("#verify-kana")).to_have_text(DEMO_KANA)
    expect(shop.locator("#verify-no")).to_have_text(DEMO_NUMBER)
    expect(shop.locator("#verify-category")).to_have_text(api["category"])
    # Checked in the browser: no verify request went to the server.
    assert shop.url.endswith("/verify")
    expect(shop.locator("#verify-clock")).to_be_hidden()


def test_the_same_code_three_minutes_later_is_out_of_time(
    page: Page, context: BrowserContext
) -> None:
    code = card_code(page)
    # The server agrees about a code made three minutes ago by the same device
    # (made before the context's clock is taken over below).
    old = make_code(page, step_delta=-6)
    api = page.request.post("/api/card/verify", data={"code": old}).json()
    assert api["valid"] is False and api["reason"] == "out_of_time"
    assert api["member_no"] == DEMO_NUMBER
    shop = context.new_page()
    shop.clock.install()
    shop.goto("/verify")
    paste(shop, code)
    expect(shop.locator("#verify-label")).to_have_text("有効")
    shop.clock.fast_forward("03:00")
    paste(shop, code)
    expect(shop.locator("#verify-label")).to_have_text("時間外")
    expect(shop.locator("#verify-message")).to_contain_text("スクリーンショット")


def test_a_changed_name_and_an_unknown_key_are_refused(page: Page, context: BrowserContext) -> None:
    card_code(page)
    renamed = make_code(page, find="花子", replace="太郎")
    kid = page.request.get("/.well-known/coop-card-keys.json").json()["keys"][0]["kid"]
    other_kid = kid[:-1] + ("x" if kid[-1] != "x" else "y")
    foreign = make_code(page, find=kid, replace=other_kid)
    shop = context.new_page()
    shop.goto("/verify")
    paste(shop, renamed)
    expect(shop.locator("#verify-label")).to_have_text("署名が正しくない")
    expect(shop.locator("#verify-result")).to_have_attribute("data-reason", "bad_signature")
    expect(shop.locator("#verify-facts")).to_be_hidden()
    paste(shop, foreign)
    expect(shop.locator("#verify-result")).to_have_attribute("data-reason", "unknown_key")
    expect(shop.locator("#verify-label")).to_have_text("署名が正しくない")
    paste(shop, "CC1:NOT A CARD")
    expect(shop.locator("#verify-label")).to_have_text("読み取れません")
    for bad, reason in ((renamed, "bad_signature"), (foreign, "unknown_key")):
        api = page.request.post("/api/card/verify", data={"code": bad}).json()
        assert api["valid"] is False and api["reason"] == reason and api["member_no"] is None


def test_a_photo_of_the_card_is_read_without_a_camera(
    page: Page, context: BrowserContext, tmp_path: Path
) -> None:
    card_code(page)
    photo = tmp_path / "card.png"
    page.screenshot(path=str(photo))
    shop = context.new_page()
    shop.goto("/verify")
    shop.locator("#verify-photo").set_input_files(str(photo))
    expect(shop.locator("#verify-label")).to_have_text("有効", timeout=15_000)
    expect(shop.locator("#verify-no")).to_have_text(DEMO_NUMBER)


def test_the_verifier_works_offline_once_opened(page: Page, context: BrowserContext) -> None:
    code = card_code(page)
    shop = context.new_page()
    shop.goto("/verify")
    wait_for_worker(shop)
    wait_until_kept(shop, "/.well-known/coop-card-keys.json")
    wait_until_kept(shop, "/static/js/verify.js")
    context.set_offline(True)
    shop.reload()
    expect(shop.get_by_role("heading", name="組合員証の確認")).to_be_visible()
    paste(shop, code)
    expect(shop.locator("#verify-label")).to_have_text("有効")
    expect(shop.locator("#verify-no")).to_have_text(DEMO_NUMBER)


def test_a_wrong_clock_on_the_shop_device_is_pointed_out(context: BrowserContext) -> None:
    shop = context.new_page()
    shop.clock.install(time=time.time() + 5 * 60)
    shop.goto("/verify")
    expect(shop.locator("#verify-clock")).to_be_visible()
    expect(shop.locator("#verify-clock")).to_contain_text("端末の時刻を確認してください")
