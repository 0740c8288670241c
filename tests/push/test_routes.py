"""The subscription API and the notifications section, as a member's browser uses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.audit.models import AuditEvent
from server.config import Settings
from server.push.models import PushDelivery, PushPreference, PushSubscription
from server.push.service import check_endpoint
from server.security import csrf_valid
from tests.conftest import make_settings
from tests.factories import make_account
from tests.helpers import cookie, csrf_of, login, page, post_form
from tests.push.conftest import VAPID_PRIVATE
from tests.push.receiver import Device, b64url

FCM = "https://fcm.googleapis.com/fcm/send/abc123:APA91bXYZ"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, mailbox) -> Settings:
    """The real push services allowed (the default list), nothing local."""
    return make_settings(
        db_url,
        tmp_path,
        vapid_private_key=VAPID_PRIVATE,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
    )


def location(response) -> str:
    """Where a redirect goes, without its #fragment (a browser keeps that to itself)."""
    return response.headers["Location"].split("#", 1)[0]


async def csrf_header(client) -> dict[str, str]:
    key = await (await client.get("/api/push/key")).get_json()
    return {"X-CSRF-Token": key["csrfToken"]}


async def signed_in(client, email: str = "hanako@example.jp"):
    account = await make_account(email=email)
    await login(client, email)
    return account


async def post_subscription(client, body, headers=None):
    return await client.post(
        "/api/push/subscriptions", json=body, headers=headers or await csrf_header(client)
    )


async def test_subscribe_stores_the_device_once_by_endpoint(client) -> None:
    account = await signed_in(client)
    device = Device(FCM)
    first = await post_subscription(client, device.to_json())
    assert first.status_code == 201
    again = await post_subscription(client, device.to_json())  # every visit of the page
    assert again.status_code == 200
    events = await AuditEvent.filter(member_id=account.member_id).values_list("event", flat=True)
    assert [e for e in events if e.startswith("push:")] == ["push:subscription:create"]
    renewed = Device(FCM)  # the browser renewed its keys
    assert (await post_subscription(client, renewed.to_json())).status_code == 200
    rows = await PushSubscription.filter(member_id=account.member_id)
    assert [(r.endpoint, r.p256dh) for r in rows] == [(FCM, renewed.p256dh)]
    events = await AuditEvent.filter(member_id=account.member_id).values_list("event", flat=True)
    assert "push:subscription:update" in events


async def test_subscribe_needs_the_csrf_header_and_a_member(client) -> None:
    await make_account(email="hanako@example.jp")
    device = Device(FCM)
    anonymous = await client.post("/api/push/subscriptions", json=device.to_json())
    assert anonymous.status_code == 403
    await login(client, "hanako@example.jp")
    no_token = await client.post("/api/push/subscriptions", json=device.to_json())
    assert no_token.status_code == 403
    assert not await PushSubscription.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example/push/1",
        "https://127.0.0.1/push/1",
        "https://169.254.169.254/latest/meta-data",
        "https://fcm.googleapis.com.evil.example/push",
        "https://user:pw@fcm.googleapis.com/fcm/send/x",
        "ftp://fcm.googleapis.com/x",
        "https://notify.windows.com.example/x",
        "javascript:alert(1)",
        "",
        "https://fcm.googleapis.com/" + "a" * 1000,
    ],
)
async def test_endpoints_off_the_allowed_push_services_are_refused(client, endpoint) -> None:
    await signed_in(client)
    body = {**Device(FCM).to_json(), "endpoint": endpoint}
    response = await post_subscription(client, body)
    assert response.status_code == 422
    assert "この通知先は登録できません" in (await response.get_json())["error"]
    assert not await PushSubscription.exists()


async def test_the_push_services_of_every_browser_are_allowed(settings) -> None:
    production = settings.replace(env="production")
    for endpoint in (
        FCM,
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGuQyavXutnMH3Ip",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://db5p.notify.windows.com/w/?token=x",
    ):
        assert check_endpoint(endpoint, production) == endpoint
    for endpoint in ("http://fcm.googleapis.com/fcm/send/x", "https://fcm.googleapis.com:8443/x"):
        with pytest.raises(Exception, match="登録できません"):
            check_endpoint(endpoint, production)


