"""A phone holding a card: a device key made with `cryptography`, used as the page script would."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from quart.typing import TestClientProtocol

from server.card.cose import qr_text, raw_point, renew_message, sign_raw
from tests.helpers import page

CSRF_META = 'name="csrf-token" content="'


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def csrf_header(client: TestClientProtocol, path: str = "/card") -> dict[str, str]:
    """The X-CSRF-Token a page script reads from the page's meta tag."""
    _, html = await page(client, path)
    start = html.index(CSRF_META) + len(CSRF_META)
    return {"X-CSRF-Token": html[start : html.index('"', start)]}


@dataclass
class Device:
    """One browser's non-extractable key pair, and the certificate it was given."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    certificate: bytes = b""
    id: str = ""
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def public_key(self) -> str:
        return b64url(raw_point(self.key.public_key()))

    def keep(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.certificate = unb64url(answer["certificate"])
        self.id = answer["id"]

    async def issue(self, client: TestClientProtocol) -> Any:
        """POST /api/card/certificates from the signed-in /card page."""
        response = await client.post(
            "/api/card/certificates",
            json={"public_key": self.public_key},
            headers=await csrf_header(client),
        )
        if response.status_code == 201:
            self.keep(await response.get_json())
        return response

    def code(self, at: datetime, offset_steps: int = 0) -> str:
        """The QR text the page draws at a moment."""
        return qr_text(self.certificate, int(at.timestamp()) // 30 + offset_steps, self.key)

    def renew_body(self, at: datetime, key: ec.EllipticCurvePrivateKey | None = None) -> dict:
        ts = int(at.timestamp() * 1000)
        signature = sign_raw(key or self.key, renew_message(self.id, ts))
        return {"id": self.id, "ts": ts, "signature": b64url(signature)}

    async def renew(self, client: TestClientProtocol, at: datetime, **kw: Any) -> Any:
        """POST /api/card/renew signed by the device key, with the visitor's CSRF token."""
        response = await client.post(
            "/api/card/renew", json=self.renew_body(at, **kw), headers=await csrf_header(client)
        )
        if response.status_code == 201:
            self.keep(await response.get_json())
        return response


async def verify(client: TestClientProtocol, code: str) -> dict[str, Any]:
    """What POST /api/card/verify answers (no CSRF token, no cookie needed)."""
    response = await client.post("/api/card/verify", json={"code": code})
    assert response.status_code == 200
    return await response.get_json()
