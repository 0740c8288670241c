"""Signing out on a device stops that device's notices (D3), and only that device's."""

from __future__ import annotations

from server.audit.models import AuditEvent
from server.push.models import PushSubscription
from tests.factories import make_account
from tests.helpers import post_form
from tests.push.receiver import Device, PushReceiver
from tests.push.test_delivery import subscribe


async def test_sign_out_removes_this_devices_subscription_only(app, receiver: PushReceiver) -> None:
    account = await make_account()
    other = await make_account()
    phone, pc, stranger = app.test_client(), app.test_client(), app.test_client()
    phone_device, pc_device = Device(receiver.endpoint()), Device(receiver.endpoint())
    stranger_device = Device(receiver.endpoint())
    await subscribe(phone, phone_device, account.email)
    await subscribe(pc, pc_device, account.email)
    await subscribe(stranger, stranger_device, other.email)

    # Someone else's endpoint sent with a sign-out changes nothing of theirs.
    await post_form(pc, "/logout", {"push_endpoint": stranger_device.endpoint}, token_from="/")
    assert await PushSubscription.filter(endpoint=stranger_device.endpoint).exists()
    assert await PushSubscription.filter(endpoint=pc_device.endpoint).exists()

    response = await post_form(
        phone, "/logout", {"push_endpoint": phone_device.endpoint}, token_from="/"
    )
    assert response.status_code == 303
    assert not await PushSubscription.filter(endpoint=phone_device.endpoint).exists()
    assert await PushSubscription.filter(endpoint=pc_device.endpoint).exists()
    logout = await AuditEvent.filter(event="auth:session:logout").order_by("-id").first()
    assert logout is not None and logout.data == {"push_device_removed": True}
