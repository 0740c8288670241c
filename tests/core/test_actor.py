"""One way to say who acted: the request's actor, as a member or clerk, about a member."""

from __future__ import annotations

from quart import Quart

from server.audit.service import Actor
from tests.factories import make_account, make_member
from tests.staff.helpers import new_staff

REQUEST = Actor(kind="anonymous", ip="192.0.2.7", user_agent="Mozilla/5.0 (iPhone)")


async def test_the_request_as_a_member_keeps_its_address_and_browser(app: Quart) -> None:
    account = await make_account()
    who = REQUEST.as_member(account)
    assert who == Actor(
        kind="member",
        member_id=account.member_id,  # type: ignore[attr-defined]
        account_id=account.id,
        ip="192.0.2.7",
        user_agent="Mozilla/5.0 (iPhone)",
    )


async def test_the_request_as_a_clerk_keeps_its_address_and_browser(app: Quart) -> None:
    staff, _ = await new_staff(app)
    who = REQUEST.as_member(await make_account()).as_staff(staff)
    assert who == Actor(
        kind="staff", staff_id=staff.id, ip="192.0.2.7", user_agent="Mozilla/5.0 (iPhone)"
    )


async def test_about_names_the_member_and_keeps_who_acted(app: Quart) -> None:
    staff, _ = await new_staff(app)
    clerk = REQUEST.as_staff(staff)
    member = await make_member()
    account = await make_account(member)
    assert clerk.about(member) == Actor(
        kind="staff",
        member_id=member.id,
        staff_id=staff.id,
        ip="192.0.2.7",
        user_agent="Mozilla/5.0 (iPhone)",
    )
    assert clerk.about(member, account).account_id == account.id
    signed_in = REQUEST.as_member(await make_account())
    assert signed_in.anonymous().about(member).kind == "anonymous"
    assert signed_in.anonymous().about(member).member_id == member.id
