"""Mail bodies sealed in the outbox (ASVS 14.2.4): codes and links are not readable in the database.

A queued body holds a sign-in code, a reset or set-up link, or a member's
details. It is encrypted with AES-256-GCM under a key derived (HKDF-SHA256)
from MYPAGE_SECRET_KEY, so a database dump or backup alone reveals nothing;
the sender opens it just before handing the mail to SMTP. The key id names
the secret it came from: after MYPAGE_SECRET_KEY changes, a body sealed under
the old one is refused at once (the member asks for a new code) rather than
retried until give-up. The recipient and Message-ID are the associated data,
so a sealed body moved to another row (another address) does not open.
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED = "sealed_body"
_INFO = b"mypage outbox mail body v1"


class SealError(Exception):
    """A sealed body that cannot be opened (another secret key, or altered)."""


@lru_cache(maxsize=4)
def _key(secret_key: str) -> tuple[str, AESGCM]:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    # A public name for the key: a hash of it, never the key or the secret.
    key_id = hashlib.sha256(b"key id\0" + derived).hexdigest()[:16]
    return key_id, AESGCM(derived)


def _associated(payload: dict[str, Any]) -> bytes:
    return f"{payload.get('to', '')}\n{payload.get('message_id', '')}".encode()


def seal_body(payload: dict[str, Any], body: str, secret_key: str) -> dict[str, str]:
    """The `sealed_body` entry for a mail payload (its to and message_id already set)."""
    key_id, aead = _key(secret_key)
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, body.encode(), _associated(payload))
    return {"kid": key_id, "alg": "A256GCM", "data": base64.b64encode(nonce + sealed).decode()}


def open_body(payload: dict[str, Any], secret_key: str) -> str:
    """The plain body of a queued mail payload (rows queued before sealing carry it plain)."""
    if SEALED not in payload:
        return str(payload["body"])
    entry = payload[SEALED]
    key_id, aead = _key(secret_key)
    if entry.get("kid") != key_id:
        raise SealError("sealed under another MYPAGE_SECRET_KEY")
    raw = base64.b64decode(entry["data"])
    try:
        return aead.decrypt(raw[:12], raw[12:], _associated(payload)).decode()
    except InvalidTag as error:
        raise SealError("sealed body does not open (altered or moved)") from error
