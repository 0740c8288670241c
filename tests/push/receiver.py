"""A real push service for tests: an HTTP server on 127.0.0.1, and a browser's keys.

The receiver records every request and answers from a script per path
(e.g. 429 with Retry-After, then 201). A `Device` holds what a browser keeps
for a subscription (a P-256 key pair and a 16-byte auth secret), so a test can
decrypt what the server sent with http_ece, as the browser would.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    """One request the push service got."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Answer:
    """How the receiver answers one request."""

    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class PushReceiver:
    """An aiohttp server that plays a push service."""

    def __init__(self, *, record_bodies: bool = True) -> None:
        self.requests: list[Received] = []
        self.scripts: dict[str, deque[Answer]] = defaultdict(deque)
        self.record_bodies = record_bodies
        self.count = 0
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, name: str | None = None) -> str:
        """A fresh endpoint URL on this receiver."""
        return f"{self.origin}/push/{name or secrets.token_urlsafe(12)}"

    def script(self, endpoint: str, *answers: Answer) -> None:
        """Answer the next requests to this endpoint in this order (then 201)."""
        path = endpoint.removeprefix(self.origin)
        self.scripts[path].extend(answers)

    def to(self, endpoint: str) -> list[Received]:
        """The requests made to one endpoint."""
        path = endpoint.removeprefix(self.origin)
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        import asyncio

        body = await request.read()
        script = self.scripts.get(request.path)
        answer = script.popleft() if script else Answer()
        if answer.delay:
            await asyncio.sleep(answer.delay)
        self.count += 1
        if self.record_bodies:
            self.requests.append(Received(request.path, dict(request.headers), body, answer.status))
        return web.Response(status=answer.status, headers=answer.headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{name}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class Device:
    """What a browser keeps for one push subscription."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def to_json(self) -> dict[str, Any]:
        """PushSubscription.toJSON() as a browser sends it."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """Decrypt an aes128gcm message (RFC 8291) and read its JSON."""
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(plain)


def verify_vapid(authorization: str, public_key_b64: str) -> dict[str, Any]:
    """Check a `vapid t=JWT,k=KEY` header (RFC 8292): ES256 over the JWT, by our key.

    Returns the JWT's claims; raises AssertionError when anything is off.
    """
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    parts = dict(item.split("=", 1) for item in params.split(","))
    assert parts["k"] == public_key_b64, "signed with another key than the server's"
    header_b64, claims_b64, signature_b64 = parts["t"].split(".")
    header = json.loads(unb64url(header_b64))
    assert header["alg"] == "ES256"
    signature = unb64url(signature_b64)
    assert len(signature) == 64
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise AssertionError("VAPID signature does not verify") from error
    claims = json.loads(unb64url(claims_b64))
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    return claims
