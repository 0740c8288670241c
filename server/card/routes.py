"""The membership card page, the shops' verifier page and the offline page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from quart import Blueprint, g, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.auth.web import now, public, settings
from server.card import certificates
from server.card.keys import load_keyring
from server.card.service import card_for
from server.card.verification import MESSAGES, verify_code
from server.lib.clock import to_jst
from server.lib.render import render_page
from server.members.access import AccessEnded

bp = Blueprint("card", __name__)

# The verdict in a word, as the shop's clerk reads it (pwa/js/verify.js says the same).
VERDICT_LABELS = {
    None: "有効",
    "malformed": "読み取れません",
    "unknown_key": "署名が正しくない",
    "bad_signature": "署名が正しくない",
    "expired": "期限切れ",
    "out_of_time": "時間外",
    "revoked": "失効",
}
MAX_CODE_CHARS = 4000
VERIFIER_PERMISSIONS = "camera=(self), microphone=(), geolocation=()"


@bp.get("/card")
@public
async def card() -> ResponseReturnValue:
    """The digital membership card; without a session, the shell the device's certificate fills."""
    shops_url = settings().card_shops_url
    member = g.get("member")
    if member is None:
        return await render_page("card/card.html", card=None, shops_url=shops_url)
    at = now()
    ended = certificates.ended_reason(member, at)
    if ended:
        raise AccessEnded(ended)
    return await render_page("card/card.html", card=card_for(member, at), shops_url=shops_url)


@bp.get("/verify")
@public
async def verify_page() -> ResponseReturnValue:
    """The verifier for shops: camera, photo or pasted code (the form works without script)."""
    body = await render_page("card/verify.html", verdict=None, code="")
    # The one page that may use the camera: it reads the QR codes members show.
    return body, 200, {"Permissions-Policy": VERIFIER_PERMISSIONS}


@bp.post("/verify")
@public
@rate_limit(60, timedelta(minutes=1))
@rate_limit(1000, timedelta(hours=1))
async def verify_form() -> ResponseReturnValue:
    """A pasted code checked by the server, the verdict shown big and plain (no script needed)."""
    code = ((await request.form).get("code") or "").strip()
    if not code or len(code) > MAX_CODE_CHARS:
        body = await render_page(
            "card/verify.html",
            verdict=None,
            code="",
            error="組合員証のQRコードの文字列（CC1: で始まるもの）を貼り付けてください。",
        )
        return body, 400
    verdict = await verify_code(code, now(), load_keyring(settings()))
    body = await render_page(
        "card/verify.html",
        verdict=verdict.as_json(),
        label=VERDICT_LABELS[verdict.reason],
        message=MESSAGES[verdict.reason],
        code="",
    )
    return body, 200, {"Permissions-Policy": VERIFIER_PERMISSIONS}


@bp.get("/offline")
@public
async def offline() -> ResponseReturnValue:
    """What the service worker shows for a page it has no copy of; never member data."""
    # Rendered as for a visitor who is not signed in, even when a member asks
    # for it: the worker keeps this page for everyone on the device.
    return await render_page("card/offline.html", current_member=None)


@bp.app_context_processor
async def page_time() -> dict[str, Any]:
    """When a page was rendered: the 最終更新 time of its offline copy (base.html)."""
    return {"rendered_at": now()}


@bp.app_template_filter("jdatetime_seconds")
def jdatetime_seconds(value: datetime) -> str:
    """2026年11月28日 14:05:09 (Japan time): the card's clock before script takes over."""
    local = to_jst(value)
    # Fields, not `{local:%H:%M:%S}`: datetime's strftime made the filter 1.6 % of
    # the server's time on /card under wrk (py-spy); ~7 -> ~3 µs per call
    # (timeit; bench/RESULTS.md 2026-12-04 `/card` hot path).
    return (
        f"{local.year}年{local.month}月{local.day}日 "
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    )
