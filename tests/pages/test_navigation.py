"""Issue 19 item 3: every member page has the menu bar with 出資金・お問い合わせ・ヘルプ and
marks exactly one entry as the current page (aria-current="page")."""

from __future__ import annotations

import re

from quart import Quart

from tests.factories import make_account, make_member
from tests.helpers import login
from tests.statements.factories import make_statement

NAV = re.compile(r'<nav class="site-nav" aria-label="メニュー">(.*?)</nav>', re.S)
CURRENT = re.compile(r'<a href="([^"]*)" aria-current="page">')
# Pages outside the menu's sections, and the section each belongs to.
EXPECTED = {
    "/": "/",
    "/statements/2026-11": "/statements",
    "/statements": "/statements",
    "/profile/change": "/profile",
    "/settings/password": "/settings",
    "/inquiries/new": "/inquiries",
    "/help/forms": "/help",
    "/reauth?next=/settings": "/settings",
    "/service/stop": "/profile",
    "/service/stopped": "/profile",
}
# Not member pages: the offline shell (a copy the service worker keeps) and the shops'
# verifier (/verify, an app of its own).
SKIPPED = (
    "/verify",
    "/api",
    "/static",
    "/staff",
    "/dev",
    "/login",
    "/logout",
    "/register",
    "/password",
    "/offline",
)


def _member_pages(app: Quart) -> list[str]:
    """Every GET page without URL arguments that a signed-in member may open."""
    paths = set(EXPECTED)
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and not rule.arguments:
            if not rule.rule.startswith(SKIPPED) and "." not in rule.rule.rsplit("/", 1)[-1]:
                paths.add(rule.rule)
    return sorted(paths)


async def test_every_member_page_has_the_menu_and_one_current_entry(app: Quart) -> None:
    member = await make_member()
    await make_account(member, email="hanako@example.jp")
    await make_statement(member, "2026-11", [1200])
    client = app.test_client()
    assert (await login(client, "hanako@example.jp")).status_code == 303
    checked = []
    for path in _member_pages(app):
        response = await client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = await response.get_data(as_text=True)
        if "<html" not in html:
            continue
        nav = NAV.search(html)
        assert nav is not None, path
        links = re.findall(r'<a href="([^"]*)"', nav.group(1))
        for href in ("/", "/capital", "/inquiries", "/help", "/settings", "/statements"):
            assert href in links, (path, href)
        current = CURRENT.findall(nav.group(1))
        assert len(current) == 1, (path, current)
        assert html.count('aria-current="page"') == 1, path
        bare = path.split("?")[0]
        expected = EXPECTED.get(path) or next(
            (h for h in sorted(links, key=len, reverse=True) if h != "/" and bare.startswith(h)),
            "/",
        )
        assert current == [expected], (path, current)
        checked.append(path)
    # The walk really went through the member's pages.
    for path in ("/", "/card", "/capital", "/profile", "/inquiries", "/settings", "/help"):
        assert path in checked
    assert len(checked) >= 15, checked
