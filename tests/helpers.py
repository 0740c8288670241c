"""What a browser does: read the CSRF token of a form, post it back, sign in."""

from __future__ import annotations

import re
from typing import Any

from quart.typing import TestClientProtocol

from server.outbox.models import OutboxMessage
from tests.factories import PASSWORD
from tests.smtp import mailed_code

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


async def wrong_sign_in(client: TestClientProtocol, **request: Any) -> int:
    """One failed sign-in through the form; `request` goes to the POST (headers, scope_base)."""
    _, html = await page(client, "/login")
    form = {"csrf_token": csrf_of(html), "email": "nobody@example.jp", "password": "wrong"}
    return (await client.post("/login", form=form, **request)).status_code


async def login(
    client: TestClientProtocol,
    email: str,
    password: str = PASSWORD,
    *,
    remember: bool = True,
    **extra: str,
) -> Any:
    """Sign in through the real forms, like a member at a browser.

    When the app asks for the mailed authentication code (a browser not seen
    before), the outbox is delivered to the test SMTP server, the code is read
    from the mail that arrived, and typed in; `remember` ticks "remember this
    browser", so later sign-ins from this client need no code. Returns the
    last response (the redirect into My Page, or the refusal).
    """
    response = await post_form(client, "/login", {"email": email, "password": password, **extra})
    location = response.headers.get("Location", "")
    if response.status_code != 303 or not location.startswith("/login/code"):
        return response
    code = await mailed_code(client.app, email)  # type: ignore[attr-defined]
    form = {"code": code, "next": extra.get("next", "/")}
    if remember:
        form["remember"] = "1"
    return await post_form(client, "/login/code", form, token_from=location)


def cookie(client: TestClientProtocol, name: str) -> str | None:
    """A cookie's value as the client's jar holds it."""
    for item in client.cookie_jar or []:  # type: ignore[attr-defined]
        if item.name == name:
            return str(item.value)
    return None


async def queued(channel: str) -> list[OutboxMessage]:
    """What the outbox holds on a channel, oldest first."""
    return await OutboxMessage.filter(channel=channel).order_by("id")
