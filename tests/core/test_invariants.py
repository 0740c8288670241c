"""Invariants over every route: CSRF, rate limits, who may see what."""

from __future__ import annotations

import re

from quart import Quart
from quart_rate_limiter import QUART_RATE_LIMITER_LIMITS_ATTRIBUTE

from server.auth.web import CSRF_FREE_ATTR, MEMBER_ATTR, PUBLIC_ATTR
from server.staff.web import STAFF_ATTR
from tests.factories import make_account
from tests.helpers import login

SAFE = {"GET", "HEAD", "OPTIONS"}
# The only non-GET routes that take no CSRF token, each with the reason it may.
CSRF_FREE = {
    "/api/card/verify": "shops' own systems check a card's QR text; public, changes nothing, "
    "reads no cookie or session, rate-limited per address (issue 16)",
}


def _views(app: Quart):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule, app.view_functions[rule.endpoint]


# <name>, <converter:name> or <converter(arguments):name> in a rule's text.
_VARIABLE = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def _sample_path(rule) -> str:
    """A concrete URL for a rule, with plausible values for its arguments."""
    samples = {"int": "1", "string": "x", "path": "x"}

    def value(match: re.Match[str]) -> str:
        # No converter (a plain string): a month-like value serves the month pages too.
        kind, arguments = match.group(1) or "", match.group(2) or ""
        if kind == "any":
            return arguments.split(",")[0].strip().strip("'\"")
        return samples.get(kind, "2026-01")

    return _VARIABLE.sub(value, rule.rule)


def test_every_view_is_either_public_or_for_members(app: Quart) -> None:
    unmarked = [
        rule.rule
        for rule, view in _views(app)
        if not rule.rule.startswith("/staff")
        and not getattr(view, PUBLIC_ATTR, False)
        and not getattr(view, MEMBER_ATTR, False)
    ]
    assert unmarked == []


def test_every_staff_view_is_marked_for_staff_and_nothing_else_lives_there(app: Quart) -> None:
    staff_rules = [(rule, view) for rule, view in _views(app) if rule.rule.startswith("/staff")]
    assert len(staff_rules) >= 5
    # Every /staff view is either staff-only (True) or a staff sign-in page (False) ...
    assert [r.rule for r, view in staff_rules if not hasattr(view, STAFF_ATTR)] == []
    # ... and never a member or public page.
    assert [
        r.rule
        for r, view in staff_rules
        if getattr(view, MEMBER_ATTR, False) or getattr(view, PUBLIC_ATTR, False)
    ] == []
    outside = [r.rule for r, v in _views(app) if hasattr(v, STAFF_ATTR)]
    assert all(path.startswith("/staff") for path in outside)


async def test_every_staff_url_is_404_for_a_member_and_closed_to_visitors(app: Quart) -> None:
    account = await make_account()
    member = app.test_client()
    assert (await login(member, account.email)).status_code == 303
    visitor = app.test_client()
    checked = 0
    for rule, view in _views(app):
        if not rule.rule.startswith("/staff"):
            continue
        path = _sample_path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = await member.open(path, method=method)
            assert response.status_code == 404, (method, rule.rule)
            checked += 1
            if method != "GET" or not getattr(view, STAFF_ATTR):
                continue
            response = await visitor.get(path)
            if path.startswith("/staff/api/"):
                assert response.status_code == 401, path
            else:
                assert response.status_code == 303, path
                assert response.headers["Location"].startswith("/staff/login"), path
    assert checked >= 5


def test_every_non_get_route_has_a_rate_limit(app: Quart) -> None:
    missing = [
        f"{sorted(rule.methods - SAFE)} {rule.rule}"
        for rule, view in _views(app)
        if rule.methods - SAFE and not getattr(view, QUART_RATE_LIMITER_LIMITS_ATTRIBUTE, None)
    ]
    assert missing == []


def test_only_the_listed_routes_go_without_csrf_and_they_are_public(app: Quart) -> None:
    free = {rule.rule: view for rule, view in _views(app) if getattr(view, CSRF_FREE_ATTR, False)}
    assert sorted(free) == sorted(CSRF_FREE)
    assert all(getattr(view, PUBLIC_ATTR, False) for view in free.values())


async def test_every_non_get_route_refuses_a_request_without_csrf_token(app: Quart) -> None:
    client = app.test_client()
    checked = 0
    for rule, _view in _views(app):
        if rule.rule in CSRF_FREE:
            continue
        for method in sorted(rule.methods - SAFE):
            response = await client.open(_sample_path(rule), method=method, form={"x": "1"})
            assert response.status_code == 403, (method, rule.rule)
            if rule.rule.startswith(("/api/", "/staff/api/")):  # JSON {"error": ...}
                assert "ページの有効期限が切れたか" in (await response.get_json())["error"]
            else:
                assert "操作を受け付けられませんでした" in await response.get_data(as_text=True)
            checked += 1
    assert checked >= 2  # /login and /logout at least


async def test_every_member_page_sends_a_visitor_to_sign_in(app: Quart) -> None:
    client = app.test_client()
    checked = 0
    for rule, view in _views(app):
        if "GET" not in rule.methods or not getattr(view, MEMBER_ATTR, False):
            continue
        path = _sample_path(rule)
        response = await client.get(path)
        if path.startswith("/api/"):
            assert response.status_code == 401, path
        else:
            assert response.status_code == 303, path
            assert response.headers["Location"].startswith("/login"), path
        checked += 1
    assert checked >= 1
