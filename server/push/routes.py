"""Push: the JSON endpoints the page script uses, and the no-JavaScript settings forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Blueprint, current_app, g, jsonify, redirect, request, url_for
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.audit.events import PushEvent
from server.audit.service import record
from server.auth.web import current_csrf_token, member_required, now, request_actor, settings
from server.errors import DomainError
from server.lib.render import render_page
from server.push import service
from server.push.section import notifications_section
from server.push.vapid import application_server_key

bp = Blueprint("push", __name__)


async def _json_body() -> Any:
    body = await request.get_json(force=True, silent=True)
    if body is None:
        raise DomainError("送信された内容を読み取れませんでした。", status=400)
    return body


@bp.get("/api/push/key")
@member_required
async def key() -> ResponseReturnValue:
    """The applicationServerKey for pushManager.subscribe(), and a CSRF token for the worker."""
    return jsonify(
        {"publicKey": application_server_key(settings()), "csrfToken": current_csrf_token()}
    )


@bp.post("/api/push/subscriptions")
@member_required
@rate_limit(20, timedelta(minutes=1))
async def subscribe() -> ResponseReturnValue:
    """Store this browser's PushSubscription.toJSON() for the signed-in member."""
    data = service.check_subscription(await _json_body(), settings())
    row, outcome = await service.save_subscription(
        g.member.id, data, request.headers.get("User-Agent", "")[:300], now()
    )
    if outcome != "unchanged":
        event = PushEvent.SUBSCRIBED if outcome == "created" else PushEvent.RESUBSCRIBED
        await record(
            event, request_actor("member"), now(), subscription_id=row.id, browser=row.browser
        )
    response = jsonify({"id": row.id, "browser": row.browser, "os": row.os})
    response.status_code = 201 if outcome == "created" else 200
    return response


@bp.delete("/api/push/subscriptions")
@member_required
@rate_limit(20, timedelta(minutes=1))
async def unsubscribe() -> ResponseReturnValue:
    """Forget one of the member's own devices, named by its endpoint."""
    body = await _json_body()
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    row = await service.remove_by_endpoint(g.member.id, endpoint)
    await record(PushEvent.UNSUBSCRIBED, request_actor("member"), now(), subscription_id=row.id)
    return jsonify({"removed": True})


def _back(saved: str) -> ResponseReturnValue:
    # Inside /settings once the settings page exists; our own page until then.
    endpoint = "settings.index" if "settings.index" in current_app.view_functions else None
    return redirect(url_for(endpoint or "push.notifications", saved=saved) + "#notifications", 303)


@bp.get("/settings/notifications")
@member_required
async def notifications() -> ResponseReturnValue:
    """The notifications section on a page of its own (also the no-JavaScript way back)."""
    return await render_page("push/notifications.html", section=await notifications_section())


@bp.post("/settings/notifications")
@member_required
@rate_limit(20, timedelta(minutes=1))
async def save_topics() -> ResponseReturnValue:
    """Save which notices the member wants by push (works without JavaScript)."""
    form = await request.form
    topics = {name for name in service.TOPICS if form.get(name) == "on"}
    mail_fallback = form.get("mail_fallback") == "on"
    await service.save_preference(g.member.id, topics, mail_fallback, now())
    await record(
        PushEvent.PREFERENCES,
        request_actor("member"),
        now(),
        topics=sorted(topics),
        mail_fallback=mail_fallback,
    )
    return _back("topics")


@bp.post("/settings/notifications/devices/<int:subscription_id>/delete")
@member_required
@rate_limit(20, timedelta(minutes=1))
async def delete_device(subscription_id: int) -> ResponseReturnValue:
    """Turn notices off for one of the member's devices (works without JavaScript)."""
    row = await service.remove_by_id(g.member.id, subscription_id)
    await record(PushEvent.UNSUBSCRIBED, request_actor("member"), now(), subscription_id=row.id)
    return _back("device")