@pytest.mark.parametrize(
    "keys",
    [
        {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": b64url(b"a" * 16)},  # not on the curve
        {"p256dh": "not base64!", "auth": b64url(b"a" * 16)},
        {"auth": b64url(b"a" * 16)},
        "keys",
    ],
)
async def test_bad_keys_are_refused(client, keys) -> None:
    await signed_in(client)
    response = await post_subscription(client, {"endpoint": FCM, "keys": keys})
    assert response.status_code == 422
    assert "通知の設定を受け付けられませんでした" in (await response.get_json())["error"]


async def test_short_auth_secret_and_garbage_body_are_refused(client) -> None:
    await signed_in(client)
    device = Device(FCM).to_json()
    device["keys"]["auth"] = b64url(b"a" * 8)
    assert (await post_subscription(client, device)).status_code == 422
    headers = {**await csrf_header(client), "Content-Type": "application/json"}
    garbage = await client.post("/api/push/subscriptions", data=b"{not json", headers=headers)
    assert garbage.status_code == 400
    assert "error" in await garbage.get_json()


async def test_delete_removes_only_the_members_own_device(app, client) -> None:
    other = await make_account(email="other@example.jp")
    theirs = Device(FCM + "-theirs")
    await PushSubscription.create(
        member_id=other.member_id,
        endpoint=theirs.endpoint,
        p256dh=theirs.p256dh,
        auth="AAAAAAAAAAAAAAAAAAAAAA",
        created_at=app.config["MYPAGE_CLOCK"](),
        updated_at=app.config["MYPAGE_CLOCK"](),
    )
    await signed_in(client)
    mine = Device(FCM)
    await post_subscription(client, mine.to_json())
    headers = await csrf_header(client)
    response = await client.delete(
        "/api/push/subscriptions", json={"endpoint": theirs.endpoint}, headers=headers
    )
    assert response.status_code == 404
    assert await PushSubscription.filter(endpoint=theirs.endpoint).exists()
    response = await client.delete(
        "/api/push/subscriptions", json={"endpoint": mine.endpoint}, headers=headers
    )
    assert response.status_code == 200
    assert not await PushSubscription.filter(endpoint=mine.endpoint).exists()


async def test_a_shared_device_follows_the_member_who_subscribed_last(client) -> None:
    first = await signed_in(client, "first@example.jp")
    device = Device(FCM)
    await post_subscription(client, device.to_json())
    row = await PushSubscription.get(endpoint=FCM)
    await PushDelivery.create(
        subscription_id=row.id, notice_key="statement:2026-11", delivered_at=row.created_at
    )
    await post_form(client, "/logout", {}, token_from="/settings/notifications")
    second = await signed_in(client, "second@example.jp")
    await post_subscription(client, device.to_json())
    row = await PushSubscription.get(endpoint=FCM)
    assert row.member_id == second.member_id != first.member_id  # type: ignore[attr-defined]
    # The second member's November notice still reaches this browser.
    assert not await PushDelivery.filter(subscription_id=row.id).exists()


async def test_at_most_ten_devices(client) -> None:
    await signed_in(client)
    for n in range(10):
        assert (await post_subscription(client, Device(f"{FCM}{n}").to_json())).status_code == 201
    response = await post_subscription(client, Device(FCM + "x").to_json())
    assert response.status_code == 409
    assert "10台まで" in (await response.get_json())["error"]


async def test_the_section_lists_devices_and_turns_one_off_without_javascript(client) -> None:
    account = await signed_in(client)
    await client.post(
        "/api/push/subscriptions",
        json=Device(FCM).to_json(),
        headers={
            **await csrf_header(client),
            "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        },
    )
    status, html = await page(client, "/settings/notifications")
    assert status == 200
    assert "通知をオンにする" in html and "通知をオフにする" in html
    assert "Safari（iOS）" in html and "まだありません" in html
    assert "ホーム画面に追加" in html  # the iOS explanation the script reveals
    assert "<noscript>" in html
    row = await PushSubscription.get(member_id=account.member_id)
    response = await post_form(
        client,
        f"/settings/notifications/devices/{row.id}/delete",
        {},
        token_from="/settings/notifications",
    )
    assert response.status_code == 303
    _, html = await page(client, location(response))
    assert "端末への通知をオフにしました" in html
    assert "通知を受け取る端末はありません" in html


async def test_another_members_device_cannot_be_turned_off(app, client) -> None:
    other = await make_account(email="other@example.jp")
    row = await PushSubscription.create(
        member_id=other.member_id,
        endpoint=FCM,
        p256dh=Device(FCM).p256dh,
        auth="AAAAAAAAAAAAAAAAAAAAAA",
        created_at=app.config["MYPAGE_CLOCK"](),
        updated_at=app.config["MYPAGE_CLOCK"](),
    )
    await signed_in(client)
    response = await post_form(
        client,
        f"/settings/notifications/devices/{row.id}/delete",
        {},
        token_from="/settings/notifications",
    )
    assert response.status_code == 404
    assert await PushSubscription.filter(id=row.id).exists()
    _, html = await page(client, "/settings/notifications")
    assert FCM not in html and "通知を受け取る端末はありません" in html


async def test_topics_are_saved_from_the_form(client) -> None:
    account = await signed_in(client)
    _, html = await page(client, "/settings/notifications")
    assert 'name="new_statement" value="on" checked' in html
    assert 'name="coop_notices" value="on">' in html
    response = await post_form(
        client,
        "/settings/notifications",
        {"coop_notices": "on"},
    )
    assert response.status_code == 303
    _, html = await page(client, location(response))
    assert "通知の設定を保存しました" in html
    preference = await PushPreference.get(member_id=account.member_id)
    assert (preference.new_statement, preference.coop_notices, preference.mail_fallback) == (
        False,
        True,
        False,
    )


async def test_the_key_endpoint_gives_the_public_key_and_needs_a_member(client) -> None:
    assert (await client.get("/api/push/key")).status_code == 401
    await signed_in(client)
    body = await (await client.get("/api/push/key")).get_json()
    assert len(body["publicKey"]) == 87  # 65 bytes in base64url
    # The token is masked afresh per response (BREACH): the page's differs, both work.
    _, html = await page(client, "/settings/notifications")
    assert body["csrfToken"] != csrf_of(html)
    session = cookie(client, "mypage_session")
    secret_key = client.app.config["MYPAGE_SETTINGS"].secret_key
    assert session and csrf_valid(secret_key, session, body["csrfToken"])
    assert csrf_valid(secret_key, session, csrf_of(html))
