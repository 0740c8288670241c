"""A software authenticator: real P-256 keys and CBOR, so py_webauthn verifies for real."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from server.passkeys.webauthn import decode, encode

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
GOOGLE_PM = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"


@dataclass
class SoftCredential:
    """One resident credential inside the soft authenticator."""

    credential_id: bytes
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Answers create() and get() options the way a browser's toJSON() would send them."""

    origin: str = "http://localhost"
    aaguid: str = GOOGLE_PM
    user_verified: bool = True
    backup_eligible: bool = True
    backed_up: bool = True
    counter_step: int = 1
    algorithm: str = "ES256"  # or "RS256" (PKCS#1 v1.5), which the server must refuse
    credentials: list[SoftCredential] = field(default_factory=list)

    def _flags(self, attested: bool) -> int:
        flags = UP
        if self.user_verified:
            flags |= UV
        if self.backup_eligible:
            flags |= BE
        if self.backed_up:
            flags |= BS
        if attested:
            flags |= AT
        return flags

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        ).encode()

    def _new_key(self) -> tuple[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, bytes]:
        if self.algorithm == "RS256":
            rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            n = rsa_key.public_key().public_numbers()
            return rsa_key, cbor2.dumps(
                {1: 3, 3: -257, -1: n.n.to_bytes(256, "big"), -2: n.e.to_bytes(3, "big")}
            )
        ec_key = ec.generate_private_key(ec.SECP256R1())
        numbers = ec_key.public_key().public_numbers()
        return ec_key, cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create() with none attestation."""
        rp_id = options["rp"]["id"]
        key, cose = self._new_key()
        cred = SoftCredential(os.urandom(32), key, rp_id, decode(options["user"]["id"]))
        self.credentials.append(cred)
        aaguid = bytes.fromhex(self.aaguid.replace("-", ""))
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags(True)])
            + struct.pack(">I", cred.sign_count)
            + aaguid
            + struct.pack(">H", len(cred.credential_id))
            + cred.credential_id
            + cose
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": encode(cred.credential_id),
            "rawId": encode(cred.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": encode(client_data),
                "attestationObject": encode(attestation),
                "transports": ["internal", "hybrid"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        sign_count: int | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.get() with the first (or the given) resident credential."""
        cred = credential or self.credentials[0]
        if sign_count is None:
            cred.sign_count += self.counter_step
            sign_count = cred.sign_count
        auth_data = (
            hashlib.sha256(cred.rp_id.encode()).digest()
            + bytes([self._flags(False)])
            + struct.pack(">I", sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        if isinstance(cred.key, rsa.RSAPrivateKey):
            signature = cred.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = cred.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": encode(cred.credential_id),
            "rawId": encode(cred.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": encode(client_data),
                "authenticatorData": encode(auth_data),
                "signature": encode(signature),
                "userHandle": encode(cred.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }
