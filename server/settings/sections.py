"""Sections of /settings: each feature contributes one, listed in SECTIONS of routes.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from quart import g

from server.audit.models import AuditEvent
from server.auth.models import Session
from server.lib.dates import parse_month
from server.statements.service import month_label


@dataclass(frozen=True)
class SettingsSection:
    """A template under settings/ with its own context (`ctx`) and scripts it needs."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    scripts: tuple[str, ...] = ()


def device_name(user_agent: str) -> str:
    """A rough, readable name for a browser (ブラウザー名（OS）)."""
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
        browser = "ブラウザー"
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
            "id": row.id,
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


# The security timeline's kinds of event, in one place: add a line for a new
# kind (the lost-phone action, ...) and /settings and the staff member page show it.
HISTORY_LABELS = {
    "account:login_code:sent": "認証コードの送信（ログイン）",
    "account:login_code:success": "認証コードの確認（ログイン）",
    "account:login_code:capped": "認証コードの送信の一時停止（送信が続いたため）",
    "account:code:checks_stopped": "認証コードの確認の一時停止（誤りが続いたため）",
    "auth:login:password_ok": "パスワードの確認（ログイン）",
    "account:code:failure": "認証コードの誤り",
    # The sign-in that follows is its own row (auth:login:success, at the session start).
    "account:registration:complete": "利用登録",
    "account:device:new": "新しい端末からのログイン",
    "account:password_reset:request": "パスワード再設定の申請",
    "account:password_reset:complete": "パスワードの再設定",
    "account:password:change": "パスワードの変更",
    "account:password:change_failure": "パスワードの変更の失敗（現在のパスワードの誤り）",
    "account:browser:remember": "端末の記憶",
    "account:browser:forget": "端末の記憶の解除",
    "auth:session:end_others": "ほかの端末のログインの終了",
    "auth:login:failure": "ログインの失敗",
    "auth:login:blocked": "ブロック中のログイン",
    "auth:account:block": "ログインの一時停止（失敗が続いたため）",
    "auth:account:unblock": "ログインの一時停止の解除",
    "auth:session:logout": "ログアウト",
    "passkey:credential:add": "パスキーの追加",
    "passkey:credential:add_failure": "パスキーの追加の失敗",
    "passkey:credential:rename": "パスキーの名前の変更",
    "passkey:credential:remove": "パスキーの削除",
    "passkey:credential:counter_regression": "不審なパスキーの利用（拒否しました）",
    "passkey:login:failure": "パスキーでのログインの失敗",
    "passkey:reauth:failure": "本人確認の失敗",
    "requests:email:code_sent": "確認コードの送信（メールアドレスの変更）",
    "requests:email:changed": "メールアドレスの変更",
    "staff:member:sessions_end": "すべての端末のログアウト（生協による）",
    "staff:member:unblock": "ログインの一時停止の解除（生協による）",
    "account:lockdown:lost_device": "端末をなくしたときの保護（全端末のログアウトなど）",
    "account:lockdown:reregistration": "再登録による以前の端末・パスキーの解除",
    "auth:session:access_ended": "ご利用終了によるログアウト",
}
# Sign-ins carry their method; a new device's event marks the sign-in it belongs to.
SIGN_IN_LABELS = {"auth:login:success": "ログイン", "passkey:reauth:success": "本人確認"}
NEW_DEVICE = "account:device:new"
TIMELINE_DAYS = 90
TIMELINE_LIMIT = 100


def history_label(event: str, data: dict[str, Any]) -> str:
    """What a recorded event means, in the member's words."""
    if event in SIGN_IN_LABELS:
        method = METHODS.get(str(data.get("method")), "パスワード")
        return f"{SIGN_IN_LABELS[event]}（{method}）"
    if event == NEW_DEVICE:
        method = METHODS.get(str(data.get("method")), "パスワード")
        return f"新しい端末からのログイン（{method}）"
    return HISTORY_LABELS.get(event, event)


def _device_note(device_event: AuditEvent | None) -> str:
    if device_event is None:
        return ""
    if (device_event.data or {}).get("mailed"):
        return "新しい端末（お知らせメールを送信しました）"
    return "新しい端末"


def _who_device(row: AuditEvent) -> str:
    # What the office did (at the member's call) happened on the office's PC, not theirs.
    return "生協の職員による操作" if row.actor == "staff" else device_name(row.user_agent)


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
    from server.auth.web import now

    events = await security_timeline(g.member.id, now())
    context = {"events": events, "days": TIMELINE_DAYS, "limit": TIMELINE_LIMIT}
    return SettingsSection("settings/_history.html", context)


# Views of the member's own data (A10), shown to them like the staff see them in
# the access log: add a line per kind of view recorded (card certificates, ...).
VIEW_LABELS = {
    "members:profile:view": "登録情報（住所・電話番号・生年月日）の表示",
    "capital:capital:view": "出資金の表示",
    "statements:list:view": "ご請求明細の一覧の表示",
    "statements:statement:view": "ご請求明細の表示",
    "statements:statement:download": "ご請求明細のダウンロード",
    "card:certificate:issue": "デジタル組合員証の発行（端末への保存）",
    "card:certificate:renew": "デジタル組合員証の更新",
}
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
    from server.auth.web import now

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
            "device": device_name(row.user_agent),
        }
        for row in rows
    ]
    context = {"views": views, "days": TIMELINE_DAYS, "limit": VIEWS_LIMIT}
    return SettingsSection("settings/_views.html", context)
