"""The demo admin of `mypage demo`: a set-up link until a passkey is registered."""

from __future__ import annotations

from quart import Quart

from server.staff.demo import DEMO_STAFF_EMAIL, demo_staff_link
from server.staff.models import StaffUser
from tests.passkeys.softauthn import SoftAuthenticator
from tests.staff.helpers import set_up_passkey


async def test_demo_admin_gets_a_link_until_it_has_a_passkey(app: Quart) -> None:
    settings, clock = app.config["MYPAGE_SETTINGS"], app.config["MYPAGE_CLOCK"]
    first = await demo_staff_link(settings, clock())
    second = await demo_staff_link(settings, clock())
    assert first and second and first != second
    assert (await StaffUser.get(email=DEMO_STAFF_EMAIL)).role == "admin"
    # Only the newest link works.
    status, _ = await set_up_passkey(
        app.test_client(), first.rsplit("/", 1)[1], SoftAuthenticator()
    )
    assert status == 404
    status, _ = await set_up_passkey(
        app.test_client(), second.rsplit("/", 1)[1], SoftAuthenticator()
    )
    assert status == 200
    assert await demo_staff_link(settings, clock()) is None
