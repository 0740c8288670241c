"""Sections of /settings: each feature contributes one, listed in SECTIONS of routes.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quart import g

from server.audit.models import AuditEvent
from server.auth.models import Session

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class SettingsSection:
    """A template under settings/ with its own context (`ctx`) and scripts it needs."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    scripts: tuple[str, ...] = ()


def device_name(user_agent: str) -> str:
    """A rough, readable name for a browser (ブラウザ名（OS）)."""
    ua = user_agent
    if "Edg/" in ua:
        browser = "Edge"
    elif "Firefox/" in ua:
        browser = "Firefox"
    elif "Chrome/" in ua or "CriOS/" in ua:
        browser = "Chrome"
    elif "Safari/" in ua:
        browser = "Safari"
    else:
        browser = "ブラウザ"
    for marker, os_name in (
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("CrOS", "Chromebook"),
        ("Linux", "Linux"),
    ):
        if marker in ua:
            return f"{browser}（{os_name}）"
    return browser


METHODS = {"password": "パスワード", "passkey": "パスキー"}


async def sessions_section() -> SettingsSection:
    """ログイン中の端末 and the browsers that skip the sign-in code, this one marked."""
    from server.account.signin import remembered_browsers
    from server.auth.web import now

    rows = await Session.filter(account_id=g.account.id).order_by("-last_seen_at")
    sessions = [
        {
            "device": device_name(row.user_agent),
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
            "device": device_name(row.user_agent),
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "expires_at": row.expires_at,
        }
        for row in await remembered_browsers(g.account.id, now())
    ]
    return SettingsSection("settings/_sessions.html", {"sessions": sessions, "browsers": browsers})


HISTORY_LABELS = {
    "account:browser:forget": "端末の記憶の解除",
    "auth:session:end_others": "ほかの端末のログインの終了",
    "auth:login:failure": "ログインの失敗",
    "auth:login:blocked": "ブロック中のログイン",
    "auth:account:block": "ログインの一時停止（失敗が続いたため）",
    "auth:session:logout": "ログアウト",
    "passkey:credential:add": "パスキーの追加",
    "passkey:credential:add_failure": "パスキーの追加の失敗",
    "passkey:credential:rename": "パスキーの名前の変更",
    "passkey:credential:remove": "パスキーの削除",
    "passkey:credential:counter_regression": "不審なパスキーの利用（拒否しました）",
    "passkey:login:failure": "パスキーでのログインの失敗",
    "passkey:reauth:failure": "本人確認の失敗",
}


def history_label(event: str, data: dict[str, Any]) -> str:
    """What a recorded event means, in the member's words."""
    method = METHODS.get(str(data.get("method")), "パスワード")
    if event == "auth:login:success":
        return f"ログイン（{method}）"
    if event == "passkey:reauth:success":
        return f"本人確認（{method}）"
    return HISTORY_LABELS.get(event, event)


async def history_section() -> SettingsSection:
    """セキュリティ履歴: the member's own recent security events from the access log."""
    rows = (
        await AuditEvent.filter(
            member_id=g.member.id,
            event__in=[*HISTORY_LABELS, "auth:login:success", "passkey:reauth:success"],
        )
        .order_by("-at", "-id")
        .limit(HISTORY_LIMIT)
    )
    events = [
        {
            "at": row.at,
            "label": history_label(row.event, row.data or {}),
            "device": device_name(row.user_agent),
            "ip": row.ip,
        }
        for row in rows
    ]
    return SettingsSection("settings/_history.html", {"events": events})
