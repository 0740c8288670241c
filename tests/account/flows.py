"""Walking the registration pages like a member (shared by the account tests)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from quart.typing import TestClientProtocol

from server.account.initial import issue_initial_passwords
from server.audit.service import Actor
from server.config import Settings
from server.members.models import Member
from tests.conftest import make_settings
from tests.helpers import post_form
from tests.smtp import mailed_code

NEW_PASSWORD = "akagi-yama-no-fumoto-2026"


async def issue(
    member: Member, now: datetime, days: int = 90, settings: Settings | None = None
) -> str:
    """Issue an initial password as staff would; returns what the letter says."""
    # The settings only fill in the owner's mail (co-op name, free dial, site address).
    mail_settings = settings or make_settings("sqlite://:memory:", Path("/nonexistent"))
    [issued] = await issue_initial_passwords(
        [member], now, days, Actor(kind="staff"), mail_settings
    )
    return issued.password


async def identify(
    client: TestClientProtocol, member: Member, initial: str, birth: str = "1980-05-05"
) -> Any:
    """Step 1: member number, initial password, birth date."""
    form = {"member_no": member.member_no, "initial_password": initial, "birth_date": birth}
    return await post_form(client, "/register", form)


async def give_email(client: TestClientProtocol, email: str) -> Any:
    """Step 2: the address (the code is queued for it)."""
    return await post_form(client, "/register/email", {"email": email})


async def give_code(client: TestClientProtocol, code: str) -> Any:
    """Step 3: the mailed code."""
    return await post_form(client, "/register/code", {"code": code})


async def give_password(
    client: TestClientProtocol, password: str = NEW_PASSWORD, confirm: str | None = None
) -> Any:
    """Step 4: the new password, twice."""
    form = {"password": password, "password_confirm": password if confirm is None else confirm}
    return await post_form(client, "/register/password", form)


async def register(
    client: TestClientProtocol, member: Member, initial: str, email: str, **kwargs: str
) -> Any:
    """All four steps; returns the last response."""
    assert (await identify(client, member, initial, **kwargs)).status_code == 303
    assert (await give_email(client, email)).status_code == 303
    code = await mailed_code(client.app, email)  # type: ignore[attr-defined]
    assert (await give_code(client, code)).status_code == 303
    return await give_password(client)
