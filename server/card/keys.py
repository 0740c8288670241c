"""The co-op's card signing key: from settings, generated for development, published as JWKs."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.card.cose import key_id
from server.config import Settings
from server.push.vapid import b64url

log = logging.getLogger(__name__)
DEV_KEY_FILE = "card_signing_key.pem"
_lock = threading.Lock()
_cache: dict[tuple[str, tuple[str, ...], str], KeyRing] = {}


class CardKeyError(RuntimeError):
    """A configured card key cannot be used."""


@dataclass(frozen=True)
class KeyRing:
    """The key that signs new certificates, and every public key that still verifies."""

    kid: str
    signing_key: ec.EllipticCurvePrivateKey
    public_keys: dict[str, ec.EllipticCurvePublicKey]

    def jwks(self) -> dict[str, Any]:
        """The published key set: the current key first, then the retired ones."""
        return {"keys": [jwk(kid, key) for kid, key in self.public_keys.items()]}


def jwk(kid: str, key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """One public key as a JWK (RFC 7517/7518) that WebCrypto imports for ES256."""
    numbers = key.public_numbers()
    return {
        "kid": kid,
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
        "alg": "ES256",
        "use": "sig",
    }


def new_key_pem() -> tuple[str, str]:
    """A fresh P-256 key as PKCS#8 PEM, and its key id (for `mypage card-keys`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key_id(key.public_key())


def _read_private(path: Path, setting: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise CardKeyError(f"{setting}: cannot read an unencrypted PEM key from {path}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CardKeyError(f"{setting}: {path} is not a P-256 (ES256) key")
    return key


def _read_public(path: Path) -> ec.EllipticCurvePublicKey:
    """A retired key: its private PEM (still on file) or only its public PEM."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CardKeyError(f"MYPAGE_CARD_RETIRED_KEYS: cannot read {path}") from error
    if b"PRIVATE KEY" in data:
        return _read_private(path, "MYPAGE_CARD_RETIRED_KEYS").public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as error:
        raise CardKeyError(f"MYPAGE_CARD_RETIRED_KEYS: {path} is not a PEM key") from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CardKeyError(f"MYPAGE_CARD_RETIRED_KEYS: {path} is not a P-256 key")
    return key


def _development_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    path = settings.data_dir / DEV_KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem, kid = new_key_pem()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker process wrote it first
            return _read_private(path, "MYPAGE_CARD_SIGNING_KEY")
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
        log.info("generated a development card signing key %s in %s", kid, path)
    return _read_private(path, "MYPAGE_CARD_SIGNING_KEY")


def load_keyring(settings: Settings) -> KeyRing:
    """The card keys: from settings, or (outside production) generated under data_dir."""
    cache_key = (settings.card_signing_key, settings.card_retired_keys, str(settings.data_dir))
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
        if settings.card_signing_key:
            key = _read_private(Path(settings.card_signing_key), "MYPAGE_CARD_SIGNING_KEY")
        elif settings.is_production:
            raise CardKeyError("MYPAGE_CARD_SIGNING_KEY must be set in production")
        else:
            key = _development_key(settings)
        kid = key_id(key.public_key())
        public_keys = {kid: key.public_key()}
        for path in settings.card_retired_keys:
            retired = _read_public(Path(path))
            public_keys.setdefault(key_id(retired), retired)
        ring = KeyRing(kid, key, public_keys)
        _cache[cache_key] = ring
        return ring
