"""Re-authentication: a fresh proof of identity before changes that need one.

A password, or a passkey assertion (server/passkeys/signin.py), is good for
five minutes in the session that gave it. The /reauth page is in requests/
(changing the sign-in address, stopping the service); the rows are the
"requests" app's Reauthentication table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from quart import g, redirect, request

from server.audit.events import RequestEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.auth.passwords import password_matches
from server.auth.web import now
from server.errors import DomainError
from server.requests.models import Reauthentication

REAUTH_WINDOW = timedelta(minutes=5)
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class ReauthFailed(DomainError):
    """The password given to confirm identity was wrong or missing."""


async def mark_reauthenticated(session_id: int, method: str, now: datetime) -> None:
    """Record that this session proved its member again just now."""
    await Reauthentication.create(session_id=session_id, method=method, at=now)


async def last_reauthenticated(session_id: int) -> datetime | None:
    """When this session last proved its member again (password or passkey), if ever."""
    latest = await Reauthentication.filter(session_id=session_id).order_by("-at").first()
    return latest.at if latest is not None else None


async def is_recent(session_id: int, now: datetime) -> bool:
    """True when this session re-authenticated within the window."""
    return await Reauthentication.filter(session_id=session_id, at__gt=now - REAUTH_WINDOW).exists()


async def reauthenticate_with_password(
    account: Account, session_id: int, password: str, now: datetime, actor: Actor
) -> None:
    """Check the member's password and open the five-minute window."""
    if not password:
        raise ReauthFailed("パスワードを入力してください。")
    if not await password_matches(account.password_hash, password):
        await record(RequestEvent.REAUTH_FAILURE, actor, now)
        raise ReauthFailed("パスワードが正しくありません。もう一度入力してください。")
    await mark_reauthenticated(session_id, "password", now)
    await record(RequestEvent.REAUTH_SUCCESS, actor, now, method="password")


def recent_auth_required(view: F) -> F:
    """Send the member to confirm their password first (inside @member_required)."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("session") is None or not await is_recent(g.session.id, now()):
            target = request.path if request.method == "POST" else request.full_path.rstrip("?")
            return redirect("/reauth?" + urlencode({"next": target}), 303)
        return await view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
