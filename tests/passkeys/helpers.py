"""What the passkey script does over HTTP: JSON posts with the page's CSRF header."""

from __future__ import annotations

import re
from typing import Any

from quart.typing import TestClientProtocol

from tests.helpers import login, page
from tests.passkeys.softauthn import SoftAuthenticator

META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def csrf_header(client: TestClientProtocol, path: str) -> dict[str, str]:
    """The X-CSRF-Token header a script on `path` would send."""
    _, html = await page(client, path)
    match = META_RE.search(html)
    assert match, f"no csrf-token meta on {path}"
    return {"X-CSRF-Token": match.group(1)}


async def api(
    client: TestClientProtocol, path: str, body: dict[str, Any] | None = None, *, page_: str
) -> tuple[int, dict[str, Any]]:
    """POST JSON from a page, as passkeys.js does; returns status and JSON."""
    response = await client.post(path, json=body or {}, headers=await csrf_header(client, page_))
    return response.status_code, await response.get_json()


async def add_passkey(client: TestClientProtocol, soft: SoftAuthenticator) -> dict[str, Any]:
    """Ask for options in /settings, let the authenticator answer, send it back."""
    status, options = await api(client, "/api/passkeys/registration/options", page_="/settings")
    assert status == 200, options
    credential = soft.create(options["publicKey"])
    status, result = await api(
        client,
        "/api/passkeys/registration/verify",
        {"credential": credential},
        page_="/settings",
    )
    assert status == 200, result
    return result


async def passkey_sign_in(
    client: TestClientProtocol, soft: SoftAuthenticator, **get: Any
) -> tuple[int, dict[str, Any]]:
    """From /login: options, the authenticator's assertion, verify."""
    status, options = await api(client, "/api/passkeys/authentication/options", page_="/login")
    assert status == 200, options
    assertion = soft.get(options["publicKey"], **get)
    return await api(
        client, "/api/passkeys/authentication/verify", {"credential": assertion}, page_="/login"
    )


async def member_with_passkey(
    client: TestClientProtocol, email: str, soft: SoftAuthenticator
) -> None:
    """Sign in with the password, add a passkey, sign out."""
    from tests.helpers import post_form

    assert (await login(client, email)).status_code == 303
    await add_passkey(client, soft)
    await post_form(client, "/logout", {}, token_from="/settings")
