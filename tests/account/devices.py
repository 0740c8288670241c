"""Setting up what a member's devices hold, as their browsers would (shared by lock-down tests)."""

from __future__ import annotations

import itertools

from quart.typing import TestClientProtocol

from server.audit.service import Actor
from server.auth.models import Account
from server.requests.email_change import start_email_change
from tests.passkeys.helpers import csrf_header
from tests.push.receiver import Device

_endpoints = itertools.count(1)


async def subscribe_push(client: TestClientProtocol) -> Device:
    """This signed-in browser turns notices on (the script's POST, as on /settings)."""
    device = Device(f"https://fcm.googleapis.com/fcm/send/device-{next(_endpoints)}")
    response = await client.post(
        "/api/push/subscriptions",
        json=device.to_json(),
        headers=await csrf_header(client, "/settings"),
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return device


async def pending_email_change(client: TestClientProtocol, account: Account, address: str) -> None:
    """The member asked to move the sign-in address; the code is mailed, not typed yet."""
    app = client.app  # type: ignore[attr-defined]
    await start_email_change(
        account, address, app.config["MYPAGE_SETTINGS"], app.config["MYPAGE_CLOCK"](), Actor()
    )
