"""The membership card page and the offline page the service worker keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Blueprint, g, render_template
from quart.typing import ResponseReturnValue

from server.auth.web import member_required, now, public
from server.card.service import card_for
from server.lib.clock import to_jst

bp = Blueprint("card", __name__)


@bp.get("/card")
@member_required
async def card() -> ResponseReturnValue:
    """The digital membership card, shown to shop staff across the counter."""
    member_card = await card_for(g.member.id, now())
    return await render_template("card/card.html", card=member_card)


@bp.get("/offline")
@public
async def offline() -> ResponseReturnValue:
    """What the service worker shows for a page it has no copy of; never member data."""
    # Rendered as for a visitor who is not signed in, even when a member asks
    # for it: the worker keeps this page for everyone on the device.
    return await render_template("card/offline.html", current_member=None)


@bp.app_context_processor
async def page_time() -> dict[str, Any]:
    """When a page was rendered: the 最終更新 time of its offline copy (base.html)."""
    return {"rendered_at": now()}


@bp.app_template_filter("jdatetime_seconds")
def jdatetime_seconds(value: datetime) -> str:
    """2026年11月28日 14:05:09 (Japan time): the card's clock before script takes over."""
    local = to_jst(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}"
