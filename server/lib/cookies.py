"""The one cookie writer: every cookie the app sets is HttpOnly, SameSite and path-scoped.

Callers say only what differs: the name, the value, how long it lives
(none: until the browser closes), whether it is Secure (from settings:
production's https), and, for the staff console, Strict and its own path.
"""

from __future__ import annotations

from typing import Literal

from werkzeug.sansio.response import Response

SameSite = Literal["Lax", "Strict"]


def write_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    secure: bool,
    max_age: int | None = None,
    samesite: SameSite = "Lax",
    path: str = "/",
) -> None:
    """Set a cookie with the house defaults (HttpOnly, SameSite=Lax, whole site)."""
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=secure, samesite=samesite, path=path
    )


def remove_cookie(
    response: Response, name: str, *, secure: bool, samesite: SameSite = "Lax", path: str = "/"
) -> None:
    """Tell the browser to drop a cookie written by `write_cookie` (same attributes)."""
    response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite=samesite)
