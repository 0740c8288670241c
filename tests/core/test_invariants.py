"""Invariants over every route: CSRF, rate limits, who may see what."""

from __future__ import annotations

import re

from quart import Quart
from quart_rate_limiter import QUART_RATE_LIMITER_LIMITS_ATTRIBUTE

from server.auth.web import MEMBER_ATTR, PUBLIC_ATTR

SAFE = {"GET", "HEAD", "OPTIONS"}


def _views(app: Quart):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule, app.view_functions[rule.endpoint]


def _sample_path(rule) -> str:
    """A concrete URL for a rule, with plausible values for its arguments."""
    samples = {"int": "1", "integer": "1", "string": "x", "path": "x", "any": None}
    path = rule.rule
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.replace("Converter", "").lower()
        if kind == "any":
            value = next(iter(converter.items)) if hasattr(converter, "items") else "x"
        else:
            value = samples.get(kind, "2026-01")
        path = re.sub(r"<[^>]*\b" + name + r">", str(value), path)
    return path


def test_every_view_is_either_public_or_for_members(app: Quart) -> None:
    unmarked = [
        rule.rule
        for rule, view in _views(app)
        if not getattr(view, PUBLIC_ATTR, False)
        and not getattr(view, MEMBER_ATTR, False)
        and not rule.rule.startswith("/staff")
    ]
    assert unmarked == []


def test_every_non_get_route_has_a_rate_limit(app: Quart) -> None:
    missing = [
        f"{sorted(rule.methods - SAFE)} {rule.rule}"
        for rule, view in _views(app)
        if rule.methods - SAFE and not getattr(view, QUART_RATE_LIMITER_LIMITS_ATTRIBUTE, None)
    ]
    assert missing == []


async def test_every_non_get_route_refuses_a_request_without_csrf_token(app: Quart) -> None:
    client = app.test_client()
    checked = 0
    for rule, _view in _views(app):
        for method in sorted(rule.methods - SAFE):
            response = await client.open(_sample_path(rule), method=method, form={"x": "1"})
            assert response.status_code == 403, (method, rule.rule)
            if rule.rule.startswith("/api/"):  # JSON: {"error": the Japanese sentence}
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
