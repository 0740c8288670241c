"""Push in real Chromium: the service worker shows the notice, and a tap opens the statement.

Headless Chromium cannot pushManager.subscribe() here (no push service), so
the push message is delivered by CDP's ServiceWorker.deliverPushMessage,
which runs the worker's real `push` handler.
"""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import sign_in

NOTICE = {
    "title": "ご請求明細のお知らせ",
    "body": "2026年11月分のご請求明細をご覧いただけるようになりました。",
    "url": "/statements/2026-11",
    "tag": "statement-2026-11",
}
NOTIFICATIONS_JS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map(
    (n) => ({title: n.title, body: n.body, tag: n.tag, icon: n.icon, data: n.data}));
}"""


def controlled_settings_page(page: Page) -> None:
    """Sign in, open the notifications section and let the service worker take the page."""
    sign_in(page)
    page.goto("/settings/notifications")
    page.evaluate(
        "navigator.serviceWorker.register('/service-worker.js').then(() => "
        "navigator.serviceWorker.ready).then(() => true)"
    )
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


def registration_id(context: BrowserContext, page: Page, origin: str) -> tuple[Any, str]:
    """The CDP session and the id of this origin's service worker registration."""
    cdp = context.new_cdp_session(page)
    found: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: found.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for registration in found:
            if registration["scopeURL"] == origin + "/" and not registration["isDeleted"]:
                return cdp, registration["registrationId"]
        page.wait_for_timeout(100)
    raise AssertionError(f"no service worker registration for {origin}: {found}")


def notifications(page: Page, count: int) -> list[dict[str, Any]]:
    """The notifications the worker shows, once there are `count` of them."""
    deadline = time.monotonic() + 10
    shown: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        shown = page.evaluate(NOTIFICATIONS_JS)
        if len(shown) >= count:
            return shown
        page.wait_for_timeout(100)
    raise AssertionError(f"expected {count} notifications, got {shown}")


def test_a_push_shows_the_notice_and_a_tap_opens_the_statement(
    context: BrowserContext, page: Page, live_server: LiveServer
) -> None:
    context.grant_permissions(["notifications"], origin=live_server.url)
    controlled_settings_page(page)
    expect(page.get_by_role("button", name="通知をオンにする")).to_be_visible()

    cdp, registration = registration_id(context, page, live_server.url)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration, "data": json.dumps(NOTICE)},
    )
    [shown] = notifications(page, 1)
    assert shown["title"] == "ご請求明細のお知らせ"
    assert shown["body"] == NOTICE["body"]
    assert shown["tag"] == "statement-2026-11"
    assert shown["icon"].endswith("/static/icons/icon-192.png")
    assert shown["data"]["url"] == live_server.url + "/statements/2026-11"

    # A tap: the worker's own notificationclick handler, run on the shown notification.
    [worker] = [w for w in context.service_workers if w.url.endswith("/service-worker.js")]
    worker.evaluate(
        """async () => {
          const [notification] = await self.registration.getNotifications();
          self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
        }"""
    )
    expect(page).to_have_url(live_server.url + "/statements/2026-11", timeout=10_000)


def test_a_push_from_elsewhere_cannot_send_the_member_off_site(
    context: BrowserContext, page: Page, live_server: LiveServer
) -> None:
    context.grant_permissions(["notifications"], origin=live_server.url)
    controlled_settings_page(page)
    cdp, registration = registration_id(context, page, live_server.url)
    for data in (json.dumps({**NOTICE, "url": "https://evil.example/"}), "plain text"):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server.url, "registrationId": registration, "data": data},
        )
    shown = notifications(page, 2)
    urls = sorted(n["data"]["url"] for n in shown)
    assert urls == [live_server.url + "/", live_server.url + "/"]
    assert "plain text" in [n["body"] for n in shown]
    assert "マイページからのお知らせ" in [n["title"] for n in shown]


def test_turning_on_asks_only_after_the_tap_and_fails_politely_here(
    context: BrowserContext, page: Page, live_server: LiveServer
) -> None:
    """Headless Chromium has no push service: the tap must end in a Japanese sentence."""
    page.add_init_script(
        """(() => {
          window.__permissionAsked = 0;
          const ask = Notification.requestPermission.bind(Notification);
          Notification.requestPermission = (...args) => {
            window.__permissionAsked += 1;
            return ask(...args);
          };
        })()"""
    )
    context.grant_permissions(["notifications"], origin=live_server.url)
    sign_in(page)
    page.goto("/settings/notifications")
    on = page.get_by_role("button", name="通知をオンにする")
    expect(on).to_be_visible()
    expect(page.locator("[data-push-state]")).to_have_text("この端末は通知を受け取っていません。")
    assert page.evaluate("window.__permissionAsked") == 0  # never on load
    on.click()
    expect(page.locator("[data-push-state]")).to_have_text(
        "通知をオンにできませんでした。時間をおいて、もう一度お試しください。", timeout=20_000
    )
    assert page.evaluate("window.__permissionAsked") == 1
    expect(page.get_by_text("通知を受け取る端末はありません。")).to_be_visible()
