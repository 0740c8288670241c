"""Password hashing, CSRF tokens, security headers and the session cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from quart import Response

from server.config import Settings
from server.lib.threads import YieldingPool

# OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
TOKEN_BYTES = 32
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
T = TypeVar("T")


@lru_cache(maxsize=1)
def _hash_pool() -> YieldingPool:
    """Hashing threads, created on first use, on CPU time the pages leave over."""
    return YieldingPool("argon2")


async def _in_hash_pool(func: Callable[..., T], *args: Any) -> T:
    return await _hash_pool().run(func, *args)


async def hash_password(password: str) -> str:
    """argon2id hash, computed off the event loop."""
    return await _in_hash_pool(_HASHER.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password off the event loop; with no hash, spend the same time and fail."""
    if password_hash is None:
        dummy = await _in_hash_pool(_dummy_hash)
        await _in_hash_pool(_verify, dummy, password)
        return False
    return await _in_hash_pool(_verify, password_hash, password)


def new_token() -> str:
    """A random URL-safe token of 256 bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256, so a database leak gives no sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, binding: str) -> str:
    """The CSRF token for a session (or an anonymous CSRF cookie): an HMAC of it."""
    return hmac.new(secret_key.encode(), b"csrf:" + binding.encode(), "sha256").hexdigest()


def csrf_valid(secret_key: str, binding: str, presented: str) -> bool:
    """Constant-time check of a presented CSRF token."""
    if not binding or not presented:
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding), presented)


_SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
# (lower-case name, name, value): compared against the names a view already set.
SECURITY_HEADERS = tuple((name.lower(), name, value) for name, value in _SECURITY_HEADERS)
PRODUCTION_HEADERS = (*SECURITY_HEADERS, (_HSTS[0].lower(), *_HSTS))


def apply_security_headers(response: Response, settings: Settings, member_page: bool) -> None:
    """Every security header, set in one place for every response (a view's own value wins)."""
    headers = response.headers
    # One pass over the headers a view set, instead of a scan per setdefault.
    present = {name.lower() for name, _ in headers.items()}
    wanted = PRODUCTION_HEADERS if settings.is_production else SECURITY_HEADERS
    for key, name, value in wanted:
        if key not in present:
            headers.add(name, value)
    # Only a view that declares its answer the same for everyone ("public", e.g.
    # the card's public keys) may be cached; anything else might be personal.
    if member_page and not headers.get("Cache-Control", "").startswith("public"):
        headers["Cache-Control"] = "no-store"


def add_vary(response: Response, header: str) -> None:
    """Add a request header to Vary (what `response.vary.add` does, without building a set)."""
    current = response.headers.get("Vary")
    if not current:
        response.headers["Vary"] = header
    elif header.lower() not in {part.strip().lower() for part in current.split(",")}:
        response.headers["Vary"] = f"{current}, {header}"
