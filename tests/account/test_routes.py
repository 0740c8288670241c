"""Every page of this feature is public or needs a member; every POST has a rate limit."""

from __future__ import annotations

from quart_rate_limiter import QUART_RATE_LIMITER_LIMITS_ATTRIBUTE

from server.auth.web import MEMBER_ATTR, PUBLIC_ATTR

CONTRACT_ENDPOINTS = {
    "account.register": "/register",
    "account.password_forgot": "/password/forgot",
    "account.email_forgotten": "/help/email-forgotten",
}


async def test_contract_endpoint_names(app) -> None:
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    for endpoint, path in CONTRACT_ENDPOINTS.items():
        assert rules[endpoint] == path
    assert "/password/reset/<token>" in rules.values()


async def test_guards_and_rate_limits(app) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("account.", "devmail.")):
            continue
        view = app.view_functions[rule.endpoint]
        guarded = getattr(view, PUBLIC_ATTR, False) or getattr(view, MEMBER_ATTR, False)
        assert guarded, rule.endpoint
        if rule.methods - {"GET", "HEAD", "OPTIONS"}:
            assert getattr(view, QUART_RATE_LIMITER_LIMITS_ATTRIBUTE, None), rule.endpoint
        checked += 1
    assert checked >= 15


async def test_the_done_page_needs_a_member(client) -> None:
    response = await client.get("/register/done")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
