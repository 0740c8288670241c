"""What a browser does: read the CSRF token of a form, post it back, sign in."""

from __future__ import annotations

import re
from typing import Any

from quart.typing import TestClientProtocol

from tests.factories import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a rendered page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def page(client: TestClientProtocol, path: str) -> tuple[int, str]:
    """GET a page and return its status and text."""
    response = await client.get(path)
    return response.status_code, await response.get_data(as_text=True)


async def post_form(
    client: TestClientProtocol, path: str, form: dict[str, Any], *, token_from: str | None = None
) -> Any:
    """POST a form with the CSRF token a browser would have from the page it came from."""
    _, html = await page(client, token_from or path)
    data = {"csrf_token": csrf_of(html), **form}
    return await client.post(path, form=data)


async def login(client: TestClientProtocol, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the real form."""
    return await post_form(client, "/login", {"email": email, "password": password})


def cookie(client: TestClientProtocol, name: str) -> str | None:
    """A cookie's value as the client's jar holds it."""
    for item in client.cookie_jar or []:  # type: ignore[attr-defined]
        if item.name == name:
            return str(item.value)
    return None
