"""F1: a member sees only their own data; a visitor who is not signed in sees none."""

from __future__ import annotations

import pytest

from tests.factories import make_account, make_member
from tests.helpers import login, page
from tests.statements.factories import make_capital, make_statement

MEMBER_URLS = [
    "/profile",
    "/statements",
    "/statements/2026-11",
    "/statements/2026-11.pdf",
    "/statements.csv",
    "/capital",
]
MONTH_URLS = ["/statements/2026-11", "/statements/2026-11.pdf"]


async def two_members():
    owner = await make_member(name="持主 花子", address="群馬県前橋市持主町1", phone="027-111-1111")
    await make_account(owner, email="owner@example.jp")
    await make_statement(owner, "2026-11", [43210], descriptions=["持主だけの明細"])
    await make_capital(owner, 2025, balance_yen=76543)
    other = await make_member(name="他人 太郎")
    await make_account(other, email="other@example.jp")
    return owner, other


@pytest.mark.parametrize("path", MEMBER_URLS)
async def test_signed_out_visitor_is_sent_to_login(client, path: str) -> None:
    await two_members()
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")


async def test_the_owner_can_open_every_page(client) -> None:
    await two_members()
    await login(client, "owner@example.jp")
    for path in MEMBER_URLS:
        response = await client.get(path)
        assert response.status_code == 200, path


@pytest.mark.parametrize("path", MONTH_URLS)
async def test_another_member_gets_404_for_the_owners_months(client, path: str) -> None:
    await two_members()
    await login(client, "other@example.jp")
    response = await client.get(path)
    assert response.status_code == 404
    body = await response.get_data(as_text=True)
    assert "43,210" not in body and "持主" not in body


async def test_another_members_pages_show_none_of_the_owners_data(client) -> None:
    await two_members()
    await login(client, "other@example.jp")
    for path in ("/profile", "/statements", "/statements.csv", "/capital"):
        status, body = await page(client, path)
        assert status == 200
        for secret in ("持主", "43,210", "43210", "76,543", "027-111-1111"):
            assert secret not in body, (path, secret)


async def test_every_member_data_route_needs_a_member(app) -> None:
    from server.auth.web import MEMBER_ATTR

    endpoints = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("members", "statements", "capital")
    ]
    assert {"members.profile", "statements.index", "capital.index"} <= set(endpoints)
    for endpoint in endpoints:
        assert getattr(app.view_functions[endpoint], MEMBER_ATTR, False), endpoint
