"""What staff read for the access log's event names."""

from __future__ import annotations

from server.audit.events import STAFF_LABELS

# What staff read for each area (the first part of an event's name).
AREA_LABELS: dict[str, str] = {
    "auth": "組合員のログイン",
    "account": "利用登録・パスワード",
    "passkey": "パスキー",
    "requests": "変更届・お問い合わせ",
    "statements": "ご請求明細",
    "members": "登録情報",
    "capital": "出資金",
    "card": "デジタル組合員証",
    "push": "プッシュ通知",
    "imports": "データ取り込み",
    "mail": "メール",
    "staff": "職員の操作",
    "security": "拒否されたアクセス",
}


def event_label(name: str) -> str:
    """The Japanese name of an event, or its raw name when we have none."""
    if name.endswith(":"):
        area = name[:-1]
        return f"{AREA_LABELS.get(area, area)}（すべて）"
    return STAFF_LABELS.get(name, name)
