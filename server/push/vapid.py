"""VAPID keys (RFC 8292): loaded from settings, generated for development, printed by the CLI."""

from __future__ import annotations

import base64
import logging
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from server.config import Settings

log = logging.getLogger(__name__)
DEV_KEY_FILE = "vapid_private_key.pem"
_lock = threading.Lock()
_cache: dict[tuple[str, str], Vapid] = {}


class VapidKeyError(RuntimeError):
    """The configured VAPID key cannot be used."""


def b64url(data: bytes) -> str:
    """Base64url without padding, as Web Push writes keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding (ValueError when it is not base64url)."""
    cleaned = text.strip()
    if not cleaned or any(c not in _B64URL for c in cleaned.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(cleaned.rstrip("=") + "=" * (-len(cleaned.rstrip("=")) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_key_pair() -> tuple[str, str]:
    """A fresh P-256 pair: (private key raw base64url, public applicationServerKey base64url)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private_raw = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(private_raw), public_key_of(key)


def public_key_of(key: ec.EllipticCurvePrivateKey) -> str:
    """The applicationServerKey a browser needs: the uncompressed public point, base64url."""
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def _from_setting(value: str) -> Vapid:
    text = value.strip()
    if "-----BEGIN" in text:
        return Vapid.from_pem(text.encode())
    path = Path(text)
    if len(text) < 500 and path.is_file():
        return Vapid.from_file(str(path))
    try:
        return Vapid.from_string(text)
    except Exception as error:
        raise VapidKeyError(
            "MYPAGE_VAPID_PRIVATE_KEY must be a PEM file path or a base64url raw key"
        ) from error


def _development_key(settings: Settings) -> Vapid:
    path = settings.data_dir / DEV_KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        vapid = Vapid()
        vapid.generate_keys()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker process wrote it first
            return Vapid.from_file(str(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(vapid.private_pem())
        log.info("generated a development VAPID key in %s", path)
        return vapid
    return Vapid.from_file(str(path))


def load_vapid(settings: Settings) -> Vapid:
    """The server's VAPID key: from settings, or (outside production) generated under data_dir."""
    cache_key = (settings.vapid_private_key, str(settings.data_dir))
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
        if settings.vapid_private_key:
            vapid = _from_setting(settings.vapid_private_key)
        elif settings.is_production:
            raise VapidKeyError("MYPAGE_VAPID_PRIVATE_KEY must be set in production")
        else:
            vapid = _development_key(settings)
        _cache[cache_key] = vapid
        return vapid


def application_server_key(settings: Settings) -> str:
    """The public key pages pass to pushManager.subscribe()."""
    return public_key_of(load_vapid(settings).private_key)
