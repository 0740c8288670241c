"""The card credential's JSON endpoints: keys, issue, renew, verify, revocations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Blueprint, Response, g, jsonify, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import csrf_free, member_required, now, public, request_actor, settings
from server.card import certificates
from server.card.certificates import CardError
from server.card.keys import load_keyring
from server.card.revocation import revoked_ids
from server.card.verification import verify_code
from server.errors import DomainError

bp = Blueprint("card_api", __name__)

MAX_CODE_CHARS = 4000


def _refusal(error: CardError) -> Response:
    response = jsonify({"error": error.message, "reason": error.reason})
    response.status_code = error.status
    return response


async def _json_object() -> dict[str, Any]:
    body = await request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise DomainError("送信された内容を読み取れませんでした。", status=400)
    return body


@bp.get("/.well-known/coop-card-keys.json")
@public
async def keys() -> ResponseReturnValue:
    """The co-op's public card keys (current and retired) for verifiers, as JWKs."""
    response = jsonify(load_keyring(settings()).jwks())
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/api/card/revocations")
@public
async def revocations() -> ResponseReturnValue:
    """Ids of certificates revoked and not yet expired, for verifiers to refresh when online."""
    at = now()
    response = jsonify({"revoked": await revoked_ids(at), "updated_at": int(at.timestamp())})
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/api/card/time")
@public
async def server_time() -> ResponseReturnValue:
    """The server's clock, so a verifier can warn when its own clock is off."""
    # Not cacheable: security headers answer every non-public view with no-store.
    return jsonify({"now_ms": int(now().timestamp() * 1000)})


@bp.post("/api/card/certificates")
@member_required
@rate_limit(10, timedelta(minutes=1))
@rate_limit(60, timedelta(hours=1))
async def issue() -> ResponseReturnValue:
    """Sign a card certificate for the device key this signed-in member's browser made."""
    body = await _json_object()
    try:
        point = certificates.device_key_from_text(body.get("public_key"))
        issued = await certificates.issue_certificate(
            g.member, point, now(), load_keyring(settings()), request_actor("member")
        )
    except CardError as error:
        return _refusal(error)
    return jsonify(issued.body(now())), 201


@bp.post("/api/card/renew")
@public
# Per address: the teachers of one school share one; each device renews about once a day.
@rate_limit(60, timedelta(minutes=1))
@rate_limit(600, timedelta(hours=1))
async def renew() -> ResponseReturnValue:
    """A new certificate for a device that signs the request with its key (no session needed)."""
    body = await _json_object()
    try:
        issued = await certificates.renew_certificate(
            body.get("id"),
            body.get("ts"),
            body.get("signature"),
            now(),
            load_keyring(settings()),
            request_actor("device"),
        )
    except CardError as error:
        return _refusal(error)
    return jsonify(issued.body(now())), 201


@bp.post("/api/card/verify")
@public
@csrf_free
@rate_limit(120, timedelta(minutes=1))
@rate_limit(3000, timedelta(hours=1))
async def verify() -> ResponseReturnValue:
    """Check a card's QR text for a shop's own system: {valid, reason, member fields}."""
    body = await request.get_json(force=True, silent=True)
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not code or len(code) > MAX_CODE_CHARS:
        raise DomainError(
            "JSONの「code」に、組合員証のQRコードの文字列を入れて送ってください。", status=400
        )
    verdict = await verify_code(code, now(), load_keyring(settings()))
    return jsonify(verdict.as_json())
