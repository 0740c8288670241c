"""Sections of /settings: each feature contributes one, listed in SECTIONS of page.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from quart import g

from server.account.service import remembered_browsers
from server.audit.events import HISTORY_LABELS, SIGN_IN_LABELS, VIEW_LABELS, AccountEvent
from server.audit.models import AuditEvent
from server.auth.models import Session
from server.auth.web import now
from server.lib.dates import parse_month
from server.lib.useragent import member_device
from server.statements.service import month_label


@dataclass(frozen=True)
class SettingsSection:
    """A template under settings/ with its own context (`ctx`) and scripts it needs."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    scripts: tuple[str, ...] = ()


METHODS = {"password": "パスワード", "passkey": "パスキー"}


async def sessions_section() -> SettingsSection:
    """ログイン中の端末 and the browsers that skip the sign-in code, this one marked."""
    rows = await Session.filter(account_id=g.account.id).order_by("-last_seen_at")
    sessions = [
        {
            "id": row.id,
            "device": member_device(row.user_agent),
            "method": METHODS.get(row.auth_method, row.auth_method),
            "created_at": row.created_at,
            "last_seen_at": row.last_seen_at,
            "current": row.id == g.session.id,
        }
        for row in rows
    ]
    browsers = [
        {
            "id": row.id,
            "device": member_device(row.user_agent),
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "expires_at": row.expires_at,
        }
        for row in await remembered_browsers(g.account.id, now())
    ]
    return SettingsSection("settings/_sessions.html", {"sessions": sessions, "browsers": browsers})


# Sign-ins carry their method; a new device's event marks the sign-in it belongs to.
NEW_DEVICE = AccountEvent.DEVICE_NEW
TIMELINE_DAYS = 90
TIMELINE_LIMIT = 100


def history_label(event: str, data: dict[str, Any]) -> str:
    """What a recorded event means, in the member's words."""
    if event in SIGN_IN_LABELS:
        method = METHODS.get(str(data.get("method")), "パスワード")
        return f"{SIGN_IN_LABELS[event]}（{method}）"
    if event == NEW_DEVICE:
        method = METHODS.get(str(data.get("method")), "パスワード")
        return f"{HISTORY_LABELS[NEW_DEVICE]}（{method}）"
    return HISTORY_LABELS.get(event, event)


def _device_note(device_event: AuditEvent | None) -> str:
    if device_event is None:
        return ""
    if (device_event.data or {}).get("mailed"):
        return "新しい端末（お知らせメールを送信しました）"
    return "新しい端末"


def _who_device(row: AuditEvent) -> str:
    # What the office did (at the member's call) happened on the office's PC, not theirs.
    return "生協の職員による操作" if row.actor == "staff" else member_device(row.user_agent)


async def security_timeline(member_id: int, now: datetime) -> list[dict[str, Any]]:
    """The member's own security events of the last 90 days, newest first."""
    rows = (
        await AuditEvent.filter(
            member_id=member_id,
            at__gte=now - timedelta(days=TIMELINE_DAYS),
            event__in=[*HISTORY_LABELS, *SIGN_IN_LABELS],
        )
        .order_by("-at", "-id")
        .limit(TIMELINE_LIMIT)
    )
    shown = {row.id for row in rows}
    # A new device's event is folded into the sign-in it belongs to, when that is listed.
    devices = {
        row.data["sign_in_event"]: row
        for row in rows
        if row.event == NEW_DEVICE and (row.data or {}).get("sign_in_event") in shown
    }
    return [
        {
            "at": row.at,
            "label": history_label(row.event, row.data or {}),
            "device": _who_device(row),
            "note": _device_note(devices.get(row.id) if row.event != NEW_DEVICE else row),
            "ip": row.ip,
        }
        for row in rows
        if not (row.event == NEW_DEVICE and (row.data or {}).get("sign_in_event") in devices)
    ]


async def history_section() -> SettingsSection:
    """セキュリティ履歴: the member's own security events of the last 90 days (timeline)."""
    events = await security_timeline(g.member.id, now())
    context = {"events": events, "days": TIMELINE_DAYS, "limit": TIMELINE_LIMIT}
    return SettingsSection("settings/_history.html", context)


VIEWS_LIMIT = 50


def view_label(event: str, data: dict[str, Any]) -> str:
    """A data view in the member's words, with the month or file type when there is one."""
    details = []
    month = str(data.get("month", ""))
    if parse_month(month) is not None:
        details.append(f"{month_label(month)}分")
    if data.get("format"):
        details.append(str(data["format"]).upper())
    label = VIEW_LABELS.get(event, event)
    return f"{label}（{'・'.join(details)}）" if details else label


async def views_section() -> SettingsSection:
    """閲覧の記録: when the member's own data was shown or downloaded, last 90 days."""
    rows = (
        await AuditEvent.filter(
            member_id=g.member.id,
            at__gte=now() - timedelta(days=TIMELINE_DAYS),
            event__in=list(VIEW_LABELS),
        )
        .order_by("-at", "-id")
        .limit(VIEWS_LIMIT)
    )
    views = [
        {
            "at": row.at,
            "label": view_label(row.event, row.data or {}),
            "device": member_device(row.user_agent),
        }
        for row in rows
    ]
    context = {"views": views, "days": TIMELINE_DAYS, "limit": VIEWS_LIMIT}
    return SettingsSection("settings/_views.html", context)
