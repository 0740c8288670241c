"""Every passkey and settings route: guarded, and non-GET ones need CSRF and a rate limit."""

from __future__ import annotations

from quart import Quart
from quart_rate_limiter import QUART_RATE_LIMITER_LIMITS_ATTRIBUTE

from server.auth.web import MEMBER_ATTR, PUBLIC_ATTR
from tests.factories import make_account
from tests.helpers import login

FEATURE_ENDPOINTS = ("passkeys.", "settings.")


def _rules(app: Quart) -> list:
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(FEATURE_ENDPOINTS)]


async def test_every_route_is_public_or_for_members(app: Quart) -> None:
    rules = _rules(app)
    assert len(rules) >= 8
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        assert getattr(view, MEMBER_ATTR, False) or getattr(view, PUBLIC_ATTR, False), rule


async def test_every_non_get_route_is_rate_limited_and_needs_csrf(app: Quart, client) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    posts = [r for r in _rules(app) if "POST" in (r.methods or ())]
    assert len(posts) >= 7
    for rule in posts:
        view = app.view_functions[rule.endpoint]
        assert getattr(view, QUART_RATE_LIMITER_LIMITS_ATTRIBUTE, []), rule
        path = rule.rule.replace("<int:passkey_id>", "1")
        response = await client.post(path, json={})
        assert response.status_code == 403, rule


async def test_authentication_options_are_rate_limited(client) -> None:
    from tests.passkeys.helpers import csrf_header

    headers = await csrf_header(client, "/login")
    statuses: list[int] = []
    # 300 a minute per address (a school's teachers all open /login, issue 15 defect 7);
    # the budget refills by one every 0.2 s while the posts go on.
    while 429 not in statuses and len(statuses) < 1000:
        response = await client.post(
            "/api/passkeys/authentication/options", json={}, headers=headers
        )
        statuses.append(response.status_code)
    assert statuses[:300] == [200] * 300 and statuses[-1] == 429
