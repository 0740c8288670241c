"""Staff over HTTP: a staff account set up through its mailed link with a real passkey."""

from __future__ import annotations

from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from server.audit.service import Actor
from server.staff.accounts.service import create_staff
from server.staff.models import StaffUser
from tests.passkeys.helpers import api
from tests.passkeys.softauthn import SoftAuthenticator


async def new_staff(
    app: Quart, *, role: str = "operator", email: str | None = None, name: str = "職員 花子"
) -> tuple[StaffUser, str]:
    """A staff account as `mypage staff create` makes it; returns it and its set-up token."""
    settings = app.config["MYPAGE_SETTINGS"]
    clock = app.config["MYPAGE_CLOCK"]
    count = await StaffUser.all().count()
    address = email or f"staff{count + 1}-{role}@coop.example.jp"
    staff, url = await create_staff(address, name, role, clock(), Actor(kind="system"), settings)
    return staff, url.rsplit("/", 1)[1]


async def set_up_passkey(
    client: TestClientProtocol, token: str, soft: SoftAuthenticator
) -> tuple[int, dict[str, Any]]:
    """Open the set-up link, create the passkey, send it back (signs the staff member in)."""
    page_ = f"/staff/setup/{token}"
    status, options = await api(client, f"/staff/api/setup/{token}/options", page_=page_)
    if status != 200:
        return status, options
    credential = soft.create(options["publicKey"])
    return await api(
        client, f"/staff/api/setup/{token}/verify", {"credential": credential}, page_=page_
    )


async def staff_sign_in(
    client: TestClientProtocol, soft: SoftAuthenticator, **get: Any
) -> tuple[int, dict[str, Any]]:
    """From /staff/login: options, the authenticator's assertion, verify."""
    status, options = await api(client, "/staff/api/login/options", page_="/staff/login")
    assert status == 200, options
    assertion = soft.get(options["publicKey"], **get)
    return await api(
        client, "/staff/api/login/verify", {"credential": assertion}, page_="/staff/login"
    )


async def signed_in_staff(
    app: Quart, role: str = "operator", **kwargs: Any
) -> tuple[TestClientProtocol, StaffUser, SoftAuthenticator]:
    """A client signed in as a new staff member (set up with a real software passkey)."""
    staff, token = await new_staff(app, role=role, **kwargs)
    client = app.test_client()
    soft = SoftAuthenticator()
    status, result = await set_up_passkey(client, token, soft)
    assert status == 200, result
    return client, staff, soft
