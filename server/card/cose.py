"""The card's encodings: COSE_Sign1 (RFC 9052) with ES256, base45 (RFC 9285), the QR text.

Pure functions on bytes, shared by the server, the tests and the benchmark;
the browser side (pwa/js/cardcodec.js, card.js, verify.js) follows the same
format byte for byte (README, "The card credential").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

QR_PREFIX = "CC1:"
STEP_CONTEXT = b"coop-card/v1/step"
RENEW_CONTEXT = "coop-card/v1/renew/"
STEP_SECONDS = 30
COSE_ALG = 1
COSE_KID = 4
ES256 = -7
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INDEX = {char: i for i, char in enumerate(B45)}


class Malformed(ValueError):
    """Bytes or text that are not what the card format says."""


def b45encode(data: bytes) -> str:
    """RFC 9285: two bytes to three characters of QR's alphanumeric alphabet."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        e, rest = divmod(n, 45 * 45)
        d, c = divmod(rest, 45)
        out += [B45[c], B45[d], B45[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += [B45[c], B45[d]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """The bytes of a base45 text (Malformed for a foreign character or value)."""
    try:
        values = [_B45_INDEX[char] for char in text]
    except KeyError as error:
        raise Malformed("not base45") from error
    if len(values) % 3 == 1:
        raise Malformed("base45 length")
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(chunk))
        if len(chunk) == 3:
            if n > 0xFFFF:
                raise Malformed("base45 value")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise Malformed("base45 value")
            out.append(n)
    return bytes(out)


def raw_point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed P-256 point (what WebCrypto exports as "raw")."""
    return public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def public_key_from_point(point: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its 65-byte uncompressed point (Malformed otherwise)."""
    if len(point) != 65 or point[0] != 4:
        raise Malformed("not an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as error:
        raise Malformed("not a point on P-256") from error


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key id: the first 8 bytes of SHA-256 of the key's SPKI, in hex."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()[:16]


def sign_raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA P-256/SHA-256 as raw r||s (64 bytes), the form WebCrypto makes."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_raw(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """True when a raw r||s signature is good for the data."""
    if len(signature) != 64:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign1(key: ec.EllipticCurvePrivateKey, kid: str, payload: dict[str, Any]) -> bytes:
    """An untagged COSE_Sign1 message over a CBOR payload, ES256, kid in the protected header."""
    protected = cbor2.dumps({COSE_ALG: ES256, COSE_KID: kid.encode()})
    body = cbor2.dumps(payload)
    return cbor2.dumps([protected, {}, body, sign_raw(key, _sig_structure(protected, body))])


@dataclass(frozen=True)
class Sign1:
    """A decoded COSE_Sign1 message, its signature not yet checked."""

    kid: str
    payload: dict[str, Any]
    to_be_signed: bytes
    signature: bytes

    def verified_by(self, key: ec.EllipticCurvePublicKey) -> bool:
        """True when the co-op key signed it."""
        return verify_raw(key, self.signature, self.to_be_signed)


def decode_sign1(data: bytes) -> Sign1:
    """Take a COSE_Sign1 message apart (Malformed when it is not one of ours)."""
    try:
        message = cbor2.loads(data)
        protected_bytes, _unprotected, body, signature = message
        protected = cbor2.loads(protected_bytes)
        payload = cbor2.loads(body)
    except (cbor2.CBORError, ValueError, TypeError) as error:
        raise Malformed("not COSE_Sign1") from error
    if not (
        isinstance(protected, dict)
        and protected.get(COSE_ALG) == ES256
        and isinstance(protected.get(COSE_KID), bytes)
        and isinstance(payload, dict)
        and isinstance(signature, bytes)
    ):
        raise Malformed("not an ES256 COSE_Sign1 with a kid")
    try:
        kid = protected[COSE_KID].decode()
    except UnicodeDecodeError as error:
        raise Malformed("kid") from error
    return Sign1(kid, payload, _sig_structure(protected_bytes, body), signature)


def step_message(certificate: bytes, step: int) -> bytes:
    """What the device signs for one 30-second step."""
    return STEP_CONTEXT + certificate + step.to_bytes(8, "big")


def renew_message(certificate_id: str, ts_ms: int) -> bytes:
    """What the device signs to ask for a new certificate."""
    return f"{RENEW_CONTEXT}{certificate_id}/{ts_ms}".encode()


def qr_text(certificate: bytes, step: int, device_key: ec.EllipticCurvePrivateKey) -> str:
    """The QR text for a step, made as the page script makes it (tests and benchmarks)."""
    signature = sign_raw(device_key, step_message(certificate, step))
    return QR_PREFIX + b45encode(cbor2.dumps([certificate, step, signature]))


@dataclass(frozen=True)
class Presented:
    """A QR text taken apart: the certificate, the step, the device's signature."""

    certificate: bytes
    step: int
    signature: bytes


def parse_qr_text(text: str) -> Presented:
    """Take a QR text apart (Malformed when it is not CC1: base45 CBOR [bstr, uint, bstr])."""
    text = text.strip()
    if not text.startswith(QR_PREFIX) or len(text) > 4000:
        raise Malformed("not CC1:")
    try:
        parts = cbor2.loads(b45decode(text[len(QR_PREFIX) :]))
    except (cbor2.CBORError, ValueError, TypeError) as error:
        raise Malformed("not CBOR") from error
    if (
        not isinstance(parts, list)
        or len(parts) != 3
        or not isinstance(parts[0], bytes)
        or type(parts[1]) is not int
        or not 0 <= parts[1] < 1 << 63
        or not isinstance(parts[2], bytes)
    ):
        raise Malformed("not [certificate, step, signature]")
    return Presented(parts[0], parts[1], parts[2])
