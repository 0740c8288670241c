"""Password hashing, CSRF tokens, security headers and the session cookie."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from quart import Response

from server.config import Settings
from server.lib.offload import run_cpu

# OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
TOKEN_BYTES = 32
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# A masked token is 86 characters; anything much longer is not one.
CSRF_MAX_CHARS = 200


async def hash_password(password: str) -> str:
    """argon2id hash, computed off the event loop."""
    return await run_cpu(_HASHER.hash, password)


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
        dummy = await run_cpu(_dummy_hash)
        await run_cpu(_verify, dummy, password)
        return False
    return await run_cpu(_verify, password_hash, password)


def new_token() -> str:
    """A random URL-safe token of 256 bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256, so a database leak gives no sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_secret(secret_key: str, binding: str) -> bytes:
    """What a CSRF token proves: an HMAC of the session (or anonymous CSRF cookie)."""
    return hmac.new(secret_key.encode(), b"csrf:" + binding.encode(), "sha256").digest()


def mask_csrf_token(secret: bytes) -> str:
    """The secret as one response carries it: random pad || (pad XOR secret), base64url.

    A fresh pad per response means no two pages carry the same string, so
    compression next to reflected input (BREACH) has nothing fixed to find.
    """
    pad = secrets.token_bytes(len(secret))
    masked = bytes(a ^ b for a, b in zip(pad, secret, strict=True))
    return base64.urlsafe_b64encode(pad + masked).rstrip(b"=").decode()


def csrf_token(secret_key: str, binding: str) -> str:
    """A newly masked CSRF token for a session (or an anonymous CSRF cookie)."""
    return mask_csrf_token(csrf_secret(secret_key, binding))


def csrf_valid(secret_key: str, binding: str, presented: str) -> bool:
    """Unmask a presented CSRF token and compare it in constant time."""
    if not binding or not presented or len(presented) > CSRF_MAX_CHARS:
        return False
    try:
        raw = base64.urlsafe_b64decode(presented + "=" * (-len(presented) % 4))
    except (binascii.Error, ValueError):
        return False
    size = len(raw) // 2
    if size == 0 or len(raw) != 2 * size:
        return False
    unmasked = bytes(a ^ b for a, b in zip(raw[:size], raw[size:], strict=True))
    return hmac.compare_digest(csrf_secret(secret_key, binding), unmasked)


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
    # Asked of the set above: `headers.get` of an absent name raises and catches
    # an exception inside werkzeug, and most views set no Cache-Control (the app's
    # headers hook 14.1 -> 12.2 µs of CPU; bench/card_cpu_bench.py, RESULTS.md
    # 2026-12-04 `/card` hot path).
    if member_page and not (
        "cache-control" in present and headers["Cache-Control"].startswith("public")
    ):
        headers["Cache-Control"] = "no-store"


def add_vary(response: Response, header: str) -> None:
    """Add a request header to Vary (what `response.vary.add` does, without building a set)."""
    current = response.headers.get("Vary")
    if not current:
        response.headers["Vary"] = header
    elif header.lower() not in {part.strip().lower() for part in current.split(",")}:
        response.headers["Vary"] = f"{current}, {header}"
